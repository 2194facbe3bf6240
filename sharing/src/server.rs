//! The share server: HTTPS with client certificates (keylab's TLS, axum on tokio) or
//! plain HTTP, in front of a [`Store`].
//!
//! ```text
//! PUT /shares/{split_id}/{x}   body: one share in text form (it must name that split id
//!                              and x); optional header `Keylab-Readers: CN, CN, ...`.
//!                              201 Created; 200 OK if the identical share is already
//!                              stored; 409 Conflict if a different one is.
//! GET /shares/{split_id}/{x}   200 with the share's text and a newline; 404 if absent;
//!                              403 if this client may not read it.
//! GET /shares/{split_id}       200 with the x-coordinates held that this client may
//!                              read, one decimal per line (empty body when none are
//!                              held); 403 if shares are held but none for this client.
//! ```
//!
//! Over HTTPS ([`ShareServer::start_tls`]) the handshake requires a client certificate
//! from the configured CA (RFC 8446 §4.3.2, §4.4.2.4: a client without one is refused with
//! `certificate_required`, one from another CA with `unknown_ca` or `bad_certificate`).
//! A share records the subject of the certificate that stored it and the readers named in
//! `Keylab-Readers` (common names); only they may read it ([`Access`]). A share stored
//! without an owner (over plain HTTP, or before owners were recorded) is readable by every
//! client the server lets in.
//!
//! With a token every request needs `Authorization: Bearer <token>` (401 otherwise, before
//! the body is read; the scheme name in any case; SHA-256 digests are compared in
//! constant time, so neither the token's bytes nor its length leak). Malformed ids, x or shares get 400, bodies over
//! [`MAX_BODY`] bytes 413, other methods 405 — always with a one-line `text/plain` reason.
//! Storage errors give 500 and are logged. At most [`MAX_CONNECTIONS`] connections are
//! served at once, each for at most [`CONNECTION_TIMEOUT`]; stopping waits at most
//! [`SHUTDOWN_GRACE`] for requests in flight.
//!
//! Over plain HTTP ([`ShareServer::start`]) requests and shares travel in the clear and
//! clients are anonymous: readers cannot be named (400), and shares with an owner cannot be
//! read (403).

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{DefaultBodyLimit, Extension, Path as UrlPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use handshake::ServerConfig;
use service::tls::{TlsAcceptor, TlsPeer};
use service::{BackgroundServer, Limits};

use crate::share::{Share, SplitId};
use crate::store::{Access, Store, StoreError, Stored, recordable};

/// The largest request body accepted: a share of the longest secret, with room to spare.
pub const MAX_BODY: usize = 96 * 1024;

pub use service::{CONNECTION_TIMEOUT, MAX_CONNECTIONS};

/// How long stopping waits for requests in flight before dropping their connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

const LIMITS: Limits = Limits::with_grace(SHUTDOWN_GRACE);

/// The request header naming the readers of a share being stored: certificate common
/// names, comma-separated.
pub const READERS_HEADER: &str = "keylab-readers";

/// The most readers one share may name.
pub const MAX_READERS: usize = 32;

/// The longest reader name accepted (the upper bound of a commonName, RFC 5280 App. A).
pub const MAX_READER_LEN: usize = 64;

/// Who sent a request: the subject of its client certificate, if it showed one.
#[derive(Clone, Debug)]
struct Requester(Option<String>);

impl Requester {
    /// How the log names it.
    fn name(&self) -> &str {
        self.0.as_deref().unwrap_or("an anonymous client")
    }
}

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

/// A share server running on its own thread (see [`BackgroundServer`]): for the command
/// line and for in-process tests. Dropping it stops it.
pub struct ShareServer(BackgroundServer);

impl ShareServer {
    /// Starts serving the share directory `dir` (created if missing) over HTTPS on
    /// `listener` with `config`, which should require client certificates
    /// ([`ServerConfig::with_client_auth`]); each request is then known by its client's
    /// certificate subject. `token`, when given, is required too.
    pub fn start_tls(
        listener: std::net::TcpListener,
        dir: &Path,
        token: Option<Zeroizing<String>>,
        config: Arc<ServerConfig>,
    ) -> io::Result<Self> {
        let store = Store::open(dir)?;
        let acceptor = TlsAcceptor::new(config);
        BackgroundServer::start_tls(
            listener,
            router(store, token),
            LIMITS,
            acceptor,
            "share-server",
        )
        .map(Self)
    }

    /// Starts serving the share directory `dir` (created if missing) over plain HTTP on
    /// `listener`.
    pub fn start(
        listener: std::net::TcpListener,
        dir: &Path,
        token: Option<Zeroizing<String>>,
    ) -> io::Result<Self> {
        let store = Store::open(dir)?;
        BackgroundServer::start(listener, router(store, token), LIMITS, "share-server").map(Self)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr()
    }

    /// Its base URL, `https://ADDR` (or `http://ADDR` over plain HTTP).
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// Blocks until the server ends (it only ends on an I/O error or when stopped).
    pub fn wait(self) -> io::Result<()> {
        self.0.wait()
    }

    /// Stops accepting, gives requests in flight up to [`SHUTDOWN_GRACE`] to finish,
    /// closes the rest and waits for the thread.
    pub fn stop(self) {
        self.0.stop();
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
/// before the body is read. The scheme name `Bearer` is matched case-insensitively. Tells
/// the handlers who the client is ([`Requester`]), from its TLS handshake.
async fn authorize(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    if let Some(expected) = &app.token_digest {
        let presented = digest(bearer_token(request.headers()).unwrap_or_default());
        if !bool::from(presented.as_slice().ct_eq(expected.as_slice())) {
            return Refusal::new(StatusCode::UNAUTHORIZED, "missing or wrong bearer token")
                .into_response();
        }
    }
    let subject = request
        .extensions()
        .get::<ConnectInfo<TlsPeer>>()
        .and_then(|peer| peer.0.identity.subject.clone());
    request.extensions_mut().insert(Requester(subject));
    next.run(request).await
}

/// The readers a `Keylab-Readers` header names: common names, comma-separated, at most
/// [`MAX_READERS`] of at most [`MAX_READER_LEN`] characters each.
fn readers(headers: &HeaderMap) -> Result<Vec<String>, Refusal> {
    let Some(value) = headers.get(READERS_HEADER) else {
        return Ok(Vec::new());
    };
    let text = value
        .to_str()
        .map_err(|_| Refusal::bad_request("Keylab-Readers is not ASCII text"))?;
    let mut names: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name.chars().count() > MAX_READER_LEN || !recordable(name) {
            return Err(Refusal::bad_request(format!(
                "reader {name:?}: a common name of 1 to {MAX_READER_LEN} printable characters"
            )));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    if names.len() > MAX_READERS {
        return Err(Refusal::bad_request(format!(
            "{} readers named: at most {MAX_READERS}",
            names.len()
        )));
    }
    Ok(names)
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
    Extension(who): Extension<Requester>,
    UrlPath((id, x)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(put_share(app, who, (&id, &x), &headers, body).await)
}

async fn put_share(
    app: Arc<App>,
    who: Requester,
    (id, x): (&str, &str),
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let (id, x) = (parse_id(id)?, parse_x(x)?);
    let readers = readers(headers)?;
    if !readers.is_empty() && who.0.is_none() {
        return Err(Refusal::bad_request(
            "readers are certificate names, and this client showed no certificate: store \
             over HTTPS with a client certificate",
        ));
    }
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
    let access = Access {
        owner: who.0.clone(),
        readers,
    };
    let log_readers = access.readers.join(", ");
    match blocking(move || app.store.put(&share, &access)).await? {
        Ok(Stored::Created) => {
            tracing::info!(
                "stored split {id} x = {x} for {} (readers: {})",
                who.name(),
                if log_readers.is_empty() {
                    "none"
                } else {
                    &log_readers
                }
            );
            Ok(reply(StatusCode::CREATED, "stored"))
        }
        Ok(Stored::AlreadyPresent) => Ok(reply(StatusCode::OK, "already stored")),
        Err(e @ StoreError::Conflict { .. }) => {
            Err(Refusal::new(StatusCode::CONFLICT, e.to_string()))
        }
        Err(e @ StoreError::Unrecordable(_)) => Err(Refusal::bad_request(e.to_string())),
        Err(StoreError::Io(e)) => Err(Refusal::internal("storing the share", &e)),
    }
}

async fn fetch(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Requester>,
    UrlPath((id, x)): UrlPath<(String, String)>,
) -> Response {
    respond(fetch_share(app, who, &id, &x).await)
}

async fn fetch_share(
    app: Arc<App>,
    who: Requester,
    id: &str,
    x: &str,
) -> Result<Response, Refusal> {
    let (id, x) = (parse_id(id)?, parse_x(x)?);
    match blocking(move || app.store.get(id, x)).await? {
        Ok(Some((_, access))) if !access.allows(who.0.as_deref()) => {
            tracing::warn!(
                "refused split {id} x = {x} to {}: not its owner or a reader",
                who.name()
            );
            Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!(
                    "the share of split {id} with x = {x} is not readable by {}",
                    who.name()
                ),
            ))
        }
        Ok(Some((share, _))) => {
            tracing::info!("sent split {id} x = {x} to {}", who.name());
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
    Extension(who): Extension<Requester>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    respond(list_shares(app, who, &id).await)
}

async fn list_shares(app: Arc<App>, who: Requester, id: &str) -> Result<Response, Refusal> {
    let id = parse_id(id)?;
    let subject = who.0.clone();
    match blocking(move || readable(&app.store, id, subject.as_deref())).await? {
        // Shares are here, none of them for this client: say so rather than "none".
        Ok((held, xs)) if held > 0 && xs.is_empty() => {
            tracing::warn!("refused the list of split {id} to {}", who.name());
            Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!("no share of split {id} here is readable by {}", who.name()),
            ))
        }
        Ok((_, xs)) => Ok(reply_text(xs.iter().map(|x| format!("{x}\n")).collect())),
        Err(e) => Err(Refusal::internal("listing shares", &e)),
    }
}

/// How many shares of split `id` are held, and the x-coordinates of those the client with
/// certificate `subject` may read. A share file that cannot be read stays listed: fetching
/// it says what is wrong.
fn readable(store: &Store, id: SplitId, subject: Option<&str>) -> io::Result<(usize, Vec<u8>)> {
    let mut xs = store.list(id)?;
    let held = xs.len();
    xs.retain(|&x| match store.get(id, x) {
        Ok(Some((_, access))) => access.allows(subject),
        Ok(None) => false,
        Err(_) => true,
    });
    Ok((held, xs))
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
