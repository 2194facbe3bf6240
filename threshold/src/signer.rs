//! The signer service: one participant's key share behind HTTP JSON ([`crate::wire`]),
//! over keylab's mutual TLS ([`Signer::start_tls`]) or plain HTTP ([`Signer::start`]).
//!
//! Nonces (RFC 9591 §5.1) live in memory only, each under a random request id, for at most
//! [`NONCE_LIFETIME`], and are removed when round 2 uses them, whatever its outcome: a
//! nonce signs once. They are never written anywhere, so a restarted signer has none and
//! cannot reuse one; a coordinator whose round 1 came before the restart gets 404 and
//! starts over. Round 2 signs only TLS 1.3 CertificateVerify content
//! ([`crate::content`]).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use frost::round1::{SigningCommitments, SigningNonces};
use frost_ed25519 as frost;
use handshake::ServerConfig;
use service::tls::TlsAcceptor;
use service::{BackgroundServer, Limits};

use crate::keys::{KeyShare, identifier};
use crate::wire::{Commitment, Info, SignRequest, SignatureShare};
use crate::{content, rng};

/// How long round 1's nonces wait for round 2.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(30);

/// The most nonces kept waiting at once; round 1 is refused (503) beyond.
pub const MAX_OUTSTANDING: usize = 1024;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

const LIMITS: Limits = Limits::with_grace(Duration::from_secs(2));

/// Deliberate misbehaviour, for fault tests only.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Waits this long before each answer.
    pub delay_for_testing: Duration,
    /// Answers round 2 with a wrong (but well-formed) signature share.
    pub corrupt_shares_for_testing: bool,
}

struct App {
    share: KeyShare,
    nonces: Mutex<HashMap<String, (SigningNonces, Instant)>>,
    faults: Faults,
}

/// A running signer; dropping it stops it.
pub struct Signer(BackgroundServer);

impl Signer {
    /// Serves `share` over HTTPS with `config`, which should require client certificates.
    pub fn start_tls(
        listener: std::net::TcpListener,
        share: KeyShare,
        config: Arc<ServerConfig>,
        faults: Faults,
    ) -> io::Result<Self> {
        let acceptor = TlsAcceptor::new(config);
        BackgroundServer::start_tls(listener, router(share, faults), LIMITS, acceptor, "signer")
            .map(Self)
    }

    /// Serves `share` over plain HTTP.
    pub fn start(
        listener: std::net::TcpListener,
        share: KeyShare,
        faults: Faults,
    ) -> io::Result<Self> {
        BackgroundServer::start(listener, router(share, faults), LIMITS, "signer").map(Self)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr()
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        self.0.url()
    }

    /// Blocks until the server ends.
    pub fn wait(self) -> io::Result<()> {
        self.0.wait()
    }

    /// Stops it.
    pub fn stop(self) {
        self.0.stop();
    }
}

/// The routes.
pub fn router(share: KeyShare, faults: Faults) -> Router {
    let app = Arc::new(App {
        share,
        nonces: Mutex::new(HashMap::new()),
        faults,
    });
    Router::new()
        .route("/v1/info", get(info))
        .route("/v1/round1", post(round1))
        .route("/v1/round2", post(round2))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    let mut text = message.into();
    text.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

fn json(value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn delay(app: &App) {
    if !app.faults.delay_for_testing.is_zero() {
        tokio::time::sleep(app.faults.delay_for_testing).await;
    }
}

async fn info(State(app): State<Arc<App>>) -> Response {
    let public = match app.share.public_key_package().serialize() {
        Ok(bytes) => hex::encode(bytes),
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    json(&Info {
        participant: app.share.participant(),
        threshold: app.share.threshold(),
        signers: app.share.signers(),
        public_key_package: public,
    })
}

async fn round1(State(app): State<Arc<App>>) -> Response {
    delay(&app).await;
    let mut rng = rng::os();
    let (nonces, commitments) =
        frost::round1::commit(app.share.key_package().signing_share(), &mut rng);
    let encoded = match commitments.serialize() {
        Ok(bytes) => hex::encode(bytes),
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let mut id = [0u8; 16];
    if getrandom::fill(&mut id).is_err() {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "no random request id");
    }
    let request_id = hex::encode(id);
    {
        let Ok(mut kept) = app.nonces.lock() else {
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "nonce table poisoned");
        };
        let now = Instant::now();
        kept.retain(|_, (_, born)| now.duration_since(*born) < NONCE_LIFETIME);
        if kept.len() >= MAX_OUTSTANDING {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many signings in flight",
            );
        }
        kept.insert(request_id.clone(), (nonces, now));
    }
    json(&Commitment {
        request_id,
        participant: app.share.participant(),
        commitments: encoded,
    })
}

async fn round2(State(app): State<Arc<App>>, body: Bytes) -> Response {
    delay(&app).await;
    let request: SignRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("not a round 2 request: {e}"),
            );
        }
    };
    // Taken out first: whatever happens next, these nonces never sign again.
    let nonces = match app.nonces.lock() {
        Ok(mut kept) => kept.remove(&request.request_id),
        Err(_) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, "nonce table poisoned"),
    };
    let Some((nonces, born)) = nonces.filter(|(_, born)| born.elapsed() < NONCE_LIFETIME) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "unknown, used or expired request id: start again with round 1",
        );
    };
    let _ = born;
    match sign(&app, &request, &nonces) {
        Ok(share) => json(&share),
        Err(e) => refuse(StatusCode::BAD_REQUEST, e),
    }
}

/// RFC 9591 §5.2: this participant's signature share over the request's message.
fn sign(
    app: &App,
    request: &SignRequest,
    nonces: &SigningNonces,
) -> Result<SignatureShare, String> {
    let message = hex::decode(&request.message).map_err(|e| format!("message: {e}"))?;
    content::check_certificate_verify(&message)?;
    let mut commitments = BTreeMap::new();
    for (participant, text) in &request.commitments {
        let bytes = hex::decode(text).map_err(|e| format!("commitments of {participant}: {e}"))?;
        let c = SigningCommitments::deserialize(&bytes)
            .map_err(|e| format!("commitments of {participant}: {e}"))?;
        commitments.insert(identifier(*participant).map_err(|e| e.to_string())?, c);
    }
    let package = frost::SigningPackage::new(commitments, &message);
    let share = frost::round2::sign(&package, nonces, app.share.key_package())
        .map_err(|e| format!("cannot sign: {e}"))?;
    let mut bytes = share.serialize();
    if app.faults.corrupt_shares_for_testing {
        // Another valid scalar: the share is well formed but wrong.
        if let Some(first) = bytes.first_mut() {
            *first ^= 1;
        }
    }
    Ok(SignatureShare {
        participant: app.share.participant(),
        share: hex::encode(bytes),
    })
}
