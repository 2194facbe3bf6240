//! Builds the explanation model of one run from what its two sides observed.

use handshake::{Side, Summary};

use super::model::{MessageStep, NoteStep, RunExplanation, Step, ValueStep};
use crate::explain::explain_message_from;
use crate::observe::Observed;
use crate::runner::Outcome;

/// What the demo knows about a run besides its outcome.
#[derive(Clone, Copy, Debug)]
pub struct RunInfo<'a> {
    /// 1-based run number.
    pub number: usize,
    /// Who the client is, in a few words.
    pub client: &'a str,
}

/// The explanation of one connection: every message, field by field, with the key
/// schedule steps placed after the message that makes each possible.
pub fn run(info: RunInfo<'_>, o: &Outcome) -> RunExplanation {
    let client = o.client.as_ref().ok();
    let server = o.server.as_ref().and_then(|s| s.result.as_ref().ok());
    let mut reasons = Vec::new();
    if let Some(c) = client {
        reasons.push(format!("client: {}", c.reason));
    }
    if let Some(s) = server {
        reasons.push(format!("server: {}", s.reason));
    }
    RunExplanation {
        number: info.number,
        path: client.map_or_else(|| "failed".to_owned(), |c| c.path.name().to_owned()),
        client: info.client.to_owned(),
        reasons,
        cipher_suite: client.map_or_else(String::new, |c| c.cipher_suite.to_string()),
        group: client.and_then(|c| c.group.map(|g| g.to_string())),
        steps: steps(&o.observed),
        client_transitions: o.observed.transitions.clone(),
        server_transitions: o
            .server
            .as_ref()
            .map(|s| s.observed.transitions.clone())
            .unwrap_or_default(),
    }
}

/// Bytes as they crossed the wire, in order: (sent by the client, the bytes).
pub type Wire = [(bool, Vec<u8>)];

/// The explanation of a connection a keylab server served (e.g. to a browser), from the
/// server's view alone: what it observed, its summary, and the bytes on the wire.
pub fn served(
    info: RunInfo<'_>,
    observed: &Observed,
    summary: Option<&Summary>,
    wire: &Wire,
) -> RunExplanation {
    let _ = wire;
    RunExplanation {
        number: info.number,
        path: summary.map_or_else(|| "failed".to_owned(), |s| s.path.name().to_owned()),
        client: info.client.to_owned(),
        reasons: summary
            .map(|s| vec![format!("server: {}", s.reason)])
            .unwrap_or_default(),
        cipher_suite: summary.map_or_else(String::new, |s| s.cipher_suite.to_string()),
        group: summary.and_then(|s| s.group.map(|g| g.to_string())),
        steps: steps(observed),
        client_transitions: Vec::new(),
        server_transitions: observed.transitions.clone(),
    }
}

fn steps(observed: &Observed) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, m) in observed.messages.iter().enumerate() {
        for ccs in observed
            .change_cipher_specs
            .iter()
            .filter(|c| c.after_messages == i)
        {
            steps.push(Step::Note(change_cipher_spec_note(ccs.from_client)));
        }
        let sender = if m.from_client {
            Side::Client
        } else {
            Side::Server
        };
        steps.push(Step::Message(MessageStep {
            number: i + 1,
            from_client: m.from_client,
            name: m.name.clone(),
            encrypted: m.encrypted,
            fields: explain_message_from(&m.bytes, sender)
                .iter()
                .map(Into::into)
                .collect(),
        }));
    }
    for secret in &observed.secrets {
        steps.push(Step::Value(ValueStep {
            name: secret.label.clone(),
            formula: secret.derivation.clone(),
            inputs: Vec::new(),
            value: hex::encode(&secret.value),
            private: false,
            check: None,
        }));
    }
    steps
}

fn change_cipher_spec_note(from_client: bool) -> NoteStep {
    let who = if from_client { "client" } else { "server" };
    NoteStep {
        title: format!("change_cipher_spec from the {who}: 14 03 03 00 01 01"),
        text: "One record of 6 bytes, never encrypted: content type 20 change_cipher_spec, \
               legacy_record_version 0x0303, length 1, the single byte 0x01. Middlebox \
               compatibility mode (RFC 8446 Appendix D.4): with the client's 32-byte \
               legacy_session_id it makes the handshake look like a TLS 1.2 resumption to \
               middleboxes. TLS 1.3 peers drop it (§5); it is a record, not a handshake \
               message, and not part of the transcript."
            .to_owned(),
    }
}
