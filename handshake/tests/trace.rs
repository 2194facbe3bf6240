//! The trace reports everything needed to recompute the key schedule: each secret is
//! recomputed here from the inputs its event names, each transcript hash from the messages
//! traced before it, each Finished and binder from its finished_key, and the (EC)DHE
//! shared secret from the ephemeral private key. Also KeyUpdate (RFC 8446 §4.6.3) both
//! ways, and a HelloRetryRequest forced by the server's group preference.

mod common;

use std::sync::{Arc, Mutex};

use common::{Dir, MemoryKeyLog, Pair, client_config, server_config};
use handshake::key_schedule::{
    HASH_LEN, Secret, TrafficKeys, finished_key, hkdf_expand_label, hkdf_extract, message_hash,
    verify_data,
};
use handshake::msgs::alert::AlertDescription;
use handshake::msgs::enums::ContentType;
use handshake::record::RecordEncrypter;
use handshake::{
    ClientAuth, ClientConfig, Connection, Direction, Error, Event, ExternalPsk, HkdfContext,
    MESSAGE_HASH, PARTIAL_CLIENT_HELLO, SecretInputs, ServerConfig, SessionCache, SupportedGroup,
    SupportedSuite, Tickets, TraceEvent,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

/// A trace event, owned.
#[derive(Clone, Debug)]
enum Ev {
    Message(Vec<u8>),
    MessageHash(Vec<u8>),
    Secret {
        label: String,
        value: Vec<u8>,
        inputs: Inputs,
    },
    KeyExchange {
        group: SupportedGroup,
        private_key: Vec<u8>,
        public_key: Vec<u8>,
        peer_public_key: Vec<u8>,
        shared_secret: Vec<u8>,
    },
    Finished {
        from_client: bool,
        base_name: String,
        base_key: Vec<u8>,
        finished_key: Vec<u8>,
        messages: Vec<String>,
        hash: Vec<u8>,
        verify_data: Vec<u8>,
    },
    Binder {
        binder_key: Vec<u8>,
        finished_key: Vec<u8>,
        messages: Vec<String>,
        hash: Vec<u8>,
        binder: Vec<u8>,
    },
}

#[derive(Clone, Debug)]
enum Inputs {
    Extract {
        salt: (String, Vec<u8>),
        ikm: (String, Vec<u8>),
    },
    Expand {
        secret: (String, Vec<u8>),
        label: String,
        context: Vec<u8>,
        /// The transcript's messages, for a transcript-hash context.
        messages: Option<Vec<String>>,
        length: usize,
    },
    KeyExchange,
}

type Log = Arc<Mutex<Vec<Ev>>>;

fn owned(e: &TraceEvent<'_>) -> Option<Ev> {
    let names = |m: &[&str]| m.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    Some(match e {
        TraceEvent::Message { bytes, .. } => Ev::Message(bytes.to_vec()),
        TraceEvent::Secret {
            label,
            value,
            inputs,
            ..
        } => Ev::Secret {
            label: (*label).to_owned(),
            value: value.to_vec(),
            inputs: match inputs {
                SecretInputs::Extract { salt, ikm } => Inputs::Extract {
                    salt: (salt.name.to_owned(), salt.value.to_vec()),
                    ikm: (ikm.name.to_owned(), ikm.value.to_vec()),
                },
                SecretInputs::ExpandLabel {
                    secret,
                    label,
                    context,
                    length,
                } => Inputs::Expand {
                    secret: (secret.name.to_owned(), secret.value.to_vec()),
                    label: (*label).to_owned(),
                    context: context.bytes().to_vec(),
                    messages: match context {
                        HkdfContext::Transcript(t) => Some(names(t.messages)),
                        _ => None,
                    },
                    length: *length,
                },
                SecretInputs::KeyExchange { .. } => Inputs::KeyExchange,
            },
        },
        TraceEvent::KeyExchange {
            group,
            private_key,
            public_key,
            peer_public_key,
            shared_secret,
        } => Ev::KeyExchange {
            group: *group,
            private_key: private_key.to_vec(),
            public_key: public_key.to_vec(),
            peer_public_key: peer_public_key.to_vec(),
            shared_secret: shared_secret.to_vec(),
        },
        TraceEvent::Finished {
            from_client,
            base_key,
            finished_key,
            transcript,
            verify_data,
            ..
        } => Ev::Finished {
            from_client: *from_client,
            base_name: base_key.name.to_owned(),
            base_key: base_key.value.to_vec(),
            finished_key: finished_key.to_vec(),
            messages: names(transcript.messages),
            hash: transcript.hash.to_vec(),
            verify_data: verify_data.to_vec(),
        },
        TraceEvent::Binder {
            binder_key,
            finished_key,
            transcript,
            binder,
            ..
        } => Ev::Binder {
            binder_key: binder_key.value.to_vec(),
            finished_key: finished_key.to_vec(),
            messages: names(transcript.messages),
            hash: transcript.hash.to_vec(),
            binder: binder.to_vec(),
        },
        TraceEvent::MessageHash { message, .. } => Ev::MessageHash(message.to_vec()),
        _ => return None,
    })
}

fn record(conn: &mut Connection) -> Log {
    let log: Log = Arc::default();
    let sink = log.clone();
    conn.set_observer(Box::new(move |e| {
        if let Some(ev) = owned(e) {
            sink.lock().expect("lock").push(ev);
        }
    }));
    log
}

fn events(log: &Log) -> Vec<Ev> {
    log.lock().expect("lock").clone()
}

/// Which messages are in the transcript after the first `seen` messages, by the rules of
/// RFC 8446 §4.4.1: a HelloRetryRequest replaces ClientHello1 by message_hash.
/// Post-handshake messages (after both Finished) are not counted by the callers.
fn transcript_bytes(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for m in messages {
        // HelloRetryRequest: a ServerHello (type 2) with the special random.
        if m[0] == 2 && m[6..38] == HRR_RANDOM {
            let ch1: [u8; HASH_LEN] = Sha256::digest(&out[0]).into();
            out = vec![message_hash(&ch1).to_vec()];
        }
        out.push(m.clone());
    }
    out.concat()
}

/// RFC 8446 §4.1.3: the ServerHello.random of a HelloRetryRequest.
const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// Checks every secret, Finished, binder and key exchange of one side's trace against
/// recomputation; returns the labels of the secrets in order.
fn recompute_all(evs: &[Ev]) -> Vec<String> {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut known: Vec<(String, Vec<u8>)> = vec![("zeros".into(), vec![0; 32])];
    let mut labels = Vec::new();
    let lookup = |known: &[(String, Vec<u8>)], name: &str, value: &[u8]| {
        if let Some((_, v)) = known.iter().rev().find(|(n, _)| n == name) {
            assert_eq!(v, value, "input {name} differs from the traced secret");
        }
    };
    let check_transcript = |messages: &[Vec<u8>], names: &[String], hash: &[u8], partial: bool| {
        if partial {
            assert_eq!(names.last().map(String::as_str), Some(PARTIAL_CLIENT_HELLO));
            return;
        }
        // message_hash takes ClientHello1's place: one entry for one message.
        let take = names.len();
        let expected: [u8; HASH_LEN] = Sha256::digest(transcript_bytes(&messages[..take])).into();
        assert_eq!(hash, expected, "transcript hash over {names:?}");
    };
    for ev in evs {
        match ev {
            Ev::Message(m) => messages.push(m.clone()),
            Ev::MessageHash(_) => {}
            Ev::Secret {
                label,
                value,
                inputs,
            } => {
                match inputs {
                    Inputs::Extract { salt, ikm } => {
                        lookup(&known, &salt.0, &salt.1);
                        lookup(&known, &ikm.0, &ikm.1);
                        assert_eq!(
                            hkdf_extract(&salt.1, &ikm.1).as_bytes(),
                            &value[..],
                            "{label}"
                        );
                    }
                    Inputs::Expand {
                        secret,
                        label: hkdf,
                        context,
                        messages: names,
                        length,
                    } => {
                        lookup(&known, &secret.0, &secret.1);
                        let s = Secret::from_bytes(secret.1.clone().try_into().expect("32 bytes"));
                        let out = hkdf_expand_label(&s, hkdf.as_bytes(), context, *length)
                            .expect("label");
                        assert_eq!(out[..], value[..], "{label}");
                        if let Some(names) = names {
                            if names.is_empty() {
                                let empty: [u8; HASH_LEN] = Sha256::digest([]).into();
                                assert_eq!(context[..], empty);
                            } else {
                                check_transcript(&messages, names, context, false);
                            }
                        }
                    }
                    Inputs::KeyExchange => {}
                }
                known.push((label.clone(), value.clone()));
                labels.push(label.clone());
            }
            Ev::KeyExchange {
                group,
                private_key,
                public_key,
                peer_public_key,
                shared_secret,
            } => {
                let (public, shared) = agree(*group, private_key, peer_public_key);
                assert_eq!(&public, public_key);
                assert_eq!(&shared, shared_secret);
            }
            Ev::Finished {
                from_client,
                base_name,
                base_key,
                finished_key: fk,
                messages: names,
                hash,
                verify_data: vd,
            } => {
                lookup(&known, base_name, base_key);
                let base = Secret::from_bytes(base_key.clone().try_into().expect("32 bytes"));
                assert_eq!(finished_key(&base).as_bytes(), &fk[..]);
                let hash32: [u8; HASH_LEN] = hash.clone().try_into().expect("32 bytes");
                assert_eq!(verify_data(&base, &hash32).to_vec(), *vd);
                let last = names.last().map(String::as_str);
                assert_ne!(last, Some("client Finished"));
                if *from_client {
                    assert_eq!(base_name, "client_handshake_traffic_secret");
                }
                check_transcript(&messages_before(&messages, names), names, hash, false);
            }
            Ev::Binder {
                binder_key,
                finished_key: fk,
                messages: names,
                hash,
                binder,
            } => {
                let base = Secret::from_bytes(binder_key.clone().try_into().expect("32 bytes"));
                assert_eq!(finished_key(&base).as_bytes(), &fk[..]);
                let hash32: [u8; HASH_LEN] = hash.clone().try_into().expect("32 bytes");
                assert_eq!(verify_data(&base, &hash32).to_vec(), *binder);
                check_transcript(&messages, names, hash, true);
            }
        }
    }
    labels
}

/// The messages a Finished's transcript covers: the receiver has already seen the
/// Finished itself, so the list may be one longer than the names.
fn messages_before(messages: &[Vec<u8>], names: &[String]) -> Vec<Vec<u8>> {
    messages[..names.len()].to_vec()
}

/// Our public key and the shared secret, recomputed from the private key.
fn agree(group: SupportedGroup, private: &[u8], peer: &[u8]) -> (Vec<u8>, Vec<u8>) {
    match group {
        SupportedGroup::X25519 => {
            let bytes: [u8; 32] = private.try_into().expect("32 bytes");
            let secret = x25519_dalek::StaticSecret::from(bytes);
            let public = x25519_dalek::PublicKey::from(&secret).to_bytes().to_vec();
            let peer: [u8; 32] = peer.try_into().expect("32 bytes");
            let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(peer));
            (public, shared.to_bytes().to_vec())
        }
        SupportedGroup::Secp256r1 => {
            use p256::elliptic_curve::sec1::ToSec1Point;
            let secret = p256::SecretKey::from_slice(private).expect("scalar");
            let public = secret.public_key().to_sec1_point(false).as_bytes().to_vec();
            let peer = p256::PublicKey::from_sec1_bytes(peer).expect("point");
            let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
            (public, shared.raw_secret_bytes().to_vec())
        }
    }
}

