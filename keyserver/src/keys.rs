//! Small helpers around keylab's `pki` keys: the Ed25519 signing key inside a
//! `pki::PrivateKey`, SPKI encoding and fingerprints.

use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use sha2::{Digest as _, Sha256};

use crate::wire::hex;

/// The ed25519-dalek signing key of an Ed25519 `pki::PrivateKey`.
pub fn signing_key(key: &pki::PrivateKey) -> Result<ed25519_dalek::SigningKey, String> {
    if !key.public_key().is_ed25519() {
        return Err(format!(
            "an Ed25519 key is needed, not {}",
            key.public_key().algorithm_name()
        ));
    }
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    ed25519_dalek::SigningKey::from_pkcs8_der(&der).map_err(|e| e.to_string())
}

/// The DER SubjectPublicKeyInfo of a raw Ed25519 public key (RFC 8410 §4).
pub fn ed25519_spki(raw: &[u8; 32]) -> Vec<u8> {
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(raw);
    spki
}

/// A key's fingerprint: SHA-256 of its DER SubjectPublicKeyInfo, lowercase hex.
pub fn fingerprint(spki: &[u8]) -> String {
    hex(&Sha256::digest(spki))
}

/// Signs `message` with an Ed25519 `pki::PrivateKey` (deterministic, RFC 8032 §5.1.6).
pub fn sign(key: &pki::PrivateKey, message: &[u8]) -> Result<crate::wire::Signature, String> {
    use ed25519_dalek::Signer as _;
    Ok(signing_key(key)?.sign(message).to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_pki() {
        let key = pki::PrivateKey::from_pem(fixtures::ED25519.client_key).expect("key");
        let signing = signing_key(&key).expect("ed25519");
        let spki = ed25519_spki(signing.verifying_key().as_bytes());
        assert_eq!(spki, key.public_key().spki_der());
        assert_eq!(fingerprint(&spki), key.public_key().fingerprint());
        let sig = sign(&key, b"msg").expect("sign");
        assert!(
            key.public_key()
                .verify(pki::SignatureAlgorithm::Ed25519, b"msg", &sig)
                .is_ok()
        );
        let rsa = pki::PrivateKey::from_pem(fixtures::RSA.client_key).expect("key");
        assert!(signing_key(&rsa).is_err());
    }
}
