//! CertificateRequest (RFC 8446 §4.3.2), Certificate (§4.4.2) and CertificateVerify
//! (§4.4.3): the messages of certificate authentication, for the server and, when the
//! server asks, for the client.

use super::extensions::signature_scheme;
use super::{uint, who};
use handshake::Side;

/// What a CertificateRequest is for.
pub(super) const CERTIFICATE_REQUEST_SUMMARY: &str = "the server asks the client to \
    authenticate with a certificate (client authentication, mutual TLS, §4.3.2): the client \
    must answer with its Certificate, possibly empty, and a CertificateVerify if it sent one, \
    before its Finished";

pub(super) fn certificate_summary(sender: Option<Side>) -> String {
    match sender {
        Some(Side::Server) => "the server's certificate chain, end-entity first: binds the \
            server's name to the key that signs its CertificateVerify (§4.4.2)"
            .into(),
        Some(Side::Client) => "the client's certificate chain in answer to the \
            CertificateRequest, end-entity first; empty if it has none (§4.4.2)"
            .into(),
        None => "a certificate chain, end-entity first: binds a name to the key that signs \
            the CertificateVerify that follows (§4.4.2)"
            .into(),
    }
}

pub(super) fn certificate_verify_summary(sender: Option<Side>) -> String {
    let who = who(sender);
    format!(
        "the {who} proves it holds the private key of its certificate by signing the \
         transcript hash so far (§4.4.3)"
    )
}

/// The meaning of a certificate-message field the codec read as `what`.
pub(super) fn meaning(what: &str, bytes: &[u8], sender: Option<Side>) -> Option<String> {
    Some(match what {
        "CertificateRequest.certificate_request_context" => {
            if bytes.is_empty() {
                "a request made during the handshake (§4.3.2)".into()
            } else {
                "a post-handshake request's unique value, echoed in the client's Certificate \
                 so the answer can be matched to it (§4.3.2, §4.6.2)"
                    .into()
            }
        }
        "Certificate.certificate_request_context" => match (bytes.is_empty(), sender) {
            (true, Some(Side::Server)) => {
                "a server's Certificate always has an empty context (§4.4.2)".into()
            }
            (true, Some(Side::Client)) => {
                "echoes the CertificateRequest's context, empty in the handshake (§4.4.2)".into()
            }
            (true, None) => "as in every Certificate of the handshake (§4.4.2)".into(),
            (false, _) => "echoes the context of the post-handshake CertificateRequest this \
                answers (§4.4.2)"
                .into(),
        },
        "CertificateEntry.cert_data" => certificate_summary_of(bytes),
        "CertificateVerify.algorithm" => format!(
            "{}: chosen from the peer's signature_algorithms, matching the certificate's key \
             (§4.4.3)",
            signature_scheme(uint(bytes) as u16)
        ),
        "CertificateVerify.signature" => signature_meaning(sender),
        _ => return None,
    })
}

/// The meaning of a certificate-message vector the codec read as `what`.
pub(super) fn group_meaning(what: &str, contents: &[u8], sender: Option<Side>) -> Option<String> {
    match what {
        "Certificate.certificate_list" => {
            Some(certificate_list_meaning(contents.is_empty(), sender))
        }
        _ => None,
    }
}

fn certificate_list_meaning(empty: bool, sender: Option<Side>) -> String {
    match (empty, sender) {
        (true, Some(Side::Server)) => "empty: a server must send a certificate; the client \
            aborts with decode_error (§4.4.2.4)"
            .into(),
        (true, _) => "empty: the client has no certificate (none that suits the request), so \
            it continues without client authentication and sends no CertificateVerify; the \
            server decides whether that is acceptable or aborts with certificate_required \
            (§4.4.2.4)"
            .into(),
        (false, _) => "CertificateEntry values, end-entity first, each certified by the next; \
            the root may be left out, the peer has it (§4.4.2)"
            .into(),
    }
}

/// What the `index`th CertificateEntry of a chain is.
pub(super) fn entry_role(index: usize, sender: Option<Side>) -> String {
    if index == 0 {
        format!(
            "the end-entity certificate: the {}'s own, whose key signs the CertificateVerify",
            who(sender)
        )
    } else {
        "a CA certificate that helps the peer build a path to its trust anchor".into()
    }
}

/// A short summary of a DER certificate, via the pki crate's parser.
fn certificate_summary_of(der: &[u8]) -> String {
    match pki::Certificate::from_der(der) {
        Ok(cert) => {
            let key = match cert.public_key() {
                Ok(key) => format!("{} key", key.algorithm_name()),
                Err(what) => format!("key keylab cannot use ({what})"),
            };
            let ca = if cert.is_ca() { ", a CA" } else { "" };
            let own = if cert.is_self_issued() {
                " (self-issued)"
            } else {
                ""
            };
            format!(
                "X.509 certificate (DER): subject {}, issuer {}{own}, {key}{ca}, valid until {}",
                cert.subject(),
                cert.issuer(),
                pki::rfc3339(cert.not_after())
            )
        }
        Err(e) => format!("bytes that do not parse as an X.509 certificate: {e}"),
    }
}

fn signature_meaning(sender: Option<Side>) -> String {
    let (context, transcript) = match sender {
        Some(Side::Server) => (
            "\"TLS 1.3, server CertificateVerify\"",
            "ClientHello..server Certificate",
        ),
        Some(Side::Client) => (
            "\"TLS 1.3, client CertificateVerify\"",
            "ClientHello..client Certificate",
        ),
        None => (
            "\"TLS 1.3, server CertificateVerify\" (or client)",
            "ClientHello..Certificate",
        ),
    };
    format!(
        "signature over 64 spaces || {context} || 00 || Transcript-Hash({transcript}) with the \
         certificate's private key: proves possession of it, and the context string keeps a \
         signature from being replayed by the other side (§4.4.3)"
    )
}
