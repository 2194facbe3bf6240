//! rustls 0.23 in the same configuration as keylab: ring provider, TLS 1.3 only, the
//! case's one cipher suite (TLS_CHACHA20_POLY1305_SHA256 or TLS13_AES_128_GCM_SHA256) and
//! one group (x25519 or secp256r1), the same fixture chains, client authentication
//! required on the certificate path, no tickets and no resumption.

use std::sync::Arc;

use handshake::{SupportedGroup, SupportedSuite};
use rustls::client::Resumption;
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::ServerName;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConnection, ConnectionCommon, ServerConnection};

use crate::cases::{Case, Established, Laps, SERVER_NAME, SideTimes};
use crate::rustls_peer::{ders, key_der, roots_from};

/// Both configurations of one case, built once.
pub struct Rustls {
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
    name: ServerName<'static>,
}

impl Rustls {
    /// The configurations for `case`.
    pub fn new(case: Case) -> Self {
        let h = case.hierarchy();
        let provider = provider(case);
        let roots = roots_from(h.root);
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("TLS 1.3")
            .with_root_certificates(roots.clone());
        let mut client = if case.mutual {
            builder
                .with_client_auth_cert(ders(h.client_chain), key_der(h.client_key))
                .expect("client certificate")
        } else {
            builder.with_no_client_auth()
        };
        client.resumption = Resumption::disabled();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("TLS 1.3");
        let builder = if case.mutual {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut server = builder
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
    pub fn handshake(
        &self,
        times: &mut SideTimes,
    ) -> Established<ClientConnection, ServerConnection> {
        let mut wire = Vec::new();
        let mut laps = Laps::start();
        let mut client =
            ClientConnection::new(self.client.clone(), self.name.clone()).expect("client");
        laps.charge(&mut times.client);
        let mut server = ServerConnection::new(self.server.clone()).expect("server");
        laps.charge(&mut times.server);
        loop {
            write_out(&mut client, &mut wire);
            laps.charge(&mut times.client);
            let c2s = wire.len();
            read_in(&mut server, &mut wire);
            write_out(&mut server, &mut wire);
            laps.charge(&mut times.server);
            let s2c = wire.len();
            read_in(&mut client, &mut wire);
            laps.charge(&mut times.client);
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

/// The ring provider with only the case's suite and group.
fn provider(case: Case) -> Arc<CryptoProvider> {
    let mut p = ring::default_provider();
    p.cipher_suites = vec![match case.suite {
        SupportedSuite::Chacha20Poly1305Sha256 => {
            ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256
        }
        SupportedSuite::Aes128GcmSha256 => ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
    }];
    p.kx_groups = vec![match case.group {
        SupportedGroup::X25519 => ring::kx_group::X25519,
        SupportedGroup::Secp256r1 => ring::kx_group::SECP256R1,
    }];
    Arc::new(p)
}
