//! ServerHello and HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4).

use crate::codec::{Codec, Reader, put_u8};
use crate::error::{DecodeError, EncodeError};
use crate::msgs::client_hello::encode_hello_start;
use crate::msgs::enums::{CipherSuite, ExtensionContext, ProtocolVersion};
use crate::msgs::extensions::Extensions;

/// RFC 8446 §4.1.3: the `random` that marks a ServerHello as a HelloRetryRequest,
/// SHA-256("HelloRetryRequest").
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// RFC 8446 §4.1.3 `ServerHello`, which is also the shape of a HelloRetryRequest.
///
/// ```text
/// struct {
///     ProtocolVersion legacy_version = 0x0303;    /* TLS v1.2 */
///     Random random;
///     opaque legacy_session_id_echo<0..32>;
///     CipherSuite cipher_suite;
///     uint8 legacy_compression_method = 0;
///     Extension extensions<6..2^16-1>;
/// } ServerHello;
/// ```
///
/// Decoding reads the random first and then parses the extensions in the HelloRetryRequest
/// form if it is [`HELLO_RETRY_REQUEST_RANDOM`] (key_share carries only a group, cookie is
/// allowed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello {
    /// 0x0303 in TLS 1.3.
    pub legacy_version: ProtocolVersion,
    /// 32 random bytes, or [`HELLO_RETRY_REQUEST_RANDOM`].
    pub random: [u8; 32],
    /// The client's legacy_session_id, echoed.
    pub legacy_session_id_echo: Vec<u8>,
    /// The selected suite.
    pub cipher_suite: CipherSuite,
    /// 0 in TLS 1.3.
    pub legacy_compression_method: u8,
    /// The extensions.
    pub extensions: Extensions,
}

/// A HelloRetryRequest is a [`ServerHello`] whose random is [`HELLO_RETRY_REQUEST_RANDOM`]
/// (RFC 8446 §4.1.3, §4.1.4).
pub type HelloRetryRequest = ServerHello;

impl ServerHello {
    /// A HelloRetryRequest (RFC 8446 §4.1.4) with the special random and TLS 1.3 legacy
    /// fields.
    pub fn new_hello_retry_request(
        legacy_session_id_echo: Vec<u8>,
        cipher_suite: CipherSuite,
        extensions: Extensions,
    ) -> Self {
        Self {
            legacy_version: ProtocolVersion::Tls12,
            random: HELLO_RETRY_REQUEST_RANDOM,
            legacy_session_id_echo,
            cipher_suite,
            legacy_compression_method: 0,
            extensions,
        }
    }

    /// RFC 8446 §4.1.3: whether this is a HelloRetryRequest.
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HELLO_RETRY_REQUEST_RANDOM
    }

    /// The §4.2 table column its extensions belong to.
    pub fn extension_context(&self) -> ExtensionContext {
        if self.is_hello_retry_request() {
            ExtensionContext::HelloRetryRequest
        } else {
            ExtensionContext::ServerHello
        }
    }

    /// "ServerHello" or "HelloRetryRequest".
    pub fn name(&self) -> &'static str {
        if self.is_hello_retry_request() {
            "HelloRetryRequest"
        } else {
            "ServerHello"
        }
    }
}

impl Codec for ServerHello {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_hello_start(
            out,
            self.legacy_version,
            &self.random,
            "ServerHello.legacy_session_id_echo",
            &self.legacy_session_id_echo,
        )?;
        self.cipher_suite.encode(out)?;
        put_u8(out, self.legacy_compression_method);
        self.extensions.encode(out, "ServerHello.extensions")
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let legacy_version = ProtocolVersion::from_u16(r.u16("ServerHello.legacy_version")?);
        let random = r.array("ServerHello.random")?;
        let context = if random == HELLO_RETRY_REQUEST_RANDOM {
            ExtensionContext::HelloRetryRequest
        } else {
            ExtensionContext::ServerHello
        };
        Ok(Self {
            legacy_version,
            random,
            legacy_session_id_echo: r
                .vec_u8("ServerHello.legacy_session_id_echo", 0..=32)?
                .to_vec(),
            cipher_suite: CipherSuite::from_u16(r.u16("ServerHello.cipher_suite")?),
            legacy_compression_method: r.u8("ServerHello.legacy_compression_method")?,
            // As for ClientHello, the RFC minimum (6) is left to the state machine, which
            // reports the missing supported_versions precisely.
            extensions: Extensions::decode(r, "ServerHello.extensions", 0..=0xffff, context)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::enums::NamedGroup;
    use crate::msgs::extensions::Extension;

    #[test]
    fn hello_retry_request_is_recognized_by_its_random() {
        let hrr = ServerHello::new_hello_retry_request(
            vec![],
            CipherSuite::TlsChacha20Poly1305Sha256,
            Extensions(vec![
                Extension::SupportedVersionsServerHello(ProtocolVersion::Tls13),
                Extension::KeyShareHelloRetryRequest(NamedGroup::X25519),
                Extension::Cookie(vec![1, 2, 3]),
            ]),
        );
        assert!(hrr.is_hello_retry_request());
        let bytes = hrr.to_bytes().expect("encodes");
        let back = ServerHello::from_bytes(&bytes).expect("decodes");
        assert!(back.is_hello_retry_request());
        assert_eq!(
            back.extensions.hello_retry_group(),
            Some(NamedGroup::X25519)
        );
        assert_eq!(back, hrr);
    }

    #[test]
    fn hrr_random_is_sha256_of_its_name() {
        use sha2::{Digest, Sha256};
        let digest: [u8; 32] = Sha256::digest(b"HelloRetryRequest").into();
        assert_eq!(digest, HELLO_RETRY_REQUEST_RANDOM);
    }
}
