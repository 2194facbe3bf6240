//! CertificateRequest (RFC 8446 §4.3.2), Certificate (§4.4.2) and CertificateVerify
//! (§4.4.3): the messages of certificate authentication, for the server and, when the
//! server asks, for the client.

use handshake::Side;
use handshake::msgs::enums::ExtensionContext;

use super::cursor::Cursor;
use super::extensions::{extensions, signature_scheme};
use super::who;

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

pub(super) fn certificate_request(c: &mut Cursor<'_>) -> Option<()> {
    c.opaque(1, "certificate_request_context", |context| {
        if context.is_empty() {
            "a request made during the handshake (§4.3.2)".into()
        } else {
            "a post-handshake request's unique value, echoed in the client's Certificate \
             so the answer can be matched to it (§4.3.2, §4.6.2)"
                .into()
        }
    })?;
    extensions(c, ExtensionContext::CertificateRequest)
}

pub(super) fn certificate(c: &mut Cursor<'_>, sender: Option<Side>) -> Option<()> {
    c.opaque(1, "certificate_request_context", |context| {
        match (context.is_empty(), sender) {
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
        }
    })?;
    c.vector(
        3,
        "certificate_list",
        |list| certificate_list_meaning(list.is_empty(), sender),
        |c| {
            let mut index = 0;
            while !c.at_end() {
                certificate_entry(c, index, sender)?;
                index += 1;
            }
            Some(())
        },
    )
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

/// One `CertificateEntry`: cert_data<1..2^24-1>, extensions.
fn certificate_entry(c: &mut Cursor<'_>, index: usize, sender: Option<Side>) -> Option<()> {
    let der_len = c.peek_uint(0, 3)? as usize;
    let ext_len = c.peek_uint(3 + der_len, 2).map_or(0, |n| n as usize);
    let role = if index == 0 {
        format!(
            "the end-entity certificate: the {}'s own, whose key signs the CertificateVerify",
            who(sender)
        )
    } else {
        "a CA certificate that helps the peer build a path to its trust anchor".into()
    };
    c.group(
        3 + der_len + 2 + ext_len,
        &format!("CertificateEntry #{index}"),
        role,
        |c| {
            c.opaque(3, "cert_data", certificate_summary_of)?;
            extensions(c, ExtensionContext::Certificate)
        },
    )
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

pub(super) fn certificate_verify(c: &mut Cursor<'_>, sender: Option<Side>) -> Option<()> {
    c.uint(2, "algorithm", |v| {
        format!(
            "{}: chosen from the peer's signature_algorithms, matching the certificate's key \
             (§4.4.3)",
            signature_scheme(v as u16)
        )
    })?;
    c.opaque(2, "signature", |_| signature_meaning(sender))?;
    Some(())
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
