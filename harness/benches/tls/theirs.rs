//! rustls 0.23 in the same configuration: ring provider, TLS 1.3 only,
//! TLS_CHACHA20_POLY1305_SHA256, x25519 only, the same fixture chains (as the interop
//! tests configure it, `tests/support/rustls_peer.rs`), client authentication required on
//! the certificate path, no tickets and no resumption.

use std::sync::Arc;
use std::time::Instant;

use rustls::client::Resumption;
use rustls::pki_types::ServerName;
use rustls::server::NoServerSessionStorage;
use rustls::{ClientConnection, ConnectionCommon, ServerConnection};

use crate::cases::{Case, SERVER_NAME, SideTimes};
use crate::rustls_peer::{self, ClientCerts};

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
