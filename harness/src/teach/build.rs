//! Builds the explanation model of one run from what its two sides observed.

use handshake::msgs::HandshakeMessage;
use handshake::{Path, Side, Summary, SupportedSuite};

use super::model::{
    Check, MessageStep, NoteStep, ProtectionView, RecordStep, RunExplanation, Step,
};
use super::{check, schedule, values};
use crate::explain::records::{
    Body, Content, Decryption, Protected, Record, explain_records, known_secrets,
};
use crate::explain::{explain_message, explain_message_in};
use crate::observe::MessageRecord;
use crate::observe::Observed;
use crate::runner::{self, Outcome, WireDirection};

/// What the demo knows about a run besides its outcome.
#[derive(Clone, Copy, Debug)]
pub struct RunInfo<'a> {
    /// 1-based run number.
    pub number: usize,
    /// Who the client is, in a few words.
    pub client: &'a str,
    /// What to call the run's path when it is not simply the path taken (a demo's `hrr`
    /// run takes ephemeral-dh); `None`: the path taken.
    pub label: Option<&'a str>,
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
    if client.is_some_and(|c| c.hello_retry) {
        reasons.push(hello_retry_reason(&o.observed));
    }
    RunExplanation {
        number: info.number,
        path: match (info.label, client) {
            (Some(label), _) => label.to_owned(),
            (None, Some(c)) => c.path.name().to_owned(),
            (None, None) => "failed".to_owned(),
        },
        client: info.client.to_owned(),
        reasons,
        cipher_suite: client.map_or_else(String::new, |c| c.cipher_suite.to_string()),
        group: client.and_then(|c| c.group.map(|g| g.to_string())),
        steps: steps(
            &o.observed,
            o.server.as_ref().map(|s| &s.observed),
            false,
            &o.wire,
            client.map(|c| c.path),
        ),
        client_transitions: o.observed.transitions.clone(),
        server_transitions: o
            .server
            .as_ref()
            .map(|s| s.observed.transitions.clone())
            .unwrap_or_default(),
    }
}

