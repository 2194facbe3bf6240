//! The Ed25519 signing key inside a `pki::PrivateKey`, and signing with it. SPKI bytes
//! and fingerprints come from `pki` ([`pki::PublicKey::ed25519_from_raw`],
//! [`pki::fingerprint`]).

use ed25519_dalek::pkcs8::DecodePrivateKey as _;

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
        assert_eq!(
            signing.verifying_key().as_bytes().as_slice(),
            key.public_key().raw()
        );
        let sig = sign(&key, b"msg").expect("sign");
        assert_eq!(
            key.public_key()
                .verify(pki::SignatureAlgorithm::Ed25519, b"msg", &sig),
            Ok(())
        );
        let rsa = pki::PrivateKey::from_pem(fixtures::RSA.client_key).expect("key");
        assert_eq!(
            signing_key(&rsa).expect_err("not Ed25519"),
            "an Ed25519 key is needed, not rsa2048"
        );
    }
}
