//! The share server: HTTP (axum on tokio) in front of a [`Store`].
//!
//! ```text
//! PUT /shares/{split_id}/{x}   body: one share in text form (it must name that split id
//!                              and x). 201 Created; 200 OK if the identical share is
//!                              already stored; 409 Conflict if a different one is.
//! GET /shares/{split_id}/{x}   200 with the share's text and a newline; 404 if absent.
//! GET /shares/{split_id}       200 with the x-coordinates held, one decimal per line
//!                              (empty body when there are none).
//! ```
//!
//! With a token every request needs `Authorization: Bearer <token>` (401 otherwise, before
//! the body is read; the scheme name in any case; SHA-256 digests are compared in
//! constant time, so neither the token's bytes nor its length leak). Malformed ids, x or shares get 400, bodies over
//! [`MAX_BODY`] bytes 413, other methods 405 — always with a one-line `text/plain` reason.
//! Storage errors give 500 and are logged. At most [`MAX_CONNECTIONS`] connections are
//! served at once, each for at most [`CONNECTION_TIMEOUT`]; stopping waits at most
//! [`SHUTDOWN_GRACE`] for requests in flight.
//!
//! Requests and shares travel in plain HTTP: put the servers on a trusted network or
//! behind a TLS terminator.

use std::future::{Future, IntoFuture as _};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use zeroize::Zeroizing;

use crate::share::{Share, SplitId};
use crate::store::{Store, StoreError, Stored};

/// The largest request body accepted: a share of the longest secret, with room to spare.
pub const MAX_BODY: usize = 96 * 1024;

/// Connections served at once; further ones wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 64;

/// The longest a connection may stay open, however slowly its client talks (slowloris).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// How long stopping waits for requests in flight before dropping their connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

struct App {
    store: Store,
    /// SHA-256 of the token: comparing digests leaks neither bytes nor the length.
    token_digest: Option<Zeroizing<[u8; 32]>>,
}

fn digest(bytes: &[u8]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(Sha256::digest(bytes).into())
}

/// The routes, ready for `axum::serve`.
pub fn router(store: Store, token: Option<Zeroizing<String>>) -> Router {
    let app = Arc::new(App {
        store,
        token_digest: token.map(|t| digest(t.as_bytes())),
    });
    Router::new()
        .route("/shares/{split_id}", get(list))
        .route("/shares/{split_id}/{x}", get(fetch).put(put))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Outside the handlers' extractors: the token is checked before the body is read.
        .route_layer(middleware::from_fn_with_state(Arc::clone(&app), authorize))
        .with_state(app)
}

/// Serves `store` on `listener` until `shutdown` completes, then waits at most
/// [`SHUTDOWN_GRACE`] for requests in flight. At most [`MAX_CONNECTIONS`] connections
/// are served at once, each for at most [`CONNECTION_TIMEOUT`]. Connections still open
/// after the grace period are left to the runtime (dropping it closes them).
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Store,
    token: Option<Zeroizing<String>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (fired, stopping) = tokio::sync::oneshot::channel::<()>();
    let listener = Limited {
        inner: listener,
        slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
    };
    let server = axum::serve(listener, router(store, token))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = fired.send(());
        })
        .into_future();
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
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                "connections still open {} s after the stop: dropping them",
                SHUTDOWN_GRACE.as_secs()
            );
            Ok(())
        }
    }
}

/// A TCP listener that holds a slot per connection (at most [`MAX_CONNECTIONS`]) and
/// gives each connection a deadline.
struct Limited {
    inner: tokio::net::TcpListener,
    slots: Arc<Semaphore>,
}

