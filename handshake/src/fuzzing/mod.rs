//! Entry points for fuzzing, shared by the cargo-fuzz targets in `fuzz/` and by the
//! replay test (`tests/fuzz_seeds.rs`) that runs their corpora on stable, so that the same
//! code runs under the fuzzer and in `cargo test`. Not part of the API: hidden from the
//! docs and free to change.
//!
//! Every entry point is deterministic. Connections draw from ChaCha20 RNGs with the fixed
//! seeds [`CLIENT_SEED`] and [`SERVER_SEED`] and validate certificates at [`NOW`]; nothing
//! else is stubbed (real X25519, signatures, HKDF and AEAD). Because of that, a transcript
//! recorded by [`seeds::handshake_seeds`] with the same seeds replays byte for byte: the
//! recorded peer bytes are valid inputs that take a fresh connection to CONNECTED,
//! encrypted records included, and the fuzzer mutates from there.
//!
//! # Input format of [`client`] and [`server`]
//!
//! ```text
//! input   = options chunk*
//! options = one byte: bits 0-1 the variant, bit 2 the certificate hierarchy
//!           (index into Setup's list, modulo its length), bit 3 (client only) also
//!           offer the external PSK [`PSK_IDENTITY`], bit 4 (client only) also
//!           offer a session an anonymous client earned from server variant 3 in a
//!           recorded connection (resumption); other bits are ignored
//! chunk   = length (u16, big-endian) || that many bytes
//!           (a final chunk may be shorter than its length says; see Chunks)
//! ```
//!
//! Each chunk is one [`Connection::process`] call: one flight of the peer, as a transport
//! would deliver it. Client variants: 0 anonymous (ephemeral-DH path), 1 with a
//! certificate, 2 anonymous with an empty key_share (forces HelloRetryRequest), 3 with a
//! certificate and an empty key_share; the clients with a certificate also offer ALPN
//! (RFC 7301) `h2`, `http/1.1`. Server variants: the client-auth policy, 0 off,
//! 1 optional, 2 required (these two speak ALPN `http/1.1`), and 3 off but accepting the
//! external PSK [`PSK_IDENTITY`] and issuing (and accepting) tickets under the fixed key
//! [`TICKET_KEY`].
//!
//! # [`client_messages`] and [`server_messages`]
//!
//! The same connections, but the input is the peer's *plaintext* handshake messages and
//! record boundaries, which a peer following the key schedule frames and encrypts under
//! the connection's real keys; the format is in the docs of [`messages`].

pub mod message_seeds;
pub mod messages;
mod peer;
pub mod record;
pub mod seeds;

use std::hint::black_box;
use std::sync::Arc;

use pki::Certificate;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use time::OffsetDateTime;
use time::macros::datetime;

pub use self::messages::{Item, Items, client_messages, server_messages};
pub use self::peer::{PEER_X25519_KEY, peer_x25519_public};
pub use self::record::{
    RECORD_IV, RECORD_KEY, RecordOutcome, codec, expected_encoding, record, record_keys,
};
use crate::config::{ClientAuth, ClientConfig, ConfigError, Identity, ServerConfig};
use crate::conn::{Connection, Event};
use crate::error::Error;
use crate::psk::ExternalPsk;
use crate::session::{Session, SessionCache};
use crate::states::{ClientState, ServerState, StateName};
use crate::summary::Path;
use crate::tickets::Tickets;

/// The time every entry point validates certificates at (inside the fixtures' validity).
pub const NOW: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

/// The seed of every client connection's RNG.
pub const CLIENT_SEED: u64 = 0x6b65_796c_6162_0001;

/// The seed of every server connection's RNG.
pub const SERVER_SEED: u64 = 0x6b65_796c_6162_0002;

/// The name the client connects to (the fixtures' server certificates hold `localhost`).
pub const SERVER_NAME: &str = "localhost";

/// The identity of the external PSK of client option bit 3 and server variant 3.
pub const PSK_IDENTITY: &str = "keylab-fuzz";

/// Its key.
pub const PSK_KEY: [u8; 32] = [0x5e; 32];

/// The ticket key of server variant 3.
pub const TICKET_KEY: [u8; 32] = [0x7c; 32];

