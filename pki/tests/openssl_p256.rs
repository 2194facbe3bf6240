//! ECDSA P-256 against the OpenSSL command line: each side verifies the other's
//! signatures and reads the other's keys, byte for byte where the encodings are fixed,
//! and keylab refuses other curves with typed errors where OpenSSL would accept them.
//!
//! Without an `openssl` binary these tests print why and pass, except under `CI=true`,
//! where a missing OpenSSL is a failure.

mod support;

use std::fs;
use std::path::Path;

use pki::{KeyError, KeyType, PrivateKey, PublicKey, Purpose, SignatureAlgorithm, ValidationError};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use support::{check, have_openssl, openssl, openssl_hierarchy, openssl_ok, openssl_workdir};
use time::{Duration, OffsetDateTime};

const ALG: SignatureAlgorithm = SignatureAlgorithm::EcdsaP256Sha256;
const MSG: &[u8] = b"the bytes a CertificateVerify signs";

fn read(d: &Path, file: &str) -> String {
    fs::read_to_string(d.join(file)).expect("read")
}

/// The DER inside the first PEM block of `file`.
fn pem_der(d: &Path, file: &str) -> Vec<u8> {
    pem::parse(read(d, file)).expect("PEM").into_contents()
}

#[test]
fn openssl_and_keylab_verify_each_others_ecdsa_signatures() {
    let Some(dir) = openssl_workdir() else {
        return;
    };
    let d = dir.path();
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    fs::write(d.join("msg"), MSG).expect("write");

    // Our key: OpenSSL verifies our signature, and signs with our key file.
    let ours = PrivateKey::generate(KeyType::P256, &mut rng).expect("key");
    fs::write(d.join("ours.key"), ours.to_pem().expect("pem").as_bytes()).expect("write");
    fs::write(d.join("ours.pub"), ours.public_key().to_pem()).expect("write");
    fs::write(
        d.join("ours.sig"),
        ours.sign(ALG, MSG, &mut rng).expect("sign"),
    )
    .expect("write");
    let verify = |key: &str, sig: &str| {
        openssl(
            d,
            &["dgst", "-sha256", "-verify", key, "-signature", sig, "msg"],
        )
    };
    let (ok, out) = verify("ours.pub", "ours.sig");
    assert!(ok && out.contains("Verified OK"), "{out}");
    openssl_ok(
        d,
        &[
            "dgst",
            "-sha256",
            "-sign",
            "ours.key",
            "-out",
            "ours-by-openssl.sig",
            "msg",
        ],
    );
    let sig = fs::read(d.join("ours-by-openssl.sig")).expect("read");
    ours.public_key()
        .verify(ALG, MSG, &sig)
        .expect("OpenSSL's signature with our key");

    // OpenSSL's key (RFC 5915 form from ecparam): we read both halves and verify.
    openssl_ok(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            "theirs.key",
        ],
    );
    openssl_ok(
        d,
        &["pkey", "-in", "theirs.key", "-pubout", "-out", "theirs.pub"],
    );
    openssl_ok(
        d,
        &[
            "dgst",
            "-sha256",
            "-sign",
            "theirs.key",
            "-out",
            "theirs.sig",
            "msg",
        ],
    );
    assert!(read(d, "theirs.key").contains("-----BEGIN EC PRIVATE KEY-----"));
    let theirs = PublicKey::from_pem(&read(d, "theirs.pub")).expect("OpenSSL's public key");
    assert_eq!(
        theirs.spki_der(),
        pem_der(d, "theirs.pub"),
        "same SPKI bytes"
    );
    let their_key = PrivateKey::from_pem(&read(d, "theirs.key")).expect("OpenSSL's key");
    assert_eq!(their_key.public_key(), &theirs);
    let sig = fs::read(d.join("theirs.sig")).expect("read");
    theirs.verify(ALG, MSG, &sig).expect("OpenSSL's signature");

    // Negative cases: the exact error, and OpenSSL agrees.
    let mut tampered = sig.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    assert_eq!(
        theirs.verify(ALG, MSG, &tampered),
        Err(KeyError::BadSignature)
    );
    fs::write(d.join("tampered.sig"), &tampered).expect("write");
    let (ok, out) = verify("theirs.pub", "tampered.sig");
    assert!(!ok && out.contains("Verification failure"), "{out}");
    assert_eq!(
        ours.public_key().verify(ALG, MSG, &sig),
        Err(KeyError::BadSignature),
        "another key's signature"
    );
    let (ok, _) = verify("ours.pub", "theirs.sig");
    assert!(!ok, "OpenSSL accepted another key's signature");
    assert_eq!(
        theirs.verify(ALG, b"other bytes", &sig),
        Err(KeyError::BadSignature)
    );
    assert_eq!(
        theirs.verify(SignatureAlgorithm::Ed25519, MSG, &sig),
        Err(KeyError::AlgorithmMismatch {
            key: "p256".into(),
            alg: SignatureAlgorithm::Ed25519
        })
    );
}

