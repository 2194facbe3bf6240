//! Flipping any single bit of the handshake never lets it complete — except in
//! legacy_record_version of an unprotected record (change_cipher_spec included), which
//! RFC 8446 §5.1 says to ignore —
//! and the alert sent is one RFC 8446 allows for the field that was hit.
//!
//! Every offset of every flight, both directions, both paths, with Ed25519 certificates; a
//! sample of offsets with RSA. In memory: a transcript is recorded once, then replayed
//! with one bit flipped per run.

mod support;

use std::sync::Arc;

use handshake::msgs::alert::AlertDescription as A;
use handshake::{ClientAuth, Connection, Error, Side};
use harness::explain::explain_message_from;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use support::{hierarchy, keylab_peer};
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

/// Any alert a protocol error may bring; certificate alerts and internal_error are not
/// among them (certificates travel encrypted, and nothing here is our own fault).
const PROTOCOL: &[A] = &[
    A::DecodeError,
    A::IllegalParameter,
    A::BadRecordMac,
    A::DecryptError,
    A::UnexpectedMessage,
    A::RecordOverflow,
    A::HandshakeFailure,
    A::MissingExtension,
    A::UnsupportedExtension,
    A::ProtocolVersion,
];
/// A different transcript or key: the peer's Finished, signature or records fail.
const TRANSCRIPT: &[A] = &[A::BadRecordMac, A::DecryptError];

/// What a flip at one field may lead to.
struct Expect {
    alerts: &'static [A],
    /// A changed length can leave a side waiting for bytes that never come; the transport
    /// then ends and the waiting side reports truncation.
    may_stall: bool,
}

const fn e(alerts: &'static [A], may_stall: bool) -> Option<Expect> {
    Some(Expect { alerts, may_stall })
}

/// `None`: the flip must be harmless.
fn expectation(field: &str, message: &str, encrypted: bool) -> Option<Expect> {
    let from_server = message == "ServerHello";
    match field {
        "record type" => e(&[A::UnexpectedMessage, A::DecodeError], false),
        "record version" if encrypted => e(&[A::BadRecordMac], false),
        "record version" => None,
        "record length" => e(PROTOCOL, true),
        "encrypted record" => e(&[A::BadRecordMac], false),
        "msg_type" => e(&[A::UnexpectedMessage, A::DecodeError], false),
        f if f == "length" || f.ends_with(" length") => e(PROTOCOL, true),
        "random" => e(TRANSCRIPT, false),
        "key_exchange" => e(
            &[A::BadRecordMac, A::DecryptError, A::IllegalParameter],
            false,
        ),
        // RFC 8446 Appendix D.5: 0x0300 or lower is protocol_version, from either side.
        "legacy_version" if from_server => e(&[A::IllegalParameter, A::ProtocolVersion], false),
        "legacy_version" => e(
            &[A::ProtocolVersion, A::BadRecordMac, A::DecryptError],
            false,
        ),
        "cipher_suite" if from_server => e(&[A::IllegalParameter], false),
        "cipher_suite" | "signature_scheme" => e(
            &[A::HandshakeFailure, A::BadRecordMac, A::DecryptError],
            false,
        ),
        "legacy_compression_methods" | "legacy_compression_method" => {
            e(&[A::IllegalParameter, A::DecodeError], false)
        }
        "legacy_session_id_echo" => e(&[A::IllegalParameter, A::DecodeError], false),
        // The server echoes the changed id; the client refuses the echo (§4.1.3).
        "legacy_session_id" => e(&[A::IllegalParameter], false),
        // RFC 8446 §5: a change_cipher_spec record must hold exactly 0x01.
        "change_cipher_spec" => e(&[A::UnexpectedMessage], false),
        "named_group" | "group" => e(
            &[
                A::HandshakeFailure,
                A::IllegalParameter,
                A::BadRecordMac,
                A::DecryptError,
            ],
            false,
        ),
        "version" | "selected_version" => e(
            &[
                A::ProtocolVersion,
                A::IllegalParameter,
                A::BadRecordMac,
                A::DecryptError,
            ],
            false,
        ),
        "host_name" | "name_type" | "ke_mode" => e(
            &[
                A::BadRecordMac,
                A::DecryptError,
                A::DecodeError,
                A::IllegalParameter,
            ],
            false,
        ),
        _ => e(PROTOCOL, false),
    }
}

/// The field at `offset` of a byte stream of records: record header parts, the whole
/// payload of a protected record, or the explained field of a plaintext handshake message.
fn field_at(stream: &[u8], offset: usize, sender: Side) -> (String, String, bool) {
    let mut at = 0;
    while at + 5 <= stream.len() {
        let len = usize::from(u16::from_be_bytes([stream[at + 3], stream[at + 4]]));
        let end = at + 5 + len;
        if offset < end {
            let encrypted = stream[at] == 0x17;
            let rel = offset - at;
            let header = [
                "record type",
                "record version",
                "record version",
                "record length",
                "record length",
            ];
            if rel < 5 {
                return (header[rel].into(), String::new(), encrypted);
            }
            if encrypted {
                return ("encrypted record".into(), String::new(), true);
            }
            if stream[at] == 0x14 {
                return ("change_cipher_spec".into(), String::new(), false);
            }
            let payload = &stream[at + 5..end];
            let fields = explain_message_from(payload, sender);
            let message = fields.first().map(|f| f.name.clone()).unwrap_or_default();
            let message = message.split(' ').next().unwrap_or_default().to_owned();
            let leaf = fields
                .iter()
                .rfind(|f| f.is_leaf() && (f.offset..f.offset + f.len).contains(&(rel - 5)))
                .map_or_else(|| "unknown".to_owned(), |f| f.name.clone());
            return (leaf, message, false);
        }
        at = end;
    }
    ("beyond the flight".into(), String::new(), false)
}

