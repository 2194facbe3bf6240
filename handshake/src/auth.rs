//! Peer authentication: signature schemes, CertificateVerify (RFC 8446 §4.4.3) and
//! validation of the peer's chain through `pki`.

use pki::{Certificate, PeerPath, PublicKey, Purpose, SignatureAlgorithm};
use rand_core::CryptoRng;
use time::OffsetDateTime;

use crate::error::{
    CertificateError, DecodeError, DecodeReason, Error, HandshakeFailure, Invalid, Verification,
};
use crate::key_schedule::HASH_LEN;
use crate::msgs::enums::SignatureScheme;

/// Schemes keylab signs and verifies handshake messages with (signature_algorithms).
/// ecdsa_secp256r1_sha256 is mandatory to implement (RFC 8446 §9.1).
pub const HANDSHAKE_SCHEMES: [SignatureScheme; 3] = [
    SignatureScheme::Ed25519,
    SignatureScheme::EcdsaSecp256r1Sha256,
    SignatureScheme::RsaPssRsaeSha256,
];

/// Schemes keylab accepts in certificates (signature_algorithms_cert, RFC 8446 §4.2.3):
/// PKCS#1 v1.5 is allowed here, never for handshake signatures.
pub const CERTIFICATE_SCHEMES: [SignatureScheme; 4] = [
    SignatureScheme::Ed25519,
    SignatureScheme::EcdsaSecp256r1Sha256,
    SignatureScheme::RsaPssRsaeSha256,
    SignatureScheme::RsaPkcs1Sha256,
];

/// Which side signs; the context strings of RFC 8446 §4.4.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client.
    Client,
    /// The server.
    Server,
}

impl Side {
    fn context(self) -> &'static [u8] {
        match self {
            Side::Server => b"TLS 1.3, server CertificateVerify",
            Side::Client => b"TLS 1.3, client CertificateVerify",
        }
    }
}

/// The bytes a CertificateVerify signature covers (RFC 8446 §4.4.3): 64 spaces, the
/// context string, a zero byte, then the transcript hash.
pub fn certificate_verify_message(side: Side, transcript_hash: &[u8; HASH_LEN]) -> Vec<u8> {
    let context = side.context();
    let mut msg = Vec::with_capacity(64 + context.len() + 1 + HASH_LEN);
    msg.resize(64, 0x20);
    msg.extend_from_slice(context);
    msg.push(0);
    msg.extend_from_slice(transcript_hash);
    msg
}

/// The `pki` algorithm behind a handshake signature scheme we support.
pub fn handshake_algorithm(scheme: SignatureScheme) -> Option<SignatureAlgorithm> {
    match scheme {
        SignatureScheme::Ed25519 => Some(SignatureAlgorithm::Ed25519),
        // RFC 8446 §4.2.3: ECDSA on P-256 with SHA-256, a DER-encoded ECDSA-Sig-Value.
        SignatureScheme::EcdsaSecp256r1Sha256 => Some(SignatureAlgorithm::EcdsaP256Sha256),
        // RFC 8446 §4.2.3: rsa_pss_rsae_* uses a salt as long as the hash.
        SignatureScheme::RsaPssRsaeSha256 => Some(SignatureAlgorithm::RSA_PSS_SHA256),
        _ => None,
    }
}

/// The one handshake scheme keylab signs with for `key`: Ed25519, ecdsa_secp256r1_sha256
/// for P-256 keys, rsa_pss_rsae_sha256 for RSA keys.
pub fn scheme_for_key(key: &PublicKey) -> SignatureScheme {
    if key.is_ed25519() {
        SignatureScheme::Ed25519
    } else if key.is_p256() {
        SignatureScheme::EcdsaSecp256r1Sha256
    } else {
        SignatureScheme::RsaPssRsaeSha256
    }
}

/// The scheme we sign with for `key`, if the peer offered it.
pub fn choose_scheme(key: &PublicKey, offered: &[SignatureScheme]) -> Option<SignatureScheme> {
    let ours = scheme_for_key(key);
    offered.contains(&ours).then_some(ours)
}

/// The length of an Ed25519 signature (RFC 8032 §5.1.6).
const ED25519_SIGNATURE_LEN: usize = 64;

