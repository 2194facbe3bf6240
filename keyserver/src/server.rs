//! The HTTP server (axum on tokio) in front of a [`Registry`].
//!
//! ```text
//! GET  /challenge                  {"nonce": hex, "expires_in": seconds}
//! POST /keys                       PublishRequest → 201 KeyAnswer (published or rotated),
//!                                  200 KeyAnswer (this key already holds the name)
//! POST /revocations                RevokeRequest → 200 KeyAnswer
//! GET  /keys/{fingerprint}         KeyAnswer
//! GET  /names/{name}               KeyAnswer of the name's latest key
//! GET  /pks/lookup?op=get&search=S     PEM public key (S: name or fingerprint)
//! GET  /pks/lookup?op=index&search=S   line-based index (see Registry::hkp_index)
//! GET  /log/head                   latest signed tree head
//! GET  /log/key                    the log's public key, PEM
//! GET  /log/consistency?first=M&second=N   RFC 6962 §2.1.2 consistency proof
//! GET  /log/entries?start=S&end=E  {"start": S, "entries": [base64, ...]}: entries S..=E
//!                                  (RFC 6962 §4.6; at most 128 per answer)
//! ```
//!
//! JSON bodies are in [`crate::api`]. Refusals are `text/plain` with a one-line reason:
//! 400 malformed, 403 a failed proof (signature, nonce), 404 unknown, 409 the name
//! policy, 410 revoked, 413 a body over [`MAX_BODY`] bytes, 501 an unknown HKP `op`, 503
//! (with `Retry-After`) while the database is unavailable or the log too busy. At
//! most [`MAX_CONNECTIONS`] connections are served at once, each for at most
//! [`CONNECTION_TIMEOUT`].
//!
//! [`KeyServer::start_tls`] serves HTTPS over keylab's own TLS 1.3 with server
//! authentication only: clients stay anonymous (the ephemeral-DH path), since anyone may
//! look keys up and publishing is authorised by proof of possession, not by who connects.
//! [`KeyServer::start`] serves plain HTTP: every answer a client relies on is still signed
//! or proven, but lookups travel in the clear and can be seen or cut short on the way.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand_core::CryptoRng;
use service::tls::TlsAcceptor;
use service::{BackgroundServer, Limits};

use crate::api::ChallengeJson;
use crate::challenge::NONCE_LIFETIME;
use crate::registry::{Now, Outcome, Refusal, RefusalKind, Registry};
use crate::store::{Store, StoreError};

/// The largest request body accepted; a publish request needs well under 1 KiB.
pub const MAX_BODY: usize = 4096;
pub use service::{CONNECTION_TIMEOUT, MAX_CONNECTIONS};
/// How long stopping waits for requests in flight before closing their connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

const LIMITS: Limits = Limits::with_grace(SHUTDOWN_GRACE);

type Shared = Arc<Mutex<Registry>>;

/// The routes, ready for `axum::serve`.
pub fn router(registry: Registry) -> Router {
    let shared: Shared = Arc::new(Mutex::new(registry));
    Router::new()
        .route("/challenge", get(challenge))
        .route("/keys", post(publish))
        .route("/revocations", post(revoke))
        .route("/keys/{fingerprint}", get(by_fingerprint))
        .route("/names/{name}", get(by_name))
        .route("/pks/lookup", get(lookup))
        .route("/log/head", get(head))
        .route("/log/key", get(log_key))
        .route("/log/consistency", get(consistency))
        .route("/log/entries", get(entries))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// Runs `f` on the registry off the async threads (SQLite commits wait for the disk).
async fn with<T: Send + 'static>(
    shared: Shared,
    f: impl FnOnce(&mut Registry) -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    let internal = |what: &str| Refusal {
        kind: RefusalKind::Internal,
        message: what.to_owned(),
    };
    tokio::task::spawn_blocking(move || match shared.lock() {
        Ok(mut registry) => f(&mut registry),
        Err(_) => Err(internal("the server failed earlier; restart it")),
    })
    .await
    .unwrap_or_else(|_| Err(internal("the request failed")))
}

