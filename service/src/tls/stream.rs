//! [`TlsStream`]: a [`Connection`] driven over an async transport.
//!
//! Every piece of state (undelivered plaintext, unsent ciphertext, an error waiting to be
//! reported) lives in the stream, none in a future: a read or write future dropped half
//! way loses nothing, and the next call carries on where it stopped.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use handshake::{Connection, Error, Event, Summary};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Clock, PeerIdentity, io_error};

/// The largest record on the wire: a 5-byte header and at most 2^14 + 256 bytes of
/// protected payload (RFC 8446 §5.2).
const MAX_RECORD: usize = 5 + (1 << 14) + 256;

/// The most plaintext one record carries (RFC 8446 §5.1), and so the most one write takes.
const MAX_FRAGMENT: usize = 1 << 14;

/// The most plaintext a stream holds for its reader. The transport is read only once
/// everything before has been delivered, and one read takes at most this much ciphertext,
/// which never decrypts to more plaintext: a reader that stops reading stops the
/// transport being read, and the peer's writes back up (backpressure).
pub const MAX_UNREAD_PLAINTEXT: usize = 2 * MAX_RECORD;

/// The ciphertext a stream accepts ahead of the transport: a write waits while this much
/// is unsent, so at most this plus one record is ever buffered.
pub const MAX_UNSENT_CIPHERTEXT: usize = 4 * MAX_RECORD;

