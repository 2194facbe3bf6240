//! Private and public keys: Ed25519, RSA and ECDSA P-256 behind one type each.
//!
//! Private keys travel as PKCS#8 (RFC 5208 / RFC 5958) and public keys as
//! SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), in DER or PEM. Ed25519 private keys are
//! written as PKCS#8 *v1* (RFC 8410 §7) because OpenSSL 3.0 refuses the v2 form that
//! carries the public key. P-256 encodings and signatures are described in [`ec`].

mod ec;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use ed25519_dalek::Signer as _;
use rand_core::CryptoRng;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::pkcs8::der::Decode as _;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, PrivateKeyInfoRef};
use rsa::{PrivateKey as RsaPrivate, PublicKey as RsaPublic};
use sha2::{Digest, Sha256};
use x509_parser::prelude::FromDer as _;
use x509_parser::x509::SubjectPublicKeyInfo;
use zeroize::Zeroizing;

use crate::error::{KeyError, x509_error};
use crate::oid;

/// The key algorithms and sizes keylab can generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Ed25519 (RFC 8032).
    Ed25519,
    /// RSA with a 2048-bit modulus.
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// ECDSA on NIST P-256 (secp256r1, OpenSSL's prime256v1).
    P256,
}

impl KeyType {
    /// The name used on the command line and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::Rsa2048 => "rsa2048",
            Self::Rsa3072 => "rsa3072",
            Self::P256 => "p256",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ed25519" => Ok(Self::Ed25519),
            "rsa2048" => Ok(Self::Rsa2048),
            "rsa3072" => Ok(Self::Rsa3072),
            "p256" => Ok(Self::P256),
            other => Err(KeyError::UnknownKeyType(other.to_owned())),
        }
    }
}

/// A signature algorithm, independent of where it is used (certificates or TLS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032), pure mode.
    Ed25519,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`sha256WithRSAEncryption`, TLS `rsa_pkcs1_sha256`).
    RsaPkcs1Sha256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and the given salt length in bytes.
    RsaPssSha256 {
        /// Salt length in bytes; TLS 1.3 requires 32 (RFC 8446 §4.2.3).
        salt_len: usize,
    },
    /// ECDSA on P-256 with SHA-256, the signature a DER `ECDSA-Sig-Value`
    /// (`ecdsa-with-SHA256` in X.509, RFC 5758 §3.2; TLS `ecdsa_secp256r1_sha256`,
    /// RFC 8446 §4.2.3).
    EcdsaP256Sha256,
}

impl SignatureAlgorithm {
    /// RSASSA-PSS as TLS 1.3 `rsa_pss_rsae_sha256` uses it: salt length = hash length.
    pub const RSA_PSS_SHA256: Self = Self::RsaPssSha256 { salt_len: 32 };
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ed25519 => f.write_str("ed25519"),
            Self::RsaPkcs1Sha256 => f.write_str("sha256WithRSAEncryption"),
            Self::RsaPssSha256 { salt_len } => write!(f, "RSASSA-PSS-SHA256 (salt {salt_len})"),
            Self::EcdsaP256Sha256 => f.write_str("ecdsa-with-SHA256"),
        }
    }
}

enum Secret {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    Rsa(Box<RsaPrivate>),
    P256(Box<p256::ecdsa::SigningKey>),
}

/// A private key with its public half. Secret material is zeroized on drop by the
/// underlying crates.
pub struct PrivateKey {
    secret: Secret,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Generates a key from the given RNG; a seeded RNG gives the same key every time.
    pub fn generate<R: CryptoRng + ?Sized>(
        key_type: KeyType,
        rng: &mut R,
    ) -> Result<Self, KeyError> {
        match key_type {
            KeyType::Ed25519 => Ok(Self::from_ed25519(ed25519_dalek::SigningKey::generate(rng))),
            KeyType::Rsa2048 | KeyType::Rsa3072 => {
                let bits = if key_type == KeyType::Rsa2048 {
                    2048
                } else {
                    3072
                };
                let key = RsaPrivate::new(rng, bits).map_err(|e| KeyError::Rsa(e.to_string()))?;
                Self::from_rsa(key)
            }
            KeyType::P256 => Ok(Self::from_p256(ec::generate(rng))),
        }
    }

