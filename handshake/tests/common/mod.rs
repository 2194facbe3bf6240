//! An in-memory client/server pair for protocol tests: `transfer` moves the bytes one side
//! wrote to the other, `transfer_altered` lets a test change them on the way, and
//! `drive_until_error` runs both sides until they finish or fail.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helper"
)]

use std::sync::{Arc, Mutex};

use handshake::key_schedule::{Secret, TrafficKeys};
use handshake::msgs::HandshakeMessage;
use handshake::msgs::client_hello::ClientHello;
use handshake::msgs::enums::{ContentType, ProtocolVersion};
use handshake::record::{RecordEncrypter, write_plaintext};
use handshake::states::{self, StateName};
use handshake::{
    ClientAuth, ClientConfig, Connection, Error, Event, Identity, KeyLog, ServerConfig,
    SupportedSuite, TraceEvent,
};
use pki::Certificate;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use time::OffsetDateTime;
use time::macros::datetime;

/// The time every test validates certificates at.
pub const NOW: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

/// Which way bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    C2S,
    /// Server to client.
    S2C,
}

/// The certificate hierarchy to use.
pub fn hierarchy(rsa: bool) -> fixtures::Hierarchy {
    if rsa {
        fixtures::RSA
    } else {
        fixtures::ED25519
    }
}

pub fn certs(pem: &str) -> Vec<Certificate> {
    Certificate::from_pem_bundle(pem).expect("fixture certificates")
}

pub fn server_config(rsa: bool, policy: ClientAuth) -> ServerConfig {
    let h = hierarchy(rsa);
    let config = ServerConfig::new(
        Identity::from_pem(h.server_chain, h.server_key).expect("server identity"),
    );
    if policy == ClientAuth::Off {
        config
    } else {
        config
            .with_client_auth(policy, certs(h.root))
            .expect("client auth")
    }
}

pub fn client_config(rsa: bool, with_cert: bool) -> ClientConfig {
    let h = hierarchy(rsa);
    ClientConfig {
        trust_anchors: certs(h.root),
        identity: with_cert.then(|| {
            Arc::new(Identity::from_pem(h.client_chain, h.client_key).expect("client identity"))
        }),
        ..ClientConfig::default()
    }
}

/// Records every transition a connection takes.
pub type Transitions = Arc<Mutex<Vec<(StateName, StateName)>>>;

pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub client_out: Vec<u8>,
    pub server_out: Vec<u8>,
    pub client_error: Option<Error>,
    pub server_error: Option<Error>,
    pub client_transitions: Transitions,
    pub server_transitions: Transitions,
    /// Every byte each side sent, in order.
    pub c2s_log: Vec<u8>,
    pub s2c_log: Vec<u8>,
    pub now: OffsetDateTime,
}

fn record_transitions(conn: &mut Connection) -> Transitions {
    let log: Transitions = Arc::default();
    let sink = log.clone();
    conn.set_observer(Box::new(move |e| {
        if let TraceEvent::Transition { from, to } = e {
            sink.lock().expect("lock").push((*from, *to));
        }
    }));
    log
}

impl Pair {
    /// The plainest pair: Ed25519 certificates, and a server that asks for no client
    /// certificate.
    pub fn basic() -> Self {
        Self::new(
            client_config(false, false),
            server_config(false, ClientAuth::Off),
        )
    }

    /// [`Pair::basic`] with the client's secrets logged.
    pub fn basic_with_key_log() -> (Self, Arc<MemoryKeyLog>) {
        let log = Arc::new(MemoryKeyLog::default());
        let client = ClientConfig {
            key_log: Some(log.clone()),
            ..client_config(false, false)
        };
        let pair = Self::new(client, server_config(false, ClientAuth::Off));
        (pair, log)
    }

    pub fn new(client: ClientConfig, server: ServerConfig) -> Self {
        Self::with_seed(client, server, "localhost", 1)
    }

    pub fn with_seed(client: ClientConfig, server: ServerConfig, name: &str, seed: u64) -> Self {
        Self::at(client, server, name, seed, NOW)
    }

    /// A pair whose client starts (and measures ticket ages) at `start`; both sides then
    /// process at `start` too until a test changes `now`.
    pub fn at(
        client: ClientConfig,
        server: ServerConfig,
        name: &str,
        seed: u64,
        start: OffsetDateTime,
    ) -> Self {
        let mut client =
            Connection::client(Arc::new(client), name, ChaCha20Rng::seed_from_u64(seed))
                .expect("client");
        let mut server = Connection::server(
            Arc::new(server),
            ChaCha20Rng::seed_from_u64(seed + 1_000_000),
        );
        let client_transitions = record_transitions(&mut client);
        let server_transitions = record_transitions(&mut server);
        let mut client_out = Vec::new();
        client.start(start, &mut client_out).expect("ClientHello");
        Self {
            client,
            server,
            client_out,
            server_out: Vec::new(),
            client_error: None,
            server_error: None,
            client_transitions,
            server_transitions,
            c2s_log: Vec::new(),
            s2c_log: Vec::new(),
            now: start,
        }
    }

    /// Moves what one side wrote to the other; returns how many bytes moved.
    pub fn transfer(&mut self, dir: Dir) -> usize {
        self.transfer_altered(dir, |_| {})
    }