impl axum::serve::Listener for Limited {
    type Io = Deadline;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so this cannot fail; wait for a slot anyway.
        let slot = loop {
            if let Ok(slot) = Arc::clone(&self.slots).acquire_owned().await {
                break slot;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let io = Deadline {
                        stream,
                        timer: Box::pin(tokio::time::sleep(CONNECTION_TIMEOUT)),
                        _slot: slot,
                    };
                    return (io, addr);
                }
                Err(e) => {
                    // Per-connection errors (the peer gave up) are not worth a pause;
                    // others (out of file descriptors) are: retry after a while.
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

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that fails with `TimedOut` once its deadline passes, and frees its slot
/// when dropped.
struct Deadline {
    stream: tokio::net::TcpStream,
    timer: Pin<Box<tokio::time::Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl Deadline {
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        self.timer
            .as_mut()
            .poll(cx)
            .is_ready()
            .then(|| io::Error::new(io::ErrorKind::TimedOut, "the connection was open too long"))
    }
}

impl AsyncRead for Deadline {
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

impl AsyncWrite for Deadline {
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

/// A share server running on its own thread (a single-threaded tokio runtime): for the
/// command line and for in-process tests. Dropping it stops it.
pub struct ShareServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl ShareServer {
    /// Starts serving the share directory `dir` (created if missing) on `listener`.
    pub fn start(
        listener: std::net::TcpListener,
        dir: &Path,
        token: Option<Zeroizing<String>>,
    ) -> io::Result<Self> {
        let store = Store::open(dir)?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("share-server-{addr}"))
            .spawn(move || {
                let result = runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    serve(listener, store, token, async move {
                        let _ = stopped.await;
                    })
                    .await
                });
                // Closes connections left over after the grace period; a storage task
                // in flight gets a moment to finish.
                runtime.shutdown_timeout(Duration::from_secs(1));
                result
            })?;
        Ok(Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Blocks until the server ends (it only ends on an I/O error or when stopped).
    pub fn wait(mut self) -> io::Result<()> {
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the share server thread panicked")),
            None => Ok(()),
        }
    }

    /// Stops accepting, gives requests in flight up to [`SHUTDOWN_GRACE`] to finish,
    /// closes the rest and waits for the thread.
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

impl Drop for ShareServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn reply(status: StatusCode, message: impl Into<String>) -> Response {
    let mut text = message.into();
    text.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// A refused request: its status and one-line reason.
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 500; the detail goes to the log, not to the client.
    fn internal(what: &str, e: &dyn std::fmt::Display) -> Self {
        tracing::error!("{what}: {e}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what} failed"))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = reply(self.status, self.message);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

fn respond(result: Result<Response, Refusal>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Middleware: refuses unless the request carries the server's token (when it has one),
/// before the body is read. The scheme name `Bearer` is matched case-insensitively.
async fn authorize(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if let Some(expected) = &app.token_digest {
        let presented = digest(bearer_token(request.headers()).unwrap_or_default());
        if !bool::from(presented.as_slice().ct_eq(expected.as_slice())) {
            return Refusal::new(StatusCode::UNAUTHORIZED, "missing or wrong bearer token")
                .into_response();
        }
    }
    next.run(request).await
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer_token(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, rest) = value.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"Bearer") {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

fn parse_id(id: &str) -> Result<SplitId, Refusal> {
    id.parse()
        .map_err(|e: crate::Error| Refusal::bad_request(e.to_string()))
}

fn parse_x(x: &str) -> Result<u8, Refusal> {
    match x.parse::<u8>() {
        Ok(v) if (1..=crate::MAX_X).contains(&v) && !x.starts_with(['0', '+']) => Ok(v),
        _ => Err(Refusal::bad_request(format!(
            "x must be a number in 1..={}",
            crate::MAX_X
        ))),
    }
}

/// Runs file-system work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Refusal::internal("storage task", &e))
}

async fn put(
    State(app): State<Arc<App>>,
    UrlPath((id, x)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    respond(put_share(app, &id, &x, body).await)
}

async fn put_share(app: Arc<App>, id: &str, x: &str, body: Bytes) -> Result<Response, Refusal> {
    let (id, x) = (parse_id(id)?, parse_x(x)?);
    let text = std::str::from_utf8(&body)
        .map_err(|_| Refusal::bad_request("the body is not UTF-8 text"))?;
    let share = Share::from_text(text).map_err(|e| Refusal::bad_request(e.to_string()))?;
    if share.split_id() != id || share.x() != x {
        return Err(Refusal::bad_request(format!(
            "the share is for split {}, x = {}, not the URL's {id}, x = {x}",
            share.split_id(),
            share.x()
        )));
    }
    match blocking(move || app.store.put(&share)).await? {
        Ok(Stored::Created) => {
            tracing::info!("stored split {id} x = {x}");
            Ok(reply(StatusCode::CREATED, "stored"))
        }
        Ok(Stored::AlreadyPresent) => Ok(reply(StatusCode::OK, "already stored")),
        Err(e @ StoreError::Conflict { .. }) => {
            Err(Refusal::new(StatusCode::CONFLICT, e.to_string()))
        }
        Err(StoreError::Io(e)) => Err(Refusal::internal("storing the share", &e)),
    }
}

async fn fetch(
    State(app): State<Arc<App>>,
    UrlPath((id, x)): UrlPath<(String, String)>,
) -> Response {
    respond(fetch_share(app, &id, &x).await)
}

async fn fetch_share(app: Arc<App>, id: &str, x: &str) -> Result<Response, Refusal> {
    let (id, x) = (parse_id(id)?, parse_x(x)?);
    match blocking(move || app.store.get(id, x)).await? {
        Ok(Some(share)) => {
            let mut text = share.to_text();
            text.push('\n');
            // The body's copy cannot be zeroized here: hyper owns it once sent.
            Ok(reply_text(text.as_str().to_owned()))
        }
        Ok(None) => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            format!("no share of split {id} with x = {x} here"),
        )),
        Err(e) => Err(Refusal::internal("reading the share", &e)),
    }
}

async fn list(State(app): State<Arc<App>>, UrlPath(id): UrlPath<String>) -> Response {
    respond(list_shares(app, &id).await)
}

async fn list_shares(app: Arc<App>, id: &str) -> Result<Response, Refusal> {
    let id = parse_id(id)?;
    match blocking(move || app.store.list(id)).await? {
        Ok(xs) => Ok(reply_text(xs.iter().map(|x| format!("{x}\n")).collect())),
        Err(e) => Err(Refusal::internal("listing shares", &e)),
    }
}

/// A 200 with a text body.
fn reply_text(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}
