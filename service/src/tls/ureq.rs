//! ureq over keylab's TLS: a connector that wraps the TCP transport of `https://` URLs in
//! the blocking [`handshake::Stream`].
//!
//! ureq's connector interface (`ureq::unversioned::transport`) is exempt from its semver
//! promise; the workspace pins ureq's minor version for that reason.

use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};

use handshake::{ClientConfig, Connection, Stream};
use ureq::Error;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

use super::{Clock, connection_rng, io_error, system_clock};

/// A ureq connector that speaks keylab's TLS to `https://` URLs, with one client
/// configuration (trust anchors, an optional client certificate). The server name checked
/// and sent is the URL's host. Other URLs pass through untouched.
///
/// Chain it after ureq's `TcpConnector`; [`crate::HttpClient::with_tls`] does.
#[derive(Clone, Debug)]
pub struct KeylabTlsConnector {
    config: Arc<ClientConfig>,
    clock: Clock,
}

impl KeylabTlsConnector {
    /// A connector with `config` and the system clock.
    pub fn new(config: Arc<ClientConfig>) -> Self {
        Self {
            config,
            clock: system_clock,
        }
    }

    /// The same connector, validating certificates at the times `clock` gives.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Runs the handshake over `transport` for the URL in `details`.
    fn wrap(
        &self,
        details: &ConnectionDetails,
        transport: Box<dyn Transport>,
    ) -> Result<KeylabTlsTransport, Error> {
        let host = details
            .uri
            .authority()
            .map(|a| a.host())
            .ok_or_else(|| Error::BadUri(format!("{} has no host", details.uri)))?;
        // An IPv6 literal comes bracketed in a URL.
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let rng = connection_rng()?;
        let conn = Connection::client(Arc::clone(&self.config), name, rng).map_err(io_error)?;
        let mut adapter = TransportAdapter::new(transport, details.current_time.clone());
        adapter.set_timeout(details.timeout);
        let mut stream = Stream::new(conn, adapter, self.clock);
        stream.handshake()?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(KeylabTlsTransport {
            stream: Mutex::new(stream),
            buffers,
        })
    }
}

impl<In: Transport> Connector<In> for KeylabTlsConnector {
    type Out = Either<In, KeylabTlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        let Some(transport) = chained else {
            return Err(Error::ConnectionFailed);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        self.wrap(details, transport.boxed())
            .map(|tls| Some(Either::B(tls)))
    }
}

/// An HTTPS connection made by [`KeylabTlsConnector`].
pub struct KeylabTlsTransport {
    /// In a mutex only because a transport must be `Sync` and a connection is not; every
    /// use goes through `&mut self` (`Mutex::get_mut`), so it is never locked.
    stream: Mutex<Stream<TransportAdapter>>,
    buffers: LazyBuffers,
}

/// The stream in `cell`, set to give up after `timeout`.
fn timed(
    cell: &mut Mutex<Stream<TransportAdapter>>,
    timeout: NextTimeout,
) -> &mut Stream<TransportAdapter> {
    let stream = cell
        .get_mut()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    stream.get_mut().set_timeout(timeout);
    stream
}

impl Transport for KeylabTlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let stream = timed(&mut self.stream, timeout);
        stream.write_all(&self.buffers.output()[..amount])?;
        stream.flush()?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let stream = timed(&mut self.stream, timeout);
        let n = stream.read(self.buffers.input_append_buf())?;
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        let stream = self
            .stream
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        !stream.connection().is_closed() && stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

impl std::fmt::Debug for KeylabTlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeylabTlsTransport").finish_non_exhaustive()
    }
}