/// A pair whose both sides are traced from the start (the client is made again, with the
/// same seed, so that its ClientHello is traced too).
fn traced_pair(client: ClientConfig, server: ServerConfig) -> (Pair, Log, Log) {
    let config = Arc::new(client.clone());
    let mut p = Pair::new(client, server);
    p.client =
        Connection::client(config, "localhost", ChaCha20Rng::seed_from_u64(1)).expect("client");
    let c = record(&mut p.client);
    let s = record(&mut p.server);
    p.client_out.clear();
    p.client
        .start(p.now, &mut p.client_out)
        .expect("ClientHello");
    (p, c, s)
}

const FULL_SCHEDULE: [&str; 13] = [
    "ecdhe_shared_secret",
    "early_secret",
    "derived_from_early_secret",
    "handshake_secret",
    "client_handshake_traffic_secret",
    "server_handshake_traffic_secret",
    "derived_from_handshake_secret",
    "master_secret",
    "client_application_traffic_secret_0",
    "server_application_traffic_secret_0",
    "exporter_master_secret",
    "resumption_master_secret",
    "ticket PSK",
];

#[test]
fn every_traced_value_recomputes_on_the_certificate_path() {
    for group in [SupportedGroup::X25519, SupportedGroup::Secp256r1] {
        let client = ClientConfig {
            groups: vec![group],
            ..client_config(false, true)
        };
        let server = server_config(false, ClientAuth::Required);
        let (mut p, c, s) = traced_pair(client, server);
        p.handshake();
        let client_labels = recompute_all(&events(&c));
        let server_labels = recompute_all(&events(&s));
        assert_eq!(server_labels, FULL_SCHEDULE[..11]);
        assert_eq!(client_labels, FULL_SCHEDULE[..11]);
        // Both sides agree on every value they both have.
        let value = |evs: &[Ev], l: &str| {
            evs.iter().find_map(|e| match e {
                Ev::Secret { label, value, .. } if label == l => Some(value.clone()),
                _ => None,
            })
        };
        for l in FULL_SCHEDULE {
            if let (Some(a), Some(b)) = (value(&events(&c), l), value(&events(&s), l)) {
                assert_eq!(a, b, "{l}");
            }
        }
        // Two Finished values on each side, both matching the Finished messages sent.
        for log in [&c, &s] {
            let evs = events(log);
            let fins: Vec<_> = evs
                .iter()
                .filter_map(|e| match e {
                    Ev::Finished {
                        from_client,
                        verify_data,
                        messages,
                        ..
                    } => Some((*from_client, verify_data.clone(), messages.clone())),
                    _ => None,
                })
                .collect();
            assert_eq!(fins.len(), 2);
            assert!(!fins[0].0 && fins[1].0);
            assert_eq!(
                fins[0].2.last().map(String::as_str),
                Some("server CertificateVerify")
            );
            assert_eq!(
                fins[1].2.last().map(String::as_str),
                Some("client CertificateVerify")
            );
            let finished_messages: Vec<Vec<u8>> = evs
                .iter()
                .filter_map(|e| match e {
                    Ev::Message(m) if m[0] == 20 => Some(m[4..].to_vec()),
                    _ => None,
                })
                .collect();
            assert_eq!(
                finished_messages,
                vec![fins[0].1.clone(), fins[1].1.clone()]
            );
        }
    }
}