    fn from_ed25519(key: ed25519_dalek::SigningKey) -> Self {
        let public = PublicKey::from_ed25519(key.verifying_key());
        Self {
            secret: Secret::Ed25519(Box::new(key)),
            public,
        }
    }

    fn from_rsa(key: RsaPrivate) -> Result<Self, KeyError> {
        let public = PublicKey::from_rsa(key.to_public_key())?;
        Ok(Self {
            secret: Secret::Rsa(Box::new(key)),
            public,
        })
    }

    fn from_p256(key: p256::ecdsa::SigningKey) -> Self {
        let public = PublicKey::from_p256(*key.verifying_key());
        Self {
            secret: Secret::P256(Box::new(key)),
            public,
        }
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (v1 or v2) holding an Ed25519, RSA or P-256 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let info =
            PrivateKeyInfoRef::from_der(der).map_err(|e| KeyError::Malformed(e.to_string()))?;
        let alg = info.algorithm.oid.to_string();
        match alg.as_str() {
            oid::ED25519 => ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(Self::from_ed25519)
                .map_err(|e| KeyError::Malformed(e.to_string())),
            oid::RSA_ENCRYPTION => {
                let key = RsaPrivate::from_pkcs8_der(der)
                    .map_err(|e| KeyError::Malformed(e.to_string()))?;
                Self::from_rsa(key)
            }
            oid::EC_PUBLIC_KEY => {
                let curve = info.algorithm.parameters_oid().ok().map(|o| o.to_string());
                ec::from_pkcs8_der(der, curve).map(Self::from_p256)
            }
            _ => Err(KeyError::UnsupportedAlgorithm(alg)),
        }
    }

