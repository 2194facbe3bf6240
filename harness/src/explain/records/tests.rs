//! The record layer of seeded demo runs decrypts back to the transcript.

use std::sync::Arc;

use handshake::{ClientAuth, Path, SessionCache, Tickets};

use super::{Body, Content, Decryption, RecordLayer, record_layer};
use crate::runner::{self, ClientSpec, Outcome, WireDirection};

/// Seeded runs of the ephemeral-dh, certificate and psk+dhe paths, each ending the demo's
/// way (KeyUpdate, close_notify, the server's close_notify).
fn seeded_runs() -> Vec<(Path, &'static [u8], Outcome)> {
    let server = runner::demo_server_config(ClientAuth::Optional)
        .expect("demo server")
        .with_psks(vec![runner::demo_psk()])
        .with_tickets(Arc::new(Tickets::new(&[7; 32])));
    let mut psk = runner::demo_client_config(false).expect("demo client");
    psk.psk = Some(runner::demo_psk());
    let plans: [(Path, &'static [u8], handshake::ClientConfig); 3] = [
        (
            Path::EphemeralDh,
            b"anonymous hello",
            runner::demo_client_config(false).expect("demo client"),
        ),
        (
            Path::Certificate,
            b"hello from alice",
            runner::demo_client_config(true).expect("demo client"),
        ),
        (Path::PskDhe, b"hello from a PSK holder", psk),
    ];
    let specs = plans
        .iter()
        .map(|(_, m, c)| {
            // Each client keeps its tickets, so the server sends it a NewSessionTicket.
            let mut config = c.clone();
            config.session_cache = Some(Arc::new(SessionCache::default()));
            ClientSpec::new(config, m.to_vec()).with_demo_ending()
        })
        .collect();
    let outcomes = runner::run("127.0.0.1:0", Arc::new(server), specs, Some(16)).expect("runs");
    plans
        .into_iter()
        .zip(outcomes)
        .map(|((path, message, _), o)| (path, message, o))
        .collect()
}

/// What the decrypted (or plaintext) records carry, in wire order: handshake messages by
/// their bytes, application data, alerts.
#[derive(Debug, PartialEq, Eq)]
enum Carried {
    Handshake(bool, Vec<u8>),
    Data(WireDirection, Vec<u8>),
    Alert(WireDirection, String),
}

fn carried(layer: &RecordLayer) -> Vec<Carried> {
    let mut out = Vec::new();
    for r in &layer.records {
        let (content, bytes) = match &r.body {
            Body::Plaintext { content, fragment } => (content, fragment),
            Body::Protected(p) => match &p.decryption {
                Decryption::Opened(inner) => (&inner.carries, &inner.content),
                Decryption::Failed { reason } => panic!("record {} failed: {reason}", r.index),
            },
        };
        match content {
            Content::Handshake { messages } => {
                for m in messages {
                    let whole = layer.messages[m.wire_message.expect("complete")]
                        .bytes
                        .clone();
                    if m.message_range[1] == m.message_len {
                        out.push(Carried::Handshake(r.direction.from_client(), whole));
                    }
                }
            }
            Content::ApplicationData { .. } => out.push(Carried::Data(r.direction, bytes.clone())),
            Content::Alert { name, .. } => out.push(Carried::Alert(r.direction, name.clone())),
            Content::ChangeCipherSpec { .. } => {}
            Content::Undecodable { reason } => panic!("record {}: {reason}", r.index),
        }
    }
    out
}

#[test]
fn every_protected_record_decrypts_back_to_the_transcript_the_echo_and_close_notify() {
    for (path, message, o) in seeded_runs() {
        check_run(path, message, &o);
        assert!(
            o.observed
                .messages
                .iter()
                .any(|m| m.name == "NewSessionTicket"),
            "{path}: no NewSessionTicket"
        );
    }
}

#[test]
fn a_hello_retry_request_run_under_aes_128_gcm_decrypts_too() {
    let server = runner::demo_server_config(ClientAuth::Off).expect("demo server");
    let mut config = runner::demo_client_config(false).expect("demo client");
    config.empty_key_share_for_testing_only = true;
    config.cipher_suites = vec![handshake::SupportedSuite::Aes128GcmSha256];
    let message = b"after a retry";
    let spec = ClientSpec::new(config, message.to_vec()).with_demo_ending();
    let o = runner::run("127.0.0.1:0", Arc::new(server), vec![spec], Some(3))
        .expect("runs")
        .remove(0);
    assert_eq!(o.client_summary().map(|s| s.hello_retry), Some(true));
    check_run(Path::EphemeralDh, message, &o);
    let layer = record_layer(&o);
    assert_eq!(layer.suite, Some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(layer.messages[1].name, "HelloRetryRequest");
    assert!(matches!(layer.records[1].body, Body::Plaintext { .. }));
}

/// Checks one run: its records give back the transcript, the echo and both close_notify.
fn check_run(path: Path, message: &[u8], o: &Outcome) {
    assert!(o.ok(message), "{path}: {:?}", o.client);
    assert_eq!(o.client_summary().map(|s| s.path), Some(path));
    let layer = record_layer(o);
    assert!(layer.leftovers.is_empty(), "{path}: {:?}", layer.leftovers);
    let got = carried(&layer);
    let handshake: Vec<_> = got
        .iter()
        .filter_map(|c| match c {
            Carried::Handshake(from_client, bytes) => Some((*from_client, bytes.clone())),
            _ => None,
        })
        .collect();
    let transcript: Vec<_> = o
        .observed
        .messages
        .iter()
        .map(|m| (m.from_client, m.bytes.clone()))
        .collect();
    assert_eq!(handshake, transcript, "{path}: handshake messages in order");
    assert!(
        o.observed.messages.iter().any(|m| m.name == "KeyUpdate"),
        "{path}: the demo ending sends a KeyUpdate"
    );
    let rest: Vec<_> = got
        .into_iter()
        .filter(|c| !matches!(c, Carried::Handshake(..)))
        .collect();
    let close = "close_notify (warning)".to_owned();
    assert_eq!(
        rest,
        [
            Carried::Data(WireDirection::ClientToServer, message.to_vec()),
            Carried::Data(WireDirection::ServerToClient, message.to_vec()),
            Carried::Alert(WireDirection::ClientToServer, close.clone()),
            Carried::Alert(WireDirection::ServerToClient, close),
        ],
        "{path}"
    );
    // The record after the client's KeyUpdate uses the next generation, computed.
    let labels: Vec<_> = layer
        .records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Protected(p) => Some(p.secret_label.as_str()),
            Body::Plaintext { .. } => None,
        })
        .collect();
    assert_eq!(labels.last(), Some(&"server_application_traffic_secret_0"));
    assert!(
        labels.contains(&"client_application_traffic_secret_1"),
        "{path}: {labels:?}"
    );
}

