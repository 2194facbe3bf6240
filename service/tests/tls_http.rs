//! axum served over keylab's TLS, with ureq (through keylab's TLS too) and curl as
//! clients, over loopback.

mod support;

use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::routing::{get, post};
use handshake::ClientAuth;
use service::tls::{TlsAcceptor, TlsPeer};
use service::{Answer, BackgroundServer, ClientError, HttpClient, Limits};
use support::{STEP, client_config, server_config};

const LIMITS: Limits = Limits::with_grace(Duration::from_secs(1));

/// Answers `/hello`, `/whoami` (the path and the client's subject, or `-`) and `/echo`;
/// counts the requests that reached a handler.
fn router(hits: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello\n" }))
        .route("/whoami", get(whoami))
        .route("/echo", post(|body: String| async move { body }))
        .layer(axum::middleware::from_fn_with_state(
            hits,
            |State(hits): State<Arc<AtomicUsize>>, request, next: axum::middleware::Next| async move {
                hits.fetch_add(1, Ordering::SeqCst);
                next.run(request).await
            },
        ))
}

async fn whoami(ConnectInfo(peer): ConnectInfo<TlsPeer>) -> String {
    let subject = peer.identity.subject.as_deref().unwrap_or("-");
    format!("{} {subject}", peer.identity.path)
}

/// A TLS server on loopback with `acceptor`, `limits` and a request counter.
fn start(acceptor: TlsAcceptor, limits: Limits) -> (BackgroundServer, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = BackgroundServer::start_tls(listener, router(hits.clone()), limits, acceptor, "t")
        .expect("start");
    (server, hits)
}

fn get_from(client: &HttpClient, path: &str) -> Result<Answer, ClientError> {
    let url = format!("{}{path}", client.base());
    client.answer(&url, client.agent().get(&url).call())
}

#[test]
fn get_and_post_over_tls_and_the_handler_knows_the_client() {
    for (policy, cert, who) in [
        (ClientAuth::Off, None, "ephemeral-dh -"),
        (
            ClientAuth::Required,
            Some(fixtures::ED25519),
            "certificate CN=alice",
        ),
    ] {
        let (server, _) = start(TlsAcceptor::new(server_config(policy)), LIMITS);
        assert!(
            server.url().starts_with("https://127.0.0.1:"),
            "{}",
            server.url()
        );
        let client = HttpClient::with_tls(&server.url(), STEP, 4096, client_config(cert));
        let hello = get_from(&client, "/hello").expect("GET /hello");
        assert_eq!((hello.status, hello.body.as_str()), (200, "hello\n"));
        let answer = get_from(&client, "/whoami").expect("GET /whoami");
        assert_eq!(answer.body.as_str(), who);
        let url = format!("{}/echo", client.base());
        let echoed = client
            .answer(&url, client.agent().post(&url).send("a body over TLS"))
            .expect("POST /echo");
        assert_eq!(echoed.body.as_str(), "a body over TLS");
    }
}