/// Why the server asked again: the group of the first ClientHello's key share and the one
/// the HelloRetryRequest asked for (RFC 8446 §4.1.4, §4.2.8).
fn hello_retry_reason(observed: &Observed) -> String {
    let asked = observed
        .messages
        .iter()
        .find(|m| m.name == "HelloRetryRequest")
        .and_then(|m| HandshakeMessage::decode(&m.bytes).ok())
        .and_then(|m| match m {
            HandshakeMessage::HelloRetryRequest(hrr) => hrr.extensions.hello_retry_group(),
            _ => None,
        });
    let guessed = observed
        .messages
        .first()
        .and_then(|m| HandshakeMessage::decode(&m.bytes).ok())
        .and_then(|m| match m {
            HandshakeMessage::ClientHello(ch) => ch
                .extensions
                .client_key_shares()
                .and_then(|s| s.first().map(|k| k.group.to_string())),
            _ => None,
        })
        .unwrap_or_else(|| "another group".to_owned());
    match asked {
        Some(group) => format!(
            "HelloRetryRequest: the client's first key share was for {guessed}, the server \
             prefers {group} (it is also in the client's supported_groups), so it asked for a \
             second ClientHello with a key share for {group} (§4.1.4, §4.2.8)"
        ),
        None => "HelloRetryRequest: the server asked for a second ClientHello (§4.1.4)".into(),
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
    let mut captured = runner::Wire::default();
    for (from_client, bytes) in wire {
        let direction = if *from_client {
            WireDirection::ClientToServer
        } else {
            WireDirection::ServerToClient
        };
        captured.record(direction, bytes);
    }
    RunExplanation {
        number: info.number,
        path: match (info.label, summary) {
            (Some(label), _) => label.to_owned(),
            (None, Some(s)) => s.path.name().to_owned(),
            (None, None) => "failed".to_owned(),
        },
        client: info.client.to_owned(),
        reasons: summary
            .map(|s| vec![format!("server: {}", s.reason)])
            .unwrap_or_default(),
        cipher_suite: summary.map_or_else(String::new, |s| s.cipher_suite.to_string()),
        group: summary.and_then(|s| s.group.map(|g| g.to_string())),
        steps: steps(observed, None, true, &captured, summary.map(|s| s.path)),
        client_transitions: Vec::new(),
        server_transitions: observed.transitions.clone(),
    }
}

/// The steps of a connection in wire order: each record, then the messages that end in
/// it, each followed by the key schedule values it made possible. Messages the wire did
/// not show (a capture cut short) and values not yet placed come at the end.
fn steps(
    observed: &Observed,
    server: Option<&Observed>,
    served: bool,
    wire: &runner::Wire,
    path: Option<Path>,
) -> Vec<Step> {
    let layer = explain_records(wire, &observed.messages, &known_secrets(&observed.secrets));
    let suite = layer
        .suite
        .and_then(|name| SupportedSuite::ALL.into_iter().find(|s| s.name() == name));
    let mut out = Steps {
        observed,
        server,
        served,
        placed: vec![false; observed.messages.len() + 2],
        psk_ke: path.is_some_and(|p| !p.uses_dhe()),
        steps: Vec::new(),
        shown: vec![false; observed.messages.len()],
        keys_shown: Vec::new(),
        hkdf_note_shown: false,
    };
    for record in &layer.records {
        out.record(record, suite);
    }
    for i in 0..observed.messages.len() {
        if !out.shown[i] {
            out.message(i);
        }
    }
    out.values_at_end();
    out.steps
}

/// The steps built so far, and what has been shown.
struct Steps<'a> {
    observed: &'a Observed,
    /// The server's view, for its ephemeral key (a demo shows both).
    server: Option<&'a Observed>,
    /// Whether `observed` is a server's view of a connection it served.
    served: bool,
    /// Which slots of values (by `after_messages`) have been placed.
    placed: Vec<bool>,
    /// Whether the run took a PSK path without (EC)DHE.
    psk_ke: bool,
    steps: Vec<Step>,
    /// Which of the observed messages have been shown.
    shown: Vec<bool>,
    /// The traffic secrets whose key and IV have been shown.
    keys_shown: Vec<String>,
    /// Whether the HkdfLabel note has been shown.
    hkdf_note_shown: bool,
}

