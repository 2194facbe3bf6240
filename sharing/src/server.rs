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
//! With a token every request needs `Authorization: Bearer <token>` (401 otherwise; the
//! comparison is constant-time). Malformed ids, x or shares get 400, bodies over
//! [`MAX_BODY`] bytes 413, other methods 405 — always with a one-line `text/plain` reason.
//! Storage errors give 500 and are logged.
//!
//! Requests and shares travel in plain HTTP: put the servers on a trusted network or
//! behind a TLS terminator.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::share::{Share, SplitId};
use crate::store::{Store, StoreError, Stored};

/// The largest request body accepted: a share of the longest secret, with room to spare.
pub const MAX_BODY: usize = 96 * 1024;

struct App {
    store: Store,
    token: Option<Zeroizing<String>>,
}

/// The routes, ready for `axum::serve`.
pub fn router(store: Store, token: Option<Zeroizing<String>>) -> Router {
    let app = Arc::new(App { store, token });
    Router::new()
        .route("/shares/{split_id}", get(list))
        .route("/shares/{split_id}/{x}", get(fetch).put(put))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// Serves `store` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Store,
    token: Option<Zeroizing<String>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, router(store, token))
        .with_graceful_shutdown(shutdown)
        .await
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
            .enable_io()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("share-server-{addr}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    serve(listener, store, token, async move {
                        let _ = stopped.await;
                    })
                    .await
                })
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

    /// Stops accepting, finishes requests in flight and waits for the thread.
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

/// Refuses unless the request carries the server's token (when it has one).
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(token) = &app.token else {
        return Ok(());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    if bool::from(presented.ct_eq(token.as_bytes())) {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        ))
    }
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
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(put_share(app, &id, &x, &headers, body).await)
}

async fn put_share(
    app: Arc<App>,
    id: &str,
    x: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    authorize(&app, headers)?;
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
    headers: HeaderMap,
) -> Response {
    respond(fetch_share(app, &id, &x, &headers).await)
}

async fn fetch_share(
    app: Arc<App>,
    id: &str,
    x: &str,
    headers: &HeaderMap,
) -> Result<Response, Refusal> {
    authorize(&app, headers)?;
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

async fn list(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    respond(list_shares(app, &id, &headers).await)
}

async fn list_shares(app: Arc<App>, id: &str, headers: &HeaderMap) -> Result<Response, Refusal> {
    authorize(&app, headers)?;
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
