//! keylab against rustls over loopback, in both roles and on both paths, with Ed25519 and
//! RSA certificates. rustls is restricted to what keylab speaks (TLS 1.3,
//! TLS_CHACHA20_POLY1305_SHA256, x25519) and its server sends its default two session
//! tickets, which keylab's client must accept.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use handshake::{ClientAuth, Path};
use harness::runner::{self, ClientSpec, LoopbackServer};
use rustls::RootCertStore;
use rustls::crypto::ring as provider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;

fn hierarchy(rsa: bool) -> fixtures::Hierarchy {
    if rsa {
        fixtures::RSA
    } else {
        fixtures::ED25519
    }
}

fn ders(pem: &str) -> Vec<CertificateDer<'static>> {
    pki::Certificate::from_pem_bundle(pem)
        .expect("fixture")
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect()
}

fn key_der(pem: &str) -> PrivateKeyDer<'static> {
    let key = pki::PrivateKey::from_pem(pem).expect("fixture key");
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        key.to_pkcs8_der().expect("der").to_vec(),
    ))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = provider::default_provider();
    p.cipher_suites = vec![provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
    p.kx_groups = vec![provider::kx_group::X25519];
    Arc::new(p)
}

fn roots(rsa: bool) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in ders(hierarchy(rsa).root) {
        roots.add(c).expect("root");
    }
    Arc::new(roots)
}

/// rustls client ↔ keylab server (the harness's loopback runner).
#[test]
fn rustls_client_against_keylab_server() {
    for rsa in [false, true] {
        for (policy, with_cert, path) in [
            (ClientAuth::Off, false, Path::EphemeralDh),
            (ClientAuth::Optional, false, Path::EphemeralDh),
            (ClientAuth::Optional, true, Path::Certificate),
            (ClientAuth::Required, true, Path::Certificate),
        ] {
            let h = hierarchy(rsa);
            let identity =
                handshake::Identity::from_pem(h.server_chain, h.server_key).expect("identity");
            let mut config = handshake::ServerConfig::new(identity);
            if policy != ClientAuth::Off {
                config = config
                    .with_client_auth(
                        policy,
                        pki::Certificate::from_pem_bundle(h.root).expect("root"),
                    )
                    .expect("policy");
            }
            let server =
                LoopbackServer::start("127.0.0.1:0", Arc::new(config), None).expect("server");
            let builder = rustls::ClientConfig::builder_with_provider(provider())
                .with_protocol_versions(&[&rustls::version::TLS13])
                .expect("tls13")
                .with_root_certificates(roots(rsa));
            let client_config = if with_cert {
                builder
                    .with_client_auth_cert(ders(h.client_chain), key_der(h.client_key))
                    .expect("client cert")
            } else {
                builder.with_no_client_auth()
            };
            let conn = rustls::ClientConnection::new(
                Arc::new(client_config),
                ServerName::try_from("localhost").expect("name"),
            )
            .expect("client");
            let tcp = TcpStream::connect(server.addr()).expect("connect");
            tcp.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut tls = rustls::StreamOwned::new(conn, tcp);
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
                .unwrap_or_else(|e| panic!("rsa={rsa} {policy}: {e}"));
            assert_eq!(summary.path, path, "rsa={rsa} {policy} cert={with_cert}");
        }
    }
}

/// keylab client (the runner) ↔ rustls server, which also sends NewSessionTickets.
#[test]
fn keylab_client_against_rustls_server() {
    for rsa in [false, true] {
        for (required, with_cert, path) in [
            (false, false, Path::EphemeralDh),
            (false, true, Path::Certificate),
            (true, true, Path::Certificate),
        ] {
            let h = hierarchy(rsa);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots(rsa), provider());
            let verifier = if required {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let config = rustls::ServerConfig::builder_with_provider(provider())
                .with_protocol_versions(&[&rustls::version::TLS13])
                .expect("tls13")
                .with_client_cert_verifier(verifier.build().expect("verifier"))
                .with_single_cert(ders(h.server_chain), key_der(h.server_key))
                .expect("server cert");
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
            let spec = ClientSpec {
                config: Arc::new(
                    runner::demo_client_config(false)
                        .map(|mut c| {
                            c.trust_anchors =
                                pki::Certificate::from_pem_bundle(h.root).expect("root");
                            c.identity = with_cert.then(|| {
                                Arc::new(
                                    handshake::Identity::from_pem(h.client_chain, h.client_key)
                                        .expect("identity"),
                                )
                            });
                            c
                        })
                        .expect("config"),
                ),
                server_name: "localhost".into(),
                message: b"hello rustls\n".to_vec(),
                clock: time::OffsetDateTime::now_utc,
            };
            let outcome = runner::run_client(
                addr,
                &spec,
                harness::seed::connection_rng(Some(1), "client", 0),
                Duration::from_secs(10),
            );
            let summary = outcome
                .client
                .clone()
                .unwrap_or_else(|e| panic!("rsa={rsa} required={required}: {e}"));
            assert_eq!(summary.path, path, "rsa={rsa} required={required}");
            assert_eq!(outcome.reply, b"hello rustls\n");
            let (line, peer_certs) = server.join().expect("server thread");
            assert_eq!(line, "hello rustls\n");
            assert_eq!(peer_certs > 0, with_cert, "rustls saw the client chain");
        }
    }
}
