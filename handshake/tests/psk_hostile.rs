//! PSK handshakes from hand-built ClientHellos and unusual clients: psk_ke without any
//! group, replays that need a HelloRetryRequest, hostile identity lists, rejected 0-RTT
//! data, the 7-day limit on chains of resumptions (RFC 8446 §4.2.9–§4.2.11, §4.6.1, §9.2).

mod common;

use std::sync::Arc;

use common::{NOW, Pair, client_config, server_config};
use handshake::error::HandshakeFailure;
use handshake::key_schedule::{EarlySecret, PskKind, verify_data};
use handshake::msgs::HandshakeMessage;
use handshake::msgs::client_hello::ClientHello;
use handshake::msgs::enums::{CipherSuite, NamedGroup, ProtocolVersion, PskKeyExchangeMode};
use handshake::msgs::extensions::{Extension, Extensions};
use handshake::msgs::psk::{OfferedPsks, PskIdentity, binder_prefix};
use handshake::states::ServerState;
use handshake::{
    ClientAuth, ClientConfig, Connection, Error, ExternalPsk, Path, ServerConfig, SessionCache,
    Tickets,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

fn alice() -> ExternalPsk {
    ExternalPsk::new("alice", &[0x42; 32]).expect("valid PSK")
}

/// A ClientHello offering `identities` (binder i is computed with `alice` for every i)
/// with the given extra extensions before pre_shared_key, framed as one record.
fn crafted_hello(extra: Vec<Extension>, identities: &[&[u8]]) -> Vec<u8> {
    let mut ext = vec![Extension::SupportedVersionsClientHello(vec![
        ProtocolVersion::Tls13,
    ])];
    ext.extend(extra);
    let mut offered = OfferedPsks {
        identities: identities
            .iter()
            .map(|id| PskIdentity {
                identity: id.to_vec(),
                obfuscated_ticket_age: 0,
            })
            .collect(),
        binders: vec![vec![0; 32]; identities.len()],
    };
    ext.push(Extension::PreSharedKeyClientHello(offered.clone()));
    let mut ch = ClientHello {
        legacy_version: ProtocolVersion::Tls12,
        random: [7; 32],
        legacy_session_id: Vec::new(),
        cipher_suites: vec![CipherSuite::TlsChacha20Poly1305Sha256],
        legacy_compression_methods: vec![0],
        extensions: Extensions(ext),
    };
    let bytes = HandshakeMessage::ClientHello(ch.clone())
        .to_bytes()
        .expect("encodes");
    let prefix = binder_prefix(&bytes, &offered).expect("prefix");
    let hash: [u8; 32] = Sha256::digest(prefix).into();
    let key = EarlySecret::new(Some(alice().secret())).binder_key(PskKind::External);
    for b in &mut offered.binders {
        *b = verify_data(&key, &hash).to_vec();
    }
    *ch.extensions.0.last_mut().expect("psk") = Extension::PreSharedKeyClientHello(offered);
    let bytes = HandshakeMessage::ClientHello(ch)
        .to_bytes()
        .expect("encodes");
    let mut records = Vec::new();
    for chunk in bytes.chunks(16_384) {
        records.extend_from_slice(&[22, 3, 1]);
        records.extend_from_slice(&u16::try_from(chunk.len()).expect("fits").to_be_bytes());
        records.extend_from_slice(chunk);
    }
    records
}

fn server_conn(config: ServerConfig) -> Connection {
    Connection::server(Arc::new(config), ChaCha20Rng::seed_from_u64(3))
}

/// RFC 8446 §9.2: only a ClientHello *without* pre_shared_key must carry
/// supported_groups; key_share and supported_groups go together. A psk_ke-only
/// ClientHello with neither is valid (§4.2.9: psk_ke needs no key_share).
#[test]
fn psk_ke_hello_without_groups_or_key_share_is_accepted() {
    let hello = crafted_hello(
        vec![Extension::PskKeyExchangeModes(vec![
            PskKeyExchangeMode::PskKe,
        ])],
        &[b"alice"],
    );
    let mut config = ServerConfig::psk_only(vec![alice()]);
    config.allow_psk_ke = true;
    let mut server = server_conn(config);
    let mut out = Vec::new();
    let result = server.process(&hello, NOW, &mut out);
    assert_eq!(result, Ok(()), "a valid psk_ke ClientHello was refused");
    assert_eq!(server.state(), ServerState::WaitFlight2.into());
}

/// A single-use ticket replayed with psk_ke and an empty key_share: the server refuses the
/// ticket only after deciding no HelloRetryRequest was needed, and must then ask for a
/// share and do a full handshake.
#[test]
fn replayed_psk_ke_ticket_without_share_falls_back_through_hello_retry() {
    let tickets = Arc::new(Tickets::new(&[9; 32]).single_use(100));
    let cache = Arc::new(SessionCache::default());
    let mut server = server_config(false, ClientAuth::Off).with_tickets(tickets);
    server.allow_psk_ke = true;
    let client = ClientConfig {
        session_cache: Some(cache.clone()),
        allow_psk_ke: true,
        psk_ke_only: true,
        ..client_config(false, false)
    };
    let mut pair = Pair::new(client.clone(), server.clone());
    pair.handshake();
    let saved = cache.newest("localhost").expect("a ticket");
    let resuming = ClientConfig {
        empty_key_share_for_testing_only: true,
        ..client
    };
    let mut pair = Pair::with_seed(resuming.clone(), server.clone(), "localhost", 2);
    pair.handshake();
    assert_eq!(
        pair.server.summary().expect("summary").path,
        Path::Resumption
    );
    cache.insert(saved); // the replay
    let mut pair = Pair::with_seed(resuming, server, "localhost", 3);
    let (_, server_err) = pair.drive_until_error();
    assert_eq!(
        server_err, None,
        "replay should fall back to a full handshake"
    );
    let summary = pair.server.summary().expect("completed");
    assert_eq!(summary.path, Path::EphemeralDh);
    assert!(summary.hello_retry);
    assert!(
        summary.reason.contains("already used"),
        "{}",
        summary.reason
    );
}

/// Control for the test above: the same crafted hello with supported_groups and an empty
/// key_share is accepted (so the crafted binder is right and only §9.2 differs).
#[test]
fn crafted_psk_ke_hello_with_groups_is_accepted() {
    let hello = crafted_hello(
        vec![
            Extension::SupportedGroups(vec![NamedGroup::X25519]),
            Extension::KeyShareClientHello(Vec::new()),
            Extension::PskKeyExchangeModes(vec![PskKeyExchangeMode::PskKe]),
        ],
        &[b"alice"],
    );
    let mut config = ServerConfig::psk_only(vec![alice()]);
    config.allow_psk_ke = true;
    let mut server = server_conn(config);
    let mut out = Vec::new();
    assert_eq!(server.process(&hello, NOW, &mut out), Ok(()));
    assert_eq!(server.state(), ServerState::WaitFlight2.into());
}

/// Hostile pre_shared_key lists: ~1500 identities (junk tickets first, then a duplicated
/// known identity). No panic; the first known identity is selected and its binder checked.
#[test]
fn many_and_duplicate_identities() {
    let junk: Vec<Vec<u8>> = (0u16..1500).map(|i| i.to_be_bytes().to_vec()).collect();
    let mut ids: Vec<&[u8]> = junk.iter().map(Vec::as_slice).collect();
    ids.push(b"alice");
    ids.push(b"alice");
    let hello = crafted_hello(
        vec![
            Extension::SupportedGroups(vec![NamedGroup::X25519]),
            Extension::KeyShareClientHello(Vec::new()),
            Extension::PskKeyExchangeModes(vec![PskKeyExchangeMode::PskKe]),
        ],
        &ids,
    );
    let mut config = server_config(false, ClientAuth::Off)
        .with_psks(vec![alice()])
        .with_tickets(Arc::new(Tickets::new(&[1; 32])));
    config.allow_psk_ke = true;
    let mut server = server_conn(config);
    let mut out = Vec::new();
    assert_eq!(server.process(&hello, NOW, &mut out), Ok(()));
    assert_eq!(server.state(), ServerState::WaitFlight2.into());
}

/// An application_data record of `len` random-looking bytes: early data under a key the
/// server does not have.
fn early_record(len: usize, fill: u8) -> Vec<u8> {
    let mut r = vec![23, 3, 3];
    r.extend_from_slice(&u16::try_from(len).expect("fits").to_be_bytes());
    r.extend((0..len).map(|i| fill ^ (i as u8)));
    r
}

/// RFC 8446 §4.2.10: a server that does not accept 0-RTT data skips it (here by trial
/// decryption under the handshake keys), up to a limit; without early_data in the
/// ClientHello the same records are bad_record_mac.
#[test]
fn rejected_early_data_is_skipped_up_to_a_limit() {
    let config = || {
        let mut c = ServerConfig::psk_only(vec![alice()]);
        c.allow_psk_ke = true;
        c
    };
    let with_early = crafted_hello(
        vec![
            Extension::PskKeyExchangeModes(vec![PskKeyExchangeMode::PskKe]),
            Extension::EarlyData,
        ],
        &[b"alice"],
    );
    let mut server = server_conn(config());
    let mut out = Vec::new();
    let mut input = with_early.clone();
    input.extend(early_record(300, 1));
    input.extend(early_record(16_000, 2));
    assert_eq!(server.process(&input, NOW, &mut out), Ok(()));
    assert_eq!(server.state(), ServerState::WaitFlight2.into());
    // The budget is four full records; far more is an attack.
    let mut flood = Vec::new();
    for i in 0..5 {
        flood.extend(early_record(16_640, i));
    }
    assert_eq!(
        server.process(&flood, NOW, &mut out),
        Err(Error::DecryptFailed)
    );

    let without = crafted_hello(
        vec![Extension::PskKeyExchangeModes(vec![
            PskKeyExchangeMode::PskKe,
        ])],
        &[b"alice"],
    );
    let mut server = server_conn(config());
    let mut input = without;
    input.extend(early_record(300, 1));
    assert_eq!(
        server.process(&input, NOW, &mut out),
        Err(Error::DecryptFailed)
    );
}

/// After a HelloRetryRequest the server has no keys yet; the client's early data arrives
/// as application_data records and is dropped until the second ClientHello.
#[test]
fn early_data_before_the_second_hello_is_dropped() {
    let hello = crafted_hello(
        vec![
            Extension::SupportedGroups(vec![NamedGroup::X25519]),
            Extension::KeyShareClientHello(Vec::new()),
            Extension::PskKeyExchangeModes(vec![PskKeyExchangeMode::PskDheKe]),
            Extension::EarlyData,
        ],
        &[b"alice"],
    );
    let mut server = server_conn(ServerConfig::psk_only(vec![alice()]));
    let mut out = Vec::new();
    let mut input = hello;
    input.extend(early_record(500, 3));
    assert_eq!(server.process(&input, NOW, &mut out), Ok(()));
    assert_eq!(
        server.state(),
        ServerState::Start.into(),
        "a HelloRetryRequest went out"
    );
    assert_eq!(out[5], 2, "ServerHello (HelloRetryRequest) type");
}

/// RFC 8446 §4.6.1: tickets from resumed connections keep the time of the original full
/// handshake; once that is more than 7 days old, resumption stops.
#[test]
fn resumption_chains_end_seven_days_after_the_full_handshake() {
    let tickets = Arc::new(Tickets::new(&[4; 32]).with_lifetime(604_800).expect("max"));
    let cache = Arc::new(SessionCache::default());
    let server = server_config(false, ClientAuth::Off).with_tickets(tickets);
    let client = ClientConfig {
        session_cache: Some(cache.clone()),
        ..client_config(false, false)
    };
    let day = time::Duration::days(1);
    let mut paths = Vec::new();
    for (i, when) in [NOW, NOW + day * 4, NOW + day * 7 + time::Duration::hours(1)]
        .into_iter()
        .enumerate()
    {
        let mut pair = Pair::at(client.clone(), server.clone(), "localhost", i as u64, when);
        pair.handshake();
        let summary = pair.server.summary().expect("summary").clone();
        paths.push(summary.path);
        if i == 2 {
            assert!(
                summary.reason.contains("more than the 604800 s allowed"),
                "{}",
                summary.reason
            );
        }
    }
    assert_eq!(
        paths,
        [Path::EphemeralDh, Path::ResumptionDhe, Path::EphemeralDh]
    );
}

/// A PSK-only server refuses a client without a usable PSK at once, with no
/// HelloRetryRequest round trip first.
#[test]
fn psk_only_server_refuses_without_a_hello_retry() {
    let client = ClientConfig {
        empty_key_share_for_testing_only: true,
        ..client_config(false, false)
    };
    let mut pair = Pair::new(client, ServerConfig::psk_only(vec![alice()]));
    let (_, server_err) = pair.drive_until_error();
    assert_eq!(
        server_err,
        Some(Error::HandshakeFailure(HandshakeFailure::PskOnly {
            declined: None
        }))
    );
    let transitions = pair.server_transitions.lock().expect("lock").clone();
    let retry = (ServerState::RecvdCh.into(), ServerState::Start.into());
    assert!(!transitions.contains(&retry), "{transitions:?}");
}