    /// Reads an RFC 5915 `ECPrivateKey` (PEM label `EC PRIVATE KEY`, as written by
    /// `openssl ecparam -genkey`) on P-256.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        ec::from_sec1_der(der).map(Self::from_p256)
    }

    /// Reads a PEM private key: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or
    /// `EC PRIVATE KEY` (RFC 5915).
    /// Other PEM blocks in the text (certificates, say) are skipped.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let blocks = pem::parse_many(text).map_err(|e| KeyError::Malformed(e.to_string()))?;
        for block in &blocks {
            match block.tag() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(block.contents()),
                "RSA PRIVATE KEY" => {
                    let key = RsaPrivate::from_pkcs1_der(block.contents())
                        .map_err(|e| KeyError::Malformed(e.to_string()))?;
                    return Self::from_rsa(key);
                }
                "EC PRIVATE KEY" => return Self::from_sec1_der(block.contents()),
                "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
                _ => {}
            }
        }
        Err(KeyError::NoPrivateKey)
    }

    /// PKCS#8 DER (v1 for Ed25519, RFC 8410 §7; an RFC 5915 ECPrivateKey inside for P-256).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        match &self.secret {
            Secret::Ed25519(key) => {
                // RFC 8410 §7: PrivateKeyInfo v1, algorithm id-Ed25519 without parameters,
                // privateKey = OCTET STRING wrapping the 32-byte CurvePrivateKey OCTET STRING.
                let mut der = Zeroizing::new(Vec::with_capacity(48));
                der.extend_from_slice(&[
                    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04,
                    0x22, 0x04, 0x20,
                ]);
                der.extend_from_slice(&key.to_bytes());
                Ok(der)
            }
            Secret::Rsa(key) => key
                .to_pkcs8_der()
                .map(|doc| Zeroizing::new(doc.as_bytes().to_vec()))
                .map_err(|e| KeyError::Rsa(e.to_string())),
            Secret::P256(key) => ec::to_pkcs8_der(key),
        }
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let der = self.to_pkcs8_der()?;
        let block = pem::Pem::new("PRIVATE KEY", der.to_vec());
        Ok(Zeroizing::new(pem::encode(&block)))
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `msg` with `alg`. The RNG is used by RSA (PSS salt and blinding); Ed25519,
    /// PKCS#1 v1.5 and ECDSA (RFC 6979 nonces) signatures are deterministic. ECDSA
    /// signatures are DER `ECDSA-Sig-Value`s, as X.509 and TLS 1.3 carry them.
    pub fn sign<R: CryptoRng + ?Sized>(
        &self,
        alg: SignatureAlgorithm,
        msg: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, KeyError> {
        match (&self.secret, alg) {
            (Secret::Ed25519(key), SignatureAlgorithm::Ed25519) => {
                Ok(key.sign(msg).to_bytes().to_vec())
            }
            (Secret::Rsa(key), SignatureAlgorithm::RsaPkcs1Sha256) => key
                .sign_with_rng(
                    rng,
                    rsa::Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(msg),
                )
                .map_err(|e| KeyError::Rsa(e.to_string())),
            (Secret::Rsa(key), SignatureAlgorithm::RsaPssSha256 { salt_len }) => key
                .sign_with_rng(
                    rng,
                    rsa::Pss::<Sha256>::new_with_salt(salt_len),
                    &Sha256::digest(msg),
                )
                .map_err(|e| KeyError::Rsa(e.to_string())),
            (Secret::P256(key), SignatureAlgorithm::EcdsaP256Sha256) => ec::sign(key, msg),
            _ => Err(KeyError::AlgorithmMismatch {
                key: self.public.algorithm_name(),
                alg,
            }),
        }
    }

    /// Signs without an RNG, for algorithms that need none (Ed25519, PKCS#1 v1.5, ECDSA).
    /// Used when issuing certificates, where the signer interface has no RNG.
    pub(crate) fn sign_deterministic(
        &self,
        alg: SignatureAlgorithm,
        msg: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        match (&self.secret, alg) {
            (Secret::Ed25519(key), SignatureAlgorithm::Ed25519) => {
                Ok(key.sign(msg).to_bytes().to_vec())
            }
            (Secret::Rsa(key), SignatureAlgorithm::RsaPkcs1Sha256) => key
                .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg))
                .map_err(|e| KeyError::Rsa(e.to_string())),
            (Secret::P256(key), SignatureAlgorithm::EcdsaP256Sha256) => ec::sign(key, msg),
            _ => Err(KeyError::AlgorithmMismatch {
                key: self.public.algorithm_name(),
                alg,
            }),
        }
    }

    /// The algorithm this key signs certificates with: Ed25519, sha256WithRSAEncryption
    /// or ecdsa-with-SHA256.
    pub fn certificate_signature_algorithm(&self) -> SignatureAlgorithm {
        match self.secret {
            Secret::Ed25519(_) => SignatureAlgorithm::Ed25519,
            Secret::Rsa(_) => SignatureAlgorithm::RsaPkcs1Sha256,
            Secret::P256(_) => SignatureAlgorithm::EcdsaP256Sha256,
        }
    }
}

/// The DER of an Ed25519 SubjectPublicKeyInfo before its 32 key bytes (RFC 8410 §4):
/// SEQUENCE, AlgorithmIdentifier id-Ed25519 with parameters absent, BIT STRING of 33 bytes
/// with no unused bits.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

#[derive(Clone, PartialEq, Eq)]
enum PublicInner {
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(RsaPublic),
    P256(p256::ecdsa::VerifyingKey),
}

/// A public key, kept with its SubjectPublicKeyInfo encoding.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    inner: PublicInner,
    spki: Vec<u8>,
    /// Where the subjectPublicKey BIT STRING's contents start in `spki` (they end it): 32
    /// bytes for Ed25519, an RSAPublicKey for RSA, the 65-byte uncompressed point for P-256.
    raw_start: usize,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PublicKey({}, sha256:{})",
            self.algorithm_name(),
            self.fingerprint()
        )
    }
}