struct Run {
    client: Connection,
    server: Connection,
    client_error: Option<Error>,
    server_error: Option<Error>,
}

impl Run {
    /// Both sides completed the handshake, neither with an error.
    #[track_caller]
    fn assert_completed(&self, what: &str) {
        let errors = (&self.client_error, &self.server_error);
        assert_eq!(
            errors,
            (&None, &None),
            "{what}: the client's and the server's errors"
        );
        assert!(
            completed(&self.client) && completed(&self.server),
            "{what}: must complete"
        );
    }
}

fn completed(c: &Connection) -> bool {
    !c.is_handshaking() && c.summary().is_some()
}

fn new_run(rsa: bool, certificate_path: bool) -> (Run, Vec<u8>) {
    let h = hierarchy(rsa);
    let policy = if certificate_path {
        ClientAuth::Required
    } else {
        ClientAuth::Optional
    };
    let server = keylab_peer::server_config(h, policy);
    let client = keylab_peer::client_config(h, certificate_path);
    let mut c = Connection::client(Arc::new(client), "localhost", ChaCha20Rng::seed_from_u64(1))
        .expect("client");
    let s = Connection::server(Arc::new(server), ChaCha20Rng::seed_from_u64(2));
    let mut first = Vec::new();
    c.start(NOW, &mut first).expect("ClientHello");
    (
        Run {
            client: c,
            server: s,
            client_error: None,
            server_error: None,
        },
        first,
    )
}

/// Runs a handshake, flipping bit 0 of byte `flip.1` of direction `flip.0` (true = c2s).
/// Returns the run and everything each direction carried.
fn drive(rsa: bool, cert: bool, flip: Option<(bool, usize)>) -> (Run, Vec<u8>, Vec<u8>) {
    let (mut r, first) = new_run(rsa, cert);
    let (mut c2s_log, mut s2c_log) = (Vec::new(), Vec::new());
    let mut to_server = first;
    for _ in 0..10 {
        let mut to_client = Vec::new();
        if !to_server.is_empty() {
            if let Some((true, at)) = flip
                && (c2s_log.len()..c2s_log.len() + to_server.len()).contains(&at)
            {
                to_server[at - c2s_log.len()] ^= 1;
            }
            c2s_log.extend_from_slice(&to_server);
            if r.server_error.is_none() {
                r.server_error = r.server.process(&to_server, NOW, &mut to_client).err();
            }
        }
        if to_client.is_empty() {
            break;
        }
        if let Some((false, at)) = flip
            && (s2c_log.len()..s2c_log.len() + to_client.len()).contains(&at)
        {
            to_client[at - s2c_log.len()] ^= 1;
        }
        s2c_log.extend_from_slice(&to_client);
        to_server = Vec::new();
        if r.client_error.is_none() {
            r.client_error = r.client.process(&to_client, NOW, &mut to_server).err();
        }
    }
    (r, c2s_log, s2c_log)
}

fn sweep(rsa: bool, cert: bool, step: usize) -> usize {
    let (clean, c2s, s2c) = drive(rsa, cert, None);
    clean.assert_completed(&format!("rsa={rsa} cert={cert} untouched"));
    let mut runs = 0;
    for (to_server, log) in [(true, &c2s), (false, &s2c)] {
        let sender = if to_server {
            Side::Client
        } else {
            Side::Server
        };
        for offset in (0..log.len()).step_by(step) {
            runs += 1;
            let (field, message, encrypted) = field_at(log, offset, sender);
            let what = format!(
                "rsa={rsa} cert={cert} {} offset {offset} ({message} {field})",
                if to_server { "c2s" } else { "s2c" }
            );
            let (mut r, _, _) = drive(rsa, cert, Some((to_server, offset)));
            let Some(expect) = expectation(&field, &message, encrypted) else {
                r.assert_completed(&format!("{what}, a flip to ignore"));
                continue;
            };
            // The transport ends after the exchange, without close_notify: a side that is
            // still waiting, or that finished while its peer did not, sees truncation.
            for (conn, err) in [
                (&mut r.client, &mut r.client_error),
                (&mut r.server, &mut r.server_error),
            ] {
                if err.is_none() {
                    *err = conn.peer_eof().err();
                }
            }
            assert!(
                !(completed(&r.client) && completed(&r.server)),
                "{what}: the handshake completed"
            );
            let errors = [&r.client_error, &r.server_error];
            assert!(
                errors.iter().all(|e| e.is_some()),
                "{what}: both sides must fail: {errors:?}"
            );
            // The side that noticed: its error is not the peer's alert.
            let noticed: Vec<&Error> = errors
                .iter()
                .filter_map(|e| e.as_ref())
                .filter(|e| !matches!(e, Error::PeerAlert(_)))
                .collect();
            for err in noticed {
                match err.alert() {
                    Some(alert) => assert!(
                        expect.alerts.contains(&alert),
                        "{what}: alert {alert} not allowed ({err})"
                    ),
                    None => assert!(
                        expect.may_stall && *err == Error::Truncated,
                        "{what}: unexpected {err}"
                    ),
                }
            }
        }
    }
    runs
}

#[test]
fn every_offset_ed25519_ephemeral_dh_path() {
    assert!(sweep(false, false, 1) > 1000);
}

#[test]
fn every_offset_ed25519_certificate_path() {
    assert!(sweep(false, true, 1) > 2000);
}

#[test]
fn sampled_offsets_rsa_both_paths() {
    assert!(sweep(true, false, 17) > 50);
    assert!(sweep(true, true, 17) > 100);
}