#[test]
fn p256_keys_cross_openssl_byte_for_byte() {
    let Some(dir) = openssl_workdir() else {
        return;
    };
    let d = dir.path();
    // OpenSSL's PKCS#8 comes back out of keylab unchanged.
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "theirs.key",
        ],
    );
    let key = PrivateKey::from_pem(&read(d, "theirs.key")).expect("OpenSSL's PKCS#8 key");
    assert_eq!(
        key.to_pkcs8_der().expect("der").as_slice(),
        pem_der(d, "theirs.key")
    );

    // And ours reads in OpenSSL as a valid key with the public key we say.
    let ours =
        PrivateKey::generate(KeyType::P256, &mut ChaCha20Rng::seed_from_u64(22)).expect("key");
    fs::write(d.join("ours.key"), ours.to_pem().expect("pem").as_bytes()).expect("write");
    let out = openssl_ok(d, &["ec", "-in", "ours.key", "-noout", "-check"]);
    assert!(out.contains("EC Key valid"), "{out}");
    openssl_ok(
        d,
        &["pkey", "-in", "ours.key", "-pubout", "-out", "ours.pub"],
    );
    assert_eq!(ours.public_key().spki_der(), pem_der(d, "ours.pub"));
    let text = openssl_ok(d, &["pkey", "-in", "ours.key", "-noout", "-text"]);
    assert!(
        text.contains("ASN1 OID: prime256v1") && text.contains("NIST CURVE: P-256"),
        "{text}"
    );
}

#[test]
fn other_curves_are_refused_with_typed_errors() {
    if !have_openssl() {
        return;
    }
    let p384 = "P-384, secp384r1 (1.3.132.0.34)";
    for alg in ["p384", "p384-sha256"] {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        openssl_hierarchy(d, alg);
        // OpenSSL accepts these chains; keylab refuses them by policy.
        let out = openssl_ok(
            d,
            &[
                "verify",
                "-x509_strict",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "int.pem",
                "server.pem",
            ],
        );
        assert!(out.contains(": OK"), "{out}");
        let now = OffsetDateTime::now_utc() + Duration::seconds(2);
        let err = check(
            d,
            "server.pem",
            &[],
            Purpose::Server,
            Some("localhost"),
            now,
        )
        .unwrap_err();
        let expected = if alg == "p384" {
            // The certificate's own algorithm is the first thing checked.
            ValidationError::UnsupportedSignatureAlgorithm {
                subject: "CN=localhost".into(),
                algorithm: "ecdsa-with-SHA384 (1.2.840.10045.4.3.3)".into(),
            }
        } else {
            // ecdsa-with-SHA256 is fine; the issuer's P-384 key is not.
            ValidationError::UnsupportedIssuerKey {
                subject: "CN=OpenSSL Intermediate".into(),
                reason: format!(
                    "unsupported elliptic curve {p384}; keylab supports P-256 (prime256v1) only"
                ),
            }
        };
        assert_eq!(err, expected, "{alg}: {err}");

        // The keys themselves, as RFC 5915 and as PKCS#8.
        assert_eq!(
            PrivateKey::from_pem(&read(d, "server.key")).unwrap_err(),
            KeyError::UnsupportedCurve(p384.into())
        );
        openssl_ok(d, &["pkey", "-in", "server.key", "-out", "server.p8"]);
        assert_eq!(
            PrivateKey::from_pem(&read(d, "server.p8")).unwrap_err(),
            KeyError::UnsupportedCurve(p384.into())
        );
    }
}