impl PublicKey {
    /// An Ed25519 key from its 32 raw bytes (RFC 8032 §5.1.5), refusing bytes that are
    /// not a point on the curve.
    pub fn ed25519_from_raw(raw: &[u8; 32]) -> Result<Self, KeyError> {
        ed25519_dalek::VerifyingKey::from_bytes(raw)
            .map(Self::from_ed25519)
            .map_err(|e| KeyError::Malformed(e.to_string()))
    }

    fn from_ed25519(key: ed25519_dalek::VerifyingKey) -> Self {
        let mut spki = Vec::with_capacity(ED25519_SPKI_PREFIX.len() + 32);
        spki.extend_from_slice(&ED25519_SPKI_PREFIX);
        spki.extend_from_slice(key.as_bytes());
        Self {
            inner: PublicInner::Ed25519(key),
            spki,
            raw_start: ED25519_SPKI_PREFIX.len(),
        }
    }

    /// A key whose SubjectPublicKeyInfo `spki` ends in `raw`.
    fn with_raw(inner: PublicInner, spki: Vec<u8>, raw: &[u8]) -> Self {
        debug_assert!(spki.ends_with(raw));
        Self {
            inner,
            raw_start: spki.len() - raw.len(),
            spki,
        }
    }

    fn from_p256(key: p256::ecdsa::VerifyingKey) -> Self {
        let (spki, raw) = ec::spki(&key);
        Self::with_raw(PublicInner::P256(key), spki, &raw)
    }

    fn from_rsa(key: RsaPublic) -> Result<Self, KeyError> {
        let spki = key
            .to_public_key_der()
            .map_err(|e| KeyError::Rsa(e.to_string()))?
            .as_bytes()
            .to_vec();
        let raw = key
            .to_pkcs1_der()
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(Self::with_raw(PublicInner::Rsa(key), spki, raw.as_bytes()))
    }