#[test]
fn a_tampered_record_is_reported_as_failed_and_the_rest_goes_on() {
    let (_, _, mut o) = seeded_runs().swap_remove(0);
    let clean = record_layer(&o);
    let target = clean
        .records
        .iter()
        .find(|r| matches!(r.body, Body::Protected(_)) && !r.direction.from_client())
        .expect("a protected server record");
    // Flip the last byte of that record (its tag) in the captured wire.
    let mut at = target.offset + 5 + usize::from(target.header.length) - 1;
    for chunk in o
        .wire
        .chunks
        .iter_mut()
        .filter(|c| c.direction == target.direction)
    {
        if at < chunk.bytes.len() {
            chunk.bytes[at] ^= 1;
            break;
        }
        at -= chunk.bytes.len();
    }
    let tampered = record_layer(&o);
    assert_eq!(tampered.records.len(), clean.records.len());
    let Body::Protected(p) = &tampered.records[target.index].body else {
        panic!("still protected");
    };
    let Decryption::Failed { reason } = &p.decryption else {
        panic!("a flipped tag must not open");
    };
    assert!(reason.contains("tag check failed"), "{reason}");
    // The client's records are untouched and still open.
    let client_opened = tampered.records.iter().any(|r| {
        r.direction.from_client()
            && matches!(&r.body, Body::Protected(p) if matches!(p.decryption, Decryption::Opened(_)))
    });
    assert!(client_opened);
}

