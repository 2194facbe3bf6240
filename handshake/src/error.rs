//! Errors, and the one place that decides which alert each error sends.
//!
//! Every failure in this crate is an [`Error`](enum@Error). [`Error::alert`] is the single
//! mapping from an error to the alert (RFC 8446 §6.2) a connection sends before closing.
//! Messages say exactly what was wrong, except for record decryption failures, which say
//! nothing more than that (RFC 8446 §5.2: a failed decryption must not tell an attacker
//! anything).

mod reasons;

use std::fmt;

use thiserror::Error;

pub use self::reasons::{HandshakeFailure, HelloField, Invalid};
use crate::msgs::enums::{AlertDescription, ContentType, ExtensionContext, ExtensionType};

/// Any failure of the handshake or record layer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes from the peer could not be decoded.
    #[error("decode error: {0}")]
    Decode(#[from] DecodeError),

    /// A message of ours could not be encoded (a field is too long for its length prefix).
    #[error("encode error: {0}")]
    Encode(#[from] EncodeError),

    /// A message decoded, but a field is invalid or inconsistent with another field.
    #[error("invalid {message}: {reason}")]
    InvalidMessage {
        /// The message that was wrong (e.g. "ServerHello").
        message: &'static str,
        /// What exactly was wrong.
        reason: Invalid,
    },

    /// A message arrived that is not allowed in the current state.
    #[error("unexpected message: expected {expected}, got {got}")]
    UnexpectedMessage {
        /// What the state machine was waiting for.
        expected: &'static str,
        /// What arrived.
        got: String,
    },

    /// A required extension is missing (RFC 8446 §4.2, §9.2).
    #[error("{message} lacks the required extension {extension}")]
    MissingExtension {
        /// The message that should have carried it.
        message: &'static str,
        /// The extension that is missing.
        extension: ExtensionType,
    },

    /// The peer sent an extension it was not allowed to send here, e.g. a response to an
    /// extension that was never offered (RFC 8446 §4.2).
    #[error("{message} carries the unsolicited extension {extension}")]
    UnsupportedExtension {
        /// The message that carried it.
        message: &'static str,
        /// The extension.
        extension: ExtensionType,
    },

    /// RFC 7301 §3.2: the server supports none of the application protocols the client
    /// offered ("the server SHALL respond with a fatal "no_application_protocol" alert").
    #[error(
        "no application protocol in common: the client offers [{}], this server speaks [{}]",
        protocol_list(.offered),
        protocol_list(.accepted)
    )]
    NoApplicationProtocol {
        /// The client's ALPN names, in its order.
        offered: Vec<Vec<u8>>,
        /// The server's configured names, in its order of preference.
        accepted: Vec<Vec<u8>>,
    },

    /// No acceptable set of parameters could be negotiated.
    #[error("handshake failure: {0}")]
    HandshakeFailure(HandshakeFailure),

    /// The peer does not speak TLS 1.3.
    #[error("protocol version: {0}")]
    ProtocolVersion(String),

    /// A record violates the record-layer rules of RFC 8446 §5.
    #[error("record layer: {0}")]
    Record(#[from] RecordError),

    /// A received record is longer than RFC 8446 §5.1/§5.2 allow.
    #[error("record overflow: {length} bytes exceed the limit of {limit}")]
    RecordOverflow {
        /// The length that arrived.
        length: usize,
        /// The limit that applies.
        limit: usize,
    },

    /// A protected record did not decrypt. Deliberately carries no detail (RFC 8446 §5.2).
    #[error("record decryption failed")]
    DecryptFailed,

    /// A handshake-level cryptographic check failed (RFC 8446 §6.2 decrypt_error).
    #[error("{0} verification failed")]
    VerifyFailed(Verification),

    /// The peer sent a fatal alert; the connection is closed and no alert is sent back.
    #[error("peer sent fatal alert {0}")]
    PeerAlert(AlertDescription),

    /// A local failure that is not the peer's fault.
    #[error("internal error: {0}")]
    Internal(#[from] InternalError),

    /// The peer's certificate was missing, unreadable or failed validation.
    #[error("{0}")]
    Certificate(CertificateError),

    /// The transport ended without close_notify (RFC 8446 §6.1): the data may have been
    /// truncated. Nothing is sent.
    #[error("connection closed without close_notify (possible truncation)")]
    Truncated,

    /// The connection failed or closed earlier; it can neither send nor receive.
    #[error("connection is closed ({0})")]
    Closed(String),

    /// The caller used the API out of order, e.g. sent data before the handshake finished.
    #[error("not allowed now: {0}")]
    Usage(&'static str),
}

impl Error {
    /// The alert to send for this error, or `None` when nothing should be sent.
    ///
    /// This is the only place in the crate where an error is turned into an alert.
    pub fn alert(&self) -> Option<AlertDescription> {
        use AlertDescription as A;
        Some(match self {
            Error::Decode(e) => e.reason.alert(),
            Error::Encode(_) | Error::Internal(_) => A::InternalError,
            Error::InvalidMessage { .. } => A::IllegalParameter,
            Error::UnexpectedMessage { .. } => A::UnexpectedMessage,
            Error::MissingExtension { .. } => A::MissingExtension,
            Error::UnsupportedExtension { .. } => A::UnsupportedExtension,
            Error::HandshakeFailure(_) => A::HandshakeFailure,
            Error::NoApplicationProtocol { .. } => A::NoApplicationProtocol,
            Error::ProtocolVersion(_) => A::ProtocolVersion,
            Error::Record(e) => e.alert(),
            Error::RecordOverflow { .. } => A::RecordOverflow,
            // RFC 8446 §5.2: "If the decryption fails, the receiver MUST terminate the
            // connection with a "bad_record_mac" alert."
            Error::DecryptFailed => A::BadRecordMac,
            // RFC 8446 §6.2 decrypt_error: signature, Finished or PSK binder check failed.
            Error::VerifyFailed(_) => A::DecryptError,
            Error::Certificate(e) => e.alert(),
            // RFC 8446 §6.2: after a fatal alert the connection is closed without a reply.
            Error::PeerAlert(_) | Error::Truncated | Error::Closed(_) => return None,
            Error::Usage(_) => return None,
        })
    }
}

/// ALPN protocol names for messages, each as [`alpn_text`] shows it, at most eight.
fn protocol_list(names: &[Vec<u8>]) -> String {
    let mut shown: Vec<String> = names.iter().take(8).map(|n| alpn_text(n)).collect();
    if names.len() > 8 {
        shown.push(format!("... {} in all", names.len()));
    }
    shown.join(", ")
}

/// An ALPN protocol name (RFC 7301 §3.1: opaque bytes, in practice ASCII such as
/// `http/1.1` or `h2`) as a quoted string: printable ASCII as is, quotes, backslashes and
/// every other byte escaped as [`u8::escape_ascii`] does (`\"`, `\\`, `\xNN`), so that
/// distinct names stay distinct.
pub fn alpn_text(name: &[u8]) -> String {
    format!("\"{}\"", name.escape_ascii())
}

/// Why the peer's certificate was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The server sent an empty Certificate (RFC 8446 §4.4.2.4: decode_error).
    #[error("the server sent no certificate")]
    Missing,
    /// Client authentication is required and the client sent no certificate (RFC 8446
    /// §4.4.2.4, RFC 8446 §6.2 certificate_required).
    #[error("client certificate required, but the client sent none")]
    Required,
    /// A certificate could not be parsed.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// The end-entity key cannot be used (e.g. an ECDSA key).
    #[error("unsupported certificate key: {0}")]
    UnsupportedKey(String),
    /// Path validation failed; the inner error says exactly why.
    #[error("certificate rejected: {0}")]
    Invalid(pki::ValidationError),
}

impl CertificateError {
    /// The alert for this failure (RFC 8446 §6.2).
    fn alert(&self) -> AlertDescription {
        use AlertDescription as A;
        use pki::ValidationError as V;
        match self {
            CertificateError::Missing => A::DecodeError,
            CertificateError::Required => A::CertificateRequired,
            CertificateError::Malformed(_) => A::BadCertificate,
            CertificateError::UnsupportedKey(_) => A::UnsupportedCertificate,
            CertificateError::Invalid(v) => match v {
                V::Expired { .. } | V::NotYetValid { .. } => A::CertificateExpired,
                V::UnknownIssuer { .. } | V::NoTrustAnchors => A::UnknownCa,
                V::WrongExtendedKeyUsage { .. }
                | V::LeafKeyUsage { .. }
                | V::UnknownCriticalExtension { .. }
                | V::UnsupportedVersion { .. }
                | V::UnsupportedSignatureAlgorithm { .. }
                | V::UnsupportedIssuerKey { .. } => A::UnsupportedCertificate,
                _ => A::BadCertificate,
            },
        }
    }
}

/// A decoding failure: what was being decoded, and why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what}: {reason}")]
pub struct DecodeError {
    /// The field or structure being decoded, e.g. "ClientHello.cipher_suites".
    pub what: &'static str,
    /// Why it failed.
    pub reason: DecodeReason,
}

impl DecodeError {
    /// A decode error about `what`.
    pub fn new(what: &'static str, reason: DecodeReason) -> Self {
        Self { what, reason }
    }
}

/// Why decoding failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeReason {
    /// The input ended early.
    #[error("truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// Bytes were left over after the structure ended.
    #[error("{count} unexpected trailing bytes")]
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// A vector's length lies outside the bounds of its definition.
    #[error("length {len} is outside the allowed range {min}..={max}")]
    LengthOutOfRange {
        /// The length found.
        len: usize,
        /// The smallest length allowed.
        min: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// A list's byte length is not a multiple of its element size.
    #[error("length {len} is not a multiple of the element size {element}")]
    RaggedList {
        /// The length found.
        len: usize,
        /// The size of one element.
        element: usize,
    },
    /// A value that the RFC forbids in this field.
    #[error("value {value:#x} is not allowed here")]
    IllegalValue {
        /// The value found.
        value: u64,
    },
    /// RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given
    /// extension block."
    #[error("extension {0} appears more than once")]
    DuplicateExtension(ExtensionType),
    /// RFC 8446 §4.2: a recognized extension in a message the table does not list it for.
    #[error("extension {extension} is not allowed in {context}")]
    ExtensionNotAllowed {
        /// The extension found.
        extension: ExtensionType,
        /// The message it was found in.
        context: ExtensionContext,
    },
    /// RFC 8446 §4.2.11: pre_shared_key must be the last extension of a ClientHello.
    #[error("pre_shared_key is not the last extension")]
    PreSharedKeyNotLast,
    /// RFC 7301 §3.1: a server's ProtocolNameList "MUST contain exactly one
    /// "ProtocolName"".
    #[error("{count} protocol names where the server must send exactly one (RFC 7301 §3.1)")]
    ServerProtocolCount {
        /// How many names the list held.
        count: usize,
    },
    /// RFC 8446 §4.2.11: one binder per identity, in the same order.
    #[error("{identities} PSK identities but {binders} binders")]
    BinderCountMismatch {
        /// Identities offered.
        identities: usize,
        /// Binders sent.
        binders: usize,
    },
}

impl DecodeReason {
    /// RFC 8446 §6.2: malformed input is decode_error; well-formed input with a forbidden value
    /// is illegal_parameter.
    fn alert(&self) -> AlertDescription {
        match self {
            DecodeReason::Truncated { .. }
            | DecodeReason::TrailingBytes { .. }
            | DecodeReason::LengthOutOfRange { .. }
            | DecodeReason::RaggedList { .. } => AlertDescription::DecodeError,
            // §4.6.3 (KeyUpdate), §4.2 (not allowed here: "MUST abort the handshake with an
            // illegal_parameter alert"), §4.2.11 (pre_shared_key last: "illegal_parameter").
            // §4.2 names no alert for duplicates; the block is well-formed but inconsistent,
            // which §6.2 calls illegal_parameter. RFC 7301 §3.1's "exactly one" server
            // protocol names no alert either: a well-formed list with the wrong count.
            DecodeReason::IllegalValue { .. }
            | DecodeReason::DuplicateExtension(_)
            | DecodeReason::ExtensionNotAllowed { .. }
            | DecodeReason::PreSharedKeyNotLast
            | DecodeReason::ServerProtocolCount { .. }
            | DecodeReason::BinderCountMismatch { .. } => AlertDescription::IllegalParameter,
        }
    }
}

/// A local message could not be encoded: a field is too long for its length prefix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what}: {len} bytes exceed the maximum of {max}")]
pub struct EncodeError {
    /// The field being encoded.
    pub what: &'static str,
    /// Its length.
    pub len: usize,
    /// The largest length its prefix can express.
    pub max: usize,
}

/// A violation of the record-layer rules (RFC 8446 §5).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A record of a content type TLS 1.3 does not define (RFC 8446 §5).
    #[error("unknown content type {0}")]
    UnknownContentType(ContentType),
    /// Where a record header should start, the peer sent text: it does not speak TLS (an
    /// HTTP server answering `HTTP/1.1 400`, an SSH banner, ...). The first bytes, as text.
    #[error("the peer does not speak TLS: it sent {0:?} where a record header belongs")]
    NotTls(String),
    /// A record whose type must not appear where it did, e.g. an unprotected record where a
    /// protected one is required.
    #[error("{0} record not allowed here")]
    UnexpectedContentType(ContentType),
    /// RFC 8446 §5.4: a Handshake or Alert record with zero-length content.
    #[error("empty {0} record")]
    EmptyFragment(ContentType),
    /// RFC 8446 §5.4: the decrypted TLSInnerPlaintext holds no non-zero byte, so no content
    /// type.
    #[error("protected record has no content type (all zeros)")]
    NoContentType,
    /// RFC 8446 §5: a change_cipher_spec record other than the single byte 0x01.
    #[error("change_cipher_spec record is not the single byte 0x01")]
    InvalidChangeCipherSpec,
    /// RFC 8446 §5: a change_cipher_spec record inside a protected record.
    #[error("protected change_cipher_spec record")]
    ProtectedChangeCipherSpec,
    /// RFC 8446 §5.1 / §6: an Alert record must hold exactly one 2-byte alert.
    #[error("alert record of {0} bytes (must be exactly 2)")]
    BadAlertLength(usize),
    /// RFC 8446 §5.1: a handshake message split across records was interleaved with a record
    /// of another type.
    #[error("{0} record interleaved with a fragmented handshake message")]
    InterleavedHandshake(ContentType),
    /// RFC 8446 §5.1: handshake data was still pending when the keys changed.
    #[error("{pending} bytes of handshake data span a key change")]
    HandshakeSpansKeyChange {
        /// Bytes of handshake data still buffered.
        pending: usize,
    },
    /// A handshake message larger than this implementation accepts (the cap is
    /// [`DEFAULT_MAX_HANDSHAKE_LEN`](crate::record::DEFAULT_MAX_HANDSHAKE_LEN) unless set
    /// otherwise). It may be well-formed, so it is handshake_failure, not decode_error.
    #[error("handshake message of {len} bytes exceeds this implementation's cap of {max} bytes")]
    HandshakeMessageTooLarge {
        /// The announced length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl RecordError {
    fn alert(&self) -> AlertDescription {
        match self {
            RecordError::BadAlertLength(_) => AlertDescription::DecodeError,
            RecordError::HandshakeMessageTooLarge { .. } => AlertDescription::HandshakeFailure,
            // RFC 8446 §5: unexpected record types, invalid or protected change_cipher_spec;
            // §5.1: interleaving and key changes; §5.4: empty or all-zero inner plaintexts.
            RecordError::UnknownContentType(_)
            | RecordError::NotTls(_)
            | RecordError::UnexpectedContentType(_)
            | RecordError::EmptyFragment(_)
            | RecordError::NoContentType
            | RecordError::InvalidChangeCipherSpec
            | RecordError::ProtectedChangeCipherSpec
            | RecordError::InterleavedHandshake(_)
            | RecordError::HandshakeSpansKeyChange { .. } => AlertDescription::UnexpectedMessage,
        }
    }
}

/// Which handshake-level verification failed (all send decrypt_error, RFC 8446 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verification {
    /// Finished.verify_data (RFC 8446 §4.4.4).
    Finished,
    /// A PSK binder (RFC 8446 §4.2.11.2).
    PskBinder,
    /// A CertificateVerify signature (RFC 8446 §4.4.3).
    Signature,
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verification::Finished => "Finished",
            Verification::PskBinder => "PSK binder",
            Verification::Signature => "CertificateVerify signature",
        })
    }
}