fn refusal(r: Refusal) -> Response {
    let status = StatusCode::from_u16(r.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = text(
        status,
        "text/plain; charset=utf-8",
        format!("{}\n", r.message),
    );
    if r.kind == RefusalKind::Unavailable {
        // RFC 9110 §10.2.3: when to try again.
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    response
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => text(status, "application/json", body),
        Err(e) => refusal(Refusal {
            kind: RefusalKind::Internal,
            message: format!("encoding the answer: {e}"),
        }),
    }
}

fn answer<T: serde::Serialize>(result: Result<T, Refusal>) -> Response {
    match result {
        Ok(value) => json(StatusCode::OK, &value),
        Err(r) => refusal(r),
    }
}

/// The JSON body of a request, or a 400/413 saying why not.
fn body<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Refusal> {
    let bytes = body.map_err(|e| Refusal {
        kind: if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            RefusalKind::TooLarge
        } else {
            RefusalKind::BadRequest
        },
        message: if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the request body is larger than {MAX_BODY} bytes")
        } else {
            format!("reading the request body: {e}")
        },
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Refusal {
        kind: RefusalKind::BadRequest,
        message: format!("malformed JSON request: {e}"),
    })
}

async fn challenge(State(shared): State<Shared>) -> Response {
    answer(
        with(shared, |r| r.challenge(Now::current()))
            .await
            .map(|nonce| ChallengeJson {
                nonce: hex::encode(nonce),
                expires_in: NONCE_LIFETIME.as_secs(),
            }),
    )
}

async fn publish(State(shared): State<Shared>, raw: Result<Bytes, BytesRejection>) -> Response {
    let request = match body(raw) {
        Ok(request) => request,
        Err(r) => return refusal(r),
    };
    match with(shared, move |r| r.publish(&request, Now::current())).await {
        Ok((Outcome::AlreadyPublished, answer)) => json(StatusCode::OK, &answer),
        Ok((_, answer)) => json(StatusCode::CREATED, &answer),
        Err(r) => refusal(r),
    }
}

async fn revoke(State(shared): State<Shared>, raw: Result<Bytes, BytesRejection>) -> Response {
    let request = match body(raw) {
        Ok(request) => request,
        Err(r) => return refusal(r),
    };
    answer(with(shared, move |r| r.revoke(&request, Now::current())).await)
}

async fn by_fingerprint(State(shared): State<Shared>, UrlPath(fpr): UrlPath<String>) -> Response {
    answer(with(shared, move |r| r.by_fingerprint(&fpr)).await)
}

async fn by_name(State(shared): State<Shared>, UrlPath(name): UrlPath<String>) -> Response {
    answer(with(shared, move |r| r.by_name(&name)).await)
}

async fn head(State(shared): State<Shared>) -> Response {
    answer(with(shared, |r| r.head()).await)
}

async fn log_key(State(shared): State<Shared>) -> Response {
    match with(shared, |r| Ok(r.log_key_pem())).await {
        Ok(pem) => text(StatusCode::OK, "application/x-pem-file", pem),
        Err(r) => refusal(r),
    }
}

/// The numbers `a` and `b` of a query string (`what` says what they are).
fn two_numbers(query: Option<&str>, a: &str, b: &str, what: &str) -> Result<(u64, u64), Refusal> {
    let params = query_params(query.unwrap_or_default());
    let number = |key: &str| -> Result<u64, Refusal> {
        let value = params.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        value.and_then(|v| v.parse().ok()).ok_or_else(|| Refusal {
            kind: RefusalKind::BadRequest,
            message: format!("give {key}=N ({what})"),
        })
    };
    Ok((number(a)?, number(b)?))
}

async fn consistency(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    match two_numbers(query.as_deref(), "first", "second", "a tree size") {
        Ok((first, second)) => answer(with(shared, move |r| r.consistency(first, second)).await),
        Err(r) => refusal(r),
    }
}

async fn entries(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    match two_numbers(query.as_deref(), "start", "end", "an entry index") {
        Ok((start, end)) => answer(with(shared, move |r| r.entries(start, end)).await),
        Err(r) => refusal(r),
    }
}