    /// Like [`Pair::transfer`], after `alter` has changed the bytes in flight.
    pub fn transfer_altered(&mut self, dir: Dir, alter: impl FnOnce(&mut Vec<u8>)) -> usize {
        let (from, to, out, log, err) = match dir {
            Dir::C2S => (
                &mut self.client_out,
                &mut self.server,
                &mut self.server_out,
                &mut self.c2s_log,
                &mut self.server_error,
            ),
            Dir::S2C => (
                &mut self.server_out,
                &mut self.client,
                &mut self.client_out,
                &mut self.s2c_log,
                &mut self.client_error,
            ),
        };
        let mut bytes = std::mem::take(from);
        if bytes.is_empty() {
            return 0;
        }
        alter(&mut bytes);
        log.extend_from_slice(&bytes);
        if err.is_none()
            && let Err(e) = to.process(&bytes, self.now, out)
        {
            *err = Some(e);
        }
        bytes.len()
    }

    /// Transfers both ways until nothing moves (at most 20 rounds, so it always stops).
    pub fn drive(&mut self) {
        for _ in 0..20 {
            if self.transfer(Dir::C2S) + self.transfer(Dir::S2C) == 0 {
                return;
            }
        }
        panic!("the pair did not settle within 20 rounds");
    }

    /// Drives until both settle; panics with both errors if either side failed.
    pub fn drive_without_errors(&mut self) {
        self.drive();
        assert!(
            self.client_error.is_none() && self.server_error.is_none(),
            "failed: client {:?}, server {:?}",
            self.client_error,
            self.server_error
        );
    }

    /// Drives until both are connected; panics with both errors otherwise.
    pub fn handshake(&mut self) {
        self.drive_without_errors();
        assert!(
            !self.client.is_handshaking() && !self.server.is_handshaking(),
            "handshake stalled"
        );
    }

    /// Drives until the exchange stops and returns (client error, server error).
    pub fn drive_until_error(&mut self) -> (Option<Error>, Option<Error>) {
        self.drive();
        (self.client_error.clone(), self.server_error.clone())
    }

    /// All events each side has queued.
    pub fn events(conn: &mut Connection) -> Vec<Event> {
        std::iter::from_fn(|| conn.next_event()).collect()
    }

    /// Asserts every transition taken is one the state tables list.
    pub fn assert_transitions_listed(&self) {
        for log in [&self.client_transitions, &self.server_transitions] {
            for &(from, to) in log.lock().expect("lock").iter() {
                assert!(
                    states::is_listed(from, to),
                    "unlisted transition {from} -> {to}"
                );
            }
        }
    }
}

/// One key log entry: label, client random, secret.
pub type KeyLogLine = (String, [u8; 32], Vec<u8>);

/// A key log that keeps lines in memory.
#[derive(Default)]
pub struct MemoryKeyLog(pub Mutex<Vec<KeyLogLine>>);

impl KeyLog for MemoryKeyLog {
    fn log(&self, label: &str, client_random: &[u8; 32], secret: &[u8]) {
        self.0
            .lock()
            .expect("lock")
            .push((label.to_owned(), *client_random, secret.to_vec()));
    }
}

impl MemoryKeyLog {
    pub fn get(&self, label: &str) -> Option<Vec<u8>> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .find(|(l, _, _)| l == label)
            .map(|(_, _, s)| s.clone())
    }

    /// The 32-byte secret logged under `label`, as a [`Secret`]; panics when there is none.
    pub fn secret(&self, label: &str) -> Secret {
        let bytes: [u8; 32] = self
            .get(label)
            .expect("logged")
            .try_into()
            .expect("32 bytes");
        Secret::from_bytes(bytes)
    }
}

/// A pair (no client certificate) after both first flights, with the client's second
/// flight replaced by one protected record carrying `content` of type `typ` under the
/// client's handshake traffic key, as a peer that holds the keys would send it.
pub fn client_second_flight(typ: ContentType, content: &[u8]) -> Pair {
    let (mut p, log) = Pair::basic_with_key_log();
    p.transfer(Dir::C2S);
    p.transfer(Dir::S2C);
    let mut enc = RecordEncrypter::new(&TrafficKeys::derive(
        SupportedSuite::Chacha20Poly1305Sha256,
        &log.secret("CLIENT_HANDSHAKE_TRAFFIC_SECRET"),
    ));
    let mut record = Vec::new();
    enc.encrypt(typ, content, 0, &mut record).expect("encrypt");
    p.client_out = record;
    p
}

/// `bytes` as plaintext records of type `typ` (legacy_record_version 0x0303, RFC 8446 §5.1).
pub fn plaintext_records(typ: ContentType, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_plaintext(typ, ProtocolVersion::Tls12, bytes, &mut out).expect("records");
    out
}

/// `msg` encoded and framed as plaintext handshake records.
pub fn plaintext_record(msg: &HandshakeMessage) -> Vec<u8> {
    plaintext_records(ContentType::Handshake, &msg.to_bytes().expect("encode"))
}

/// A basic pair whose first ClientHello was changed by `edit` before the server sees it.
pub fn edited_hello(edit: impl FnOnce(&mut ClientHello)) -> Pair {
    let mut p = Pair::basic();
    let bytes = std::mem::take(&mut p.client_out);
    let Ok(HandshakeMessage::ClientHello(mut ch)) = HandshakeMessage::decode(&bytes[5..]) else {
        panic!("not a ClientHello");
    };
    edit(&mut ch);
    p.client_out = plaintext_record(&HandshakeMessage::ClientHello(ch));
    p
}

/// The records of a byte stream, each as its own byte vector.
pub fn split_records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 5 <= bytes.len() {
        let len = 5 + usize::from(u16::from_be_bytes([bytes[at + 3], bytes[at + 4]]));
        out.push(bytes[at..at + len].to_vec());
        at += len;
    }
    out
}
