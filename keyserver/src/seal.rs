//! Sealing a message to a published Ed25519 key, and opening it with the private key.
//!
//! Ed25519 keys sign; HPKE needs an X25519 key. Both curves are the same curve in two
//! coordinate systems, so the keys convert the way libsodium's
//! `crypto_sign_ed25519_pk_to_curve25519` / `crypto_sign_ed25519_sk_to_curve25519` do:
//!
//! - public: the Edwards point `(x, y)` maps to the Montgomery `u = (1 + y) / (1 − y)`
//!   (RFC 7748 §4.1, the birational map);
//! - private: the X25519 scalar is the first 32 bytes of SHA-512(seed), clamped (RFC 8032
//!   §5.1.5 — the very scalar Ed25519 signs with, so `X25519(sk, 9)` is the converted
//!   public key).
//!
//! Using one key for signing and for encryption is sound for this pair of schemes
//! (Degabriele et al., and Thormarker, "On using the same key pair for Ed25519 and an
//! X25519 based KEM", 2021), and it lets a name carry a single key.
//!
//! The sealed file, version 1 (all of it is read into memory; at most [`MAX_MESSAGE`]):
//!
//! ```text
//! offset  bytes  field
//! 0       8      magic "KLSEALED"
//! 8       1      version = 1
//! 9       32     SHA-256 of the recipient's SubjectPublicKeyInfo (its fingerprint)
//! 41      32     enc: HPKE encapsulated key (the sender's ephemeral X25519 key)
//! 73      n+16   ChaCha20-Poly1305 ciphertext of the n-byte message
//! ```
//!
//! HPKE base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305, with
//! `info` = [`INFO`] and the 73-byte header as `aad`; one `Seal` at sequence number 0. The
//! sender is anonymous: anyone can seal to a published key.

use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use rand_core::CryptoRng;
use sha2::{Digest as _, Sha256};
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::hpke::{self, HpkeError};

/// The first 8 bytes of a sealed file.
pub const MAGIC: &[u8; 8] = b"KLSEALED";
/// The format version written and read.
pub const VERSION: u8 = 1;
/// HPKE `info` for version 1: names keylab, the purpose and the version.
pub const INFO: &[u8] = b"keylab sealed message v1";
/// Bytes before the ciphertext.
pub const HEADER_LEN: usize = 8 + 1 + 32 + hpke::ENC_LEN;
/// The longest message sealed or opened.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key is not an Ed25519 key.
    #[error("sealing needs an Ed25519 key, not {0}")]
    NotEd25519(String),
    /// Not a sealed file, or a damaged header.
    #[error("not a keylab sealed message: {0}")]
    Malformed(String),
    /// A version this build does not read.
    #[error("sealed message version {0} is not supported (this keylab reads version {VERSION})")]
    Version(u8),
    /// Sealed to another key.
    #[error("the message is sealed to key {sealed_to}, not to this key ({key})")]
    WrongRecipient {
        /// The fingerprint in the header.
        sealed_to: String,
        /// The fingerprint of the key given.
        key: String,
    },
    /// Too long a message.
    #[error("the message has {len} bytes, more than the {MAX_MESSAGE} a sealed message holds")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// HPKE refused (a low-order key, or the ciphertext does not open).
    #[error(transparent)]
    Hpke(#[from] HpkeError),
}

/// The X25519 public key of an Ed25519 public key (the birational map).
pub fn x25519_public(key: &pki::PublicKey) -> Result<[u8; 32], SealError> {
    let raw: &[u8; 32] = key
        .raw()
        .try_into()
        .ok()
        .filter(|_| key.is_ed25519())
        .ok_or_else(|| SealError::NotEd25519(key.algorithm_name()))?;
    let point = ed25519_dalek::VerifyingKey::from_bytes(raw)
        .map_err(|_| SealError::NotEd25519("an invalid Ed25519 point".into()))?;
    Ok(point.to_montgomery().to_bytes())
}

/// The X25519 private key of an Ed25519 private key: SHA-512(seed)[0..32], clamped.
pub fn x25519_secret(key: &pki::PrivateKey) -> Result<StaticSecret, SealError> {
    if !key.public_key().is_ed25519() {
        return Err(SealError::NotEd25519(key.public_key().algorithm_name()));
    }
    let der = key
        .to_pkcs8_der()
        .map_err(|e| SealError::NotEd25519(e.to_string()))?;
    let signing = ed25519_dalek::SigningKey::from_pkcs8_der(&der)
        .map_err(|e| SealError::NotEd25519(e.to_string()))?;
    let mut scalar = Zeroizing::new(signing.to_scalar_bytes());
    // RFC 7748 §5 clamping, as RFC 8032 §5.1.5 applies it.
    scalar[0] &= 248;
    scalar[31] &= 127;
    scalar[31] |= 64;
    Ok(StaticSecret::from(*scalar))
}