/// A failure on our side, not caused by the peer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InternalError {
    /// RFC 8446 §5.3: the 64-bit sequence number would wrap; the connection must rekey or end.
    #[error("record sequence number exhausted")]
    SequenceNumberExhausted,
    /// A record we were asked to protect is too large (RFC 8446 §5.4: at most 2^14 + 1 bytes
    /// of TLSInnerPlaintext).
    #[error("record of {len} bytes exceeds the limit of {max}")]
    RecordTooLarge {
        /// The requested size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A handshake or alert record we were asked to send is empty (RFC 8446 §5.1, §5.4).
    #[error("refusing to send an empty {0} record")]
    EmptyRecord(ContentType),
    /// HKDF-Expand-Label input or output is outside what RFC 8446 §7.1 / RFC 5869 allow.
    #[error("HKDF-Expand-Label: {0}")]
    HkdfLabel(&'static str),
    /// The signature provided for a remote key's CertificateVerify does not verify with the
    /// certificate's key; it was not sent.
    #[error(
        "the signature provided for CertificateVerify does not verify with the certificate's key"
    )]
    BadRemoteSignature,
    /// Handshake messages written for a record were still unsealed when the sending keys
    /// were first set (a defect in the state machine, never the peer's doing).
    #[error("handshake messages were left unsealed at a key change")]
    UnsealedAtKeyChange,
    /// The remote key gave no CertificateVerify signature.
    #[error("no CertificateVerify signature from the remote key: {0}")]
    RemoteSigner(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_map_to_decode_error_or_illegal_parameter() {
        let truncated = Error::from(DecodeError::new(
            "x",
            DecodeReason::Truncated {
                needed: 2,
                available: 1,
            },
        ));
        assert_eq!(truncated.alert(), Some(AlertDescription::DecodeError));
        let dup = Error::from(DecodeError::new(
            "x",
            DecodeReason::DuplicateExtension(ExtensionType::KeyShare),
        ));
        assert_eq!(dup.alert(), Some(AlertDescription::IllegalParameter));
        assert_eq!(
            dup.to_string(),
            "decode error: x: extension key_share appears more than once"
        );
    }

    #[test]
    fn decrypt_failure_says_nothing_more() {
        assert_eq!(Error::DecryptFailed.to_string(), "record decryption failed");
        assert_eq!(
            Error::DecryptFailed.alert(),
            Some(AlertDescription::BadRecordMac)
        );
    }

    #[test]
    fn typed_reasons_keep_their_words() {
        use crate::msgs::enums::{NamedGroup, SignatureScheme};
        let refused = Error::HandshakeFailure(HandshakeFailure::PskOnly {
            declined: Some("unknown PSK identity".into()),
        });
        assert_eq!(
            refused.to_string(),
            "handshake failure: this server only takes PSKs and the client offered none it \
             can use (unknown PSK identity)"
        );
        assert_eq!(refused.alert(), Some(AlertDescription::HandshakeFailure));
        let schemes = Error::HandshakeFailure(HandshakeFailure::NoCommonSignatureScheme {
            offered: vec![SignatureScheme::RsaPkcs1Sha256; 9],
            key: "ed25519".into(),
            needs: SignatureScheme::Ed25519,
        });
        assert_eq!(
            schemes.to_string(),
            "handshake failure: no common signature scheme: the client offers \
             [rsa_pkcs1_sha256, rsa_pkcs1_sha256, rsa_pkcs1_sha256, rsa_pkcs1_sha256, \
             rsa_pkcs1_sha256, rsa_pkcs1_sha256, rsa_pkcs1_sha256, rsa_pkcs1_sha256, ... 9 in \
             all], the server's ed25519 key needs ed25519"
        );
        let retry = Error::InvalidMessage {
            message: "HelloRetryRequest",
            reason: Invalid::RetryGroupAlreadyShared(NamedGroup::X25519),
        };
        assert_eq!(
            retry.to_string(),
            "invalid HelloRetryRequest: asks for x25519, for which the ClientHello already had \
             a share"
        );
        assert_eq!(retry.alert(), Some(AlertDescription::IllegalParameter));
        let changed = Invalid::SecondHelloChanged(HelloField::Extension);
        assert_eq!(
            changed.to_string(),
            "the second ClientHello changed an extension other than key_share, cookie, \
             early_data, pre_shared_key or padding (RFC 8446 §4.1.2)"
        );
    }

    #[test]
    fn peer_alert_sends_nothing() {
        assert_eq!(
            Error::PeerAlert(AlertDescription::HandshakeFailure).alert(),
            None
        );
    }
}
