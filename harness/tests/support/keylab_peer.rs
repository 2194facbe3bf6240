//! keylab's own configurations holding a fixture hierarchy's certificates, for tests that
//! run keylab in-process (the loopback runner) in either role.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fixtures::Hierarchy;
use handshake::{ClientAuth, ClientConfig, Identity, ServerConfig};
use harness::runner::{self, ClientSpec, Outcome};

/// A client that trusts `h`'s root and, `with_cert`, presents `h`'s client chain.
pub fn client_config(h: Hierarchy, with_cert: bool) -> ClientConfig {
    let identity = with_cert.then(|| {
        Arc::new(Identity::from_pem(h.client_chain, h.client_key).expect("client identity"))
    });
    ClientConfig {
        trust_anchors: pki::Certificate::from_pem_bundle(h.root).expect("root"),
        identity,
        ..ClientConfig::default()
    }
}

/// A server with `h`'s server chain that asks for client certificates under `policy` and
/// checks them against `h`'s root.
pub fn server_config(h: Hierarchy, policy: ClientAuth) -> ServerConfig {
    let identity = Identity::from_pem(h.server_chain, h.server_key).expect("server identity");
    let config = ServerConfig::new(identity);
    if policy == ClientAuth::Off {
        return config;
    }
    let anchors = pki::Certificate::from_pem_bundle(h.root).expect("root");
    config.with_client_auth(policy, anchors).expect("policy")
}

/// Runs keylab's client with `config` once against `addr`, sending `hello rustls\n` with
/// the RNG seeded 1, and giving up after 10 seconds.
pub fn say_hello_rustls(addr: SocketAddr, config: ClientConfig) -> Outcome {
    let spec = ClientSpec::new(config, b"hello rustls\n".to_vec());
    runner::run_client(
        addr,
        &spec,
        harness::seed::connection_rng(Some(1), "client", 0),
        Duration::from_secs(10),
    )
}
