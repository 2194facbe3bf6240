//! A blocking adapter: a [`Connection`] over any `Read + Write` transport.
//!
//! The core stays free of I/O and clocks; this adapter does the reads and writes and asks
//! the clock function it was given for the time to validate certificates at.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use time::OffsetDateTime;

use crate::conn::{Connection, Event, SignatureRequest};
use crate::error::Error;
use crate::summary::Summary;

/// A [`Connection`] driven over a blocking transport. Application data goes through its
/// [`Read`] and [`Write`] implementations; protocol errors surface as `io::Error`s whose
/// inner error is the [`Error`] (see [`Stream::protocol_error`]). Dropping a `Stream` does
/// not send close_notify: call [`Stream::close`].
///
/// A server with a remote key needs a signer ([`Stream::with_signer`]): the handshake
/// calls it for the CertificateVerify signature (see [`Connection::signature_request`]).
pub struct Stream<T: Read + Write> {
    conn: Connection,
    io: T,
    clock: fn() -> OffsetDateTime,
    out: Vec<u8>,
    received: VecDeque<u8>,
    events: Vec<Event>,
    /// A transport error met while flushing data that was already accepted; reported by
    /// the next call.
    deferred: Option<io::Error>,
    signer: Option<Signer>,
}

/// Signs a [`SignatureRequest`]: the signature, or why there is none.
pub type Signer = Box<dyn FnMut(&SignatureRequest) -> Result<Vec<u8>, String> + Send>;

impl<T: Read + Write> Stream<T> {
    /// Wraps `conn` around `io`; `clock` supplies the time for certificate validation
    /// (usually `OffsetDateTime::now_utc`).
    pub fn new(conn: Connection, io: T, clock: fn() -> OffsetDateTime) -> Self {
        Self {
            conn,
            io,
            clock,
            out: Vec::new(),
            received: VecDeque::new(),
            events: Vec::new(),
            deferred: None,
            signer: None,
        }
    }

    /// Sets the signer a remote key's CertificateVerify is asked of; it blocks the
    /// handshake while it runs and should bound its own time.
    pub fn with_signer(mut self, signer: Signer) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Asks the signer for the signature the connection waits for, if it waits for one,
    /// and sends what follows.
    fn sign_if_asked(&mut self) -> io::Result<()> {
        let Some(request) = self.conn.signature_request().cloned() else {
            return Ok(());
        };
        let signed = match self.signer.as_mut() {
            Some(sign) => sign(&request),
            None => Err("no signer is set for the remote key".to_owned()),
        };
        let result = match signed {
            Ok(signature) => self.conn.provide_signature(&signature, &mut self.out),
            Err(reason) => Err(self.conn.signature_failed(&reason, &mut self.out)),
        };
        if let Err(e) = &result {
            // A refused signature leaves the request open; this handshake gives up.
            self.conn.signature_failed(&e.to_string(), &mut self.out);
        }
        let flushed = self.flush_out();
        result.map_err(io::Error::other)?;
        flushed
    }

    /// Runs the handshake to completion and returns its summary.
    pub fn handshake(&mut self) -> io::Result<&Summary> {
        let result = self.conn.start((self.clock)(), &mut self.out);
        self.flush_out()?;
        result.map_err(io::Error::other)?;
        while self.conn.is_handshaking() {
            self.sign_if_asked()?;
            if !self.conn.is_handshaking() {
                break;
            }
            if !self.read_more()? {
                return Err(self.eof_error());
            }
        }
        self.conn
            .summary()
            .ok_or_else(|| io::Error::other(Error::Usage("handshake did not complete")))
    }