/// Signs a CertificateVerify for `side`.
pub fn sign_certificate_verify<R: CryptoRng + ?Sized>(
    key: &pki::PrivateKey,
    scheme: SignatureScheme,
    side: Side,
    transcript_hash: &[u8; HASH_LEN],
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    let alg = handshake_algorithm(scheme).ok_or(Error::HandshakeFailure(
        HandshakeFailure::CannotSign(scheme),
    ))?;
    key.sign(alg, &certificate_verify_message(side, transcript_hash), rng)
        .map_err(|e| Error::HandshakeFailure(HandshakeFailure::Signing(e)))
}

/// Checks the peer's CertificateVerify: the scheme must be one we offered and fit the
/// leaf's key, and the signature must verify (else decrypt_error, RFC 8446 §4.4.3).
pub fn verify_certificate_verify(
    leaf: &Certificate,
    scheme: SignatureScheme,
    signature: &[u8],
    side: Side,
    transcript_hash: &[u8; HASH_LEN],
) -> Result<(), Error> {
    let Some(alg) = handshake_algorithm(scheme) else {
        return Err(Error::InvalidMessage {
            message: "CertificateVerify",
            reason: Invalid::SchemeNotOffered(scheme),
        });
    };
    let key = leaf.public_key().map_err(|reason| {
        Error::Certificate(CertificateError::UnsupportedKey(reason.to_owned()))
    })?;
    if scheme_for_key(key) != scheme {
        return Err(Error::InvalidMessage {
            message: "CertificateVerify",
            reason: Invalid::SchemeDoesNotFitKey {
                scheme,
                key: key.algorithm_name(),
            },
        });
    }
    // RFC 8032 §5.1.6: an Ed25519 signature is 64 bytes; another length is a malformed
    // message (decode_error, RFC 8446 §6.2), told apart from a signature that fails.
    if alg == SignatureAlgorithm::Ed25519 && signature.len() != ED25519_SIGNATURE_LEN {
        let reason = DecodeReason::LengthOutOfRange {
            len: signature.len(),
            min: ED25519_SIGNATURE_LEN,
            max: ED25519_SIGNATURE_LEN,
        };
        return Err(DecodeError::new("CertificateVerify.signature", reason).into());
    }
    key.verify(
        alg,
        &certificate_verify_message(side, transcript_hash),
        signature,
    )
    .map_err(|_| Error::VerifyFailed(Verification::Signature))
}

/// Parses the peer's certificate_list (leaf first), keeping each DER without a copy, and
/// validates it to `anchors`.
pub fn validate_peer_chain(
    ders: impl IntoIterator<Item = Vec<u8>>,
    anchors: &[Certificate],
    now: OffsetDateTime,
    purpose: Purpose,
    name: Option<&str>,
) -> Result<PeerPath, Error> {
    let chain = ders
        .into_iter()
        .map(Certificate::from_der_vec)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Certificate(CertificateError::Malformed(e.to_string())))?;
    if chain.is_empty() {
        return Err(Error::Certificate(CertificateError::Missing));
    }
    pki::verify_chain(chain, anchors, now, purpose, name)
        .map_err(|e| Error::Certificate(CertificateError::Invalid(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_verify_message_layout() {
        let hash = [7u8; HASH_LEN];
        let msg = certificate_verify_message(Side::Server, &hash);
        assert_eq!(&msg[..64], &[0x20; 64]);
        assert_eq!(&msg[64..97], b"TLS 1.3, server CertificateVerify");
        assert_eq!(msg[97], 0);
        assert_eq!(&msg[98..], &hash);
        assert_ne!(msg, certificate_verify_message(Side::Client, &hash));
    }

    // RFC 8446 §6.2: a signature whose length cannot be an Ed25519 signature is a
    // malformed message (decode_error); one of the right length that fails is
    // decrypt_error.
    #[test]
    fn an_ed25519_signature_of_the_wrong_length_is_decode_error() {
        use crate::msgs::alert::AlertDescription as A;
        let leaf = Certificate::from_pem_bundle(fixtures::ED25519.server_chain)
            .expect("fixture")
            .remove(0);
        let hash = [7u8; HASH_LEN];
        let check = |signature: &[u8]| {
            verify_certificate_verify(
                &leaf,
                SignatureScheme::Ed25519,
                signature,
                Side::Server,
                &hash,
            )
            .expect_err("refused")
            .alert()
        };
        for len in [0, 63, 65, 128] {
            assert_eq!(check(&vec![1; len]), Some(A::DecodeError), "{len} bytes");
        }
        assert_eq!(check(&[1; 64]), Some(A::DecryptError));
    }
}
