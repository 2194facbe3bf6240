//! Handshake messages (RFC 8446 §4), extensions and alerts, with their wire encodings.
//!
//! [`HandshakeMessage`] is one message with its 4-byte header:
//!
//! ```text
//! struct {
//!     HandshakeType msg_type;    /* handshake type */
//!     uint24 length;             /* remaining bytes in message */
//!     select (Handshake.msg_type) { ... };
//! } Handshake;
//! ```
//!
//! The transcript hashes messages exactly as they were sent. A received message's bytes come
//! from the record layer's joiner ([`crate::record::RawHandshake`]), which keeps them next
//! to the decoded value; a message we send is hashed as [`HandshakeMessage::to_bytes`]
//! produced it. Decoding followed by encoding gives back the same bytes, with one
//! exception: a ClientHello without an extensions block (an older TLS's hello, which the
//! server refuses with protocol_version) re-encodes with an empty block.

pub mod alert;
pub mod certificate;
pub mod client_hello;
pub mod encrypted_extensions;
pub mod enums;
pub mod extension_type;
pub mod extensions;
pub mod finished;
pub mod post_handshake;
pub mod psk;
pub mod server_hello;
pub mod signature_scheme;

pub use alert::Alert;
pub use certificate::{Certificate, CertificateEntry, CertificateRequest, CertificateVerify};
pub use client_hello::ClientHello;
pub use encrypted_extensions::EncryptedExtensions;
pub use extensions::{Extension, Extensions, KeyShareEntry, ServerName};
pub use finished::{Finished, MessageHash};
pub use post_handshake::{KeyUpdate, KeyUpdateRequest, NewSessionTicket};
pub use psk::{OfferedPsks, PskIdentity, binder_prefix};
pub use server_hello::{HELLO_RETRY_REQUEST_RANDOM, HelloRetryRequest, ServerHello};

use crate::codec::{Codec, LengthPrefix, Reader, put_prefixed};
use crate::error::{DecodeError, EncodeError};
use enums::HandshakeType;

/// Size of the handshake header: msg_type (1) and length (3).
pub const HANDSHAKE_HEADER_LEN: usize = 4;

/// One handshake message (RFC 8446 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeMessage {
    /// client_hello(1), §4.1.2.
    ClientHello(ClientHello),
    /// server_hello(2) with an ordinary random, §4.1.3.
    ServerHello(ServerHello),
    /// server_hello(2) with [`HELLO_RETRY_REQUEST_RANDOM`], §4.1.4.
    HelloRetryRequest(HelloRetryRequest),
    /// new_session_ticket(4), §4.6.1.
    NewSessionTicket(NewSessionTicket),
    /// end_of_early_data(5), §4.5: an empty body.
    EndOfEarlyData,
    /// encrypted_extensions(8), §4.3.1.
    EncryptedExtensions(EncryptedExtensions),
    /// certificate(11), §4.4.2.
    Certificate(Certificate),
    /// certificate_request(13), §4.3.2.
    CertificateRequest(CertificateRequest),
    /// certificate_verify(15), §4.4.3.
    CertificateVerify(CertificateVerify),
    /// finished(20), §4.4.4.
    Finished(Finished),
    /// key_update(24), §4.6.3.
    KeyUpdate(KeyUpdate),
    /// message_hash(254), §4.4.1: synthetic, only ever in the transcript.
    MessageHash(MessageHash),
    /// A handshake type TLS 1.3 does not define, with its body.
    Unknown {
        /// The type byte.
        typ: HandshakeType,
        /// The body as received.
        body: Vec<u8>,
    },
}

impl HandshakeMessage {
    /// The msg_type of the header.
    pub fn handshake_type(&self) -> HandshakeType {
        match self {
            Self::ClientHello(_) => HandshakeType::ClientHello,
            Self::ServerHello(_) | Self::HelloRetryRequest(_) => HandshakeType::ServerHello,
            Self::NewSessionTicket(_) => HandshakeType::NewSessionTicket,
            Self::EndOfEarlyData => HandshakeType::EndOfEarlyData,
            Self::EncryptedExtensions(_) => HandshakeType::EncryptedExtensions,
            Self::Certificate(_) => HandshakeType::Certificate,
            Self::CertificateRequest(_) => HandshakeType::CertificateRequest,
            Self::CertificateVerify(_) => HandshakeType::CertificateVerify,
            Self::Finished(_) => HandshakeType::Finished,
            Self::KeyUpdate(_) => HandshakeType::KeyUpdate,
            Self::MessageHash(_) => HandshakeType::MessageHash,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    /// The message's name as RFC 8446 writes it, for errors and traces.
    pub fn name(&self) -> &'static str {
        match self {
            Self::HelloRetryRequest(_) => "HelloRetryRequest",
            other => other.handshake_type().message_name(),
        }
    }

    /// Appends the message with its 4-byte header.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.handshake_type().encode(out)?;
        put_prefixed(out, LengthPrefix::U24, "Handshake.length", |out| {
            self.encode_body(out)
        })
    }

