//! keylab: in-memory handshakes driven the way a caller drives `handshake::Connection`,
//! with each side's calls timed separately.

use std::sync::Arc;

use handshake::{ClientAuth, ClientConfig, Connection, Event, Identity, Path, ServerConfig};
use pki::Certificate;
use time::OffsetDateTime;

use crate::cases::{Case, Established, Laps, SERVER_NAME, SideTimes};

/// Both configurations of one case, built once.
pub struct Keylab {
    case: Case,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
}

impl Keylab {
    /// The configurations for `case`: ephemeral-DH is a server with client authentication
    /// off and a client without a certificate; the certificate path is a server that
    /// requires a client certificate and a client that has one. Both sides take only the
    /// case's suite and group.
    pub fn new(case: Case) -> Self {
        let h = case.hierarchy();
        let anchors = Certificate::from_pem_bundle(h.root).expect("fixture root");
        let identity = Identity::from_pem(h.server_chain, h.server_key).expect("server identity");
        let mut server = ServerConfig::new(identity);
        server.cipher_suites = vec![case.suite];
        server.groups = vec![case.group];
        if case.mutual {
            server = server
                .with_client_auth(ClientAuth::Required, anchors.clone())
                .expect("client auth");
        }
        let client = ClientConfig {
            cipher_suites: vec![case.suite],
            groups: vec![case.group],
            trust_anchors: anchors,
            identity: case.mutual.then(|| {
                Arc::new(Identity::from_pem(h.client_chain, h.client_key).expect("client identity"))
            }),
            ..ClientConfig::default()
        };
        Self {
            case,
            client: Arc::new(client),
            server: Arc::new(server),
        }
    }

    /// The client configuration (shared).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.client.clone()
    }

    /// The server configuration (shared).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server.clone()
    }

    /// Runs one complete handshake, adding the time spent in each side's calls to `times`.
    /// Each connection draws a fresh OS-seeded RNG, as `keylab server` does.
    pub fn handshake(&self, times: &mut SideTimes) -> Established<Connection, Connection> {
        let mut c2s = Vec::new();
        let mut s2c = Vec::new();
        let mut laps = Laps::start();
        let mut client =
            Connection::client(self.client.clone(), SERVER_NAME, harness::seed::os_rng())
                .expect("client");
        client
            .start(OffsetDateTime::now_utc(), &mut c2s)
            .expect("ClientHello");
        laps.charge(&mut times.client);
        let mut server = Connection::server(self.server.clone(), harness::seed::os_rng());
        laps.charge(&mut times.server);
        while !c2s.is_empty() {
            receive(&mut server, &mut c2s, &mut s2c);
            laps.charge(&mut times.server);
            if s2c.is_empty() {
                break;
            }
            receive(&mut client, &mut s2c, &mut c2s);
            laps.charge(&mut times.client);
        }
        debug_assert!(!client.is_handshaking() && !server.is_handshaking());
        Established { client, server }
    }

    /// One handshake, checked: both sides connected on the expected path.
    pub fn check(&self) {
        let done = self.handshake(&mut SideTimes::default());
        let want = if self.case.mutual {
            Path::Certificate
        } else {
            Path::EphemeralDh
        };
        for conn in [&done.client, &done.server] {
            let summary = conn.summary().expect("handshake finished");
            assert_eq!(summary.path, want, "{:?}", self.case);
        }
    }
}

/// Feeds all of `input` to `conn`, appending its answer to `output`, and takes every queued
/// event (HandshakeComplete) as a caller would; empties `input`.
fn receive(conn: &mut Connection, input: &mut Vec<u8>, output: &mut Vec<u8>) {
    conn.process(input, OffsetDateTime::now_utc(), output)
        .expect("handshake");
    input.clear();
    while let Some(event) = conn.next_event() {
        debug_assert!(matches!(event, Event::HandshakeComplete), "{event:?}");
    }
}
