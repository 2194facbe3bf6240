//! The record layer as data: what [`super::explain_records`] returns.

use serde::{Serialize, Serializer};

use crate::runner::WireDirection;

/// Every record of one connection, in the order the client's socket saw them.
#[derive(Clone, Debug, Serialize)]
pub struct RecordLayer {
    /// The cipher suite the ServerHello chose, if one was seen.
    pub suite: Option<&'static str>,
    /// The records in wire order.
    pub records: Vec<Record>,
    /// The handshake messages the records carry, reassembled, in wire order.
    pub messages: Vec<WireMessage>,
    /// Bytes at the end of a direction that do not form a complete, valid record.
    pub leftovers: Vec<Leftover>,
    /// Bytes of the connection past the capture limit, not kept.
    pub omitted: u64,
}

/// One record: TLSPlaintext or TLSCiphertext.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// Position among all records of the connection, from 0.
    pub index: usize,
    /// Who sent it.
    pub direction: WireDirection,
    /// Offset of its first byte in its direction's byte stream.
    pub offset: usize,
    /// The 5-byte header, field by field.
    pub header: Header,
    /// What follows the header.
    pub body: Body,
}

/// The record header (RFC 8446 §5.1): type, legacy_record_version, length.
#[derive(Clone, Debug, Serialize)]
pub struct Header {
    /// The 5 bytes.
    #[serde(serialize_with = "hex_str")]
    pub bytes: Vec<u8>,
    /// `type` (TLSPlaintext) or `opaque_type` (TLSCiphertext).
    pub content_type: u8,
    /// Its name, e.g. `application_data`.
    pub content_type_name: String,
    /// Why the record says this type.
    pub content_type_meaning: String,
    /// `legacy_record_version`.
    pub legacy_record_version: u16,
    /// Why it has this value.
    pub legacy_record_version_meaning: String,
    /// `length` of what follows.
    pub length: u16,
    /// What the length counts.
    pub length_meaning: String,
}

/// A record's body.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// TLSPlaintext: the fragment as it is.
    Plaintext {
        /// The fragment.
        #[serde(serialize_with = "hex_str")]
        fragment: Vec<u8>,
        /// What the fragment carries.
        content: Content,
    },
    /// TLSCiphertext (RFC 8446 §5.2).
    Protected(Box<Protected>),
}

/// A protected record and its decryption.
#[derive(Clone, Debug, Serialize)]
pub struct Protected {
    /// The traffic secret, key and IV in use; `None` when no value was known for it.
    pub keys: Option<KeysInUse>,
    /// The traffic secret's label, e.g. `server_handshake_traffic_secret`.
    pub secret_label: String,
    /// The record sequence number under this key, from 0 (§5.3).
    pub sequence_number: u64,
    /// The additional data: the record header (§5.2).
    #[serde(serialize_with = "hex_str")]
    pub aad: Vec<u8>,
    /// The encrypted TLSInnerPlaintext.
    #[serde(serialize_with = "hex_str")]
    pub ciphertext: Vec<u8>,
    /// The 16-byte authentication tag that ends the record.
    #[serde(serialize_with = "hex_str")]
    pub tag: Vec<u8>,
    /// The result of decrypting.
    pub decryption: Decryption,
}

/// The keys of one direction under one traffic secret (RFC 8446 §7.3) and this record's
/// nonce (§5.3).
#[derive(Clone, Debug, Serialize)]
pub struct KeysInUse {
    /// The traffic secret.
    #[serde(serialize_with = "hex_str")]
    pub secret: Vec<u8>,
    /// Where its value came from: `observed` (the client's key schedule), or how it was
    /// computed (the "traffic upd" step after a KeyUpdate).
    pub secret_source: String,
    /// write_key = HKDF-Expand-Label(secret, "key", "", key_length).
    #[serde(serialize_with = "hex_str")]
    pub key: Vec<u8>,
    /// write_iv = HKDF-Expand-Label(secret, "iv", "", 12).
    #[serde(serialize_with = "hex_str")]
    pub iv: Vec<u8>,
    /// The per-record nonce: the IV XOR the sequence number, left-padded to 12 bytes.
    #[serde(serialize_with = "hex_str")]
    pub nonce: Vec<u8>,
}

/// What decrypting a protected record gave.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Decryption {
    /// The tag checked and the TLSInnerPlaintext (§5.4) came out.
    Opened(Box<InnerPlaintext>),
    /// It did not decrypt (wrong or missing key: the tag check fails).
    Failed {
        /// Why, in words.
        reason: String,
    },
}

/// TLSInnerPlaintext = content || real content type || zero padding (RFC 8446 §5.4).
#[derive(Clone, Debug, Serialize)]
pub struct InnerPlaintext {
    /// All of it.
    #[serde(serialize_with = "hex_str")]
    pub bytes: Vec<u8>,
    /// The content.
    #[serde(serialize_with = "hex_str")]
    pub content: Vec<u8>,
    /// The real content type, the last non-zero byte.
    pub content_type: u8,
    /// Its name.
    pub content_type_name: String,
    /// Number of zero bytes after the type.
    pub padding_len: usize,
    /// What the content carries.
    pub carries: Content,
}

/// What the content of one record carries.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Content {
    /// Handshake messages, or parts of them (several may share a record, one may span
    /// records, §5.1).
    Handshake {
        /// The messages, in order.
        messages: Vec<CarriedMessage>,
    },
    /// A change_cipher_spec record (middlebox compatibility, §5, Appendix D.4).
    ChangeCipherSpec {
        /// The single byte, 0x01.
        value: u8,
    },
    /// An alert (§6).
    Alert {
        /// 1 warning, 2 fatal.
        level: u8,
        /// The description code.
        description: u8,
        /// E.g. `close_notify (warning)`.
        name: String,
    },
    /// Application data: the content bytes themselves.
    ApplicationData {
        /// Its length.
        len: usize,
    },
    /// Content that did not decode.
    Undecodable {
        /// Why.
        reason: String,
    },
}

/// The part of one handshake message that one record carries.
#[derive(Clone, Debug, Serialize)]
pub struct CarriedMessage {
    /// The message name, e.g. `EncryptedExtensions`.
    pub name: String,
    /// Index into [`RecordLayer::messages`].
    pub wire_message: Option<usize>,
    /// Index into the transcript the client observed (`Observed::messages`).
    pub observed_message: Option<usize>,
    /// Bytes of the record's content, `[start, end)`.
    pub content_range: [usize; 2],
    /// Which bytes of the message they are, `[start, end)`.
    pub message_range: [usize; 2],
    /// The whole message's length, 4-byte header included.
    pub message_len: usize,
}

/// One handshake message as reassembled from the records.
#[derive(Clone, Debug, Serialize)]
pub struct WireMessage {
    /// Who sent it.
    pub direction: WireDirection,
    /// Its name.
    pub name: String,
    /// Its bytes, header included.
    #[serde(serialize_with = "hex_str")]
    pub bytes: Vec<u8>,
    /// Index into `Observed::messages` of the same bytes, if the client observed it.
    pub observed_message: Option<usize>,
    /// The records (indexes into [`RecordLayer::records`]) that carry it.
    pub records: Vec<usize>,
}

/// Bytes that do not form a record.
#[derive(Clone, Debug, Serialize)]
pub struct Leftover {
    /// Which direction.
    pub direction: WireDirection,
    /// Offset in that direction's stream.
    pub offset: usize,
    /// How many bytes.
    pub len: usize,
    /// Why they are not a record.
    pub reason: String,
}

/// Serializes bytes as lowercase hex.
fn hex_str<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}
