//! The record layer of seeded demo runs decrypts back to the transcript.

use std::sync::Arc;

use handshake::{ClientAuth, Path};

use super::{Body, Content, Decryption, RecordLayer, record_layer};
use crate::runner::{self, ClientSpec, Outcome, WireDirection};

/// Seeded runs of the ephemeral-dh, certificate and psk+dhe paths, each ending the demo's
/// way (KeyUpdate, close_notify, the server's close_notify).
fn seeded_runs() -> Vec<(Path, &'static [u8], Outcome)> {
    let server = runner::demo_server_config(ClientAuth::Optional)
        .expect("demo server")
        .with_psks(vec![runner::demo_psk()]);
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
        .map(|(_, m, c)| ClientSpec::new(c.clone(), m.to_vec()).with_demo_ending())
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
        assert!(o.ok(message), "{path}: {:?}", o.client);
        assert_eq!(o.client_summary().map(|s| s.path), Some(path));
        let layer = record_layer(&o);
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
}
