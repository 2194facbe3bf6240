//! Serving an axum [`Router`] within bounds: at most [`Limits::max_connections`]
//! connections at once, each open for at most [`Limits::connection_timeout`], and at most
//! [`Limits::shutdown_grace`] for requests in flight once stopped; over plain HTTP
//! ([`serve_bounded`]) or keylab's TLS ([`serve_bounded_tls`], which also runs at most
//! [`Limits::max_handshakes`] handshakes at once). [`BackgroundServer`] runs either on a
//! thread of its own. The share server and the key server both run on it, with
//! [`Limits::with_grace`].

use std::future::{Future, IntoFuture as _};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::tls::{MAX_HANDSHAKES, TlsAcceptor, TlsListener, TlsPeer};

/// Connections a keylab server serves at once; further ones wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 64;

/// The longest a connection to a keylab server may stay open, however slowly its client
/// talks (slowloris).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// How much a server takes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// How long one connection may stay open, however it is used (its TLS handshake
    /// included).
    pub connection_timeout: Duration,
    /// How long a stop waits for requests in flight before dropping them.
    pub shutdown_grace: Duration,
    /// TLS handshakes run at once (each also holds a connection slot); further
    /// connections wait in the kernel's accept queue.
    pub max_handshakes: usize,
}

impl Limits {
    /// [`MAX_CONNECTIONS`], [`CONNECTION_TIMEOUT`] and [`MAX_HANDSHAKES`], with
    /// `shutdown_grace` for the requests in flight when the server stops.
    pub const fn with_grace(shutdown_grace: Duration) -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            connection_timeout: CONNECTION_TIMEOUT,
            shutdown_grace,
            max_handshakes: MAX_HANDSHAKES,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then waits at most
/// `limits.shutdown_grace` for requests in flight. Connections still open after that are
/// left to the runtime (dropping it closes them).
pub async fn serve_bounded(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (fired, stopping) = tokio::sync::oneshot::channel::<()>();
    let listener = Limited {
        inner: listener,
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        timeout: limits.connection_timeout,
    };
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = fired.send(());
        })
        .into_future();
    run_with_grace(server, stopping, limits.shutdown_grace).await
}

/// [`serve_bounded`] over keylab's TLS: each connection's handshake runs in a task of its
/// own with `acceptor`'s handshake timeout, at most [`Limits::max_handshakes`] at once, so
/// a slow or silent client holds up neither the accept loop nor other clients. A failed
/// handshake is logged and never reaches the router. Handlers learn who the client is
/// from [`ConnectInfo`](axum::extract::ConnectInfo)`<`[`TlsPeer`]`>`.
///
/// Must be called within a tokio runtime with the time driver.
pub async fn serve_bounded_tls(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    acceptor: TlsAcceptor,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (fired, stopping) = tokio::sync::oneshot::channel::<()>();
    let listener = TlsListener::new(listener, acceptor, limits)?;
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<TlsPeer>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        let _ = fired.send(());
    })
    .into_future();
    run_with_grace(server, stopping, limits.shutdown_grace).await
}

/// Runs `server` until it ends by itself or `stopping` fires, then gives it at most
/// `grace` to finish the requests in flight.
async fn run_with_grace(
    server: impl Future<Output = io::Result<()>>,
    stopping: tokio::sync::oneshot::Receiver<()>,
    grace: Duration,
) -> io::Result<()> {
    let mut server = pin!(server);
    let mut stopping = pin!(stopping);
    // Run until the server ends by itself or the shutdown signal fires.
    let ended = std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = server.as_mut().poll(cx) {
            return Poll::Ready(Some(result));
        }
        match stopping.as_mut().poll(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(None),
            // The signal future was dropped without firing: keep serving.
            Poll::Ready(Err(_)) | Poll::Pending => Poll::Pending,
        }
    })
    .await;
    if let Some(result) = ended {
        return result;
    }
    match tokio::time::timeout(grace, server).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                "connections still open {} s after the stop: dropping them",
                grace.as_secs()
            );
            Ok(())
        }
    }
}

/// A TCP listener that holds a slot per connection and gives each connection a deadline.
struct Limited {
    inner: tokio::net::TcpListener,
    slots: Arc<Semaphore>,
    timeout: Duration,
}

