//! Seed corpora recorded from real transcripts, for `fuzz/seeds/<target>/`.
//!
//! A client and a server built by [`client_connection`] and [`server_connection`] (the
//! entry points' own constructors, with the fixed seeds) run a whole connection in memory:
//! the handshake, then application data both ways, a KeyUpdate that asks for an answer, and
//! close_notify from both sides. Each side's bytes, one chunk per flight, become a seed of
//! the other side's target; every handshake message either side sent becomes a `codec`
//! seed. Since the connections are deterministic, replaying a seed takes a fresh connection
//! exactly where the recorded one went.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::{
    CLIENT_SEED, NOW, SERVER_NAME, SERVER_SEED, Setup, TICKET_KEY, client_config,
    client_connection, frame, record_keys, server_connection,
};
use crate::config::ClientConfig;
use crate::conn::Connection;
use crate::conn::trace::{Direction, TraceEvent};
use crate::error::Error;
use crate::msgs::HandshakeMessage;
use crate::msgs::enums::{ContentType, ProtocolVersion};
use crate::msgs::finished::Finished;
use crate::msgs::post_handshake::{KeyUpdate, KeyUpdateRequest};
use crate::record::{RecordEncrypter, write_plaintext};
use crate::session::{Session, SessionCache};
use crate::tickets::Tickets;

/// One seed file: `fuzz/seeds/<target>/<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seed {
    /// The fuzz target (`client`, `server`, `codec`, `record`).
    pub target: &'static str,
    /// The file name.
    pub name: String,
    /// The file's contents.
    pub bytes: Vec<u8>,
}

/// One recorded connection: each side's bytes, one entry per flight, and every handshake
/// message sent.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// What the client sent, flight by flight.
    pub client_to_server: Vec<Vec<u8>>,
    /// What the server sent, flight by flight.
    pub server_to_client: Vec<Vec<u8>>,
    /// Every handshake message either side sent, with its header.
    pub messages: Vec<Vec<u8>>,
    /// The handshake messages the client sent, in order.
    pub client_messages: Vec<Vec<u8>>,
    /// The handshake messages the server sent, in order.
    pub server_messages: Vec<Vec<u8>>,
}

/// A certificate-path seed's name: the hierarchy, the client variant (with or without a
/// certificate, with or without HelloRetryRequest) and the server's client-auth policy.
pub(super) fn seed_name(hierarchy: usize, client_variant: u8, policy: u8) -> String {
    let client = [
        "anonymous",
        "certificate",
        "anonymous-hrr",
        "certificate-hrr",
    ];
    let policy_name = ["auth-off", "auth-optional", "auth-required"];
    format!(
        "h{hierarchy}-{}-{}",
        client[usize::from(client_variant)],
        policy_name[usize::from(policy)]
    )
}

/// The seeds of the `client`, `server` and `codec` targets: every client variant against
/// every server variant (0 to 2) in every hierarchy of `setup` (at most two), except an
/// anonymous client against required client auth, which cannot reach CONNECTED; then the
/// PSK paths against server variant 3: an external PSK (with and without
/// HelloRetryRequest) and, for the server target, a resumption with a ticket the server
/// issued in an earlier recorded connection.
pub fn handshake_seeds(setup: &Setup) -> Result<Vec<Seed>, Error> {
    let mut seeds = Vec::new();
    let mut messages = BTreeMap::new();
    for hierarchy in 0..setup.hierarchies().min(2) {
        for client_variant in 0..4u8 {
            for policy in 0..3u8 {
                if policy == 2 && client_variant % 2 == 0 {
                    // Required client auth refuses an anonymous client: no CONNECTED.
                    continue;
                }
                let h = (hierarchy as u8) << 2;
                let t = record(setup, h | client_variant, h | policy)?;
                let name = seed_name(hierarchy, client_variant, policy);
                seeds.push(seed(
                    "client",
                    &name,
                    h | client_variant,
                    &t.server_to_client,
                ));
                seeds.push(seed("server", &name, h | policy, &t.client_to_server));
                for m in t.messages {
                    messages.entry(message_name(&m)).or_insert(m);
                }
            }
        }
        let h = (hierarchy as u8) << 2;
        for (variant, name) in [(0u8, "psk"), (2, "psk-hrr")] {
            let client_options = h | 8 | variant;
            let t = record(setup, client_options, h | 3)?;
            let name = format!("h{hierarchy}-{name}-auth-off");
            seeds.push(seed("client", &name, client_options, &t.server_to_client));
            seeds.push(seed("server", &name, h | 3, &t.client_to_server));
            for m in t.messages {
                messages.entry(message_name(&m)).or_insert(m);
            }
        }
        let t = record_resumption(setup, h)?;
        let name = format!("h{hierarchy}-resumption-auth-off");
        seeds.push(seed("server", &name, h | 3, &t.client_to_server));
        for m in t.messages {
            messages.entry(message_name(&m)).or_insert(m);
        }
    }
    // Many messages differ only in random bytes (signatures, Finished): two of each kind
    // are enough for the codec.
    let mut per_kind = BTreeMap::<String, usize>::new();
    for (name, bytes) in messages {
        let kind = name.split('-').next().unwrap_or_default().to_owned();
        let count = per_kind.entry(kind).or_default();
        *count += 1;
        if *count <= 2 {
            seeds.push(Seed {
                target: "codec",
                name,
                bytes,
            });
        }
    }
    Ok(seeds)
}

