//! A record as [`Field`]s, the shape the message explanations have: the header and
//! fragment with offsets within the record, and the TLSInnerPlaintext of a protected one.

use super::model::{Body, Content, Decryption, InnerPlaintext, Record};
use crate::explain::Field;

impl Record {
    /// A one-line title, e.g. `protected record: handshake (EncryptedExtensions)`.
    pub fn title(&self) -> String {
        let (kind, content) = match &self.body {
            Body::Plaintext { content, .. } => ("record", Some(content)),
            Body::Protected(p) => match &p.decryption {
                Decryption::Opened(inner) => ("protected record", Some(&inner.carries)),
                Decryption::Failed { .. } => ("protected record", None),
            },
        };
        match content {
            None => format!("{kind}: not decrypted"),
            Some(c) => format!("{kind}: {}", describe(c)),
        }
    }

    /// The names of the handshake messages (or parts of them) the record carries.
    pub fn carries(&self) -> Vec<String> {
        match self.content() {
            Some(Content::Handshake { messages }) => {
                messages.iter().map(|m| m.name.clone()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// What the (decrypted) content carries, `None` when it did not decrypt.
    pub fn content(&self) -> Option<&Content> {
        match &self.body {
            Body::Plaintext { content, .. } => Some(content),
            Body::Protected(p) => match &p.decryption {
                Decryption::Opened(inner) => Some(&inner.carries),
                Decryption::Failed { .. } => None,
            },
        }
    }

    /// The record field by field: the header, then the fragment (plaintext: what it
    /// carries; protected: the encrypted record and the tag). Offsets are within the record.
    pub fn fields(&self) -> Vec<Field> {
        let h = &self.header;
        let hex = |b: &[u8]| hex::encode(b);
        let mut out = vec![
            leaf(0, "type", 0, &hex(&h.bytes[..1]), &h.content_type_meaning),
            leaf(
                0,
                "legacy_record_version",
                1,
                &hex(&h.bytes[1..3]),
                &h.legacy_record_version_meaning,
            ),
            leaf(0, "length", 3, &hex(&h.bytes[3..5]), &h.length_meaning),
        ];
        match &self.body {
            Body::Plaintext { fragment, content } => {
                out.push(group(0, "fragment", 5, fragment.len(), &describe(content)));
                content_fields(&mut out, 1, 5, fragment, content);
            }
            Body::Protected(p) => {
                out.push(leaf(
                    0,
                    "encrypted_record",
                    5,
                    &hex(&p.ciphertext),
                    "the TLSInnerPlaintext, encrypted with the write key and this record's nonce",
                ));
                out.push(leaf(
                    0,
                    "tag",
                    5 + p.ciphertext.len(),
                    &hex(&p.tag),
                    "the AEAD tag over the additional data (the header) and the ciphertext",
                ));
            }
        }
        out
    }
}

impl InnerPlaintext {
    /// TLSInnerPlaintext field by field: content, type, padding (offsets within it).
    pub fn fields(&self) -> Vec<Field> {
        let mut out = vec![group(
            0,
            "content",
            0,
            self.content.len(),
            &describe(&self.carries),
        )];
        content_fields(&mut out, 1, 0, &self.content, &self.carries);
        out.push(leaf(
            0,
            "type",
            self.content.len(),
            &hex::encode([self.content_type]),
            &format!(
                "{} ({}): the real content type (RFC 8446 §5.2)",
                self.content_type_name, self.content_type
            ),
        ));
        let padding = if self.padding_len == 0 {
            "none: zero bytes of padding after the type; a sender may add zeros to hide the \
             true length (§5.4)"
                .to_owned()
        } else {
            format!(
                "{} zero bytes of padding, hiding the true length (§5.4)",
                self.padding_len
            )
        };
        out.push(leaf(
            0,
            "zeros",
            self.content.len() + 1,
            &"00".repeat(self.padding_len),
            &padding,
        ));
        out
    }
}

/// The pieces of `content` (at `base` within the record) as fields at `depth`.
fn content_fields(out: &mut Vec<Field>, depth: usize, base: usize, bytes: &[u8], c: &Content) {
    let hex = |range: std::ops::Range<usize>| bytes.get(range).map(hex::encode).unwrap_or_default();
    match c {
        Content::Handshake { messages } => {
            for m in messages {
                let [a, b] = m.content_range;
                let meaning = if m.message_range == [0, m.message_len] {
                    format!("the whole {} ({} bytes)", m.name, m.message_len)
                } else {
                    format!(
                        "bytes {}..{} of {} ({} bytes in all)",
                        m.message_range[0], m.message_range[1], m.name, m.message_len
                    )
                };
                out.push(leaf(depth, &m.name, base + a, &hex(a..b), &meaning));
            }
        }
        Content::ChangeCipherSpec { value } => out.push(leaf(
            depth,
            "change_cipher_spec",
            base,
            &hex::encode([*value]),
            "the single byte 0x01 (Appendix D.4)",
        )),
        Content::Alert {
            level,
            description,
            name,
        } => {
            let level_name = match level {
                1 => "warning (1)".to_owned(),
                2 => "fatal (2)".to_owned(),
                other => format!("{other}: not a defined level"),
            };
            let level_meaning =
                format!("{level_name}: TLS 1.3 ignores the level; the description decides (§6)");
            out.push(leaf(
                depth,
                "level",
                base,
                &hex::encode([*level]),
                &level_meaning,
            ));
            let what = name.split(" (").next().unwrap_or(name);
            out.push(leaf(
                depth,
                "description",
                base + 1,
                &hex::encode([*description]),
                &format!("{what} ({description}) (§6)"),
            ));
        }
        Content::ApplicationData { len } => out.push(leaf(
            depth,
            "application_data",
            base,
            &hex(0..*len),
            &format!("{len} bytes of application data"),
        )),
        Content::Undecodable { reason } => {
            out.push(leaf(
                depth,
                "undecodable",
                base,
                &hex(0..bytes.len()),
                reason,
            ));
        }
    }
}

/// `handshake (EncryptedExtensions, Certificate)`, `alert (close_notify (warning))`, ...
fn describe(c: &Content) -> String {
    match c {
        Content::Handshake { messages } => {
            let names: Vec<&str> = messages.iter().map(|m| m.name.as_str()).collect();
            format!("handshake ({})", names.join(", "))
        }
        Content::ChangeCipherSpec { .. } => "change_cipher_spec (compatibility)".into(),
        Content::Alert { name, .. } => format!("alert ({name})"),
        Content::ApplicationData { len } => format!("application_data ({len} bytes)"),
        Content::Undecodable { reason } => format!("undecodable ({reason})"),
    }
}

fn leaf(depth: usize, name: &str, offset: usize, hex: &str, meaning: &str) -> Field {
    Field {
        depth,
        name: name.to_owned(),
        offset,
        hex: hex.to_owned(),
        meaning: meaning.to_owned(),
        len: hex.len() / 2,
        group: false,
    }
}

fn group(depth: usize, name: &str, offset: usize, len: usize, meaning: &str) -> Field {
    Field {
        depth,
        name: name.to_owned(),
        offset,
        hex: String::new(),
        meaning: meaning.to_owned(),
        len,
        group: true,
    }
}
