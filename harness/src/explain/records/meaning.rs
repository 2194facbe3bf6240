//! What the fields of a record header mean (RFC 8446 §5.1, §5.2).

use handshake::msgs::enums::{ContentType, ProtocolVersion};
use handshake::record::{MAX_CIPHERTEXT_LEN, MAX_PLAINTEXT_LEN, OpaqueRecord, TAG_LEN};

use super::model::Header;

/// The header of `record`, field by field; `protected` when it is a TLSCiphertext.
pub(super) fn header(record: &OpaqueRecord, protected: bool) -> Header {
    let bytes = record.header();
    let version = record.legacy_version.to_u16();
    let length = u16::from_be_bytes([bytes[3], bytes[4]]);
    Header {
        bytes: bytes.to_vec(),
        content_type: record.typ.to_u8(),
        content_type_name: type_name(record.typ),
        content_type_meaning: type_meaning(record.typ, protected),
        legacy_record_version: version,
        legacy_record_version_meaning: version_meaning(record.legacy_version, protected),
        length,
        length_meaning: length_meaning(length, protected),
    }
}

/// `handshake`, `application_data`, ... or `unknown (N)`.
pub(super) fn type_name(typ: ContentType) -> String {
    typ.name()
        .map_or_else(|| format!("unknown ({})", typ.to_u8()), str::to_owned)
}

fn type_meaning(typ: ContentType, protected: bool) -> String {
    match typ {
        ContentType::ApplicationData if protected => {
            "application_data (23): the outer type of every protected record; the real type \
             is encrypted inside, at the end of the TLSInnerPlaintext, so an observer cannot \
             tell handshake, alert and data apart (RFC 8446 §5.2)"
        }
        ContentType::ApplicationData => {
            "application_data (23), but no keys are in use in this direction yet"
        }
        ContentType::Handshake => {
            "handshake (22): handshake messages in the clear, before any keys exist (§5.1)"
        }
        ContentType::Alert => "alert (21): an alert in the clear (§6)",
        ContentType::ChangeCipherSpec => {
            "change_cipher_spec (20): the middlebox compatibility record, never encrypted and \
             dropped by TLS 1.3 peers (§5, Appendix D.4)"
        }
        _ => "a content type TLS 1.3 does not define",
    }
    .to_owned()
}

fn version_meaning(version: ProtocolVersion, protected: bool) -> String {
    match version.to_u16() {
        0x0301 => "0x0301 (TLS 1.0): allowed in an initial ClientHello, for servers that choke on \
             anything newer; receivers ignore it (§5.1), TLS 1.3 is negotiated in \
             supported_versions (§4.2.1)"
            .to_owned(),
        0x0303 if protected => {
            "0x0303 (TLS 1.2): every TLSCiphertext says TLS 1.2 (§5.2), so middleboxes see \
             what looks like TLS 1.2 application data; it is part of the additional data"
                .to_owned()
        }
        0x0303 => "0x0303 (TLS 1.2): required on every record except an initial ClientHello, \
                   which may also say 0x0301; receivers ignore it (§5.1)"
            .to_owned(),
        other => format!("{other:#06x}: not what TLS 1.3 sends; receivers ignore it (§5.1)"),
    }
}

fn length_meaning(length: u16, protected: bool) -> String {
    if protected {
        format!(
            "{length} bytes follow: the encrypted TLSInnerPlaintext (content, 1 type byte, \
             padding) and the {TAG_LEN}-byte tag; at most {MAX_CIPHERTEXT_LEN} (§5.2)"
        )
    } else {
        format!("{length} bytes of fragment follow; at most {MAX_PLAINTEXT_LEN} (§5.1)")
    }
}