/// Seals `message` to `recipient` (format above).
pub fn seal(
    recipient: &pki::PublicKey,
    message: &[u8],
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>, SealError> {
    if message.len() > MAX_MESSAGE {
        return Err(SealError::TooLong { len: message.len() });
    }
    let pk_r = x25519_public(recipient)?;
    let (enc, mut ctx) = hpke::setup_base_sender(&pk_r, INFO, rng)?;
    let mut out = Vec::with_capacity(HEADER_LEN + message.len() + hpke::TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&Sha256::digest(recipient.spki_der()));
    out.extend_from_slice(&enc);
    let ciphertext = ctx.seal(&out, message)?;
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// The fingerprint of the key a sealed message is for.
pub fn recipient(sealed: &[u8]) -> Result<String, SealError> {
    header(sealed).map(|h| hex::encode(h.recipient))
}

/// Opens a sealed message with the recipient's private key.
pub fn open(key: &pki::PrivateKey, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let h = header(sealed)?;
    let fingerprint = key.public_key().fingerprint();
    if hex::encode(h.recipient) != fingerprint {
        return Err(SealError::WrongRecipient {
            sealed_to: hex::encode(h.recipient),
            key: fingerprint,
        });
    }
    if sealed.len() > HEADER_LEN + MAX_MESSAGE + hpke::TAG_LEN {
        return Err(SealError::TooLong {
            len: sealed.len() - HEADER_LEN - hpke::TAG_LEN,
        });
    }
    let sk_r = x25519_secret(key)?;
    let mut ctx = hpke::setup_base_receiver(h.enc, &sk_r, INFO)?;
    Ok(Zeroizing::new(
        ctx.open(&sealed[..HEADER_LEN], &sealed[HEADER_LEN..])?,
    ))
}

struct Header<'a> {
    recipient: &'a [u8],
    enc: &'a [u8; hpke::ENC_LEN],
}

fn header(sealed: &[u8]) -> Result<Header<'_>, SealError> {
    if !sealed.starts_with(MAGIC) {
        return Err(SealError::Malformed(
            "it does not start with KLSEALED".into(),
        ));
    }
    match sealed.get(MAGIC.len()) {
        None => return Err(SealError::Malformed("it ends after the magic".into())),
        Some(&VERSION) => {}
        Some(&other) => return Err(SealError::Version(other)),
    }
    if sealed.len() < HEADER_LEN + hpke::TAG_LEN {
        return Err(SealError::Malformed(format!(
            "{} bytes, shorter than the {} of an empty message",
            sealed.len(),
            HEADER_LEN + hpke::TAG_LEN
        )));
    }
    let enc = sealed[41..HEADER_LEN]
        .try_into()
        .map_err(|_| SealError::Malformed("bad header".into()))?;
    Ok(Header {
        recipient: &sealed[9..41],
        enc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::unhex_array;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng as _;

    fn key_from_seed(seed: [u8; 32]) -> pki::PrivateKey {
        // RFC 8410 §7 PKCS#8 v1 around the seed.
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&seed);
        pki::PrivateKey::from_pkcs8_der(&der).expect("key")
    }

    #[test]
    fn conversion_matches_libsodium() {
        // libsodium's test/default/ed25519_convert: this seed's converted keys.
        let seed = unhex_array("421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee")
            .expect("hex");
        let key = key_from_seed(seed);
        assert_eq!(
            hex::encode(key.public_key().raw()),
            "b5076a8474a832daee4dd5b4040983b6623b5f344aca57d4d6ee4baf3f259e6e"
        );
        assert_eq!(
            hex::encode(x25519_public(key.public_key()).expect("convert")),
            "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50"
        );
        assert_eq!(
            hex::encode(x25519_secret(&key).expect("convert").to_bytes()),
            "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166"
        );
    }

    #[test]
    fn the_two_conversions_agree() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..32 {
            let key = pki::PrivateKey::generate(pki::KeyType::Ed25519, &mut rng).expect("key");
            let secret = x25519_secret(&key).expect("secret");
            let from_secret = x25519_dalek::PublicKey::from(&secret).to_bytes();
            assert_eq!(
                from_secret,
                x25519_public(key.public_key()).expect("public")
            );
        }
    }

    #[test]
    fn seal_open_round_trip_and_refusals() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let alice = pki::PrivateKey::generate(pki::KeyType::Ed25519, &mut rng).expect("key");
        let bob = pki::PrivateKey::generate(pki::KeyType::Ed25519, &mut rng).expect("key");
        for message in [&b""[..], b"hi", &[7u8; 5000][..]] {
            let sealed = seal(alice.public_key(), message, &mut rng).expect("seal");
            assert_eq!(sealed.len(), HEADER_LEN + message.len() + 16);
            assert_eq!(
                recipient(&sealed).ok(),
                Some(alice.public_key().fingerprint())
            );
            assert_eq!(open(&alice, &sealed).expect("open").as_slice(), message);
            assert!(matches!(
                open(&bob, &sealed),
                Err(SealError::WrongRecipient { .. })
            ));
            // Every byte after the magic and version matters: the recipient's fingerprint
            // names another key; a changed enc or ciphertext does not open (and says no
            // more, RFC 9180 §5.2).
            for i in 9..sealed.len() {
                let mut bad = sealed.clone();
                bad[i] ^= 0x01;
                match open(&alice, &bad) {
                    Err(SealError::WrongRecipient { .. }) if i < 41 => {}
                    Err(SealError::Hpke(HpkeError::OpenFailed)) if i >= 41 => {}
                    other => panic!("byte {i}: {:?}", other.map(|m| m.len())),
                }
            }
            let mut other_version = sealed.clone();
            other_version[8] = 2;
            assert!(matches!(
                open(&alice, &other_version),
                Err(SealError::Version(2))
            ));
        }
        assert!(matches!(
            open(&alice, b"KLSEALED\x01short"),
            Err(SealError::Malformed(_))
        ));
        assert!(matches!(
            open(&alice, b"-----BEGIN"),
            Err(SealError::Malformed(_))
        ));
        let rsa = pki::PrivateKey::from_pem(fixtures::RSA.server_key).expect("rsa");
        assert!(matches!(
            seal(rsa.public_key(), b"x", &mut rng),
            Err(SealError::NotEd25519(_))
        ));
        assert!(matches!(x25519_secret(&rsa), Err(SealError::NotEd25519(_))));
    }
}
