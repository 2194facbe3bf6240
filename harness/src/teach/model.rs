//! The explanation model: one demo run as data, in the order a reader should meet it —
//! each record as it crossed the wire, the handshake messages it carried field by field,
//! and each key schedule step right after the message that made it possible.
//!
//! The terminal renderer ([`super::terminal`]) and `keylab demo --json --explain` are two
//! views of these values; nothing here knows about widths or colours.

use serde::Serialize;

/// Every run of one `keylab demo --explain`.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// For a demo: the seed every connection's randomness came from (drawn and printed
    /// when not given), and the command that repeats the explanation byte for byte. A
    /// served connection (`keylab teach`) cannot be repeated: `None`.
    pub repeat: Option<Repeat>,
    /// One entry per connection.
    pub runs: Vec<RunExplanation>,
}

/// How to repeat a demo explanation.
#[derive(Clone, Debug, Serialize)]
pub struct Repeat {
    /// The seed.
    pub seed: u64,
    /// The command.
    pub command: String,
}

/// One connection explained.
#[derive(Clone, Debug, Serialize)]
pub struct RunExplanation {
    /// 1-based run number.
    pub number: usize,
    /// The path taken, as `keylab demo --path` and the JSON `path` spell it.
    pub path: String,
    /// Who the client is.
    pub client: String,
    /// Why this path: the client's and the server's reasons.
    pub reasons: Vec<String>,
    /// The negotiated cipher suite.
    pub cipher_suite: String,
    /// The (EC)DHE group, if any.
    pub group: Option<String>,
    /// Records, messages and key schedule steps in order.
    pub steps: Vec<Step>,
    /// State transitions the client took (from, to).
    pub client_transitions: Vec<(String, String)>,
    /// State transitions the server took (from, to).
    pub server_transitions: Vec<(String, String)>,
}

/// One thing to explain.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// A record as it crossed the wire.
    Record(RecordStep),
    /// A handshake message, field by field.
    Message(MessageStep),
    /// A value of the key schedule.
    Value(ValueStep),
    /// A paragraph of explanation (e.g. what a HelloRetryRequest does to the transcript).
    Note(NoteStep),
}

/// A record (RFC 8446 §5).
#[derive(Clone, Debug, Serialize)]
pub struct RecordStep {
    /// 1-based record number within the run, counting both directions.
    pub number: usize,
    /// True when the client sent it.
    pub from_client: bool,
    /// A one-line title, e.g. "protected record: handshake (EncryptedExtensions, Certificate)".
    pub title: String,
    /// The record's header and fragment, field by field (offsets within the record).
    pub fields: Vec<FieldView>,
    /// For a protected record: how it was opened.
    pub protection: Option<Box<ProtectionView>>,
    /// The handshake messages it carries (names), in order.
    pub carries: Vec<String>,
}

/// How one protected record was opened (RFC 8446 §5.2, §5.3).
#[derive(Clone, Debug, Serialize)]
pub struct ProtectionView {
    /// The traffic secret in use, e.g. `server_handshake_traffic_secret`.
    pub secret_label: String,
    /// Its value (hex).
    pub secret: String,
    /// The write key (hex).
    pub key: String,
    /// The write IV (hex).
    pub iv: String,
    /// The record's sequence number under this key.
    pub sequence_number: u64,
    /// The per-record nonce: IV XOR the padded sequence number (hex).
    pub nonce: String,
    /// The additional data: the record header (hex).
    pub aad: String,
    /// The encrypted TLSInnerPlaintext without the tag (hex).
    pub ciphertext: String,
    /// The authentication tag (hex).
    pub tag: String,
    /// The decrypted TLSInnerPlaintext, field by field: content, content type, padding.
    pub inner: Vec<FieldView>,
    /// The command that decrypts it.
    pub check: Option<Check>,
}

/// A handshake message.
#[derive(Clone, Debug, Serialize)]
pub struct MessageStep {
    /// 1-based position in the transcript of the run.
    pub number: usize,
    /// True when the client sent it.
    pub from_client: bool,
    /// Its name, e.g. `ServerHello` or `HelloRetryRequest`.
    pub name: String,
    /// Whether it travelled in protected records.
    pub encrypted: bool,
    /// The fields, in order; every byte of the message is in exactly one leaf.
    pub fields: Vec<FieldView>,
}

/// One field of a message or record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldView {
    /// Nesting depth (0 = the whole message or record).
    pub depth: usize,
    /// The field's name as the RFC spells it.
    pub name: String,
    /// Offset of its first byte.
    pub offset: usize,
    /// Its bytes (hex); empty for a group.
    pub hex: String,
    /// Its length in bytes.
    pub len: usize,
    /// What it means.
    pub meaning: String,
    /// Whether it heads a group of fields (its bytes are in the children).
    pub group: bool,
}

impl From<&crate::explain::Field> for FieldView {
    fn from(f: &crate::explain::Field) -> Self {
        FieldView {
            depth: f.depth,
            name: f.name.clone(),
            offset: f.offset,
            hex: f.hex.clone(),
            len: f.len,
            meaning: f.meaning.clone(),
            group: f.group,
        }
    }
}

/// A value of the key schedule (RFC 8446 §7): a secret, a key, a hash, a MAC.
#[derive(Clone, Debug, Serialize)]
pub struct ValueStep {
    /// Its name, e.g. `client_handshake_traffic_secret`.
    pub name: String,
    /// How it is computed, e.g. `Derive-Secret(handshake_secret, "c hs traffic", CH..SH)`.
    pub formula: String,
    /// The inputs by name, with their values (hex) where a reader needs them to
    /// recompute this one.
    pub inputs: Vec<Input>,
    /// The value (hex).
    pub value: String,
    /// Whether it is an ephemeral private key (shown only in `keylab demo`).
    pub private: bool,
    /// The command that recomputes it, when there is one.
    pub check: Option<Check>,
}

/// A named input of a computation.
#[derive(Clone, Debug, Serialize)]
pub struct Input {
    /// Its name, e.g. `salt` or `context (transcript hash of ClientHello..ServerHello)`.
    pub name: String,
    /// Its value (hex), or its text for a label.
    pub value: String,
}

/// A command a reader can run, and the one line it must print.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The shell command.
    pub command: String,
    /// What it prints (hex).
    pub expected: String,
}

/// A paragraph.
#[derive(Clone, Debug, Serialize)]
pub struct NoteStep {
    /// A short title.
    pub title: String,
    /// The text.
    pub text: String,
}
