//! keylab against rustls over loopback, in both roles and on both paths, with Ed25519 and
//! RSA certificates. rustls is restricted to what keylab speaks (TLS 1.3,
//! TLS_CHACHA20_POLY1305_SHA256, x25519) and its server sends its default two session
//! tickets, which keylab's client must accept.

mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use fixtures::Hierarchy;
use handshake::{ClientAuth, Path};
use harness::runner::LoopbackServer;
use support::rustls_peer::{self, ClientCerts};
use support::{keylab_peer, rustls_echo};

/// keylab's client-auth policy, whether the rustls client has a certificate, and the path
/// the handshake takes.
const KEYLAB_SERVER_CASES: [(ClientAuth, bool, Path); 4] = [
    (ClientAuth::Off, false, Path::EphemeralDh),
    (ClientAuth::Optional, false, Path::EphemeralDh),
    (ClientAuth::Optional, true, Path::Certificate),
    (ClientAuth::Required, true, Path::Certificate),
];

/// What the rustls server asks of client certificates, whether keylab's client has one,
/// and the path the handshake takes.
const RUSTLS_SERVER_CASES: [(ClientCerts, bool, Path); 3] = [
    (ClientCerts::Optional, false, Path::EphemeralDh),
    (ClientCerts::Optional, true, Path::Certificate),
    (ClientCerts::Required, true, Path::Certificate),
];

/// Every case with the Ed25519 hierarchy, then every case with the RSA one.
fn with_each_key<T: Copy, const N: usize>(cases: [T; N]) -> Vec<(Hierarchy, T)> {
    [fixtures::ED25519, fixtures::RSA]
        .into_iter()
        .flat_map(|h| cases.map(|c| (h, c)))
        .collect()
}

/// rustls client ↔ keylab server (the harness's loopback runner).
#[test]
fn rustls_client_against_keylab_server() {
    for (h, (policy, with_cert, path)) in with_each_key(KEYLAB_SERVER_CASES) {
        let key = h.key_type;
        let config = keylab_peer::server_config(h, policy);
        let server = LoopbackServer::start("127.0.0.1:0", Arc::new(config), None).expect("server");
        let client_config = rustls_peer::client_config(h, with_cert);
        let mut tls = rustls_peer::connect(Arc::new(client_config), server.addr());
        tls.write_all(b"hello from rustls").expect("write");
        let mut reply = [0u8; 17];
        tls.read_exact(&mut reply).expect("echo");
        assert_eq!(&reply, b"hello from rustls");
        tls.conn.send_close_notify();
        let _ = tls.flush();
        let outcome = server
            .next_outcome(Duration::from_secs(10))
            .expect("server outcome");
        let summary = outcome
            .result
            .unwrap_or_else(|e| panic!("{key} {policy}: {e}"));
        assert_eq!(summary.path, path, "{key} {policy} cert={with_cert}");
    }
}

/// keylab client (the runner) ↔ rustls server, which also sends NewSessionTickets.
#[test]
fn keylab_client_against_rustls_server() {
    for (h, (client_certs, with_cert, path)) in with_each_key(RUSTLS_SERVER_CASES) {
        let key = h.key_type;
        let config = rustls_peer::server_config(h, client_certs);
        let (addr, server) = rustls_echo::serve_one_line(config, |conn| {
            conn.peer_certificates().map_or(0, <[_]>::len)
        });
        let outcome = keylab_peer::say_hello_rustls(addr, keylab_peer::client_config(h, with_cert));
        let summary = outcome
            .client
            .clone()
            .unwrap_or_else(|e| panic!("{key} {client_certs:?}: {e}"));
        assert_eq!(summary.path, path, "{key} {client_certs:?}");
        assert_eq!(outcome.reply, b"hello rustls\n");
        let (line, peer_certs) = server.join().expect("server thread");
        assert_eq!(line, "hello rustls\n");
        assert_eq!(peer_certs > 0, with_cert, "rustls saw the client chain");
    }
}
