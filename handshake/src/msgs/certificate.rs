//! Certificate, CertificateRequest and CertificateVerify (RFC 8446 §4.3.2, §4.4.2, §4.4.3).

use crate::codec::{Codec, LengthPrefix, Reader, put_opaque, put_prefixed};
use crate::error::{DecodeError, EncodeError};
use crate::msgs::enums::{ExtensionContext, SignatureScheme};
use crate::msgs::extensions::Extensions;

/// RFC 8446 §4.4.2 `Certificate`.
///
/// ```text
/// struct {
///     opaque certificate_request_context<0..2^8-1>;
///     CertificateEntry certificate_list<0..2^24-1>;
/// } Certificate;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// Empty in the handshake; in reply to a CertificateRequest, that request's context.
    pub certificate_request_context: Vec<u8>,
    /// The chain, end-entity first. Empty when a client has no certificate to send.
    pub entries: Vec<CertificateEntry>,
}

/// RFC 8446 §4.4.2 `CertificateEntry` for X.509 certificates.
///
/// ```text
/// struct {
///     opaque cert_data<1..2^24-1>;   /* X.509: DER */
///     Extension extensions<0..2^16-1>;
/// } CertificateEntry;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateEntry {
    /// One DER-encoded X.509 certificate.
    pub cert_data: Vec<u8>,
    /// Per-certificate extensions (e.g. status_request, signed_certificate_timestamp).
    pub extensions: Extensions,
}

impl Certificate {
    /// The end-entity certificate, if any.
    pub fn end_entity(&self) -> Option<&[u8]> {
        self.entries.first().map(|e| e.cert_data.as_slice())
    }
}

impl Codec for Certificate {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_opaque(
            out,
            LengthPrefix::U8,
            "Certificate.certificate_request_context",
            &self.certificate_request_context,
        )?;
        put_prefixed(
            out,
            LengthPrefix::U24,
            "Certificate.certificate_list",
            |out| self.entries.iter().try_for_each(|e| e.encode(out)),
        )
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            certificate_request_context: r
                .vec_u8("Certificate.certificate_request_context", 0..=255)?
                .to_vec(),
            entries: r.list(
                LengthPrefix::U24,
                "Certificate.certificate_list",
                0..=0xff_ffff,
                CertificateEntry::decode,
            )?,
        })
    }
}

impl Codec for CertificateEntry {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_opaque(
            out,
            LengthPrefix::U24,
            "CertificateEntry.cert_data",
            &self.cert_data,
        )?;
        self.extensions.encode(out, "CertificateEntry.extensions")
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.group("CertificateEntry", |r| {
            Ok(Self {
                cert_data: r
                    .vec_u24("CertificateEntry.cert_data", 1..=0xff_ffff)?
                    .to_vec(),
                extensions: Extensions::decode(
                    r,
                    "CertificateEntry.extensions",
                    0..=0xffff,
                    ExtensionContext::Certificate,
                )?,
            })
        })
    }
}

/// RFC 8446 §4.3.2 `CertificateRequest`.
///
/// ```text
/// struct {
///     opaque certificate_request_context<0..2^8-1>;
///     Extension extensions<2..2^16-1>;
/// } CertificateRequest;
/// ```
///
/// signature_algorithms must be present (§4.3.2); signature_algorithms_cert may be. Use
/// [`Extensions::signature_algorithms`] and [`Extensions::signature_algorithms_cert`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest {
    /// Echoed in the client's Certificate; empty in the handshake (§4.3.2).
    pub certificate_request_context: Vec<u8>,
    /// The extensions.
    pub extensions: Extensions,
}

impl Codec for CertificateRequest {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_opaque(
            out,
            LengthPrefix::U8,
            "CertificateRequest.certificate_request_context",
            &self.certificate_request_context,
        )?;
        self.extensions.encode(out, "CertificateRequest.extensions")
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            certificate_request_context: r
                .vec_u8("CertificateRequest.certificate_request_context", 0..=255)?
                .to_vec(),
            extensions: Extensions::decode(
                r,
                "CertificateRequest.extensions",
                2..=0xffff,
                ExtensionContext::CertificateRequest,
            )?,
        })
    }
}

/// RFC 8446 §4.4.3 `CertificateVerify`.
///
/// ```text
/// struct {
///     SignatureScheme algorithm;
///     opaque signature<0..2^16-1>;
/// } CertificateVerify;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateVerify {
    /// The scheme used.
    pub algorithm: SignatureScheme,
    /// The signature over the §4.4.3 content (64 spaces, context string, 0, transcript hash).
    pub signature: Vec<u8>,
}

impl Codec for CertificateVerify {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.algorithm.encode(out)?;
        put_opaque(
            out,
            LengthPrefix::U16,
            "CertificateVerify.signature",
            &self.signature,
        )
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            algorithm: SignatureScheme::from_u16(r.u16("CertificateVerify.algorithm")?),
            signature: r
                .vec_u16("CertificateVerify.signature", 0..=0xffff)?
                .to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeReason;

    #[test]
    fn empty_certificate_round_trips() {
        let empty = Certificate {
            certificate_request_context: vec![],
            entries: vec![],
        };
        let bytes = empty.to_bytes().expect("encodes");
        assert_eq!(bytes, [0, 0, 0, 0]);
        assert_eq!(Certificate::from_bytes(&bytes), Ok(empty));
    }

    #[test]
    fn empty_cert_data_is_refused() {
        // context<0>, list of 5 bytes: cert_data<0> (3 bytes), extensions<0> (2 bytes).
        let bytes = [0, 0, 0, 5, 0, 0, 0, 0, 0];
        let err = Certificate::from_bytes(&bytes).expect_err("cert_data<1..>");
        assert_eq!(err.what, "CertificateEntry.cert_data");
        assert!(matches!(
            err.reason,
            DecodeReason::LengthOutOfRange { len: 0, .. }
        ));
    }

    #[test]
    fn certificate_request_needs_extensions() {
        let err = CertificateRequest::from_bytes(&[0, 0, 0]).expect_err("extensions<2..>");
        assert!(matches!(
            err.reason,
            DecodeReason::LengthOutOfRange { len: 0, .. }
        ));
    }
}
