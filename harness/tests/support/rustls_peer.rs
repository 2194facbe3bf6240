//! rustls restricted to TLS 1.3, TLS_CHACHA20_POLY1305_SHA256 and x25519 with the ring
//! provider, holding the fixture hierarchies' certificates, for the interop tests; and the
//! fixture conversions (certificates, keys, roots) the benchmarks' rustls peers use too.
#![allow(dead_code, reason = "the tests and the benchmarks each use a part")]

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use fixtures::Hierarchy;
use rustls::crypto::ring;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConnection, RootCertStore, StreamOwned};

/// Whether a rustls server asks for a client certificate, and whether it must get one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientCerts {
    NotAsked,
    Optional,
    Required,
}

/// A client that trusts `h`'s root and, `with_cert`, presents `h`'s client chain.
pub fn client_config(h: Hierarchy, with_cert: bool) -> rustls::ClientConfig {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots(h));
    if with_cert {
        builder
            .with_client_auth_cert(ders(h.client_chain), key_der(h.client_key))
            .expect("client certificate")
    } else {
        builder.with_no_client_auth()
    }
}

/// A server with `h`'s server chain that checks client certificates against `h`'s root.
pub fn server_config(h: Hierarchy, client_certs: ClientCerts) -> rustls::ServerConfig {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3");
    let builder = if client_certs == ClientCerts::NotAsked {
        builder.with_no_client_auth()
    } else {
        let verifier = WebPkiClientVerifier::builder_with_provider(roots(h), provider());
        let verifier = if client_certs == ClientCerts::Optional {
            verifier.allow_unauthenticated()
        } else {
            verifier
        };
        builder.with_client_cert_verifier(verifier.build().expect("client verifier"))
    };
    builder
        .with_single_cert(ders(h.server_chain), key_der(h.server_key))
        .expect("server certificate")
}

/// A client connection for `localhost` over TCP to `addr`; reads give up after 10 seconds.
pub fn connect(
    config: Arc<rustls::ClientConfig>,
    addr: SocketAddr,
) -> StreamOwned<ClientConnection, TcpStream> {
    let name = ServerName::try_from("localhost").expect("name");
    let conn = ClientConnection::new(config, name).expect("client");
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    StreamOwned::new(conn, tcp)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = ring::default_provider();
    p.cipher_suites = vec![ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
    p.kx_groups = vec![ring::kx_group::X25519];
    Arc::new(p)
}

fn roots(h: Hierarchy) -> Arc<RootCertStore> {
    roots_from(h.root)
}

/// A root store holding every certificate of a PEM bundle.
pub fn roots_from(pem: &str) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in ders(pem) {
        roots.add(c).expect("root");
    }
    Arc::new(roots)
}

/// The DER certificates of a PEM bundle.
pub fn ders(pem: &str) -> Vec<CertificateDer<'static>> {
    pki::Certificate::from_pem_bundle(pem)
        .expect("fixture certificates")
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect()
}

/// A PEM private key as rustls takes it (PKCS#8).
pub fn key_der(pem: &str) -> PrivateKeyDer<'static> {
    let key = pki::PrivateKey::from_pem(pem).expect("fixture key");
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        key.to_pkcs8_der().expect("PKCS#8").to_vec(),
    ))
}
