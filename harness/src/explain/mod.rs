//! Byte-by-byte explanations of TLS 1.3 handshake messages, for `keylab demo --explain`.
//!
//! The explanation is built on the handshake crate's own codec: the message is decoded by
//! [`HandshakeMessage::read`] under [`handshake::codec::record_spans_lenient`], which
//! records a span (byte range, field name, length prefix / value / group) for every read.
//! This module only turns those spans into [`Field`]s and adds what the values mean; it
//! has no byte reader of its own.
//!
//! [`explain_message`] takes one handshake message exactly as it went into the transcript
//! (the 4-byte header included, as in [`handshake::TraceEvent::Message`]) and returns a
//! tree of [`Field`]s: group fields (a vector, an extension, a certificate entry) and leaf
//! fields that carry the bytes. Every byte of the input is in exactly one leaf, in order,
//! so concatenating the leaves' hex gives back the message. Malformed or unknown input is
//! explained as far as it decodes; the rest becomes an "undecodable rest" leaf. Nothing
//! panics, whatever the bytes.
//!
//! [`render`] turns the fields into indented text lines:
//!
//! ```text
//! 0000                                                   CertificateRequest (43 bytes): the server ...
//! 0000  0d                                                 msg_type: certificate_request (13), ...
//! 0001  00 00 27                                           length: 39 bytes of body follow (uint24)
//! 0004  00                                                 certificate_request_context length: ...
//! ```
//!
//! The submodules: `walk` turns the spans into fields; `hello`, `extensions`, `cert` and
//! `post` know what each field means; [`records`] is the record layer of a connection.
//!
//! Some meanings depend on who sent the message (the CertificateVerify context string,
//! an empty client Certificate); [`explain_message_from`] takes the sender.

mod cert;
mod extensions;
mod hello;
mod post;
pub mod records;
mod walk;

use walk::{explain, uint};
#[cfg(test)]
mod tests;

use handshake::Side;
use handshake::codec::{Span, SpanKind, record_spans_lenient};
use handshake::msgs::enums::{ExtensionContext, ExtensionType, HandshakeType, NamedGroup};
use handshake::msgs::{HELLO_RETRY_REQUEST_RANDOM, HandshakeMessage};

/// One line of an explanation: a field, its bytes and what they mean.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Field {
    /// Nesting level: 0 for the message, 1 for its header and top-level fields, ...
    pub depth: usize,
    /// The field's name, as RFC 8446 spells it where it has one (`legacy_session_id`).
    pub name: String,
    /// Offset of the field's first byte in the message (header included).
    pub offset: usize,
    /// The field's bytes as lowercase hex without separators; empty for a group.
    pub hex: String,
    /// What the value means, in one line.
    pub meaning: String,
    /// Number of bytes covered: a leaf's own bytes, or the span of a group's children.
    pub len: usize,
    /// A group header (its bytes are in the leaves that follow it, one level deeper)
    /// rather than a leaf.
    pub group: bool,
}

impl Field {
    /// Whether this field carries bytes itself (as opposed to heading a group).
    pub fn is_leaf(&self) -> bool {
        !self.group
    }
}

/// Explains one handshake message; `bytes` include the 4-byte header. Never panics:
/// malformed or unknown input yields fields that say so (e.g. a final "undecodable rest"
/// field with the remaining hex).
pub fn explain_message(bytes: &[u8]) -> Vec<Field> {
    explain(bytes, None, None)
}

/// Like [`explain_message`], for a message known to come from `sender`: meanings then name
/// the side (e.g. the "TLS 1.3, client CertificateVerify" context string, or an empty
/// client Certificate meaning the client has no certificate).
pub fn explain_message_from(bytes: &[u8], sender: Side) -> Vec<Field> {
    explain(bytes, Some(sender), None)
}

/// Like [`explain_message_from`], for a message whose place in the connection is known:
/// `transcript_before` names the messages the transcript holds before it, in words
/// (`"ClientHello..server EncryptedExtensions"`). A Finished then says exactly what its
/// MAC covers: on the PSK paths the server's runs to EncryptedExtensions, as there is no
/// CertificateVerify there (RFC 8446 §4.4.1, §4.4.4).
pub fn explain_message_in(bytes: &[u8], sender: Side, transcript_before: &str) -> Vec<Field> {
    explain(bytes, Some(sender), Some(transcript_before))
}

/// Bytes shown in full on one hex line.
const HEX_PER_LINE: usize = 16;
/// Values up to this long are shown in full (wrapped); longer ones are abbreviated.
const HEX_FULL_MAX: usize = 32;
/// Width of the hex column: 16 bytes as `xx ` minus the last space.
const HEX_WIDTH: usize = HEX_PER_LINE * 3 - 1;

/// Renders fields as indented text lines: `offset  hex  name: meaning`.
///
/// Values of up to 32 bytes are shown in full, 16 bytes a line; longer ones (certificates,
/// signatures) as their first 16 bytes, then `… ` and their last 4 with the length. A
/// group line has no hex and gives its span after its name.
pub fn render(fields: &[Field]) -> String {
    let mut out = String::new();
    for field in fields {
        let indent = "  ".repeat(field.depth);
        let mut lines = if field.group {
            Vec::new()
        } else {
            hex_lines(&field.hex)
        };
        let first = if lines.is_empty() {
            String::new()
        } else {
            lines.remove(0)
        };
        let label = if field.group {
            format!("{} ({} bytes)", field.name, field.len)
        } else {
            field.name.clone()
        };
        out.push_str(&format!(
            "{:04x}  {first:<HEX_WIDTH$}  {indent}{label}: {}\n",
            field.offset, field.meaning
        ));
        for line in lines {
            out.push_str(&format!("{:4}  {line}\n", ""));
        }
    }
    out
}