#[test]
fn key_exchange_and_secrets_follow_the_server_hello_in_order() {
    let (mut p, c, _) = traced_pair(
        client_config(false, false),
        server_config(false, ClientAuth::Off),
    );
    p.handshake();
    let evs = events(&c);
    let pos = |pred: &dyn Fn(&Ev) -> bool| evs.iter().position(pred).expect("present");
    let sh = pos(&|e| matches!(e, Ev::Message(m) if m[0] == 2));
    let kx = pos(&|e| matches!(e, Ev::KeyExchange { .. }));
    let hs = pos(&|e| matches!(e, Ev::Secret { label, .. } if label == "handshake_secret"));
    let ee = pos(&|e| matches!(e, Ev::Message(m) if m[0] == 8));
    let sfin = pos(&|e| matches!(e, Ev::Message(m) if m[0] == 20));
    let app = pos(
        &|e| matches!(e, Ev::Secret { label, .. } if label == "client_application_traffic_secret_0"),
    );
    assert!(
        sh < kx && kx < hs && hs < ee,
        "key exchange after ServerHello"
    );
    assert!(
        sfin < app,
        "application secrets after the server's Finished"
    );
    let cfin = evs
        .iter()
        .rposition(|e| matches!(e, Ev::Message(m) if m[0] == 20))
        .expect("client Finished");
    assert!(
        app < cfin,
        "the client derives them before sending its Finished"
    );
}