/// One certificate hierarchy in PEM, as the `fixtures` crate holds it.
#[derive(Clone, Copy, Debug)]
pub struct Credentials<'a> {
    /// The root CA: the trust anchor of both sides.
    pub root: &'a str,
    /// The server's chain, leaf first.
    pub server_chain: &'a str,
    /// The server's private key.
    pub server_key: &'a str,
    /// The client's chain, leaf first.
    pub client_chain: &'a str,
    /// The client's private key.
    pub client_key: &'a str,
}

/// The configurations the entry points choose from; build it once per process.
pub struct Setup {
    hierarchies: Vec<Configs>,
    /// Per hierarchy, the session an anonymous client earns from server variant 3: what a
    /// client offers with option bit 4.
    sessions: Vec<Option<Session>>,
}

/// Every variant's configuration for one hierarchy.
struct Configs {
    /// Indexed by the client variant.
    clients: [Arc<ClientConfig>; 4],
    /// The same, also offering the external PSK (option bit 3).
    clients_psk: [Arc<ClientConfig>; 4],
    /// Indexed by the server variant.
    servers: [Arc<ServerConfig>; 4],
}

impl Setup {
    /// Builds the configurations of every variant for each hierarchy (at least one).
    pub fn new(hierarchies: &[Credentials<'_>]) -> Result<Self, ConfigError> {
        if hierarchies.is_empty() {
            return Err(ConfigError::EmptyChain);
        }
        let hierarchies = hierarchies
            .iter()
            .map(Configs::new)
            .collect::<Result<_, _>>()?;
        let mut setup = Self {
            hierarchies,
            sessions: Vec::new(),
        };
        // Deterministic: a recorded connection with the fixed seeds, once per process. A
        // failure leaves no session, and the resumption seeds' replay tests fail.
        setup.sessions = (0..setup.hierarchies.len())
            .map(|i| seeds::earn_session(&setup, (i as u8) << 2).ok().flatten())
            .collect();
        Ok(setup)
    }

    /// How many hierarchies there are.
    pub fn hierarchies(&self) -> usize {
        self.hierarchies.len()
    }

    fn configs(&self, options: u8) -> &Configs {
        let index = usize::from((options >> 2) & 1) % self.hierarchies.len();
        &self.hierarchies[index]
    }
}

impl Configs {
    fn new(c: &Credentials<'_>) -> Result<Self, ConfigError> {
        let anchors =
            Certificate::from_pem_bundle(c.root).map_err(|e| ConfigError::Pem(e.to_string()))?;
        let client_identity = Arc::new(Identity::from_pem(c.client_chain, c.client_key)?);
        let psk = ExternalPsk::new(PSK_IDENTITY, &PSK_KEY)
            .map_err(|e| ConfigError::Pem(e.to_string()))?;
        let client_with = |identity: bool, hello_retry: bool, psk: Option<ExternalPsk>| {
            Arc::new(ClientConfig {
                trust_anchors: anchors.clone(),
                identity: identity.then(|| client_identity.clone()),
                key_log: None,
                empty_key_share_for_testing_only: hello_retry,
                psk,
                // Clients with a certificate also offer ALPN, so that the seeds carry it
                // in ClientHellos and EncryptedExtensions.
                alpn_protocols: if identity {
                    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
                } else {
                    Vec::new()
                },
                ..ClientConfig::default()
            })
        };
        let client = |identity: bool, hello_retry: bool| client_with(identity, hello_retry, None);
        let client_psk = |identity: bool, hello_retry: bool| {
            client_with(identity, hello_retry, Some(psk.clone()))
        };
        let server = ServerConfig::new(Identity::from_pem(c.server_chain, c.server_key)?);
        let with_policy = |policy| {
            let mut config = server.clone().with_client_auth(policy, anchors.clone())?;
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok::<_, ConfigError>(Arc::new(config))
        };
        let off = Arc::new(server.clone());
        let with_psk = Arc::new(
            server
                .clone()
                .with_psks(vec![psk.clone()])
                .with_tickets(Arc::new(Tickets::new(&TICKET_KEY))),
        );
        Ok(Self {
            clients: [
                client(false, false),
                client(true, false),
                client(false, true),
                client(true, true),
            ],
            clients_psk: [
                client_psk(false, false),
                client_psk(true, false),
                client_psk(false, true),
                client_psk(true, true),
            ],
            servers: [
                off,
                with_policy(ClientAuth::Optional)?,
                with_policy(ClientAuth::Required)?,
                with_psk,
            ],
        })
    }
}

/// The client configuration for `options` (see the module docs).
pub fn client_config(setup: &Setup, options: u8) -> Arc<ClientConfig> {
    let configs = setup.configs(options);
    let list = if options & 8 != 0 {
        &configs.clients_psk
    } else {
        &configs.clients
    };
    let config = list[usize::from(options & 3)].clone();
    let session = setup
        .sessions
        .get(usize::from((options >> 2) & 1) % setup.hierarchies.len());
    match session {
        Some(Some(session)) if options & 16 != 0 => {
            // A fresh cache each time: offering a session takes it from the cache.
            let cache = SessionCache::default();
            cache.insert(session.clone());
            Arc::new(ClientConfig {
                session_cache: Some(Arc::new(cache)),
                ..(*config).clone()
            })
        }
        _ => config,
    }
}

/// A client connection for `options` (see the module docs), with the fixed seed.
pub fn client_connection(setup: &Setup, options: u8) -> Result<Connection, Error> {
    let config = client_config(setup, options);
    Connection::client(config, SERVER_NAME, ChaCha20Rng::seed_from_u64(CLIENT_SEED))
}

/// A server connection for `options` (see the module docs), with the fixed seed.
pub fn server_connection(setup: &Setup, options: u8) -> Connection {
    let config = setup.configs(options).servers[usize::from(options & 3)].clone();
    Connection::server(config, ChaCha20Rng::seed_from_u64(SERVER_SEED))
}

/// What one run of [`client`] or [`server`] reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The state after the last chunk (RFC 8446 Appendix A name, or CONNECTED / CLOSED).
    pub state: StateName,
    /// Whether [`Event::HandshakeComplete`] was reported.
    pub handshake_complete: bool,
    /// The path the handshake took, once complete.
    pub path: Option<Path>,
    /// Whether a HelloRetryRequest was part of the completed handshake.
    pub hello_retry: bool,
    /// Application data bytes received.
    pub application_data: usize,
    /// Whether the peer's close_notify arrived.
    pub peer_closed: bool,
    /// The error that ended processing, if any.
    pub error: Option<Error>,
    /// Bytes the connection wrote (its flights, alerts and the end-of-input actions).
    pub written: usize,
}