impl axum::serve::Listener for Limited {
    type Io = Deadline<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let slot = acquire(&self.slots).await;
        let (stream, addr) = accept_tcp(&self.inner).await;
        (Deadline::new(stream, self.timeout, slot), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A permit of `semaphore`, waiting as long as it takes.
pub(crate) async fn acquire(semaphore: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    loop {
        // The semaphores here are never closed, so this does not fail; wait anyway.
        if let Ok(permit) = Arc::clone(semaphore).acquire_owned().await {
            return permit;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The next TCP connection (with Nagle's algorithm off), retrying accept errors.
pub(crate) async fn accept_tcp(
    listener: &tokio::net::TcpListener,
) -> (tokio::net::TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                let _ = stream.set_nodelay(true);
                return (stream, addr);
            }
            Err(e) => {
                // Per-connection errors (the peer gave up) are not worth a pause; others
                // (out of file descriptors) are: retry after a while.
                if !matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                ) {
                    tracing::error!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// A connection that fails with `TimedOut` once its deadline passes, and frees its
/// connection slot when dropped.
pub struct Deadline<S> {
    stream: S,
    timer: Pin<Box<tokio::time::Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl<S> Deadline<S> {
    /// `stream`, usable for `timeout` from now, holding `slot` while it lives.
    pub fn new(stream: S, timeout: Duration, slot: OwnedSemaphorePermit) -> Self {
        Self {
            stream,
            timer: Box::pin(tokio::time::sleep(timeout)),
            _slot: slot,
        }
    }

    /// The connection.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        self.timer
            .as_mut()
            .poll(cx)
            .is_ready()
            .then(|| io::Error::new(io::ErrorKind::TimedOut, "the connection was open too long"))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.expired(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.expired(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.expired(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// [`serve_bounded`] or [`serve_bounded_tls`] on a thread of its own with a
/// single-threaded tokio runtime (and at most 8 threads for blocking work): for the
/// command line and for in-process tests. Dropping it stops it.
pub struct BackgroundServer {
    addr: SocketAddr,
    scheme: &'static str,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl BackgroundServer {
    /// Starts serving `router` over plain HTTP on `listener`; `name` names the thread.
    pub fn start(
        listener: std::net::TcpListener,
        router: Router,
        limits: Limits,
        name: &str,
    ) -> io::Result<Self> {
        Self::spawn(listener, name, "http", move |listener, stopped| {
            serve_bounded(listener, router, limits, async move {
                let _ = stopped.await;
            })
        })
    }

    /// Starts serving `router` over keylab's TLS with `acceptor` on `listener`; `name`
    /// names the thread.
    pub fn start_tls(
        listener: std::net::TcpListener,
        router: Router,
        limits: Limits,
        acceptor: TlsAcceptor,
        name: &str,
    ) -> io::Result<Self> {
        Self::spawn(listener, name, "https", move |listener, stopped| {
            serve_bounded_tls(listener, router, limits, acceptor, async move {
                let _ = stopped.await;
            })
        })
    }

    /// Runs `serve` on a thread with its own runtime, until it ends or is stopped.
    fn spawn<F, S>(
        listener: std::net::TcpListener,
        name: &str,
        scheme: &'static str,
        serve: F,
    ) -> io::Result<Self>
    where
        F: FnOnce(tokio::net::TcpListener, tokio::sync::oneshot::Receiver<()>) -> S
            + Send
            + 'static,
        S: Future<Output = io::Result<()>>,
    {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .max_blocking_threads(8)
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{addr}"))
            .spawn(move || {
                let result = runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    serve(listener, stopped).await
                });
                // Closes connections left over after the grace period; blocking work in
                // flight gets a moment to finish.
                runtime.shutdown_timeout(Duration::from_secs(1));
                result
            })?;
        Ok(Self {
            addr,
            scheme,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL: `http://ADDR`, or `https://ADDR` over TLS.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Blocks until the server ends (it only ends on an I/O error or when stopped).
    pub fn wait(mut self) -> io::Result<()> {
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
    }

    /// Stops accepting, gives requests in flight up to the grace period, closes the rest
    /// and waits for the thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}
