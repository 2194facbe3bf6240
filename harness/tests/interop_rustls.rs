//! keylab against rustls over loopback, in both roles and on both paths, with Ed25519 and
//! RSA certificates. rustls is restricted to what keylab speaks (TLS 1.3,
//! TLS_CHACHA20_POLY1305_SHA256, x25519) and its server sends its default two session
//! tickets, which keylab's client must accept.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use fixtures::Hierarchy;
use handshake::{ClientAuth, Path};
use harness::runner::{self, ClientSpec, LoopbackServer};
use support::keylab_peer;
use support::rustls_peer::{self, ClientCerts};

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
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let config = Arc::new(config);
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().expect("accept");
            tcp.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let conn = rustls::ServerConnection::new(config).expect("conn");
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut line = String::new();
            BufReader::new(&mut tls).read_line(&mut line).expect("read");
            tls.write_all(line.as_bytes()).expect("echo");
            tls.conn.send_close_notify();
            let _ = tls.flush();
            let certs = tls.conn.peer_certificates().map_or(0, <[_]>::len);
            (line, certs)
        });
        let config = keylab_peer::client_config(h, with_cert);
        let spec = ClientSpec::new(config, b"hello rustls\n".to_vec());
        let outcome = runner::run_client(
            addr,
            &spec,
            harness::seed::connection_rng(Some(1), "client", 0),
            Duration::from_secs(10),
        );
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
