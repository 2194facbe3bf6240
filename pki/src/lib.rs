//! A small PKI for keylab: keys, certificates, issuing and path validation.
//!
//! - [`PrivateKey`] / [`PublicKey`]: Ed25519 (ed25519-dalek), RSA 2048/3072 (rsa) and
//!   ECDSA P-256 (p256) — [`KeyType::Ed25519`], [`KeyType::Rsa2048`],
//!   [`KeyType::Rsa3072`], [`KeyType::P256`] — generated from an injected RNG, read and
//!   written as PKCS#8 / SubjectPublicKeyInfo in DER or PEM (P-256: id-ecPublicKey on
//!   secp256r1 with the uncompressed point, RFC 5480; RFC 5915 `EC PRIVATE KEY` files
//!   are read too).
//! - [`SignatureAlgorithm`]: Ed25519, RSASSA-PSS-SHA256, sha256WithRSAEncryption and
//!   [`SignatureAlgorithm::EcdsaP256Sha256`] (a DER `ECDSA-Sig-Value`, as X.509 and the
//!   TLS 1.3 `ecdsa_secp256r1_sha256` scheme carry it, RFC 8446 §4.2.3). ECDSA signing is
//!   deterministic (RFC 6979); verification takes strict DER and accepts high S.
//!   [`PrivateKey::sign`] and [`PublicKey::verify`] are what a CertificateVerify needs;
//!   [`PublicKey::raw`] is a P-256 key's 65-byte uncompressed point.
//! - [`issue`](mod@issue): root, intermediate, server and client certificates through
//!   rcgen, with keylab's keys as rcgen's signer (no ring or aws-lc-rs; see the module
//!   docs for why). Any key type may be issued under a CA of any key type; the CA's key
//!   decides the signature (Ed25519, sha256WithRSAEncryption, ecdsa-with-SHA256). A fixed
//!   seed and fixed times give byte-identical certificates.
//! - [`Certificate`]: owned, typed fields read straight from the DER by keylab's own reader
//!   in one pass, x509-parser kept for the rarer parts (subjectAltName entries,
//!   nameConstraints, algorithms other than Ed25519, printing unusual names). Extensions
//!   keylab does not interpret are not parsed (x509-parser parsed and refused some); tests
//!   hold the two readers to the same fields on every fixture certificate.
//! - [`fingerprint`]: SHA-256 of a SubjectPublicKeyInfo, the name keylab gives a key.
//! - [`files`]: the one place keylab writes files: mode 0600 for secrets, a flushed
//!   temporary file that takes its name by hard link (never replacing) or rename, and a
//!   flushed directory.
//! - [`verify_path`]: keylab's own path validation (chain building, signatures by
//!   Ed25519, RSA and P-256 issuers, validity, basicConstraints and pathLen, keyUsage,
//!   extendedKeyUsage, names, nameConstraints of the dNSName and iPAddress forms, unknown
//!   critical extensions) whose every rejection is a
//!   typed [`ValidationError`] that says what was expected and what was found.
//!
//! The crate never reads the clock: callers pass the time to validate at.
//!
//! ```
//! use pki::{CertificateRequest, KeyType, PathRequest, PrivateKey, Profile, Purpose};
//! use rand_core::SeedableRng;
//! use time::macros::datetime;
//!
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let (from, to) = (datetime!(2025-01-01 0:00 UTC), datetime!(2035-01-01 0:00 UTC));
//! let ca_key = PrivateKey::generate(KeyType::Ed25519, &mut rng)?;
//! let ca = pki::issue::self_signed(
//!     &CertificateRequest::new("Example Root", Profile::Root { path_len: None }, from, to),
//!     &ca_key,
//!     &mut rng,
//! )?;
//! let key = PrivateKey::generate(KeyType::Ed25519, &mut rng)?;
//! let server = CertificateRequest::new(
//!     "localhost",
//!     Profile::Server { names: vec!["localhost".into()] },
//!     from,
//!     to,
//! );
//! let leaf = pki::issue::issue(&server, key.public_key(), &ca, &ca_key, &mut rng)?;
//! let path = pki::verify_path(&PathRequest {
//!     leaf: &leaf,
//!     intermediates: &[],
//!     anchors: &[ca],
//!     time: datetime!(2026-06-01 0:00 UTC),
//!     purpose: Purpose::Server,
//!     name: Some("localhost"),
//! })?;
//! assert_eq!(path.subjects(), ["CN=localhost", "CN=Example Root"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cert;
pub mod constraints;
mod der;
mod error;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod issue;
mod key;
pub mod oid;
mod verify;

pub use cert::{
    BasicConstraints, CertSignature, Certificate, ExtendedKeyUsage, KEY_USAGE_NAMES, KeyUsage,
    Name, SubjectAltName,
};
pub use constraints::{GeneralSubtree, NameConstraints};
pub use error::{IssueError, KeyError, ParseError, Purpose, ValidationError};
pub use issue::{CertificateRequest, ExtraExtension, Profile};
pub use key::{KeyType, PrivateKey, PublicKey, SignatureAlgorithm, fingerprint};
pub use verify::{
    MAX_PATH_LEN, MAX_SIGNATURE_CHECKS, PathRequest, PeerPath, ValidPath, check_name, verify_chain,
    verify_path,
};

/// Formats a time as RFC 3339 in UTC to the second, e.g. `2025-01-01T00:00:00Z`
/// (X.509 times have no fractions).
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
