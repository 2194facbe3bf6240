//! Configurations from the fixture certificates, and a runtime, for the TLS tests.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helper"
)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use fixtures::Hierarchy;
use handshake::{ClientAuth, ClientConfig, Identity, ServerConfig};
use pki::Certificate;

/// The longest any single step of a test may take before it counts as hung.
pub const STEP: Duration = Duration::from_secs(10);

/// The certificates of a PEM bundle.
pub fn certs(pem: &str) -> Vec<Certificate> {
    Certificate::from_pem_bundle(pem).expect("fixture certificates")
}

/// The Ed25519 server (`localhost`, `127.0.0.1`), asking for client certificates from
/// the Ed25519 root with `policy`.
pub fn server_config(policy: ClientAuth) -> Arc<ServerConfig> {
    let h = fixtures::ED25519;
    let config =
        ServerConfig::new(Identity::from_pem(h.server_chain, h.server_key).expect("identity"));
    let config = if policy == ClientAuth::Off {
        config
    } else {
        config
            .with_client_auth(policy, certs(h.root))
            .expect("client auth")
    };
    Arc::new(config)
}

/// A client trusting the Ed25519 root, presenting `alice` of hierarchy `cert` if given.
pub fn client_config(cert: Option<Hierarchy>) -> Arc<ClientConfig> {
    Arc::new(ClientConfig {
        trust_anchors: certs(fixtures::ED25519.root),
        identity: cert
            .map(|h| Arc::new(Identity::from_pem(h.client_chain, h.client_key).expect("identity"))),
        ..ClientConfig::default()
    })
}

/// A two-thread runtime with I/O and time.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// `future`'s output, failing the test if it takes longer than [`STEP`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: no result within {STEP:?}"),
    }
}