    /// The message with its header, as a new vector: the bytes the transcript hashes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Decodes exactly one message, header included; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let message = Self::read(&mut r)?;
        r.expect_empty("Handshake")?;
        Ok(message)
    }

    /// Decodes one message, header included, from the front of `r` (which may hold more).
    /// With [`crate::codec::record_spans`] this says which byte is which field.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let typ = HandshakeType::from_u8(r.u8("Handshake.msg_type")?);
        let len = r.u24("Handshake.length")? as usize;
        let mut body = r.sub(len, "Handshake.body")?;
        Self::decode_body(typ, &mut body)
    }

    fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Self::ClientHello(m) => m.encode(out),
            Self::ServerHello(m) | Self::HelloRetryRequest(m) => m.encode(out),
            Self::NewSessionTicket(m) => m.encode(out),
            Self::EndOfEarlyData => Ok(()),
            Self::EncryptedExtensions(m) => m.encode(out),
            Self::Certificate(m) => m.encode(out),
            Self::CertificateRequest(m) => m.encode(out),
            Self::CertificateVerify(m) => m.encode(out),
            Self::Finished(m) => m.encode(out),
            Self::KeyUpdate(m) => m.encode(out),
            Self::MessageHash(m) => m.encode(out),
            Self::Unknown { body, .. } => {
                out.extend_from_slice(body);
                Ok(())
            }
        }
    }

    /// Decodes the body of a message of type `typ`: all of `r`.
    fn decode_body(typ: HandshakeType, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let message = match typ {
            HandshakeType::ClientHello => Self::ClientHello(ClientHello::decode(r)?),
            HandshakeType::ServerHello => {
                let sh = ServerHello::decode(r)?;
                if sh.is_hello_retry_request() {
                    Self::HelloRetryRequest(sh)
                } else {
                    Self::ServerHello(sh)
                }
            }
            HandshakeType::NewSessionTicket => Self::NewSessionTicket(NewSessionTicket::decode(r)?),
            HandshakeType::EndOfEarlyData => Self::EndOfEarlyData,
            HandshakeType::EncryptedExtensions => {
                Self::EncryptedExtensions(EncryptedExtensions::decode(r)?)
            }
            HandshakeType::Certificate => Self::Certificate(Certificate::decode(r)?),
            HandshakeType::CertificateRequest => {
                Self::CertificateRequest(CertificateRequest::decode(r)?)
            }
            HandshakeType::CertificateVerify => {
                Self::CertificateVerify(CertificateVerify::decode(r)?)
            }
            HandshakeType::Finished => Self::Finished(Finished::decode(r)?),
            HandshakeType::KeyUpdate => Self::KeyUpdate(KeyUpdate::decode(r)?),
            HandshakeType::MessageHash => Self::MessageHash(MessageHash::decode(r)?),
            HandshakeType::Unknown(_) => Self::Unknown {
                typ,
                body: r.rest("Handshake.body").to_vec(),
            },
        };
        r.expect_empty(message.name())?;
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeReason;

    #[test]
    fn header_length_must_match_the_body() {
        let finished = HandshakeMessage::Finished(Finished {
            verify_data: vec![0xaa; 32],
        });
        let mut bytes = finished.to_bytes().expect("encodes");
        assert_eq!(bytes[..4], [20, 0, 0, 32]);
        assert_eq!(HandshakeMessage::decode(&bytes), Ok(finished));

        bytes.push(0);
        let err = HandshakeMessage::decode(&bytes).expect_err("one byte too many");
        assert_eq!(err.reason, DecodeReason::TrailingBytes { count: 1 });
        let err = HandshakeMessage::decode(&bytes[..20]).expect_err("16 of 32 bytes");
        assert_eq!(
            err.reason,
            DecodeReason::Truncated {
                needed: 32,
                available: 16
            }
        );
    }

    #[test]
    fn end_of_early_data_has_no_body() {
        let err = HandshakeMessage::decode(&[5, 0, 0, 1, 0]).expect_err("body must be empty");
        assert_eq!(err.what, "EndOfEarlyData");
        assert_eq!(
            HandshakeMessage::decode(&[5, 0, 0, 0]),
            Ok(HandshakeMessage::EndOfEarlyData)
        );
    }

    #[test]
    fn unknown_types_are_kept() {
        let bytes = [99, 0, 0, 2, 1, 2];
        let msg = HandshakeMessage::decode(&bytes).expect("decodes");
        assert_eq!(msg.handshake_type(), HandshakeType::Unknown(99));
        assert_eq!(msg.to_bytes().expect("encodes"), bytes);
    }
}