/// `GET /pks/lookup?op=get|index&search=…` (HKP-style, keylab's own formats).
async fn lookup(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = query_params(query.as_deref().unwrap_or_default());
    let value = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let Some(search) = value("search") else {
        return refusal(Refusal {
            kind: RefusalKind::BadRequest,
            message: "give search=NAME or search=FINGERPRINT".into(),
        });
    };
    match value("op").as_deref() {
        Some("get") => match with(shared, move |r| r.hkp_get(&search)).await {
            Ok(pem) => text(StatusCode::OK, "application/x-pem-file", pem),
            Err(r) => refusal(r),
        },
        Some("index") => match with(shared, move |r| r.hkp_index(&search)).await {
            Ok(index) => text(StatusCode::OK, "text/plain; charset=utf-8", index),
            Err(r) => refusal(r),
        },
        other => refusal(Refusal {
            kind: RefusalKind::NotImplemented,
            message: format!(
                "op {:?} is not offered: use op=get or op=index",
                other.unwrap_or_default()
            ),
        }),
    }
}

/// `application/x-www-form-urlencoded` pairs of a query string (`+` is a space,
/// `%XX` a byte; invalid UTF-8 is replaced, and then refused as a name).
pub fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_at = |j: usize| bytes.get(j).and_then(|&b| (b as char).to_digit(16));
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex_at(i + 1), hex_at(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A key server on its own thread (see [`BackgroundServer`]): for the command line and
/// for tests. Dropping it stops it.
pub struct KeyServer {
    server: BackgroundServer,
    log_key: pki::PublicKey,
    entries: u64,
}

/// Why a key server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database or log key.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The socket or the runtime.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl KeyServer {
    /// Opens the SQLite database `db` (creating it and its log key if needed) and serves
    /// it over plain HTTP on `listener`. `rng` makes challenge nonces (and a new log key).
    pub fn start(
        listener: std::net::TcpListener,
        db: &Path,
        mut rng: Box<dyn CryptoRng + Send>,
    ) -> Result<Self, StartError> {
        let store = Store::open(db, &mut *rng, std::time::SystemTime::now())?;
        Self::serve(listener, store, rng, None)
    }

    /// Like [`KeyServer::start`], serving HTTPS over keylab's TLS with `tls` (the server's
    /// certificate and key).
    pub fn start_tls(
        listener: std::net::TcpListener,
        db: &Path,
        mut rng: Box<dyn CryptoRng + Send>,
        tls: Arc<handshake::ServerConfig>,
    ) -> Result<Self, StartError> {
        let store = Store::open(db, &mut *rng, std::time::SystemTime::now())?;
        Self::serve(listener, store, rng, Some(tls))
    }

    /// Serves an open store (SQLite or PostgreSQL) on `listener`: HTTPS over keylab's TLS
    /// with `tls` (server authentication only), or plain HTTP without it. Each handshake
    /// runs in a task of its own, at most [`service::tls::MAX_HANDSHAKES`] at once and
    /// each within [`service::tls::HANDSHAKE_TIMEOUT`], so a slow client stalls no one; a
    /// failed one is logged and never reaches a route. `rng` makes challenge nonces.
    pub fn serve(
        listener: std::net::TcpListener,
        store: Store,
        rng: Box<dyn CryptoRng + Send>,
        tls: Option<Arc<handshake::ServerConfig>>,
    ) -> Result<Self, StartError> {
        let log_key = store.log_public_key().clone();
        let entries = store.head().tree_size;
        let routes = router(Registry::new(store, rng));
        let server = match tls {
            Some(tls) => BackgroundServer::start_tls(
                listener,
                routes,
                LIMITS,
                TlsAcceptor::new(tls),
                "keyserver",
            )?,
            None => BackgroundServer::start(listener, routes, LIMITS, "keyserver")?,
        };
        Ok(Self {
            server,
            log_key,
            entries,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The log's public key (clients may pin it out of band).
    pub fn log_key(&self) -> &pki::PublicKey {
        &self.log_key
    }

    /// The entries in the log when it started.
    pub fn entries_at_start(&self) -> u64 {
        self.entries
    }

    /// Its base URL: `http://ADDR`, or `https://ADDR` when started with
    /// [`KeyServer::start_tls`].
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Blocks until the server ends (only on an I/O error, or when stopped).
    pub fn wait(self) -> io::Result<()> {
        self.server.wait()
    }

    /// Stops accepting, lets requests in flight finish (at most [`SHUTDOWN_GRACE`]) and
    /// waits for the thread.
    pub fn stop(self) {
        self.server.stop();
    }
}
