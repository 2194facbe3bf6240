//! The authentication part of the crypto floor (`floor.rs`): signing a CertificateVerify
//! and checking a peer's chain and CertificateVerify, with ed25519-dalek, rsa and p256
//! directly.

use std::hint::black_box;

use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use p256::ecdsa::DerSignature;
use p256::ecdsa::signature::Verifier as _;
use rand_chacha::ChaCha20Rng;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use sha2::{Digest, Sha256};

use crate::cases::Key;

/// RFC 8446 §4.4.3: 64 spaces, the context string, a zero byte, a transcript hash.
pub fn cv_message(context: &[u8]) -> Vec<u8> {
    let mut msg = vec![0x20; 64];
    msg.extend_from_slice(context);
    msg.push(0);
    msg.extend_from_slice(&[0x5a; 32]);
    msg
}

/// A CertificateVerify signing key.
pub enum SecretKey {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    Rsa(Box<rsa::PrivateKey>),
    P256(Box<p256::ecdsa::SigningKey>),
}

impl SecretKey {
    /// The fixture key in `pem`, of type `key`.
    pub fn from_pem(pem: &str, key: Key) -> Self {
        let der = pki::PrivateKey::from_pem(pem)
            .expect("fixture key")
            .to_pkcs8_der()
            .expect("PKCS#8");
        match key {
            Key::Ed25519 => Self::Ed25519(Box::new(
                ed25519_dalek::SigningKey::from_pkcs8_der(&der).expect("Ed25519 key"),
            )),
            Key::Rsa2048 => Self::Rsa(Box::new(
                rsa::PrivateKey::from_pkcs8_der(&der).expect("RSA key"),
            )),
            Key::P256 => Self::P256(Box::new(
                p256::ecdsa::SigningKey::from_pkcs8_der(&der).expect("P-256 key"),
            )),
        }
    }

    /// Ed25519, RSASSA-PSS-SHA256 with a 32-byte salt (rsa_pss_rsae_sha256), or
    /// ecdsa_secp256r1_sha256 (RFC 6979 nonce, DER-encoded as TLS sends it).
    pub fn sign_cv(&self, msg: &[u8], rng: &mut ChaCha20Rng) -> Vec<u8> {
        match self {
            Self::Ed25519(key) => key.sign(msg).to_bytes().to_vec(),
            Self::Rsa(key) => key
                .sign_with_rng(
                    rng,
                    rsa::Pss::<Sha256>::new_with_salt(32),
                    &Sha256::digest(msg),
                )
                .expect("RSA-PSS signature"),
            Self::P256(key) => {
                let sig: DerSignature = key.sign(msg);
                sig.as_bytes().to_vec()
            }
        }
    }

    /// Signs a CertificateVerify and throws the signature away.
    pub fn sign_and_drop(&self, context: &[u8], rng: &mut ChaCha20Rng) {
        black_box(self.sign_cv(&cv_message(context), rng));
    }
}

/// A public key decoded from the subjectPublicKey bits of a certificate.
enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(Box<rsa::PublicKey>),
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    fn decode(raw: &[u8], key: Key) -> Self {
        match key {
            Key::Ed25519 => {
                let bytes: &[u8; 32] = raw.try_into().expect("32-byte Ed25519 key");
                Self::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(bytes).expect("Ed25519 key"))
            }
            Key::Rsa2048 => Self::Rsa(Box::new(
                rsa::PublicKey::from_pkcs1_der(raw).expect("RSA public key"),
            )),
            // The uncompressed point, checked to be on the curve.
            Key::P256 => {
                Self::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(raw).expect("P-256 key"))
            }
        }
    }

    /// A certificate signature: Ed25519, sha256WithRSAEncryption or ecdsa-with-SHA256.
    fn verify_certificate(&self, tbs: &[u8], sig: &[u8]) {
        let pkcs1 = rsa::Pkcs1v15Sign::new::<Sha256>;
        self.verify(tbs, sig, pkcs1, "certificate signature");
    }

    /// A CertificateVerify signature: Ed25519, RSASSA-PSS-SHA256 or ECDSA P-256 SHA-256.
    fn verify_cv(&self, msg: &[u8], sig: &[u8]) {
        let pss = || rsa::Pss::<Sha256>::new_with_salt(32);
        self.verify(msg, sig, pss, "CertificateVerify signature");
    }

    /// Ed25519, ECDSA over SHA-256 (a DER signature), or RSA with SHA-256 and the scheme
    /// `rsa_scheme` makes (only for an RSA key, so other checks cost nothing more); panics
    /// with `what` on failure.
    fn verify<S: rsa::traits::SignatureScheme>(
        &self,
        msg: &[u8],
        sig: &[u8],
        rsa_scheme: impl FnOnce() -> S,
        what: &str,
    ) {
        match self {
            Self::Ed25519(key) => key
                .verify_strict(
                    msg,
                    &ed25519_dalek::Signature::from_slice(sig).expect("sig"),
                )
                .expect(what),
            Self::Rsa(key) => key
                .verify(rsa_scheme(), &Sha256::digest(msg), sig)
                .expect(what),
            Self::P256(key) => key
                .verify(msg, &DerSignature::from_bytes(sig).expect("DER signature"))
                .expect(what),
        }
    }
}

/// The checks one side makes of the other's authentication.
pub struct PeerAuth {
    key: Key,
    /// The trust anchor's key, decoded ahead like a configured root.
    root: PublicKey,
    leaf_key: Vec<u8>,
    leaf_tbs: Vec<u8>,
    leaf_sig: Vec<u8>,
    intermediate_key: Vec<u8>,
    intermediate_tbs: Vec<u8>,
    intermediate_sig: Vec<u8>,
    cv_message: Vec<u8>,
    cv_signature: Vec<u8>,
}

impl PeerAuth {
    /// What a peer checks of the side with `chain_pem` and `signer` (of type `key`),
    /// trusting `root_pem`; the CertificateVerify is signed here, once.
    pub fn new(
        chain_pem: &str,
        root_pem: &str,
        signer: &SecretKey,
        context: &[u8],
        key: Key,
        rng: &mut ChaCha20Rng,
    ) -> Self {
        let chain = pki::Certificate::from_pem_bundle(chain_pem).expect("fixture chain");
        let [leaf, intermediate] = &chain[..] else {
            panic!("fixture chains are leaf and intermediate");
        };
        let root = pki::Certificate::from_pem_bundle(root_pem).expect("fixture root");
        let raw = |c: &pki::Certificate| c.public_key().expect("key").raw().to_vec();
        let cv_message = cv_message(context);
        let cv_signature = signer.sign_cv(&cv_message, rng);
        Self {
            key,
            root: PublicKey::decode(&raw(&root[0]), key),
            leaf_key: raw(leaf),
            leaf_tbs: leaf.tbs_der().to_vec(),
            leaf_sig: leaf.signature().to_vec(),
            intermediate_key: raw(intermediate),
            intermediate_tbs: intermediate.tbs_der().to_vec(),
            intermediate_sig: intermediate.signature().to_vec(),
            cv_message,
            cv_signature,
        }
    }

    /// Decodes the chain's keys and checks its two signatures and the CertificateVerify.
    pub fn verify(&self) {
        let intermediate = PublicKey::decode(&self.intermediate_key, self.key);
        self.root
            .verify_certificate(&self.intermediate_tbs, &self.intermediate_sig);
        let leaf = PublicKey::decode(&self.leaf_key, self.key);
        intermediate.verify_certificate(&self.leaf_tbs, &self.leaf_sig);
        leaf.verify_cv(&self.cv_message, &self.cv_signature);
    }
}