/// Feeds the server's bytes in `input` to a client connection.
pub fn client(setup: &Setup, input: &[u8]) -> Outcome {
    let Some((&options, chunks)) = input.split_first() else {
        return Outcome::empty(ClientState::Start.into());
    };
    match client_connection(setup, options) {
        Ok(conn) => run(conn, Chunks::new(chunks)),
        Err(e) => Outcome {
            error: Some(e),
            ..Outcome::empty(ClientState::Start.into())
        },
    }
}

/// Feeds the client's bytes in `input` to a server connection.
pub fn server(setup: &Setup, input: &[u8]) -> Outcome {
    let Some((&options, chunks)) = input.split_first() else {
        return Outcome::empty(ServerState::Start.into());
    };
    run(server_connection(setup, options), Chunks::new(chunks))
}

impl Outcome {
    fn empty(state: StateName) -> Self {
        Self {
            state,
            handshake_complete: false,
            path: None,
            hello_retry: false,
            application_data: 0,
            peer_closed: false,
            error: None,
            written: 0,
        }
    }
}

/// Drives `conn` through every chunk, as a transport loop would, then exercises what a
/// caller does at the end of a connection.
///
/// # Panics
///
/// When the calling contract is broken (see [`Run::finish`]).
fn run(conn: Connection, chunks: Chunks<'_>) -> Outcome {
    let mut run = Run::start(conn);
    for chunk in chunks {
        if !run.deliver(chunk) {
            break;
        }
    }
    run.finish()
}

/// One connection under test, driven chunk by chunk.
struct Run {
    conn: Connection,
    /// Everything the connection wrote.
    out: Vec<u8>,
    outcome: Outcome,
}

impl Run {
    /// Starts `conn` at [`NOW`].
    fn start(mut conn: Connection) -> Self {
        let mut out = Vec::new();
        let mut outcome = Outcome::empty(conn.state());
        if let Err(e) = conn.start(NOW, &mut out) {
            outcome.error = Some(e);
        }
        Self { conn, out, outcome }
    }