impl Steps<'_> {
    fn record(&mut self, record: &Record, suite: Option<SupportedSuite>) {
        let protection = match &record.body {
            Body::Protected(p) => {
                self.traffic_keys(p, suite);
                protection(p, suite)
            }
            Body::Plaintext { .. } => None,
        };
        self.steps.push(Step::Record(RecordStep {
            number: record.index + 1,
            from_client: record.direction.from_client(),
            title: title(&record.title()),
            fields: record.fields().iter().map(Into::into).collect(),
            protection: protection.map(Box::new),
            carries: record.carries(),
        }));
        match record.content() {
            Some(Content::ChangeCipherSpec { .. }) => self.steps.push(Step::Note(
                change_cipher_spec_note(record.direction.from_client()),
            )),
            Some(Content::Handshake { messages }) => {
                // A message is explained once, after the record that completes it.
                for carried in messages {
                    if carried.message_range[1] == carried.message_len
                        && let Some(i) = carried.observed_message
                        && !self.shown.get(i).copied().unwrap_or(true)
                    {
                        self.message(i);
                    }
                }
            }
            _ => {}
        }
    }

    /// The write key and IV of a traffic secret, before the first record they protect.
    fn traffic_keys(&mut self, p: &Protected, suite: Option<SupportedSuite>) {
        let (Some(keys), Some(suite)) = (&p.keys, suite) else {
            return;
        };
        if self.keys_shown.contains(&p.secret_label) {
            return;
        }
        self.keys_shown.push(p.secret_label.clone());
        let values =
            schedule::traffic_keys(suite, &p.secret_label, &keys.secret, &keys.key, &keys.iv);
        self.steps.extend(values.into_iter().map(Step::Value));
    }

    /// Message `i` of the transcript, and what follows from it.
    fn message(&mut self, i: usize) {
        let messages = &self.observed.messages;
        let Some(m) = messages.get(i) else { return };
        self.shown[i] = true;
        let sender = if m.from_client {
            Side::Client
        } else {
            Side::Server
        };
        let fields = explain_message_in(&m.bytes, sender, &transcript_before(messages, i));
        self.steps.push(Step::Message(MessageStep {
            number: i + 1,
            from_client: m.from_client,
            name: m.name.clone(),
            encrypted: m.encrypted,
            fields: fields.iter().map(Into::into).collect(),
        }));
        let last_client_hello = messages[i + 1..].iter().all(|m| m.name != "ClientHello");
        let binder = self
            .observed
            .secrets
            .iter()
            .any(|s| s.label.starts_with("binder_key"));
        if m.name == "ClientHello" && last_client_hello && binder {
            self.steps
                .push(Step::Note(schedule::binder_note(self.psk_ke)));
        }
        if m.name == "HelloRetryRequest"
            && let Some(first) = messages.first()
        {
            self.steps.push(Step::Note(schedule::message_hash_note()));
            self.steps.push(Step::Message(message_hash(&first.bytes)));
        }
        if i == 0 {
            self.values_after(0, false);
        }
        self.values_after(i + 1, m.name == "ClientHello");
    }

    /// The values computed after message number `n` (1-based), once.
    fn values_after(&mut self, n: usize, is_client_hello: bool) {
        if self.placed.get(n).copied().unwrap_or(true) {
            return;
        }
        self.placed[n] = true;
        let who = if self.served {
            values::View::Served
        } else {
            values::View::Demo {
                server: self.server,
            }
        };
        let values = values::after(self.observed, who, n, is_client_hello);
        if !values.is_empty() && !self.hkdf_note_shown {
            self.hkdf_note_shown = true;
            self.steps.push(Step::Note(schedule::hkdf_label_note()));
        }
        self.steps.extend(values);
    }

    /// Values not placed after a message (a capture cut short).
    fn values_at_end(&mut self) {
        for n in 0..self.placed.len() {
            self.values_after(n, false);
        }
    }
}

/// `record: handshake (ClientHello)` → `plaintext, handshake (ClientHello)`.
fn title(title: &str) -> String {
    if let Some(rest) = title.strip_prefix("record: ") {
        format!("plaintext, {rest}")
    } else if let Some(rest) = title.strip_prefix("protected record: ") {
        format!("protected, {rest}")
    } else {
        title.to_owned()
    }
}

/// How a protected record was opened, with the command that opens it.
fn protection(p: &Protected, suite: Option<SupportedSuite>) -> Option<ProtectionView> {
    let keys = p.keys.as_ref()?;
    let (inner, check) = match &p.decryption {
        Decryption::Opened(inner) => {
            let mut sealed = p.ciphertext.clone();
            sealed.extend_from_slice(&p.tag);
            let check = suite.map(|suite| Check {
                command: check::aead_open(suite, &keys.key, &keys.nonce, &p.aad, &sealed),
                expected: hex::encode(&inner.bytes),
            });
            (inner.fields().iter().map(Into::into).collect(), check)
        }
        Decryption::Failed { .. } => (Vec::new(), None),
    };
    Some(ProtectionView {
        secret_label: p.secret_label.clone(),
        secret: hex::encode(&keys.secret),
        key: hex::encode(&keys.key),
        iv: hex::encode(&keys.iv),
        sequence_number: p.sequence_number,
        nonce: hex::encode(&keys.nonce),
        aad: hex::encode(&p.aad),
        ciphertext: hex::encode(&p.ciphertext),
        tag: hex::encode(&p.tag),
        inner,
        check,
    })
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
