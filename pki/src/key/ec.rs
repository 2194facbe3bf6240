//! ECDSA P-256 (secp256r1) keys and signatures, in the encodings PKIX and TLS use.
//!
//! - Public keys are SubjectPublicKeyInfo with algorithm id-ecPublicKey and the
//!   namedCurve secp256r1 (RFC 5480 §2.1.1; implicit and specified curves are refused)
//!   and a subjectPublicKey holding the uncompressed point 0x04 ‖ X ‖ Y (RFC 5480 §2.2
//!   makes the compressed form optional; keylab neither writes nor reads it).
//! - Private keys are written as PKCS#8 around an RFC 5915 ECPrivateKey (curve in the
//!   PKCS#8 algorithm, public point included; RFC 5915 §3), as `openssl genpkey` writes
//!   them. The bare RFC 5915 `EC PRIVATE KEY` that `openssl ecparam -genkey` writes is
//!   read too.
//! - Signatures are ECDSA over SHA-256, encoded as a DER `ECDSA-Sig-Value` (RFC 5480
//!   Appendix A): ecdsa-with-SHA256 in certificates (RFC 5758 §3.2) and
//!   ecdsa_secp256r1_sha256 in TLS 1.3 (RFC 8446 §4.2.3) carry the same bytes.
//!
//! Signing is deterministic: the nonce comes from the key and the message (RFC 6979
//! §3.2), so no RNG is needed and certificates regenerate byte for byte. Verification
//! takes strict DER only (minimal INTEGERs, nothing after the SEQUENCE, r and s in
//! [1, n-1]) and accepts a high S: neither X.509 nor TLS asks for low-S signatures, and
//! OpenSSL produces high-S signatures half of the time.

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use rand_core::CryptoRng;
use x509_parser::der_parser::asn1_rs::{Any, Class, FromDer as _, Oid, Sequence};
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::oid;

/// Length of an uncompressed point: 0x04 ‖ X ‖ Y.
const POINT_LEN: usize = 65;

/// RFC 5480 §2: the SubjectPublicKeyInfo up to the point. SEQUENCE { AlgorithmIdentifier
/// { id-ecPublicKey, namedCurve secp256r1 }, BIT STRING of 66 bytes, no unused bits }.
const SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A fresh key; a seeded RNG gives the same key every time.
pub(super) fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> SigningKey {
    SigningKey::generate_from_rng(rng)
}

/// Reads a PKCS#8 PrivateKeyInfo whose algorithm is id-ecPublicKey with parameters
/// `curve` (the dotted OID, if the parameters are one).
pub(super) fn from_pkcs8_der(der: &[u8], curve: Option<String>) -> Result<SigningKey, KeyError> {
    check_curve(curve.as_deref())?;
    SigningKey::from_pkcs8_der(der)
        .map_err(|e| KeyError::Malformed(format!("P-256 private key: {e}")))
}

/// Reads an RFC 5915 ECPrivateKey (PEM label `EC PRIVATE KEY`). A public key in it must
/// belong to the private key.
pub(super) fn from_sec1_der(der: &[u8]) -> Result<SigningKey, KeyError> {
    if let Some(curve) = sec1_curve(der) {
        check_curve(Some(&curve))?;
    }
    p256::SecretKey::from_sec1_der(der)
        .map(SigningKey::from)
        .map_err(|e| KeyError::Malformed(format!("EC PRIVATE KEY (RFC 5915): {e}")))
}

/// PKCS#8 DER around an RFC 5915 ECPrivateKey.
pub(super) fn to_pkcs8_der(key: &SigningKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    key.to_pkcs8_der()
        .map(|doc| Zeroizing::new(doc.as_bytes().to_vec()))
        .map_err(|e| KeyError::Ecdsa(e.to_string()))
}

/// The SubjectPublicKeyInfo DER and the uncompressed point.
pub(super) fn spki(key: &VerifyingKey) -> (Vec<u8>, Vec<u8>) {
    let point = key.to_sec1_point(false).as_bytes().to_vec();
    let mut spki = Vec::with_capacity(SPKI_PREFIX.len() + point.len());
    spki.extend_from_slice(&SPKI_PREFIX);
    spki.extend_from_slice(&point);
    (spki, point)
}

/// Reads the point of an id-ecPublicKey SubjectPublicKeyInfo with parameters `curve`.
pub(super) fn from_spki(curve: Option<String>, point: &[u8]) -> Result<VerifyingKey, KeyError> {
    check_curve(curve.as_deref())?;
    match point.first() {
        Some(0x02 | 0x03) => {
            return Err(KeyError::Malformed(
                "P-256 public key in compressed form; keylab reads only the uncompressed \
                 form 0x04 || X || Y (RFC 5480 §2.2)"
                    .into(),
            ));
        }
        Some(0x04) if point.len() == POINT_LEN => {}
        _ => {
            return Err(KeyError::Malformed(format!(
                "P-256 public key of {} bytes; expected the {POINT_LEN}-byte uncompressed point \
                 0x04 || X || Y (RFC 5480 §2.2)",
                point.len()
            )));
        }
    }
    VerifyingKey::from_sec1_bytes(point)
        .map_err(|_| KeyError::Malformed("P-256 public key is not a point on the curve".into()))
}