    /// Reads from the transport once and processes what came; false on end of file.
    fn read_more(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; 16 * 1024 + 512];
        let n = loop {
            match self.io.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            return Ok(false);
        }
        let result = self.conn.process(&buf[..n], (self.clock)(), &mut self.out);
        // Keep the data that authenticated before any failure, then send whatever was
        // produced (the alert of a failure included), then report.
        while let Some(event) = self.conn.next_event() {
            match event {
                Event::ApplicationData(data) => self.received.extend(data),
                other => self.events.push(other),
            }
        }
        let flushed = self.flush_out();
        result.map_err(io::Error::other)?;
        flushed.map_err(|e| self.peer_reason(e))?;
        Ok(true)
    }

    /// A write the transport refused because the peer is gone (EPIPE, ECONNRESET) often
    /// follows the peer's fatal alert, which is still waiting to be read: read and process
    /// what the peer sent and report its alert instead (as `openssl s_client` does). Other
    /// errors, and a peer that left no reason, keep the transport error.
    fn peer_reason(&mut self, write_error: io::Error) -> io::Error {
        use io::ErrorKind as K;
        if !matches!(
            write_error.kind(),
            K::BrokenPipe | K::ConnectionReset | K::ConnectionAborted
        ) {
            return write_error;
        }
        // Nothing more can be sent; dropping it also keeps the reads below from writing.
        self.out.clear();
        while !self.conn.is_closed() {
            match self.read_more() {
                Ok(true) => {}
                Err(e) if Self::protocol_error(&e).is_some() => return e,
                // End of file or a reset: the peer left nothing (more) to read.
                Ok(false) | Err(_) => break,
            }
        }
        write_error
    }

    fn eof_error(&mut self) -> io::Error {
        match self.conn.peer_eof() {
            Err(e) => io::Error::new(io::ErrorKind::UnexpectedEof, e),
            Ok(()) => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "peer closed during the handshake",
            ),
        }
    }

    /// Writes what is pending; what the transport took is removed even when a later write
    /// fails, so a retry never sends a byte twice.
    fn flush_out(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            match self.io.write(&self.out) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "transport accepted no bytes",
                    ));
                }
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.io.flush()
    }

    fn take_deferred(&mut self) -> io::Result<()> {
        self.deferred.take().map_or(Ok(()), Err)
    }

    /// The error for a connection that ended without the peer's close_notify.
    fn closed_error(&self) -> io::Error {
        let reason = self.conn.closed_reason().unwrap_or("closed").to_owned();
        io::Error::other(Error::Closed(reason))
    }

    /// Sends close_notify.
    pub fn close(&mut self) -> io::Result<()> {
        self.conn.close(&mut self.out);
        self.flush_out()
    }

    /// Events other than application data seen so far (handshake done, tickets, ...).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Updates our sending keys (RFC 8446 §4.6.3), optionally asking the peer to do the same.
    pub fn key_update(&mut self, request_peer: bool) -> io::Result<()> {
        let result = self.conn.key_update(request_peer, &mut self.out);
        self.flush_out()?;
        result.map_err(io::Error::other)
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The transport, mutably (reading or writing it directly corrupts the TLS stream).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// The protocol error inside an `io::Error` from this stream, if it carries one.
    pub fn protocol_error(err: &io::Error) -> Option<&Error> {
        err.get_ref()
            .and_then(|inner| inner.downcast_ref::<Error>())
    }
}

impl<T: Read + Write> Read for Stream<T> {
    /// Reads application data; `Ok(0)` only after the peer's close_notify. End of file
    /// without close_notify is an `UnexpectedEof` error (truncation), and a connection that
    /// failed keeps failing on every later call.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.take_deferred()?;
        if self.conn.is_handshaking() {
            self.handshake()?;
        }
        while self.received.is_empty() {
            if self.conn.peer_closed() {
                return Ok(0);
            }
            if self.conn.is_closed() {
                return Err(self.closed_error());
            }
            match self.read_more() {
                Ok(true) => {}
                Ok(false) => return Err(self.eof_error()),
                // Authenticated data that arrived before the failure is delivered first.
                Err(e) if !self.received.is_empty() => self.deferred = Some(e),
                Err(e) => return Err(e),
            }
        }
        let n = buf.len().min(self.received.len());
        for (dst, src) in buf.iter_mut().zip(self.received.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

impl<T: Read + Write> Write for Stream<T> {
    /// Encrypts and sends `buf`. Once encrypted, the data counts as written: a transport
    /// error while sending it is reported by the next call (retrying would duplicate it).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.take_deferred()?;
        if self.conn.is_handshaking() {
            self.handshake()?;
        }
        self.conn
            .send(buf, &mut self.out)
            .map_err(io::Error::other)?;
        if let Err(e) = self.flush_out() {
            self.deferred = Some(self.peer_reason(e));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.take_deferred()?;
        self.flush_out().map_err(|e| self.peer_reason(e))
    }
}
