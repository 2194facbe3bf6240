//! rustls 0.23 in the same configuration: ring provider, TLS 1.3 only,
//! TLS_CHACHA20_POLY1305_SHA256, x25519 only, the same fixture chains (as the interop
//! tests configure it, `tests/support/rustls_peer.rs`), client authentication required on
//! the certificate path, no tickets and no resumption.

use std::sync::Arc;

use rustls::client::Resumption;
use rustls::pki_types::ServerName;
use rustls::server::NoServerSessionStorage;
use rustls::{ClientConnection, ConnectionCommon, ServerConnection};

use crate::cases::{Case, Established, Laps, SERVER_NAME, SideTimes};
use crate::rustls_peer::{self, ClientCerts};

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
        let mut client = rustls_peer::client_config(h, case.mutual);
        client.resumption = Resumption::disabled();
        let client_certs = if case.mutual {
            ClientCerts::Required
        } else {
            ClientCerts::NotAsked
        };
        let mut server = rustls_peer::server_config(h, client_certs);
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
