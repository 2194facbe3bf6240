//! Certificates in the handshake: sending ours with its CertificateVerify (RFC 8446
//! §4.4.2, §4.4.3) and validating the peer's chain.

use pki::Purpose;
use time::OffsetDateTime;

use super::Core;
use crate::auth::{self, Side};
use crate::config::{Identity, certificate_entries};
use crate::conn::remote::SignatureRequest;
use crate::error::{CertificateError, Error};
use crate::key_schedule::Transcript;
use crate::msgs::HandshakeMessage;
use crate::msgs::certificate::{Certificate, CertificateVerify};
use crate::msgs::enums::SignatureScheme;

/// Certificate with the chain of `signer`'s identity, or empty without one (RFC 8446
/// §4.4.2), then CertificateVerify over the transcript so far (§4.4.3). For a remote
/// identity the CertificateVerify is not sent: the request for its signature is returned.
pub(crate) fn send_certificate(
    core: &mut Core,
    signer: Option<(&Identity, SignatureScheme)>,
    side: Side,
    context: &[u8],
    out: &mut Vec<u8>,
) -> Result<Option<SignatureRequest>, Error> {
    match signer {
        Some((identity, _)) if context.is_empty() => {
            core.send_handshake(identity.certificate_message(), out)?;
        }
        _ => {
            let certificate = Certificate {
                certificate_request_context: context.to_vec(),
                entries: signer.map_or_else(Vec::new, |(identity, _)| {
                    certificate_entries(identity.chain())
                }),
            };
            core.send_handshake(&HandshakeMessage::Certificate(certificate), out)?;
        }
    }
    let Some((identity, scheme)) = signer else {
        return Ok(None);
    };
    let hash = core.transcript_hash();
    let Some(key) = identity.key() else {
        let public = identity.public_key().clone();
        return Ok(Some(SignatureRequest::new(scheme, side, &hash, public)));
    };
    let signature = auth::sign_certificate_verify(key, scheme, side, &hash, core.rng())?;
    let verify = CertificateVerify {
        algorithm: scheme,
        signature,
    };
    core.send_handshake(&HandshakeMessage::CertificateVerify(verify), out)?;
    Ok(None)
}

/// The peer's chain, validated.
pub(crate) struct PeerChain {
    pub leaf: Box<pki::Certificate>,
    /// Subjects of the validated path, leaf first, the trust anchor's last.
    pub subjects: Vec<String>,
}

impl PeerChain {
    /// The trust anchor's subject.
    pub fn anchor(&self) -> &str {
        self.subjects.last().map_or("", String::as_str)
    }

    /// Checks the peer's CertificateVerify with the leaf's key, over the transcript
    /// before it (RFC 8446 §4.4.3); `signer` is the peer's side.
    pub fn verify(
        &self,
        cv: &CertificateVerify,
        signer: Side,
        before: &Transcript,
    ) -> Result<(), Error> {
        let hash = before.current_hash();
        auth::verify_certificate_verify(&self.leaf, cv.algorithm, &cv.signature, signer, &hash)
    }
}

/// Validates the chain of a non-empty Certificate message (RFC 8446 §4.4.2) to
/// `anchors`.
pub(crate) fn validate_certificate(
    cert: Certificate,
    anchors: &[pki::Certificate],
    now: OffsetDateTime,
    purpose: Purpose,
    name: Option<&str>,
) -> Result<PeerChain, Error> {
    let ders = cert.entries.into_iter().map(|e| e.cert_data);
    let path = auth::validate_peer_chain(ders, anchors, now, purpose, name)?;
    let subjects = path.subjects(anchors);
    let leaf = path
        .chain
        .into_iter()
        .next()
        .ok_or(Error::Certificate(CertificateError::Missing))?;
    Ok(PeerChain {
        leaf: Box::new(leaf),
        subjects,
    })
}