#[test]
fn psk_binders_recompute_on_both_sides() {
    let psk = ExternalPsk::new("alice", &[0x42; 32]).expect("valid PSK");
    let client = ClientConfig {
        psk: Some(psk.clone()),
        ..client_config(false, false)
    };
    let mut server = server_config(false, ClientAuth::Off);
    server.psks = vec![psk];
    let (mut p, c, s) = traced_pair(client, server);
    p.handshake();
    for log in [&c, &s] {
        let evs = events(log);
        recompute_all(&evs);
        let binders: Vec<_> = evs
            .iter()
            .filter_map(|e| match e {
                Ev::Binder {
                    binder, messages, ..
                } => Some((binder.clone(), messages.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(binders.len(), 1);
        assert_eq!(binders[0].1, vec![PARTIAL_CLIENT_HELLO.to_owned()]);
        // The binder is the last 32 bytes of the ClientHello.
        let Some(Ev::Message(ch)) = evs.iter().find(|e| matches!(e, Ev::Message(_))) else {
            panic!("no ClientHello");
        };
        assert_eq!(ch[ch.len() - 32..], binders[0].0[..]);
        // The early secret is HKDF-Extract(zeros, PSK).
        assert!(evs.iter().any(|e| matches!(e,
            Ev::Secret { label, inputs: Inputs::Extract { ikm, .. }, .. }
                if label == "early_secret" && ikm.0 == "PSK" && ikm.1 == [0x42; 32])));
    }
}

/// RFC 8446 §4.1.1, §4.2.8: the server picks its own most preferred group among the
/// client's supported_groups and asks with a HelloRetryRequest when the client's share is
/// for another one.
#[test]
fn the_servers_group_preference_forces_a_hello_retry_request() {
    let client = ClientConfig {
        groups: vec![SupportedGroup::X25519, SupportedGroup::Secp256r1],
        ..client_config(false, false)
    };
    let mut server = server_config(false, ClientAuth::Off);
    server.groups = vec![SupportedGroup::Secp256r1, SupportedGroup::X25519];
    let (mut p, c, s) = traced_pair(client, server);
    p.handshake();
    let summary = p.client.summary().expect("summary");
    assert!(summary.hello_retry);
    assert_eq!(summary.group, Some(SupportedGroup::Secp256r1.group()));
    for log in [&c, &s] {
        let evs = events(log);
        recompute_all(&evs);
        let Some(Ev::Secret {
            inputs:
                Inputs::Expand {
                    messages: Some(names),
                    ..
                },
            ..
        }) = evs.iter().find(
            |e| matches!(e, Ev::Secret { label, .. } if label == "client_handshake_traffic_secret"),
        )
        else {
            panic!("no client_handshake_traffic_secret");
        };
        assert_eq!(
            names,
            &[
                MESSAGE_HASH,
                "HelloRetryRequest",
                "ClientHello",
                "ServerHello"
            ]
        );
        assert!(evs.iter().any(|e| matches!(
            e,
            Ev::KeyExchange {
                group: SupportedGroup::Secp256r1,
                ..
            }
        )));
    }
    // The rule itself is reported, right after the HelloRetryRequest.
    for log in [&c, &s] {
        let evs = events(log);
        let rule = evs
            .iter()
            .position(|e| matches!(e, Ev::MessageHash(_)))
            .expect("a message_hash event");
        let Ev::MessageHash(message) = &evs[rule] else {
            unreachable!()
        };
        let ch1 = evs.iter().find_map(|e| match e {
            Ev::Message(m) => Some(m.clone()),
            _ => None,
        });
        let ch1_hash: [u8; HASH_LEN] = Sha256::digest(ch1.expect("ClientHello1")).into();
        assert_eq!(*message, message_hash(&ch1_hash).to_vec());
        let before = evs[..rule]
            .iter()
            .filter(|e| matches!(e, Ev::Message(_)))
            .count();
        assert_eq!(before, 2, "right after the HelloRetryRequest");
    }
}

#[test]
fn the_transcript_description_names_the_message_hash_rule() {
    let t = handshake::TranscriptHash {
        messages: &[
            MESSAGE_HASH,
            "HelloRetryRequest",
            "ClientHello",
            "ServerHello",
        ],
        hash: &[],
    };
    assert_eq!(
        t.describe(),
        "message_hash(ClientHello1), HelloRetryRequest, ClientHello, ServerHello"
    );
    let t = handshake::TranscriptHash {
        messages: &[
            "ClientHello",
            "ServerHello",
            "EncryptedExtensions",
            "server Finished",
        ],
        hash: &[],
    };
    assert_eq!(t.describe(), "ClientHello..server Finished");
}

fn secret_labels(log: &Log) -> Vec<String> {
    events(log)
        .into_iter()
        .filter_map(|e| match e {
            Ev::Secret { label, .. } => Some(label),
            _ => None,
        })
        .collect()
}

fn send(p: &mut Pair, dir: Dir, data: &[u8]) {
    let (conn, out) = match dir {
        Dir::C2S => (&mut p.client, &mut p.client_out),
        Dir::S2C => (&mut p.server, &mut p.server_out),
    };
    conn.send(data, out).expect("send");
}

fn received(conn: &mut Connection) -> Vec<Event> {
    Pair::events(conn)
        .into_iter()
        .filter(|e| !matches!(e, Event::HandshakeComplete | Event::SessionTicket { .. }))
        .collect()
}

#[test]
fn key_update_requested_by_the_client_is_answered_and_traced() {
    let (mut p, c, s) = traced_pair(
        client_config(false, false),
        server_config(false, ClientAuth::Off),
    );
    p.handshake();
    received(&mut p.client);
    received(&mut p.server);
    p.client
        .key_update(true, &mut p.client_out)
        .expect("key update");
    send(&mut p, Dir::C2S, b"after the update");
    p.drive_without_errors();
    assert_eq!(
        received(&mut p.server),
        vec![
            Event::KeyUpdated { requested: true },
            Event::ApplicationData(b"after the update".to_vec())
        ]
    );
    // The server answered with update_not_requested and updated its sending keys.
    assert_eq!(
        received(&mut p.client),
        vec![Event::KeyUpdated { requested: false }]
    );
    send(&mut p, Dir::S2C, b"reply");
    send(&mut p, Dir::C2S, b"more");
    p.drive_without_errors();
    assert_eq!(
        received(&mut p.client),
        vec![Event::ApplicationData(b"reply".to_vec())]
    );
    assert_eq!(
        received(&mut p.server),
        vec![Event::ApplicationData(b"more".to_vec())]
    );
    for log in [&c, &s] {
        let labels = secret_labels(log);
        assert!(labels.contains(&"client_application_traffic_secret_1".to_owned()));
        assert!(labels.contains(&"server_application_traffic_secret_1".to_owned()));
        let evs = events(log);
        recompute_all(&evs);
        let Some(Ev::Secret {
            inputs: Inputs::Expand {
                secret,
                label,
                context,
                ..
            },
            ..
        }) = evs.iter().find(
            |e| matches!(e, Ev::Secret { label, .. } if label == "client_application_traffic_secret_1"),
        )
        else {
            panic!("no update");
        };
        assert_eq!(secret.0, "client_application_traffic_secret_0");
        assert_eq!(label, "traffic upd");
        assert!(context.is_empty());
    }
    // Both sides derived the same next secrets.
    let value = |log: &Log, l: &str| {
        events(log).into_iter().find_map(|e| match e {
            Ev::Secret { label, value, .. } if label == l => Some(value),
            _ => None,
        })
    };
    for l in [
        "client_application_traffic_secret_1",
        "server_application_traffic_secret_1",
    ] {
        assert_eq!(value(&c, l), value(&s, l));
    }
}

#[test]
fn key_update_from_the_server_without_request_updates_one_direction() {
    let (mut p, c, _) = traced_pair(
        client_config(false, false),
        server_config(false, ClientAuth::Off),
    );
    p.handshake();
    received(&mut p.client);
    p.server
        .key_update(false, &mut p.server_out)
        .expect("key update");
    p.server
        .key_update(false, &mut p.server_out)
        .expect("a second one");
    send(&mut p, Dir::S2C, b"twice updated");
    p.drive_without_errors();
    assert_eq!(
        received(&mut p.client),
        vec![
            Event::KeyUpdated { requested: false },
            Event::KeyUpdated { requested: false },
            Event::ApplicationData(b"twice updated".to_vec())
        ]
    );
    assert!(p.client_out.is_empty(), "no answer without a request");
    let labels = secret_labels(&c);
    assert!(labels.contains(&"server_application_traffic_secret_2".to_owned()));
    assert!(!labels.contains(&"client_application_traffic_secret_1".to_owned()));
}

/// A pair after the handshake whose client's next record is `content` (a handshake
/// record) under client_application_traffic_secret_0, as a client holding the keys
/// would send it.
fn client_app_record(content: &[u8]) -> Pair {
    let log = Arc::new(MemoryKeyLog::default());
    let client = ClientConfig {
        key_log: Some(log.clone()),
        ..client_config(false, false)
    };
    let mut p = Pair::new(client, server_config(false, ClientAuth::Off));
    p.handshake();
    let mut enc = RecordEncrypter::new(&TrafficKeys::derive(
        SupportedSuite::Chacha20Poly1305Sha256,
        &log.secret("CLIENT_TRAFFIC_SECRET_0"),
    ));
    let mut record = Vec::new();
    enc.encrypt(ContentType::Handshake, content, 0, &mut record)
        .expect("encrypt");
    p.client_out = record;
    p
}

#[test]
fn key_update_with_an_undefined_request_value_is_illegal_parameter() {
    let mut p = client_app_record(&[24, 0, 0, 1, 2]);
    p.transfer(Dir::C2S);
    let e = p.server_error.clone().expect("server refuses");
    assert_eq!(e.alert(), Some(AlertDescription::IllegalParameter), "{e}");
}

#[test]
fn key_update_not_at_a_record_boundary_is_unexpected_message() {
    // §5.1: the KeyUpdate is followed by the start of another handshake message in the
    // same record, which would span the key change.
    let mut p = client_app_record(&[24, 0, 0, 1, 0, 24, 0]);
    p.transfer(Dir::C2S);
    let e = p.server_error.clone().expect("server refuses");
    assert_eq!(e.alert(), Some(AlertDescription::UnexpectedMessage), "{e}");
}

/// Resumption: the ticket PSK (HKDF-Expand-Label with the ticket_nonce) on both sides, then
/// the "res binder" binder and the schedule of the resumed handshake, all recomputed.
#[test]
fn ticket_psks_and_resumption_binders_recompute() {
    let cache = Arc::new(SessionCache::default());
    // Two tickets: `traced_pair` makes the client twice, and the first one takes a ticket
    // from the cache too.
    let tickets = Tickets::new(&[9; 32]).with_per_connection(2);
    let server = server_config(false, ClientAuth::Off).with_tickets(Arc::new(tickets));
    let client = ClientConfig {
        session_cache: Some(cache.clone()),
        ..client_config(false, false)
    };
    let (mut p, c, s) = traced_pair(client.clone(), server.clone());
    p.handshake();
    for log in [&c, &s] {
        let evs = events(log);
        recompute_all(&evs);
        assert!(evs.iter().any(|e| matches!(e,
            Ev::Secret { label, inputs: Inputs::Expand { secret, label: l, .. }, .. }
                if label == "ticket PSK" && l == "resumption"
                    && secret.0 == "resumption_master_secret")));
    }
    assert_eq!(cache.len("localhost"), 2);
    let (mut p, c, s) = traced_pair(client, server);
    p.handshake();
    assert_eq!(
        p.client.summary().map(|s| s.path.name()),
        Some("resumption+dhe")
    );
    for log in [&c, &s] {
        let evs = events(log);
        recompute_all(&evs);
        assert!(evs.iter().any(|e| matches!(e,
            Ev::Secret { label, .. } if label == "binder_key (resumption)")));
        assert!(evs.iter().any(|e| matches!(e, Ev::Binder { .. })));
    }
}

#[test]
fn directions_of_finished_events() {
    let (mut p, c, _) = traced_pair(
        client_config(false, false),
        server_config(false, ClientAuth::Off),
    );
    let directions: Arc<Mutex<Vec<(bool, Direction)>>> = Arc::default();
    let sink = directions.clone();
    p.server.set_observer(Box::new(move |e| {
        if let TraceEvent::Finished {
            from_client,
            direction,
            ..
        } = e
        {
            sink.lock().expect("lock").push((*from_client, *direction));
        }
    }));
    p.handshake();
    assert_eq!(
        *directions.lock().expect("lock"),
        [(false, Direction::Sent), (true, Direction::Received)]
    );
    assert!(!events(&c).is_empty());
    let _ = Error::Truncated;
}