#[test]
fn a_client_without_a_certificate_never_reaches_a_handler() {
    let (server, hits) = start(
        TlsAcceptor::new(server_config(ClientAuth::Required)),
        LIMITS,
    );
    let client = HttpClient::with_tls(&server.url(), STEP, 4096, client_config(None));
    let err = get_from(&client, "/hello").expect_err("refused");
    assert!(
        matches!(&err, ClientError::Tls { reason, .. } if reason.contains("certificate_required")),
        "{err}"
    );
    let foreign = HttpClient::with_tls(
        &server.url(),
        STEP,
        4096,
        client_config(Some(fixtures::RSA)),
    );
    let err = get_from(&foreign, "/hello").expect_err("refused");
    assert!(
        matches!(&err, ClientError::Tls { reason, .. }
            if reason.contains("unknown_ca") || reason.contains("bad_certificate")),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[test]
fn a_server_outside_the_trust_anchors_is_refused_by_the_client() {
    let (server, hits) = start(TlsAcceptor::new(server_config(ClientAuth::Off)), LIMITS);
    let config = handshake::ClientConfig {
        trust_anchors: support::certs(fixtures::RSA.root),
        ..handshake::ClientConfig::default()
    };
    let client = HttpClient::with_tls(&server.url(), STEP, 4096, Arc::new(config));
    let err = get_from(&client, "/hello").expect_err("untrusted server");
    assert!(matches!(err, ClientError::Tls { .. }), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

/// A TCP connection that says nothing.
fn silent_client(server: &BackgroundServer) -> TcpStream {
    let tcp = TcpStream::connect(server.addr()).expect("connect");
    tcp.set_read_timeout(Some(STEP)).expect("timeout");
    tcp
}

/// Whether the server has closed `tcp`, without waiting.
fn closed_by_server(tcp: &mut TcpStream) -> bool {
    tcp.set_nonblocking(true).expect("nonblocking");
    let closed =
        !matches!(tcp.read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    tcp.set_nonblocking(false).expect("blocking");
    closed
}

#[test]
fn a_silent_client_stalls_no_one_and_is_dropped_at_the_handshake_timeout() {
    let acceptor = TlsAcceptor::new(server_config(ClientAuth::Off))
        .with_handshake_timeout(Duration::from_secs(2));
    let (server, _) = start(acceptor, LIMITS);
    let mut silent = silent_client(&server);
    let client = HttpClient::with_tls(&server.url(), STEP, 4096, client_config(None));
    for _ in 0..3 {
        get_from(&client, "/hello").expect("served beside a silent client");
    }
    assert!(
        !closed_by_server(&mut silent),
        "the silent client is still waited for"
    );
    // Dropped at the handshake timeout: end of file or a reset, not our read timeout.
    match silent.read(&mut [0u8; 1]) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the server to drop the silent client, got {other:?}"),
    }
}

#[test]
fn handshakes_at_once_are_bounded() {
    let acceptor = TlsAcceptor::new(server_config(ClientAuth::Off))
        .with_handshake_timeout(Duration::from_secs(1));
    let limits = Limits {
        max_handshakes: 2,
        ..LIMITS
    };
    let (server, _) = start(acceptor, limits);
    let mut silent = [silent_client(&server), silent_client(&server)];
    let client = HttpClient::with_tls(&server.url(), STEP, 4096, client_config(None));
    // Both handshake turns are taken by silent clients: this request's handshake starts
    // only once one of them has been dropped at its timeout.
    get_from(&client, "/hello").expect("served after a turn freed");
    assert!(
        silent.iter_mut().any(closed_by_server),
        "a request was served while every handshake turn was taken"
    );
}

/// Runs curl with `args`: its output, or `None` (with a notice) when curl is missing.
/// Under `CI=true` a missing curl fails the test.
fn curl(args: &[&str]) -> Option<std::process::Output> {
    match Command::new("curl").args(args).output() {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "curl is required under CI"
            );
            eprintln!("curl is not installed: skipping the curl checks");
            None
        }
        Err(e) => panic!("running curl: {e}"),
    }
}

#[test]
fn curl_talks_to_the_tls_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = |name: &str, pem: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).expect("write");
        path.to_string_lossy().into_owned()
    };
    let h = fixtures::ED25519;
    let (root, cert, key) = (
        file("root.pem", h.root),
        file("client.pem", h.client_chain),
        file("client.key", h.client_key),
    );
    for (policy, with_cert, expected) in [
        (ClientAuth::Off, false, Some("ephemeral-dh -")),
        (ClientAuth::Required, true, Some("certificate CN=alice")),
        (ClientAuth::Required, false, None),
    ] {
        let (server, _) = start(TlsAcceptor::new(server_config(policy)), LIMITS);
        let port = server.addr().port();
        let resolve = format!("localhost:{port}:127.0.0.1");
        let url = format!("https://localhost:{port}/whoami");
        let mut args = vec!["--silent", "--show-error", "--max-time", "10"];
        args.extend(["--cacert", &root, "--resolve", &resolve]);
        if with_cert {
            args.extend(["--cert", &cert, "--key", &key]);
        }
        args.push(&url);
        let Some(output) = curl(&args) else { return };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        match expected {
            Some(who) => {
                assert!(output.status.success(), "curl failed: {stderr}");
                assert_eq!(stdout, who);
            }
            None => assert!(
                !output.status.success(),
                "curl got in without a certificate: {stdout}"
            ),
        }
    }
}