fn seed(target: &'static str, name: &str, options: u8, chunks: &[Vec<u8>]) -> Seed {
    let mut bytes = vec![options];
    bytes.extend(frame(chunks.iter().map(Vec::as_slice)));
    Seed {
        target,
        name: name.to_owned(),
        bytes,
    }
}

/// `<message name>-<first 8 bytes of SHA-256, hex>`: stable and unique per message.
fn message_name(bytes: &[u8]) -> String {
    let kind = HandshakeMessage::decode(bytes).map_or("undecodable", |m| m.name());
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}-{hex}")
}

/// Runs one whole connection between a client and a server with the given options and
/// records it; fails when the handshake does not complete.
pub fn record(setup: &Setup, client_options: u8, server_options: u8) -> Result<Transcript, Error> {
    let client = client_connection(setup, client_options)?;
    record_pair(client, server_connection(setup, server_options))
}

/// A connection that earns a ticket from server variant 3, then one that resumes with it
/// (recorded); `h` is the hierarchy bit of the options.
pub fn record_resumption(setup: &Setup, h: u8) -> Result<Transcript, Error> {
    let config = Arc::new(ClientConfig {
        session_cache: Some(Arc::new(SessionCache::default())),
        ..(*client_config(setup, h)).clone()
    });
    let client = |seed| {
        Connection::client(
            config.clone(),
            SERVER_NAME,
            ChaCha20Rng::seed_from_u64(seed),
        )
    };
    record_pair(client(CLIENT_SEED)?, server_connection(setup, h | 3))?;
    record_pair(client(CLIENT_SEED + 1)?, server_connection(setup, h | 3))
}

/// The session an anonymous client (with hierarchy bit `h`) earns from server variant 3
/// in a recorded connection with the fixed seeds. The server seals the ticket with a
/// [`Tickets`] of its own under [`TICKET_KEY`]: sealing counts, and the shared one must
/// seal the same tickets in every recording.
pub(super) fn earn_session(setup: &Setup, h: u8) -> Result<Option<Session>, Error> {
    let cache = Arc::new(SessionCache::default());
    let config = Arc::new(ClientConfig {
        session_cache: Some(cache.clone()),
        ..(*client_config(setup, h)).clone()
    });
    let client = Connection::client(config, SERVER_NAME, ChaCha20Rng::seed_from_u64(CLIENT_SEED))?;
    let server_config = setup.configs(h).servers[3]
        .as_ref()
        .clone()
        .with_tickets(Arc::new(Tickets::new(&TICKET_KEY)));
    let server = Connection::server(
        Arc::new(server_config),
        ChaCha20Rng::seed_from_u64(SERVER_SEED),
    );
    record_pair(client, server)?;
    Ok(cache.newest(SERVER_NAME))
}

