//! keylab: in-memory handshakes driven the way a caller drives `handshake::Connection`,
//! with each side's calls timed separately.

use std::sync::Arc;
use std::time::Instant;

use handshake::{ClientAuth, ClientConfig, Connection, Event, Identity, Path, ServerConfig};
use pki::Certificate;
use time::OffsetDateTime;

use crate::cases::{Case, SERVER_NAME, SideTimes};

/// Both configurations of one case, built once.
pub struct Keylab {
    case: Case,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
}

/// Both ends of an established connection.
pub struct Established {
    /// The client.
    pub client: Connection,
    /// The server.
    pub server: Connection,
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

impl Keylab {
    /// The configurations for `case`: ephemeral-DH is a server with client authentication
    /// off and a client without a certificate; the certificate path is a server that
    /// requires a client certificate and a client that has one.
    pub fn new(case: Case) -> Self {
        let h = case.hierarchy();
        let anchors = Certificate::from_pem_bundle(h.root).expect("fixture root");
        let identity = Identity::from_pem(h.server_chain, h.server_key).expect("server identity");
        let mut server = ServerConfig::new(identity);
        if case.mutual {
            server = server
                .with_client_auth(ClientAuth::Required, anchors.clone())
                .expect("client auth");
        }
        let client = ClientConfig {
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
    pub fn handshake(&self, times: &mut SideTimes) -> Established {
        let mut c2s = Vec::new();
        let mut s2c = Vec::new();
        let t0 = Instant::now();
        let mut client =
            Connection::client(self.client.clone(), SERVER_NAME, harness::seed::os_rng())
                .expect("client");
        client
            .start(OffsetDateTime::now_utc(), &mut c2s)
            .expect("ClientHello");
        let t1 = Instant::now();
        let mut server = Connection::server(self.server.clone(), harness::seed::os_rng());
        let mut last = Instant::now();
        times.client += t1 - t0;
        times.server += last - t1;
        while !c2s.is_empty() {
            server
                .process(&c2s, OffsetDateTime::now_utc(), &mut s2c)
                .expect("server");
            c2s.clear();
            drain(&mut server);
            let now = Instant::now();
            times.server += now - last;
            last = now;
            if s2c.is_empty() {
                break;
            }
            client
                .process(&s2c, OffsetDateTime::now_utc(), &mut c2s)
                .expect("client");
            s2c.clear();
            drain(&mut client);
            let now = Instant::now();
            times.client += now - last;
            last = now;
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

/// Takes every queued event (HandshakeComplete), as a caller would.
fn drain(conn: &mut Connection) {
    while let Some(event) = conn.next_event() {
        debug_assert!(matches!(event, Event::HandshakeComplete), "{event:?}");
    }
}
