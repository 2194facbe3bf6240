//! Opening a [`TlsStream`]: [`TlsAcceptor`] on the server side, [`TlsConnector`] on the
//! client side, each finishing the handshake within a deadline.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use handshake::{ClientConfig, Connection, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{AsyncSigner, Clock, TlsStream, connection_rng, io_error, system_clock};

/// How long a handshake may take unless set otherwise: a client that connects and then
/// stays silent, or trickles its flight, is dropped after this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts TLS connections with one server configuration.
#[derive(Clone, Debug)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
    timeout: Duration,
    clock: Clock,
    signer: Option<AsyncSigner>,
}

impl TlsAcceptor {
    /// An acceptor for `config`, with [`HANDSHAKE_TIMEOUT`] and the system clock.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            config,
            timeout: HANDSHAKE_TIMEOUT,
            clock: system_clock,
            signer: None,
        }
    }

    /// The same acceptor, asking `signer` for the CertificateVerify of a remote key
    /// ([`handshake::Identity::remote`]).
    #[must_use]
    pub fn with_signer(mut self, signer: AsyncSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The same acceptor, giving each handshake at most `timeout`.
    #[must_use]
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same acceptor, validating client certificates at the times `clock` gives.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How long a handshake may take.
    pub fn handshake_timeout(&self) -> Duration {
        self.timeout
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// Runs the server side of a handshake on `io`. Fails with the handshake's error (after
    /// sending its alert, RFC 8446 §6.2), or `TimedOut` after the handshake timeout.
    pub async fn accept<IO>(&self, io: IO) -> io::Result<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let conn = Connection::server(Arc::clone(&self.config), connection_rng()?);
        let mut stream = TlsStream::new(conn, io, self.clock);
        if let Some(signer) = &self.signer {
            stream.set_signer(signer.clone());
        }
        handshake_within(self.timeout, stream).await
    }
}

/// Connects to one server by name with one client configuration.
#[derive(Clone, Debug)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
    server_name: String,
    timeout: Duration,
    clock: Clock,
}

impl TlsConnector {
    /// A connector for the server called `server_name` (a DNS name, sent as SNI and checked
    /// against the certificate's DNS names, or an IP address, checked against its IP
    /// addresses), with [`HANDSHAKE_TIMEOUT`] and the system clock.
    pub fn new(config: Arc<ClientConfig>, server_name: impl Into<String>) -> Self {
        Self {
            config,
            server_name: server_name.into(),
            timeout: HANDSHAKE_TIMEOUT,
            clock: system_clock,
        }
    }

    /// The same connector, giving each handshake at most `timeout`.
    #[must_use]
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same connector, validating server certificates at the times `clock` gives.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The server name it connects to.
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// Runs the client side of a handshake on `io`. Fails with the handshake's error or
    /// `TimedOut` after the handshake timeout.
    ///
    /// A server that refuses the client's certificate does so after the client's
    /// Finished (RFC 8446 §4.4.2.4), when the client has already completed: its alert
    /// then comes with the first read.
    pub async fn connect<IO>(&self, io: IO) -> io::Result<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let conn = Connection::client(
            Arc::clone(&self.config),
            &self.server_name,
            connection_rng()?,
        )
        .map_err(io_error)?;
        handshake_within(self.timeout, TlsStream::new(conn, io, self.clock)).await
    }
}

/// Drives `stream`'s handshake for at most `timeout`.
async fn handshake_within<IO>(
    timeout: Duration,
    mut stream: TlsStream<IO>,
) -> io::Result<TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let handshake = std::future::poll_fn(|cx| stream.poll_handshake(cx));
    match tokio::time::timeout(timeout, handshake).await {
        Ok(Ok(())) => Ok(stream),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the TLS handshake did not finish within {} ms",
                timeout.as_millis()
            ),
        )),
    }
}