    /// Processes one chunk and takes the events; false once the connection has failed.
    fn deliver(&mut self, chunk: &[u8]) -> bool {
        if self.outcome.error.is_some() {
            return false;
        }
        let result = self.conn.process(chunk, NOW, &mut self.out);
        while let Some(event) = self.conn.next_event() {
            match event {
                Event::HandshakeComplete => self.outcome.handshake_complete = true,
                Event::ApplicationData(data) => self.outcome.application_data += data.len(),
                Event::PeerClosed => self.outcome.peer_closed = true,
                Event::SessionTicket { .. } | Event::KeyUpdated { .. } => {}
            }
        }
        self.outcome.error = result.err();
        true
    }

    /// Checks the calling contract, then does what a caller does at the end of a
    /// connection.
    ///
    /// # Panics
    ///
    /// When a connection that returned an error is not closed, or HandshakeComplete and
    /// the summary disagree.
    fn finish(self) -> Outcome {
        let Self {
            mut conn,
            mut out,
            mut outcome,
        } = self;
        outcome.state = conn.state();
        assert!(
            outcome.error.is_none() || (conn.is_closed() && !conn.is_handshaking()),
            "a connection that returned an error must be closed"
        );
        assert_eq!(
            outcome.handshake_complete,
            conn.summary().is_some(),
            "HandshakeComplete is reported exactly when a summary exists"
        );
        if let Some(summary) = conn.summary() {
            outcome.path = Some(summary.path);
            outcome.hello_retry = summary.hello_retry;
            let _ = black_box(conn.export_keying_material(b"EXPORTER-keylab-fuzz", b"", 32));
        }
        // Results are ignored: on a failed or closed connection these are refused, which
        // is what is being exercised.
        let _ = conn.send(b"end of input", &mut out);
        let _ = conn.key_update(true, &mut out);
        conn.close(&mut out);
        let _ = conn.peer_eof();
        outcome.written = out.len();
        outcome
    }
}

/// Splits an input into length-prefixed chunks (see the module docs).
///
/// A final chunk whose length says more than is left is cut short, and a single byte left
/// at the end is a chunk of its own, so every byte of the input is delivered.
#[derive(Clone, Debug)]
pub struct Chunks<'a> {
    rest: &'a [u8],
}

impl<'a> Chunks<'a> {
    /// The chunks of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match *self.rest {
            [] => None,
            [_] => Some(std::mem::take(&mut self.rest)),
            [hi, lo, ref body @ ..] => {
                let len = usize::from(u16::from_be_bytes([hi, lo])).min(body.len());
                let (chunk, rest) = body.split_at(len);
                self.rest = rest;
                Some(chunk)
            }
        }
    }
}

/// Frames `chunks` in the format [`Chunks`] reads; an empty chunk stays one, and a chunk
/// longer than 65 535 bytes becomes several (which a connection processes the same way).
pub fn frame<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in chunks {
        if chunk.is_empty() {
            out.extend_from_slice(&[0, 0]);
        }
        for piece in chunk.chunks(usize::from(u16::MAX)) {
            // `piece` is at most u16::MAX bytes long.
            out.extend_from_slice(&(piece.len() as u16).to_be_bytes());
            out.extend_from_slice(piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_read_what_frame_writes() {
        let long = vec![7u8; 70_000];
        let chunks: [&[u8]; 4] = [b"ab", b"", b"c", &long];
        let framed = frame(chunks);
        let read: Vec<&[u8]> = Chunks::new(&framed).collect();
        assert_eq!(read.len(), 5, "the long chunk is split in two");
        assert_eq!(read[..3], chunks[..3]);
        assert_eq!(read[3..].concat(), long);
    }

    #[test]
    fn short_inputs_still_deliver_every_byte() {
        assert_eq!(Chunks::new(&[]).count(), 0);
        assert_eq!(Chunks::new(&[9]).collect::<Vec<_>>(), [&[9][..]]);
        assert_eq!(
            Chunks::new(&[0, 5, 1, 2]).collect::<Vec<_>>(),
            [&[1, 2][..]]
        );
    }
}
