//! The reasons inside [`Error::InvalidMessage`] and [`Error::HandshakeFailure`]: typed, so
//! that a test or a caller can match them, and worded for a person.
//!
//! [`Error::InvalidMessage`]: super::Error::InvalidMessage
//! [`Error::HandshakeFailure`]: super::Error::HandshakeFailure

use std::fmt;

use thiserror::Error;

use crate::msgs::enums::{CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme};

/// What was wrong with a message that decoded (illegal_parameter, RFC 8446 §6.2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Invalid {
    /// RFC 8446 §4.2.1: supported_versions selects a version the client did not offer.
    #[error("supported_versions selects {0}, which was not offered")]
    VersionNotOffered(ProtocolVersion),
    /// RFC 8446 §4.1.3: legacy_version must be 0x0303.
    #[error("legacy_version is {0}, not 0x0303")]
    LegacyVersion(ProtocolVersion),
    /// RFC 8446 §4.1.3: legacy_session_id_echo must echo the ClientHello's session id.
    #[error("legacy_session_id_echo differs from the ClientHello's legacy_session_id")]
    SessionIdEcho,
    /// RFC 8446 §4.1.3: a cipher suite the client did not offer.
    #[error("cipher suite {0} was not offered")]
    CipherSuiteNotOffered(CipherSuite),
    /// RFC 8446 §4.1.4: the ServerHello's cipher suite differs from the
    /// HelloRetryRequest's.
    #[error("cipher suite {server_hello} differs from the HelloRetryRequest's {retry}")]
    SuiteDiffersFromRetry {
        /// The HelloRetryRequest's suite.
        retry: CipherSuite,
        /// The ServerHello's suite.
        server_hello: CipherSuite,
    },
    /// RFC 8446 §4.1.3: legacy_compression_method must be 0.
    #[error("legacy_compression_method is {0}, not 0")]
    CompressionMethod(u8),
    /// RFC 8446 §4.1.2: legacy_compression_methods must be exactly one null method.
    #[error("legacy_compression_methods must be exactly [null] in TLS 1.3")]
    CompressionMethods,
    /// RFC 8446 §4.1.4: a HelloRetryRequest asks for a group the client does not support.
    #[error("asks for group {0}, which was not offered")]
    RetryGroupNotOffered(NamedGroup),
    /// RFC 8446 §4.1.4: a HelloRetryRequest that would not change the ClientHello.
    #[error("changes nothing (no key_share group and no cookie)")]
    RetryChangesNothing,
    /// RFC 8446 §4.2.8: a HelloRetryRequest asks for a group the ClientHello had a share
    /// for.
    #[error("asks for {0}, for which the ClientHello already had a share")]
    RetryGroupAlreadyShared(NamedGroup),
    /// RFC 8446 §4.2.11: the server selected a PSK identity the client did not offer.
    #[error("selects PSK identity {index}, but {offered} were offered")]
    PskIdentityNotOffered {
        /// The index the server selected.
        index: usize,
        /// How many identities the client offered.
        offered: usize,
    },
    /// RFC 8446 §4.2.8: the server's key_share is for a group the client did not offer.
    #[error("key_share group {0} was not offered")]
    KeyShareGroupNotOffered(NamedGroup),
    /// RFC 8446 §4.2.8: each client share must be for a group in supported_groups.
    #[error("key_share for {0} which supported_groups does not list")]
    KeyShareGroupNotSupported(NamedGroup),
    /// RFC 7748 §6.1, RFC 8446 §4.2.8.2: a share of the wrong length for its group (32
    /// bytes for x25519, 65 for secp256r1).
    #[error("{group} key_share of {len} bytes, expected {expected}")]
    KeyShareLength {
        /// The share's group.
        group: NamedGroup,
        /// Its length.
        len: usize,
        /// The length the group's shares have.
        expected: usize,
    },
    /// RFC 8446 §4.2.8.2: secp256r1 shares are uncompressed points, starting with 0x04.
    #[error("secp256r1 key_share starts with 0x{0:02x}, not 0x04 (uncompressed point)")]
    PointNotUncompressed(u8),
    /// RFC 8446 §4.2.8.2: the point is not on the curve.
    #[error("secp256r1 key_share is not a point on the curve")]
    PointNotOnCurve,
    /// RFC 8446 §4.2.8.2: the share is the point at infinity (all-zero coordinates).
    #[error("secp256r1 key_share is the point at infinity")]
    PointAtInfinity,
    /// RFC 8446 §7.4.2: the shared secret of a low-order point is all zeros.
    #[error("x25519 shared secret is all zeros (low-order public key)")]
    LowOrderKeyShare,
    /// RFC 8446 §4.3.2: a CertificateRequest during the handshake has an empty context.
    #[error("certificate_request_context must be empty during the handshake")]
    RequestContextNotEmpty,
    /// RFC 8446 §4.4.2: the server's Certificate has an empty context.
    #[error("the server's certificate_request_context must be empty")]
    ServerCertificateContext,
    /// RFC 8446 §4.4.2: the client's Certificate echoes the CertificateRequest's context.
    #[error("certificate_request_context differs from the CertificateRequest's")]
    CertificateContextMismatch,
    /// RFC 8446 §4.4.3: a CertificateVerify scheme the receiver did not offer.
    #[error("signature scheme {0} was not offered")]
    SchemeNotOffered(SignatureScheme),
    /// RFC 8446 §4.4.3: a CertificateVerify scheme that does not fit the certificate's key.
    #[error("scheme {scheme} does not fit the certificate's {key} key")]
    SchemeDoesNotFitKey {
        /// The scheme of the CertificateVerify.
        scheme: SignatureScheme,
        /// The certificate's key, e.g. "ed25519" or "rsa2048".
        key: String,
    },
    /// RFC 8446 §4.2.11.2: the binders do not fit inside the ClientHello.
    #[error("pre_shared_key binders extend past the message")]
    BindersPastEnd,
    /// RFC 8446 §4.1.2: the second ClientHello changed what must stay the same.
    #[error("the second ClientHello changed {0} (RFC 8446 §4.1.2)")]
    SecondHelloChanged(HelloField),
    /// RFC 8446 §4.2.8: after a HelloRetryRequest, one share for the group asked for.
    #[error("after HelloRetryRequest key_share must hold exactly one {0} share (RFC 8446 §4.2.8)")]
    SecondHelloKeyShare(NamedGroup),
    /// The second ClientHello still has no share the server can use.
    #[error("the second ClientHello still has no key_share for {0}")]
    SecondHelloWithoutShare(NamedGroup),
    /// RFC 7301 §3.1: the server's ALPN answer must be one of the protocols the client
    /// offered.
    #[error("ALPN selects {}, which the client did not offer", crate::error::alpn_text(.0))]
    AlpnNotOffered(Vec<u8>),
    /// RFC 8446 §4.6.1: "Servers MUST NOT use any value greater than 604800 seconds".
    #[error("ticket_lifetime {0} exceeds 604800 seconds")]
    TicketLifetime(u32),
}