/// The hex column of a leaf: one or two lines.
fn hex_lines(hex: &str) -> Vec<String> {
    let bytes: Vec<&str> = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).unwrap_or("??"))
        .collect();
    if bytes.len() <= HEX_FULL_MAX {
        return bytes
            .chunks(HEX_PER_LINE)
            .map(|line| line.join(" "))
            .collect();
    }
    let head = bytes.get(..HEX_PER_LINE).unwrap_or_default().join(" ");
    let tail = bytes
        .get(bytes.len().saturating_sub(4)..)
        .unwrap_or_default()
        .join(" ");
    vec![head, format!("… {tail} ({} bytes)", bytes.len())]
}

/// The message a header announces: its HandshakeType, with a HelloRetryRequest told
/// apart from a ServerHello by its random (RFC 8446 §4.1.3), as the codec read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Kind {
    typ: HandshakeType,
    retry: bool,
}

impl Kind {
    fn name(self) -> &'static str {
        if self.retry {
            "HelloRetryRequest"
        } else {
            self.typ.message_name()
        }
    }

    /// The extension block's context in this message.
    fn context(self) -> ExtensionContext {
        use HandshakeType as T;
        match (self.typ, self.retry) {
            (T::ClientHello, _) => ExtensionContext::ClientHello,
            (T::ServerHello, true) => ExtensionContext::HelloRetryRequest,
            (T::ServerHello, false) => ExtensionContext::ServerHello,
            (T::NewSessionTicket, _) => ExtensionContext::NewSessionTicket,
            (T::Certificate, _) => ExtensionContext::Certificate,
            (T::CertificateRequest, _) => ExtensionContext::CertificateRequest,
            _ => ExtensionContext::EncryptedExtensions,
        }
    }

    /// What the message is for, in one line.
    fn summary(self, sender: Option<Side>) -> String {
        use HandshakeType as T;
        match (self.typ, self.retry) {
            (T::ClientHello, _) => "the client opens the handshake: versions, cipher suites, \
                groups, signature schemes and its key shares (RFC 8446 §4.1.2)"
                .into(),
            (T::ServerHello, false) => {
                "the server's choices: version, cipher suite and its own key \
                share; from here on both sides can compute the handshake keys and everything \
                else is encrypted (§4.1.3)"
                    .into()
            }
            (T::ServerHello, true) => "a ServerHello carrying the special HelloRetryRequest \
                random: the server asks for a second ClientHello, e.g. with a key share for \
                another group (§4.1.3, §4.1.4)"
                .into(),
            (T::NewSessionTicket, _) => "after the handshake, a ticket the client can present \
                later to resume with a PSK (§4.6.1)"
                .into(),
            (T::EndOfEarlyData, _) => "the client's last 0-RTT message: early data ends here \
                (§4.5)"
                .into(),
            (T::EncryptedExtensions, _) => "the server's answers to extensions that do not shape \
                the keys; the first encrypted message (§4.3.1)"
                .into(),
            (T::Certificate, _) => cert::certificate_summary(sender),
            (T::CertificateRequest, _) => cert::CERTIFICATE_REQUEST_SUMMARY.into(),
            (T::CertificateVerify, _) => cert::certificate_verify_summary(sender),
            (T::Finished, _) => post::finished_summary(sender),
            (T::KeyUpdate, _) => "the sender switches to the next generation of its traffic \
                keys (§4.6.3)"
                .into(),
            (T::MessageHash, _) => "synthetic message that replaces ClientHello1 in the \
                transcript after a HelloRetryRequest; never sent (§4.4.1)"
                .into(),
            (T::Unknown(_), _) => "a handshake type TLS 1.3 does not define; a receiver aborts \
                with unexpected_message (§4)"
                .into(),
        }
    }
}

fn header_length_meaning(declared: u32, present: usize) -> String {
    let body = byte_count(declared);
    match usize::try_from(declared) {
        Ok(n) if n == present => format!("{body} of body follow (uint24)"),
        Ok(n) if n < present => format!(
            "{body} of body follow (uint24); {} more byte(s) trail the message",
            present - n
        ),
        _ => format!("{body} of body declared, only {present} present: truncated"),
    }
}

/// "n bytes follow", or the overrun when fewer are there.
fn length_meaning(declared: u32, available: usize) -> String {
    match usize::try_from(declared) {
        Ok(1) if available >= 1 => "1 byte follows".into(),
        Ok(n) if n <= available => format!("{n} bytes follow"),
        _ => format!(
            "{} declared, only {available} present: truncated",
            byte_count(declared)
        ),
    }
}

/// "1 byte", "n bytes".
fn byte_count(n: u32) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// `name (0x001d)` for a named code point; for others `unknown (0x0a0a)`, with a word
/// about GREASE (RFC 8701) where the value is one.
pub(super) fn code_point(name: Option<&str>, value: u16, width: usize) -> String {
    match name {
        Some(name) => format!("{name} (0x{value:0width$x})"),
        None if is_grease(value) => format!(
            "unknown (0x{value:0width$x}): a GREASE value (RFC 8701), sent to keep peers \
             tolerant of unknown values; ignored"
        ),
        None => format!("unknown (0x{value:0width$x}): not known here; ignored"),
    }
}

/// RFC 8701: 0x0a0a, 0x1a1a, ..., 0xfafa.
fn is_grease(value: u16) -> bool {
    let [hi, lo] = value.to_be_bytes();
    hi == lo && hi & 0x0f == 0x0a
}

/// "client", "server" or, when unknown, "sender".
pub(super) fn who(sender: Option<Side>) -> &'static str {
    match sender {
        Some(Side::Client) => "client",
        Some(Side::Server) => "server",
        None => "sender",
    }
}
