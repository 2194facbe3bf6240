//! The key server over keylab's TLS on loopback: an anonymous client that trusts the
//! server's CA publishes and looks up; one trusting another CA is refused in the
//! handshake, and so is a plain HTTP client.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use handshake::{ClientConfig, Identity, ServerConfig};
use keyserver::client::{Client, ClientError};
use keyserver::{KeyServer, verify_answer};
use pki::{Certificate, KeyType, PrivateKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;

const TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTPS key server with the Ed25519 fixture server certificate (`localhost`,
/// `127.0.0.1`) on a new database.
fn start_tls(dir: &tempfile::TempDir) -> KeyServer {
    let h = fixtures::ED25519;
    let identity = Identity::from_pem(h.server_chain, h.server_key).expect("identity");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let rng = Box::new(ChaCha20Rng::seed_from_u64(1));
    let config = Arc::new(ServerConfig::new(identity));
    KeyServer::start_tls(listener, &dir.path().join("keys.db"), rng, config).expect("start")
}

/// An anonymous client trusting the root of `root_pem`.
fn client(url: &str, root_pem: &str) -> Client {
    let config = ClientConfig {
        trust_anchors: Certificate::from_pem_bundle(root_pem).expect("root"),
        ..ClientConfig::default()
    };
    Client::with_tls(url, TIMEOUT, Arc::new(config))
}

#[test]
fn an_anonymous_client_publishes_and_looks_up_over_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_tls(&dir);
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{}",
        server.url()
    );
    let client = client(&server.url(), fixtures::ED25519.root);
    let alice =
        PrivateKey::generate(KeyType::Ed25519, &mut ChaCha20Rng::seed_from_u64(2)).expect("key");
    let (created, _) = client.publish(&alice, "alice").expect("publish");
    assert!(created);
    let log_key = client.log_key().expect("log key");
    let answer = client.lookup("alice").expect("lookup");
    let verified = verify_answer(&answer, &log_key).expect("verifies");
    assert_eq!(verified.key, *alice.public_key());
    let pem = client.hkp("get", "alice").expect("hkp get");
    assert_eq!(pem, alice.public_key().to_pem());
}

#[test]
fn a_client_trusting_another_ca_is_refused_in_the_handshake() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_tls(&dir);
    let err = client(&server.url(), fixtures::RSA.root)
        .log_key()
        .expect_err("untrusted server");
    let ClientError::Tls { url, reason } = &err else {
        panic!("{err}")
    };
    assert_eq!(url, &format!("{}/log/key", server.url()));
    assert!(err.to_string().contains(": TLS failed: "), "{err}");
    assert!(reason.ends_with("(alert unknown_ca sent)"), "{reason}");
}

#[test]
fn a_plain_http_client_gets_no_answer_from_the_tls_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start_tls(&dir);
    let plain = server.url().replacen("https://", "http://", 1);
    let err = Client::new(&plain, TIMEOUT)
        .log_key()
        .expect_err("no answer");
    assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");
    assert!(!err.is_tls(), "{err}");
}