#[test]
fn any_bytes_are_explained_without_panicking() {
    let (_, _, o) = seeded_runs().swap_remove(2);
    let secrets = super::known_secrets(&o.observed.secrets);
    let mut wire = o.wire.clone();
    // Truncate in the middle of a record, then add garbage that is no record at all.
    let last = wire.chunks.len() - 1;
    let keep = wire.chunks[last].bytes.len() / 2;
    wire.chunks[last].bytes.truncate(keep);
    let layer = super::explain_records(&wire, &o.observed.messages, &secrets);
    assert_eq!(layer.leftovers.len(), 1, "{:?}", layer.leftovers);
    for garbage in [vec![0xff; 40], vec![0x17, 3, 3, 0, 2, 1, 2], vec![0x16]] {
        let mut wire = o.wire.clone();
        wire.record(WireDirection::ServerToClient, &garbage);
        let layer = super::explain_records(&wire, &[], &secrets);
        assert!(!layer.records.is_empty());
        let _ = serde_json::to_string(&layer).expect("serializes");
    }
}

#[test]
fn record_fields_cover_every_byte_of_the_record_and_of_the_inner_plaintext() {
    let (_, _, o) = seeded_runs().swap_remove(1);
    let layer = record_layer(&o);
    for r in &layer.records {
        let leaves: String = r
            .fields()
            .iter()
            .filter(|f| f.is_leaf())
            .map(|f| f.hex.clone())
            .collect();
        let mut bytes = r.header.bytes.clone();
        match &r.body {
            Body::Plaintext { fragment, .. } => bytes.extend_from_slice(fragment),
            Body::Protected(p) => {
                bytes.extend_from_slice(&p.ciphertext);
                bytes.extend_from_slice(&p.tag);
                let Decryption::Opened(inner) = &p.decryption else {
                    panic!("opens");
                };
                let inner_leaves: String = inner
                    .fields()
                    .iter()
                    .filter(|f| f.is_leaf())
                    .map(|f| f.hex.clone())
                    .collect();
                assert_eq!(
                    inner_leaves,
                    hex::encode(&inner.bytes),
                    "record {}",
                    r.index
                );
            }
        }
        assert_eq!(
            leaves,
            hex::encode(&bytes),
            "record {}: {}",
            r.index,
            r.title()
        );
    }
    assert_eq!(
        layer.records[3].title(),
        "protected record: handshake (EncryptedExtensions, CertificateRequest, Certificate, \
         CertificateVerify, Finished)"
    );
    assert_eq!(layer.records[0].carries(), ["ClientHello"]);
}

#[test]
fn a_message_split_over_two_records_and_two_messages_in_one_record_are_both_shown() {
    let (_, _, o) = seeded_runs().swap_remove(0);
    let hello = &o.observed.messages[0].bytes;
    let (a, b) = hello.split_at(100);
    let plain = |fragment: &[u8]| {
        let mut r = vec![22, 3, 3];
        r.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
        r.extend_from_slice(fragment);
        r
    };
    let mut wire = crate::runner::Wire::default();
    // ClientHello over two records; then one record with two (made-up) KeyUpdates.
    wire.record(WireDirection::ClientToServer, &plain(a));
    wire.record(WireDirection::ClientToServer, &plain(b));
    wire.record(
        WireDirection::ClientToServer,
        &plain(&[24, 0, 0, 1, 0, 24, 0, 0, 1, 1]),
    );
    let layer = super::explain_records(&wire, &o.observed.messages, &[]);
    assert_eq!(layer.records.len(), 3);
    assert_eq!(layer.messages[0].records, [0, 1]);
    assert_eq!(layer.messages[0].observed_message, Some(0));
    let Some(Content::Handshake { messages }) = layer.records[1].content() else {
        panic!("handshake");
    };
    assert_eq!(messages[0].message_range, [100, hello.len()]);
    assert_eq!(messages[0].content_range, [0, hello.len() - 100]);
    assert_eq!(layer.records[2].carries(), ["KeyUpdate", "KeyUpdate"]);
    let Some(Content::Handshake { messages }) = layer.records[2].content() else {
        panic!("handshake");
    };
    assert_eq!(messages[1].content_range, [5, 10]);
}