/// A TLS 1.3 connection over an async transport `IO`, as [`AsyncRead`] and [`AsyncWrite`].
///
/// - Reads return the peer's application data; end of file (`Ok` with nothing read) only
///   after the peer's close_notify (RFC 8446 §6.1). A transport EOF without it is an
///   `UnexpectedEof` error carrying [`Error::Truncated`].
/// - Writes encrypt up to one record per call; once accepted, data counts as written, and
///   a transport error while sending it is reported by the next call.
/// - [`AsyncWrite::poll_shutdown`] sends close_notify, flushes, and shuts the transport's
///   write side down.
/// - Protocol errors are `io::Error`s carrying the [`Error`] ([`super::tls_error`],
///   [`super::alert_of`]); the alert it calls for is sent before the error is reported.
pub struct TlsStream<IO> {
    io: IO,
    pub(super) conn: Connection,
    clock: Clock,
    /// Ciphertext produced and not yet taken by the transport.
    pub(super) out: Vec<u8>,
    /// Plaintext received and not yet delivered.
    received: VecDeque<u8>,
    /// An error to report to the next read or write.
    pub(super) pending_error: Option<io::Error>,
    /// Whether close_notify has been queued.
    closing: bool,
    /// Signs a remote key's CertificateVerify.
    pub(super) signer: Option<super::AsyncSigner>,
    /// The signature being made.
    pub(super) signing: Option<super::signer::Signing>,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> TlsStream<IO> {
    /// Wraps a fresh `conn` around `io`; a client's ClientHello is queued at once. The
    /// handshake runs on the first read or write, or through [`TlsStream::poll_handshake`].
    pub fn new(mut conn: Connection, io: IO, clock: Clock) -> Self {
        let mut out = Vec::new();
        let started = conn.start(clock(), &mut out);
        Self {
            io,
            conn,
            clock,
            out,
            received: VecDeque::new(),
            pending_error: started.err().map(io_error),
            closing: false,
            signer: None,
            signing: None,
        }
    }

    /// Drives the handshake: ready once it has finished and our last flight has been
    /// handed to the transport, or with the error that ended it (after the alert that
    /// explains it was sent).
    pub fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let sent = self.poll_send(cx);
            if let Some(e) = self.pending_error.take() {
                if sent.is_pending() {
                    // The alert is still on its way: report once it is out.
                    self.pending_error = Some(e);
                    return Poll::Pending;
                }
                return Poll::Ready(Err(e));
            }
            if let Poll::Ready(Err(e)) = sent {
                return Poll::Ready(Err(e));
            }
            if !self.conn.is_handshaking() {
                if self.conn.closed_reason().is_some() {
                    return Poll::Ready(Err(self.closed_error()));
                }
                ready!(sent)?;
                return Pin::new(&mut self.io).poll_flush(cx);
            }
            if self.conn.signature_request().is_some() {
                ready!(self.poll_signature(cx));
                continue;
            }
            ready!(self.poll_fill(cx));
        }
    }

    /// How the handshake went, once it has finished.
    pub fn summary(&self) -> Option<&Summary> {
        self.conn.summary()
    }

    /// Who the peer proved to be, once the handshake has finished.
    pub fn peer_identity(&self) -> Option<PeerIdentity> {
        self.summary().map(PeerIdentity::from_summary)
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The transport, mutably (reading or writing it directly corrupts the TLS stream).
    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.io
    }

    /// Hands pending ciphertext to the transport; ready once all of it is taken. What the
    /// transport took is gone even if a later write fails, so nothing is sent twice.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            ready!(self.poll_send_once(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_send_once(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.out))?;
        if n == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the transport accepted no bytes",
            )));
        }
        self.out.drain(..n);
        Poll::Ready(Ok(()))
    }

    /// Reads the transport once and processes what came. Whatever goes wrong (transport
    /// error, EOF without close_notify, protocol error) becomes the pending error.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut chunk = [0u8; MAX_RECORD];
        let mut buf = ReadBuf::new(&mut chunk);
        match ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf)) {
            Err(e) => self.pending_error = Some(e),
            Ok(()) if buf.filled().is_empty() => {
                // RFC 8446 §6.1: an end without close_notify is a truncation.
                let reason = self.conn.peer_eof().err().unwrap_or(Error::Truncated);
                self.pending_error = Some(io_error(reason));
            }
            Ok(()) => {
                let result = self
                    .conn
                    .process(buf.filled(), (self.clock)(), &mut self.out);
                self.take_events();
                if let Err(e) = result {
                    self.pending_error = Some(io_error(e));
                }
            }
        }
        Poll::Ready(())
    }

    /// Keeps application data for the reader; other events need nothing from us.
    fn take_events(&mut self) {
        while let Some(event) = self.conn.next_event() {
            match event {
                Event::ApplicationData(data) => self.received.extend(data),
                Event::KeyUpdated { requested } => {
                    tracing::trace!(requested, "the peer updated its keys");
                }
                _ => {}
            }
        }
    }

    /// The error for a connection already ended by an earlier error.
    fn closed_error(&self) -> io::Error {
        let reason = self.conn.closed_reason().unwrap_or("closed").to_owned();
        io_error(Error::Closed(reason))
    }

    /// An error ready to report, once the alert that goes with it has left.
    fn poll_pending_error(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Error>> {
        if self.pending_error.is_none() {
            return Poll::Ready(None);
        }
        if self.poll_send(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(self.pending_error.take())
    }

    fn deliver(&mut self, buf: &mut ReadBuf<'_>) {
        let n = buf.remaining().min(self.received.len());
        let (front, back) = self.received.as_slices();
        let from_front = n.min(front.len());
        buf.put_slice(&front[..from_front]);
        buf.put_slice(&back[..n - from_front]);
        self.received.drain(..n);
    }

    fn read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // A KeyUpdate answer or an alert may be waiting; it need not hold the reader up.
        if let Poll::Ready(Err(e)) = self.poll_send(cx) {
            self.pending_error.get_or_insert(e);
        }
        loop {
            // Data that authenticated before a failure is delivered first.
            if !self.received.is_empty() {
                self.deliver(buf);
                return Poll::Ready(Ok(()));
            }
            if let Some(e) = ready!(self.poll_pending_error(cx)) {
                return Poll::Ready(Err(e));
            }
            if self.conn.peer_closed() {
                return Poll::Ready(Ok(()));
            }
            if self.conn.closed_reason().is_some() {
                return Poll::Ready(Err(self.closed_error()));
            }
            if self.conn.is_handshaking() {
                ready!(self.poll_handshake(cx))?;
                continue;
            }
            ready!(self.poll_fill(cx));
        }
    }

    fn write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.conn.is_handshaking() {
            ready!(self.poll_handshake(cx))?;
        }
        if let Some(e) = ready!(self.poll_pending_error(cx)) {
            return Poll::Ready(Err(e));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Backpressure: wait for the transport while too much is unsent.
        while self.out.len() >= MAX_UNSENT_CIPHERTEXT {
            ready!(self.poll_send_once(cx))?;
        }
        let n = buf.len().min(MAX_FRAGMENT);
        let sent = self.conn.send(&buf[..n], &mut self.out);
        if let Err(e) = sent {
            // `out` may hold the alert for it: send that first.
            self.pending_error = Some(io_error(e));
            let e = ready!(self.poll_pending_error(cx));
            return Poll::Ready(Err(e.unwrap_or_else(|| self.closed_error())));
        }
        if let Poll::Ready(Err(e)) = self.poll_send(cx) {
            self.pending_error = Some(e);
        }
        Poll::Ready(Ok(n))
    }

    fn flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = ready!(self.poll_pending_error(cx)) {
            return Poll::Ready(Err(e));
        }
        ready!(self.poll_send(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// RFC 8446 §6.1: close_notify, then the transport's own shutdown. During the
    /// handshake the connection sends user_canceled before it.
    fn shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.closing {
            self.conn.close(&mut self.out);
            self.closing = true;
        }
        ready!(self.poll_send(cx))?;
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().read(cx, buf)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().shutdown(cx)
    }
}

impl<IO> std::fmt::Debug for TlsStream<IO> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("state", &self.conn.state().to_string())
            .field("unread", &self.received.len())
            .field("unsent", &self.out.len())
            .finish_non_exhaustive()
    }
}
