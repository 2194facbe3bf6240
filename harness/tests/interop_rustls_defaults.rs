//! keylab against rustls with its default provider settings (ring: AES-256-GCM,
//! AES-128-GCM and ChaCha20 suites; x25519, secp256r1 and secp384r1 groups), in both
//! roles, with Ed25519 and ECDSA P-256 certificates on both sides; and a keylab server
//! configured for AES-128-GCM and secp256r1 only, which rustls reaches through a
//! HelloRetryRequest. Both sides' view of the negotiated suite and group is checked.

mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use handshake::{ClientAuth, Path, SupportedGroup, SupportedSuite};
use harness::runner::{self, DemoKey, LoopbackServer};
use rustls::RootCertStore;
use rustls::crypto::ring::default_provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use support::{keylab_peer, rustls_echo, rustls_peer};

/// The certificates of a PEM bundle (the fixtures' PEM is their DER, base64-encoded).
fn ders(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("fixture certificates")
}

/// A fixture's PKCS#8 private key.
fn key_der(pem: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).expect("fixture key")
}

fn roots(h: &fixtures::Hierarchy) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in ders(h.root) {
        roots.add(c).expect("root");
    }
    Arc::new(roots)
}

/// What rustls negotiated: (suite, group), in IANA spelling.
fn rustls_view(conn: &rustls::CommonState) -> (String, String) {
    let suite = conn.negotiated_cipher_suite().expect("suite").suite();
    let group = conn.negotiated_key_exchange_group().expect("group").name();
    (
        suite.as_str().unwrap_or("unknown").to_owned(),
        format!("{group:?}").to_ascii_lowercase(),
    )
}

/// One rustls client (default provider, with a client certificate) against a keylab
/// server requiring one; returns keylab's summary and rustls's view.
fn rustls_client(
    key: DemoKey,
    suites: &[SupportedSuite],
    groups: &[SupportedGroup],
) -> (handshake::Summary, (String, String)) {
    let h = key.hierarchy();
    let mut config = runner::demo_server_config_for(key, ClientAuth::Required).expect("config");
    config.cipher_suites = suites.to_vec();
    config.groups = groups.to_vec();
    let server = LoopbackServer::start("127.0.0.1:0", Arc::new(config), None).expect("server");
    let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots(&h))
        .with_client_auth_cert(ders(h.client_chain), key_der(h.client_key))
        .expect("client cert");
    let mut tls = rustls_peer::connect(Arc::new(client_config), server.addr());
    tls.write_all(b"hello from rustls").expect("write");
    let mut reply = [0u8; 17];
    tls.read_exact(&mut reply).expect("echo");
    assert_eq!(&reply, b"hello from rustls");
    let view = rustls_view(&tls.conn);
    tls.conn.send_close_notify();
    let _ = tls.flush();
    let outcome = server
        .next_outcome(Duration::from_secs(10))
        .expect("server outcome");
    let summary = outcome.result.unwrap_or_else(|e| panic!("{key:?}: {e}"));
    (summary, view)
}

#[test]
fn rustls_client_with_default_settings_against_keylab_server() {
    for (key, scheme) in [
        (DemoKey::Ed25519, "ed25519"),
        (DemoKey::P256, "ecdsa_secp256r1_sha256"),
    ] {
        // keylab's own preference: ChaCha20, and x25519, for which rustls sends a share.
        let (summary, view) = rustls_client(key, &SupportedSuite::ALL, &SupportedGroup::ALL);
        assert_eq!(summary.path, Path::Certificate, "{key:?}");
        assert_eq!(
            summary.one_line().split(" client=").next(),
            Some(
                format!(
                    "path=certificate suite=TLS_CHACHA20_POLY1305_SHA256 group=x25519 \
                 server_sig={scheme} client_sig={scheme}"
                )
                .as_str()
            )
        );
        assert_eq!(
            view,
            ("TLS13_CHACHA20_POLY1305_SHA256".into(), "x25519".into())
        );
    }
    // Configured for the mandatory algorithms only: rustls answers the HelloRetryRequest.
    let (summary, view) = rustls_client(
        DemoKey::P256,
        &[SupportedSuite::Aes128GcmSha256],
        &[SupportedGroup::Secp256r1],
    );
    assert!(summary.hello_retry);
    assert_eq!(summary.cipher_suite.name(), Some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(
        view,
        ("TLS13_AES_128_GCM_SHA256".into(), "secp256r1".into())
    );
}

#[test]
fn keylab_client_against_rustls_server_with_default_settings() {
    for (key, scheme) in [
        (DemoKey::Ed25519, "ed25519"),
        (DemoKey::P256, "ecdsa_secp256r1_sha256"),
    ] {
        let h = key.hierarchy();
        let provider = Arc::new(default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(roots(&h), provider.clone())
            .build()
            .expect("verifier");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(ders(h.server_chain), key_der(h.server_key))
            .expect("server cert");
        let (addr, server) = rustls_echo::serve_one_line(config, |conn| rustls_view(conn));
        let config = runner::demo_client_config_for(key, true).expect("config");
        let outcome = keylab_peer::say_hello_rustls(addr, config);
        let summary = outcome
            .client
            .clone()
            .unwrap_or_else(|e| panic!("{key:?}: {e}"));
        assert_eq!(summary.path, Path::Certificate, "{key:?}");
        assert!(
            summary.one_line().starts_with(&format!(
                "path=certificate suite=TLS_CHACHA20_POLY1305_SHA256 group=x25519 \
                 server_sig={scheme} client_sig={scheme}"
            )),
            "{key:?}: {}",
            summary.one_line()
        );
        assert_eq!(outcome.reply, b"hello rustls\n");
        let (line, view) = server.join().expect("server thread");
        assert_eq!(line, "hello rustls\n");
        assert_eq!(
            view,
            ("TLS13_CHACHA20_POLY1305_SHA256".into(), "x25519".into())
        );
    }
}