    /// Reads a DER SubjectPublicKeyInfo holding an Ed25519, rsaEncryption or P-256
    /// (id-ecPublicKey on secp256r1, uncompressed point) key.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        // The common case, recognised without parsing: an Ed25519 key (RFC 8410 §4).
        if let Some(raw) = der.strip_prefix(&ED25519_SPKI_PREFIX[..])
            && let Ok(raw) = raw.try_into()
        {
            return Self::ed25519_from_raw(raw);
        }
        let (rest, info) = SubjectPublicKeyInfo::from_der(der)
            .map_err(|e| KeyError::Malformed(x509_error("SubjectPublicKeyInfo", e)))?;
        if !rest.is_empty() {
            return Err(KeyError::Malformed(
                "trailing bytes after SubjectPublicKeyInfo".into(),
            ));
        }
        let algorithm = &info.algorithm.algorithm;
        let alg = if algorithm.as_bytes() == oid::ED25519_DER {
            Cow::Borrowed(oid::ED25519)
        } else {
            Cow::Owned(algorithm.to_id_string())
        };
        let data = info.subject_public_key.data.as_ref();
        match alg.as_ref() {
            oid::ED25519 => {
                let bytes: &[u8; 32] = data.try_into().map_err(|_| {
                    KeyError::Malformed(format!("Ed25519 key of {} bytes", data.len()))
                })?;
                Self::ed25519_from_raw(bytes)
            }
            oid::RSA_ENCRYPTION => {
                let key = RsaPublic::from_pkcs1_der(data)
                    .map_err(|e| KeyError::Malformed(e.to_string()))?;
                Self::from_rsa(key)
            }
            oid::EC_PUBLIC_KEY => {
                let curve = ec::parameters_oid(info.algorithm.parameters.as_ref());
                ec::from_spki(curve, data).map(Self::from_p256)
            }
            _ => Err(KeyError::UnsupportedAlgorithm(alg.into_owned())),
        }
    }

    /// Reads a PEM `PUBLIC KEY` block.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let blocks = pem::parse_many(text).map_err(|e| KeyError::Malformed(e.to_string()))?;
        let block = blocks
            .iter()
            .find(|b| b.tag() == "PUBLIC KEY")
            .ok_or(KeyError::NoPublicKey)?;
        Self::from_spki_der(block.contents())
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// PEM `PUBLIC KEY`, with Unix line endings (as `openssl pkey -pubout` writes it, so
    /// the two compare equal).
    pub fn to_pem(&self) -> String {
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        pem::encode_config(&pem::Pem::new("PUBLIC KEY", self.spki.clone()), config)
    }

    /// The contents of the subjectPublicKey BIT STRING: for P-256 the uncompressed point
    /// 0x04 ‖ X ‖ Y (RFC 5480 §2.2), 65 bytes.
    pub fn raw(&self) -> &[u8] {
        &self.spki[self.raw_start..]
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex (see [`fingerprint`]).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.spki)
    }

    /// `ed25519`, `rsa2048`, `rsa3072` or `rsaN` for other RSA sizes, `p256`: the
    /// [`KeyType`] name where there is one.
    pub fn algorithm_name(&self) -> String {
        match &self.inner {
            PublicInner::Ed25519(_) => "ed25519".into(),
            PublicInner::Rsa(key) => format!("rsa{}", rsa::traits::PublicKeyParts::size(key) * 8),
            PublicInner::P256(_) => KeyType::P256.name().into(),
        }
    }

    /// True for an Ed25519 key.
    pub fn is_ed25519(&self) -> bool {
        matches!(self.inner, PublicInner::Ed25519(_))
    }

    /// True for an ECDSA P-256 key.
    pub fn is_p256(&self) -> bool {
        matches!(self.inner, PublicInner::P256(_))
    }

    /// Checks `sig` over `msg` with `alg`. Ed25519 uses strict verification (RFC 8032
    /// §5.1.7: canonical S, no small-order keys). ECDSA takes a strict-DER
    /// `ECDSA-Sig-Value` (RFC 8446 §4.2.3) and accepts a high S, which neither X.509 nor
    /// TLS forbids; any other encoding is [`KeyError::BadSignature`].
    pub fn verify(&self, alg: SignatureAlgorithm, msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        match (&self.inner, alg) {
            (PublicInner::Ed25519(key), SignatureAlgorithm::Ed25519) => {
                let sig = ed25519_dalek::Signature::from_slice(sig)
                    .map_err(|_| KeyError::BadSignature)?;
                key.verify_strict(msg, &sig)
                    .map_err(|_| KeyError::BadSignature)
            }
            (PublicInner::Rsa(key), SignatureAlgorithm::RsaPkcs1Sha256) => key
                .verify(
                    rsa::Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(msg),
                    sig,
                )
                .map_err(|_| KeyError::BadSignature),
            (PublicInner::Rsa(key), SignatureAlgorithm::RsaPssSha256 { salt_len }) => key
                .verify(
                    rsa::Pss::<Sha256>::new_with_salt(salt_len),
                    &Sha256::digest(msg),
                    sig,
                )
                .map_err(|_| KeyError::BadSignature),
            (PublicInner::P256(key), SignatureAlgorithm::EcdsaP256Sha256) => {
                ec::verify(key, msg, sig)
            }
            _ => Err(KeyError::AlgorithmMismatch {
                key: self.algorithm_name(),
                alg,
            }),
        }
    }
}

/// A key's fingerprint from its DER SubjectPublicKeyInfo, parsed or not: SHA-256 of the
/// bytes, 64 lowercase hex digits. [`PublicKey::fingerprint`] is this of its `spki_der`.
pub fn fingerprint(spki_der: &[u8]) -> String {
    hex::encode(Sha256::digest(spki_der))
}