/// A DER ECDSA-Sig-Value over SHA-256(`msg`) with an RFC 6979 nonce.
pub(super) fn sign(key: &SigningKey, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
    let sig: DerSignature = key
        .try_sign(msg)
        .map_err(|e| KeyError::Ecdsa(e.to_string()))?;
    Ok(sig.as_bytes().to_vec())
}

/// Checks a DER ECDSA-Sig-Value over SHA-256(`msg`). Anything that is not strict DER, or
/// has r or s out of range, is a bad signature like a wrong one.
pub(super) fn verify(key: &VerifyingKey, msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
    let sig = DerSignature::from_bytes(sig).map_err(|_| KeyError::BadSignature)?;
    key.verify(msg, &sig).map_err(|_| KeyError::BadSignature)
}

/// RFC 5480 §2.1.1: the parameters must name a curve, and keylab knows only secp256r1.
fn check_curve(curve: Option<&str>) -> Result<(), KeyError> {
    match curve {
        Some(oid::SECP256R1) => Ok(()),
        Some(other) => Err(KeyError::UnsupportedCurve(describe_curve(other))),
        None => Err(KeyError::Malformed(
            "id-ecPublicKey without a named curve (RFC 5480 §2.1.1 requires namedCurve)".into(),
        )),
    }
}

/// A curve OID with the names of the curves people are likely to meet.
fn describe_curve(oid: &str) -> String {
    let name = match oid {
        "1.3.132.0.34" => "P-384, secp384r1",
        "1.3.132.0.35" => "P-521, secp521r1",
        "1.3.132.0.33" => "P-224, secp224r1",
        "1.2.840.10045.3.1.1" => "P-192, prime192v1",
        "1.3.132.0.10" => "secp256k1",
        _ => return oid.to_owned(),
    };
    format!("{name} ({oid})")
}

/// The namedCurve in an ECPrivateKey's `parameters [0]` (RFC 5915 §3), if present.
fn sec1_curve(der: &[u8]) -> Option<String> {
    let (_, seq) = Sequence::from_der(der).ok()?;
    let mut rest: &[u8] = &seq.content;
    while !rest.is_empty() {
        let (next, item) = Any::from_der(rest).ok()?;
        if item.header.class() == Class::ContextSpecific && item.header.tag().0 == 0 {
            let (_, curve) = Oid::from_der(item.data).ok()?;
            return Some(curve.to_id_string());
        }
        rest = next;
    }
    None
}

/// The parameters of an id-ecPublicKey AlgorithmIdentifier as a dotted OID, if they are one.
pub(super) fn parameters_oid(parameters: Option<&Any<'_>>) -> Option<String> {
    parameters
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        let bytes = [7u8; 32];
        SigningKey::from_slice(&bytes).expect("scalar")
    }

    #[test]
    fn spki_prefix_is_what_the_p256_crate_writes() {
        use p256::pkcs8::EncodePublicKey as _;
        let k = key();
        let (ours, point) = spki(k.verifying_key());
        let theirs = k.verifying_key().to_public_key_der().expect("der");
        assert_eq!(ours, theirs.as_bytes());
        assert_eq!(point.len(), POINT_LEN);
        assert_eq!(point[0], 0x04);
    }

    #[test]
    fn signatures_are_deterministic_and_strict_der() {
        let k = key();
        let sig = sign(&k, b"msg").expect("sign");
        assert_eq!(sig, sign(&k, b"msg").expect("sign"), "RFC 6979");
        verify(k.verifying_key(), b"msg", &sig).expect("verify");
        // Trailing bytes, a longer length and a non-minimal INTEGER are not DER.
        let mut trailing = sig.clone();
        trailing.push(0);
        assert_eq!(
            verify(k.verifying_key(), b"msg", &trailing),
            Err(KeyError::BadSignature)
        );
        let (r_len, r) = (sig[3] as usize, &sig[4..4 + sig[3] as usize]);
        let s = &sig[4 + r_len + 2..];
        let mut padded = vec![0x30, 0, 0x02, (r.len() + 1) as u8, 0x00];
        padded.extend_from_slice(r);
        padded.extend_from_slice(&[0x02, s.len() as u8]);
        padded.extend_from_slice(s);
        padded[1] = (padded.len() - 2) as u8;
        assert_eq!(
            verify(k.verifying_key(), b"msg", &padded),
            Err(KeyError::BadSignature),
            "non-minimal r"
        );
        // The fixed-size r || s form (as JWS uses) is not accepted.
        let fixed = p256::ecdsa::Signature::from_der(&sig).expect("parse");
        assert_eq!(
            verify(k.verifying_key(), b"msg", &fixed.to_bytes()),
            Err(KeyError::BadSignature)
        );
    }

    #[test]
    fn curves_other_than_p256_are_named() {
        assert_eq!(
            check_curve(Some("1.3.132.0.34")),
            Err(KeyError::UnsupportedCurve(
                "P-384, secp384r1 (1.3.132.0.34)".into()
            ))
        );
        assert!(matches!(check_curve(None), Err(KeyError::Malformed(_))));
        assert_eq!(check_curve(Some(oid::SECP256R1)), Ok(()));
    }
}