/// What a second ClientHello changed that RFC 8446 §4.1.2 says must stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HelloField {
    /// ClientHello.random.
    Random,
    /// legacy_session_id.
    LegacySessionId,
    /// cipher_suites.
    CipherSuites,
    /// An extension that may not change.
    Extension,
}

impl fmt::Display for HelloField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HelloField::Random => "the random",
            HelloField::LegacySessionId => "legacy_session_id",
            HelloField::CipherSuites => "cipher_suites",
            HelloField::Extension => {
                "an extension other than key_share, cookie, early_data, pre_shared_key or padding"
            }
        })
    }
}

/// Why no acceptable set of parameters could be negotiated (handshake_failure, RFC 8446
/// §6.2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HandshakeFailure {
    /// The server has no certificate and the client offered no PSK it can use.
    #[error(
        "this server only takes PSKs and the client offered none it can use{}",
        in_parentheses(.declined)
    )]
    PskOnly {
        /// Why the offered keys were not used, if any were offered.
        declined: Option<String>,
    },
    /// A PSK was refused, and without it an (EC)DHE share is needed that the client did not
    /// send.
    #[error("the offered PSK was refused and the ClientHello has no key_share keylab can use")]
    PskRefusedWithoutShare,
    /// No group in common.
    #[error(
        "no common group: the client supports [{}], this server accepts [{}]",
        short_list(.offered),
        short_list(.accepted)
    )]
    NoCommonGroup {
        /// The client's supported_groups.
        offered: Vec<NamedGroup>,
        /// The server's configured groups.
        accepted: Vec<NamedGroup>,
    },
    /// No cipher suite in common.
    #[error(
        "no common cipher suite: the client offers [{}], this server accepts [{}]",
        short_list(.offered),
        short_list(.accepted)
    )]
    NoCommonCipherSuite {
        /// The client's cipher_suites.
        offered: Vec<CipherSuite>,
        /// The server's configured suites.
        accepted: Vec<CipherSuite>,
    },
    /// The client offers no signature scheme the server's key can sign with.
    #[error(
        "no common signature scheme: the client offers [{}], the server's {key} key needs {needs}",
        short_list(.offered)
    )]
    NoCommonSignatureScheme {
        /// The client's signature_algorithms.
        offered: Vec<SignatureScheme>,
        /// The server's key, e.g. "ed25519" or "rsa2048".
        key: String,
        /// The scheme that key signs with.
        needs: SignatureScheme,
    },
    /// Our key cannot sign with the scheme chosen.
    #[error("cannot sign with {0}")]
    CannotSign(SignatureScheme),
    /// Signing the CertificateVerify failed.
    #[error("signing CertificateVerify: {0}")]
    Signing(pki::KeyError),
}

fn in_parentheses(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

/// Up to eight items of a peer's list, for error messages.
fn short_list<T: fmt::Display>(items: &[T]) -> String {
    let mut shown: Vec<String> = items.iter().take(8).map(ToString::to_string).collect();
    if items.len() > 8 {
        shown.push(format!("... {} in all", items.len()));
    }
    shown.join(", ")
}