fn record_pair(mut client: Connection, mut server: Connection) -> Result<Transcript, Error> {
    let messages = Arc::new(Mutex::new(Vec::new()));
    for (side, conn) in [(0, &mut client), (1, &mut server)] {
        let sink = messages.clone();
        conn.set_observer(Box::new(move |event| {
            if let TraceEvent::Message {
                direction: Direction::Sent,
                bytes,
                ..
            } = event
                && let Ok(mut list) = sink.lock()
            {
                list.push((side, bytes.to_vec()));
            }
        }));
    }
    let mut t = Transcript::default();
    let mut to_server = Vec::new();
    let mut to_client = Vec::new();
    client.start(NOW, &mut to_server)?;
    for _ in 0..10 {
        if to_server.is_empty() && to_client.is_empty() {
            break;
        }
        deliver(
            &mut t.client_to_server,
            &mut to_server,
            &mut server,
            &mut to_client,
        )?;
        deliver(
            &mut t.server_to_client,
            &mut to_client,
            &mut client,
            &mut to_server,
        )?;
    }
    if client.is_handshaking() || server.is_handshaking() {
        return Err(Error::Usage("the recorded handshake did not complete"));
    }
    // After the handshake: data both ways, a KeyUpdate that asks for one back, and
    // close_notify from each side.
    server.send(b"hello from the server", &mut to_client)?;
    server.key_update(true, &mut to_client)?;
    server.send(b"after the key update", &mut to_client)?;
    deliver(
        &mut t.server_to_client,
        &mut to_client,
        &mut client,
        &mut to_server,
    )?;
    client.send(b"hello from the client", &mut to_server)?;
    client.close(&mut to_server);
    deliver(
        &mut t.client_to_server,
        &mut to_server,
        &mut server,
        &mut to_client,
    )?;
    server.close(&mut to_client);
    deliver(
        &mut t.server_to_client,
        &mut to_client,
        &mut client,
        &mut to_server,
    )?;
    let sent: Vec<(u8, Vec<u8>)> = match messages.lock() {
        Ok(list) => list.clone(),
        Err(_) => return Err(Error::Usage("the message log was poisoned")),
    };
    for (side, bytes) in sent {
        let list = if side == 0 {
            &mut t.client_messages
        } else {
            &mut t.server_messages
        };
        list.push(bytes.clone());
        t.messages.push(bytes);
    }
    Ok(t)
}

/// Moves `pending` to `to` as one flight, logging it; `to`'s answer goes to `answer`.
fn deliver(
    log: &mut Vec<Vec<u8>>,
    pending: &mut Vec<u8>,
    to: &mut Connection,
    answer: &mut Vec<u8>,
) -> Result<(), Error> {
    if pending.is_empty() {
        return Ok(());
    }
    let flight = std::mem::take(pending);
    to.process(&flight, NOW, answer)?;
    while to.next_event().is_some() {}
    log.push(flight);
    Ok(())
}

/// The seeds of the `record` target: record streams under [`record_keys`] that exercise
/// every path of the pipeline, each as one chunk and cut into small chunks.
pub fn record_seeds() -> Result<Vec<Seed>, Error> {
    let finished = HandshakeMessage::Finished(Finished {
        verify_data: vec![0x5a; 32],
    })
    .to_bytes()?;
    let key_update = HandshakeMessage::KeyUpdate(KeyUpdate {
        request_update: KeyUpdateRequest::UpdateRequested,
    })
    .to_bytes()?;
    let encrypted_extensions = [8, 0, 0, 2, 0, 0];

    // Before keys: a plaintext handshake record and change_cipher_spec; then protected
    // handshake messages (two in one record, one fragmented over three), padded
    // application data, an empty application data record and a protected alert.
    let mut mixed = Vec::new();
    write_plaintext(
        ContentType::Handshake,
        ProtocolVersion::Tls12,
        &encrypted_extensions,
        &mut mixed,
    )?;
    write_plaintext(
        ContentType::ChangeCipherSpec,
        ProtocolVersion::Tls12,
        &[1],
        &mut mixed,
    )?;
    let mut enc = RecordEncrypter::new(&record_keys());
    let two = [&encrypted_extensions[..], &finished].concat();
    enc.encrypt(ContentType::Handshake, &two, 0, &mut mixed)?;
    for part in finished.chunks(13) {
        enc.encrypt(ContentType::Handshake, part, 3, &mut mixed)?;
    }
    enc.encrypt(ContentType::Handshake, &key_update, 0, &mut mixed)?;
    enc.encrypt(
        ContentType::ApplicationData,
        b"application data",
        40,
        &mut mixed,
    )?;
    enc.encrypt(ContentType::ApplicationData, b"", 0, &mut mixed)?;
    enc.encrypt(ContentType::Alert, &[1, 0], 0, &mut mixed)?;

    // Plaintext only: handshake messages fragmented over records, then an alert.
    let mut plain = Vec::new();
    for part in two.chunks(5) {
        write_plaintext(
            ContentType::Handshake,
            ProtocolVersion::Tls12,
            part,
            &mut plain,
        )?;
    }
    write_plaintext(
        ContentType::Alert,
        ProtocolVersion::Tls12,
        &[2, 40],
        &mut plain,
    )?;

    let mut seeds = Vec::new();
    for (name, stream) in [("mixed", &mixed), ("plaintext", &plain)] {
        seeds.push(Seed {
            target: "record",
            name: format!("{name}-one-chunk"),
            bytes: frame([stream.as_slice()]),
        });
        seeds.push(Seed {
            target: "record",
            name: format!("{name}-chunks-of-7"),
            bytes: frame(stream.chunks(7)),
        });
    }
    Ok(seeds)
}
