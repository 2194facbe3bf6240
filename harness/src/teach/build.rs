//! Builds the explanation model of one run from what its two sides observed.

use handshake::{Side, Summary};

use super::model::{MessageStep, NoteStep, RunExplanation, Step, ValueStep};
use crate::explain::{explain_message, explain_message_in};
use crate::observe::MessageRecord;
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
            fields: explain_message_in(&m.bytes, sender, &transcript_before(&observed.messages, i))
                .iter()
                .map(Into::into)
                .collect(),
        }));
        if m.name == "HelloRetryRequest"
            && let Some(first) = observed.messages.first()
        {
            steps.push(Step::Note(super::schedule::message_hash_note()));
            steps.push(Step::Message(message_hash(&first.bytes)));
        }
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

/// The messages a transcript holds before message `i` of `messages`, in words:
/// `ClientHello..server EncryptedExtensions`, and after a HelloRetryRequest
/// `message_hash(ClientHello1), HelloRetryRequest, ClientHello2..` (RFC 8446 §4.4.1).
fn transcript_before(messages: &[MessageRecord], i: usize) -> String {
    let Some(previous) = i.checked_sub(1).and_then(|p| messages.get(p)) else {
        return "nothing: this is the first message".to_owned();
    };
    let who = if previous.from_client {
        "client"
    } else {
        "server"
    };
    let retried = messages
        .iter()
        .take(i)
        .any(|m| m.name == "HelloRetryRequest");
    let start = if retried {
        "message_hash(ClientHello1), HelloRetryRequest, ClientHello2"
    } else {
        "ClientHello"
    };
    if previous.name == "ClientHello" {
        start.to_owned()
    } else {
        format!("{start}..{who} {}", previous.name)
    }
}

/// The synthetic message_hash that replaces ClientHello1 in the transcript after a
/// HelloRetryRequest (RFC 8446 §4.4.1): never sent, so it has no number.
fn message_hash(client_hello1: &[u8]) -> MessageStep {
    use sha2::Digest as _;
    // Every keylab suite hashes with SHA-256: the message_hash body is 32 bytes.
    let mut synthetic = vec![254, 0, 0, 32];
    synthetic.extend_from_slice(&sha2::Sha256::digest(client_hello1));
    MessageStep {
        number: 0,
        from_client: true,
        name: "message_hash (synthetic, in the transcript only)".to_owned(),
        encrypted: false,
        fields: explain_message(&synthetic).iter().map(Into::into).collect(),
    }
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
