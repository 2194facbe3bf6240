//! rustls 0.23 in the same configuration: ring provider, TLS 1.3 only,
//! TLS_CHACHA20_POLY1305_SHA256, x25519 only, the same fixture chains, client
//! authentication required on the certificate path, no tickets and no resumption.

use std::sync::Arc;
use std::time::Instant;

use rustls::client::Resumption;
use rustls::crypto::ring as provider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConnection, ConnectionCommon, RootCertStore, ServerConnection};

use crate::cases::{Case, SERVER_NAME, SideTimes};

/// Both configurations of one case, built once.
pub struct Rustls {
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
    name: ServerName<'static>,
}

/// Both ends of an established connection.
pub struct Established {
    /// The client.
    pub client: ClientConnection,
    /// The server.
    pub server: ServerConnection,
}

impl Established {
    /// Drops both ends, adding each drop to its side's time.
    pub fn close(self, times: &mut SideTimes) {
        let t0 = Instant::now();
        drop(self.client);
        let t1 = Instant::now();
        drop(self.server);
        times.client += t1 - t0;
        times.server += t1.elapsed();
    }
}

fn ders(pem: &str) -> Vec<CertificateDer<'static>> {
    pki::Certificate::from_pem_bundle(pem)
        .expect("fixture certificates")
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect()
}

fn key_der(pem: &str) -> PrivateKeyDer<'static> {
    let key = pki::PrivateKey::from_pem(pem).expect("fixture key");
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        key.to_pkcs8_der().expect("PKCS#8").to_vec(),
    ))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = provider::default_provider();
    p.cipher_suites = vec![provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
    p.kx_groups = vec![provider::kx_group::X25519];
    Arc::new(p)
}

impl Rustls {
    /// The configurations for `case`.
    pub fn new(case: Case) -> Self {
        let h = case.hierarchy();
        let mut roots = RootCertStore::empty();
        for c in ders(h.root) {
            roots.add(c).expect("root");
        }
        let roots = Arc::new(roots);

        let client = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("TLS 1.3")
            .with_root_certificates(roots.clone());
        let mut client = if case.mutual {
            client
                .with_client_auth_cert(ders(h.client_chain), key_der(h.client_key))
                .expect("client certificate")
        } else {
            client.with_no_client_auth()
        };
        client.resumption = Resumption::disabled();

        let server = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("TLS 1.3");
        let server = if case.mutual {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider())
                .build()
                .expect("client verifier");
            server.with_client_cert_verifier(verifier)
        } else {
            server.with_no_client_auth()
        };
        let mut server = server
            .with_single_cert(ders(h.server_chain), key_der(h.server_key))
            .expect("server certificate");
        server.send_tls13_tickets = 0;
        server.session_storage = Arc::new(NoServerSessionStorage {});

        Self {
            client: Arc::new(client),
            server: Arc::new(server),
            name: ServerName::try_from(SERVER_NAME).expect("server name"),
        }
    }

    /// Runs one complete handshake, adding the time spent in each side's calls to `times`.
    pub fn handshake(&self, times: &mut SideTimes) -> Established {
        let mut wire = Vec::new();
        let t0 = Instant::now();
        let mut client =
            ClientConnection::new(self.client.clone(), self.name.clone()).expect("client");
        let t1 = Instant::now();
        let mut server = ServerConnection::new(self.server.clone()).expect("server");
        let mut last = Instant::now();
        times.client += t1 - t0;
        times.server += last - t1;
        loop {
            write_out(&mut client, &mut wire);
            let now = Instant::now();
            times.client += now - last;
            last = now;
            let c2s = wire.len();
            read_in(&mut server, &mut wire);
            write_out(&mut server, &mut wire);
            let now = Instant::now();
            times.server += now - last;
            last = now;
            let s2c = wire.len();
            read_in(&mut client, &mut wire);
            let now = Instant::now();
            times.client += now - last;
            last = now;
            if c2s + s2c == 0 {
                break;
            }
        }
        assert!(!client.is_handshaking() && !server.is_handshaking());
        Established { client, server }
    }
}

/// Appends everything `conn` has to send to `wire`.
pub fn write_out<D>(conn: &mut ConnectionCommon<D>, wire: &mut Vec<u8>) {
    while conn.wants_write() {
        conn.write_tls(wire).expect("write_tls");
    }
}

/// Feeds all of `wire` to `conn` and processes it; empties `wire`.
pub fn read_in<D>(conn: &mut ConnectionCommon<D>, wire: &mut Vec<u8>) {
    let mut rest = &wire[..];
    while !rest.is_empty() {
        conn.read_tls(&mut rest).expect("read_tls");
        conn.process_new_packets().expect("process_new_packets");
    }
    wire.clear();
}
