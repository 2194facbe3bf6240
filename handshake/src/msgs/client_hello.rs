//! ClientHello (RFC 8446 §4.1.2).

use crate::codec::{Codec, LengthPrefix, Reader, put_list, put_opaque};
use crate::error::{DecodeError, EncodeError};
use crate::msgs::enums::{CipherSuite, ExtensionContext, ProtocolVersion};
use crate::msgs::extensions::Extensions;

/// RFC 8446 §4.1.2 `ClientHello`.
///
/// ```text
/// struct {
///     ProtocolVersion legacy_version = 0x0303;    /* TLS v1.2 */
///     Random random;
///     opaque legacy_session_id<0..32>;
///     CipherSuite cipher_suites<2..2^16-2>;
///     opaque legacy_compression_methods<1..2^8-1>;
///     Extension extensions<8..2^16-1>;
/// } ClientHello;
/// ```
///
/// The legacy fields are kept as received so that a decoded ClientHello re-encodes byte for
/// byte (the transcript hashes the bytes as sent); checking their values (§4.1.2: compression
/// must be exactly `[0]`, ...) is the state machine's job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello {
    /// 0x0303 in TLS 1.3; the real versions are in supported_versions (§4.2.1).
    pub legacy_version: ProtocolVersion,
    /// 32 bytes from a secure random number generator.
    pub random: [u8; 32],
    /// Up to 32 bytes; a TLS 1.3 client in middlebox compatibility mode sends 32 random
    /// bytes (§D.4).
    pub legacy_session_id: Vec<u8>,
    /// Suites in order of preference.
    pub cipher_suites: Vec<CipherSuite>,
    /// Exactly `[0]` for TLS 1.3.
    pub legacy_compression_methods: Vec<u8>,
    /// The extensions.
    pub extensions: Extensions,
}

/// What both Hello messages start with (RFC 8446 §4.1.2, §4.1.3): legacy_version, random,
/// and the legacy session id (or its echo), which `session_id_field` names in errors.
pub(super) fn encode_hello_start(
    out: &mut Vec<u8>,
    legacy_version: ProtocolVersion,
    random: &[u8; 32],
    session_id_field: &'static str,
    session_id: &[u8],
) -> Result<(), EncodeError> {
    legacy_version.encode(out)?;
    out.extend_from_slice(random);
    put_opaque(out, LengthPrefix::U8, session_id_field, session_id)
}

impl Codec for ClientHello {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_hello_start(
            out,
            self.legacy_version,
            &self.random,
            "ClientHello.legacy_session_id",
            &self.legacy_session_id,
        )?;
        put_list(
            out,
            LengthPrefix::U16,
            "ClientHello.cipher_suites",
            &self.cipher_suites,
        )?;
        put_opaque(
            out,
            LengthPrefix::U8,
            "ClientHello.legacy_compression_methods",
            &self.legacy_compression_methods,
        )?;
        self.extensions.encode(out, "ClientHello.extensions")
    }

    // RFC 8446 §4.1.2 gives the extensions block a minimum of 8 bytes, but a ClientHello
    // with fewer (even an empty block) is well-formed enough to be refused with a precise
    // error later (no supported_versions → protocol_version), so any length is read here.
    // A ClientHello with no extensions block at all (older TLS) decodes with none, so
    // that the server can answer protocol_version rather than decode_error.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            legacy_version: ProtocolVersion::from_u16(r.u16("ClientHello.legacy_version")?),
            random: r.array("ClientHello.random")?,
            legacy_session_id: r.vec_u8("ClientHello.legacy_session_id", 0..=32)?.to_vec(),
            cipher_suites: r.fixed_list(
                LengthPrefix::U16,
                "ClientHello.cipher_suites",
                2..=0xfffe,
                2,
            )?,
            legacy_compression_methods: r
                .vec_u8("ClientHello.legacy_compression_methods", 1..=255)?
                .to_vec(),
            // RFC 8446 §4.1.2: a ClientHello from an older TLS may end after the
            // compression methods; that is no decode error, it has no extensions (and the
            // server then answers protocol_version).
            extensions: if r.is_empty() {
                Extensions::default()
            } else {
                Extensions::decode(
                    r,
                    "ClientHello.extensions",
                    0..=0xffff,
                    ExtensionContext::ClientHello,
                )?
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeReason;
    use crate::msgs::enums::NamedGroup;
    use crate::msgs::extensions::{Extension, KeyShareEntry};

    fn sample() -> ClientHello {
        ClientHello {
            legacy_version: ProtocolVersion::Tls12,
            random: [7; 32],
            legacy_session_id: vec![1; 32],
            cipher_suites: vec![CipherSuite::TlsChacha20Poly1305Sha256],
            legacy_compression_methods: vec![0],
            extensions: Extensions(vec![
                Extension::SupportedVersionsClientHello(vec![ProtocolVersion::Tls13]),
                Extension::KeyShareClientHello(vec![KeyShareEntry {
                    group: NamedGroup::X25519,
                    key_exchange: vec![9; 32],
                }]),
            ]),
        }
    }

    #[test]
    fn round_trips() {
        let ch = sample();
        let bytes = ch.to_bytes().expect("encodes");
        assert_eq!(ClientHello::from_bytes(&bytes), Ok(ch));
    }

    #[test]
    fn session_id_longer_than_32_is_refused() {
        let mut ch = sample();
        ch.legacy_session_id = vec![1; 33];
        let bytes = ch.to_bytes().expect("a u8 prefix can hold 33");
        let err = ClientHello::from_bytes(&bytes).expect_err("too long");
        assert_eq!(err.what, "ClientHello.legacy_session_id");
        assert_eq!(
            err.reason,
            DecodeReason::LengthOutOfRange {
                len: 33,
                min: 0,
                max: 32
            }
        );
    }

    #[test]
    fn odd_cipher_suite_list_is_refused() {
        let mut bytes = sample().to_bytes().expect("encodes");
        // legacy_version(2) random(32) session_id(1+32), then the two-byte cipher suite
        // length: make its low byte odd.
        bytes[68] = 3;
        let err = ClientHello::from_bytes(&bytes).expect_err("ragged");
        assert_eq!(err.reason, DecodeReason::RaggedList { len: 3, element: 2 });
    }

    #[test]
    fn every_truncation_is_an_error_except_a_hello_without_extensions() {
        let bytes = sample().to_bytes().expect("encodes");
        // legacy_version(2) random(32) session_id(1+32) suites(2+2) compression(1+1).
        let without_extensions = 2 + 32 + 33 + 4 + 2;
        for len in 0..bytes.len() {
            let decoded = ClientHello::from_bytes(&bytes[..len]);
            if len == without_extensions {
                let ch = decoded.expect("a ClientHello of older TLS, without extensions");
                assert!(ch.extensions.0.is_empty());
            } else {
                let err = decoded.expect_err("a cut ClientHello");
                assert!(
                    matches!(err.reason, DecodeReason::Truncated { .. }),
                    "len {len}: {err}"
                );
            }
        }
    }
}
