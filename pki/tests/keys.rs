//! Keys: generation from a seed, PKCS#8 / SPKI round trips, signatures.

use pki::{KeyError, KeyType, PrivateKey, PublicKey, SignatureAlgorithm};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const ALL: [KeyType; 4] = [
    KeyType::Ed25519,
    KeyType::Rsa2048,
    KeyType::Rsa3072,
    KeyType::P256,
];

fn key(kt: KeyType, seed: u64) -> PrivateKey {
    PrivateKey::generate(kt, &mut ChaCha20Rng::seed_from_u64(seed)).expect("generate")
}

#[test]
fn same_seed_same_key_other_seed_other_key() {
    for kt in [KeyType::Ed25519, KeyType::Rsa2048, KeyType::P256] {
        let a = key(kt, 1).to_pem().expect("pem");
        let b = key(kt, 1).to_pem().expect("pem");
        let c = key(kt, 2).to_pem().expect("pem");
        assert_eq!(*a, *b, "{kt}: same seed must give the same key");
        assert_ne!(*a, *c, "{kt}: different seeds must differ");
    }
}

#[test]
fn pkcs8_and_spki_round_trip() {
    for kt in ALL {
        let k = key(kt, 3);
        let der = k.to_pkcs8_der().expect("der");
        let back = PrivateKey::from_pkcs8_der(&der).expect("from der");
        assert_eq!(back.public_key(), k.public_key(), "{kt}");
        let pem = k.to_pem().expect("pem");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{kt}");
        let back = PrivateKey::from_pem(&pem).expect("from pem");
        assert_eq!(
            *back.to_pem().expect("pem"),
            *pem,
            "{kt}: PEM must round-trip exactly"
        );

        let spki = PublicKey::from_spki_der(k.public_key().spki_der()).expect("spki");
        assert_eq!(&spki, k.public_key());
        let from_pem = PublicKey::from_pem(&k.public_key().to_pem()).expect("spki pem");
        assert_eq!(&from_pem, k.public_key());
        assert_eq!(k.public_key().algorithm_name(), kt.name());
    }
}

#[test]
fn ed25519_private_key_is_pkcs8_v1() {
    let der = key(KeyType::Ed25519, 4).to_pkcs8_der().expect("der");
    // RFC 8410 §7 v1 encoding: 48 bytes, version 0, no public key.
    assert_eq!(der.len(), 48);
    assert_eq!(&der[..5], &[0x30, 0x2e, 0x02, 0x01, 0x00]);
}

#[test]
fn signatures_verify_and_fail_when_altered() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let cases = [
        (KeyType::Ed25519, SignatureAlgorithm::Ed25519),
        (KeyType::Rsa2048, SignatureAlgorithm::RsaPkcs1Sha256),
        (KeyType::Rsa2048, SignatureAlgorithm::RSA_PSS_SHA256),
        (KeyType::P256, SignatureAlgorithm::EcdsaP256Sha256),
    ];
    for (kt, alg) in cases {
        let k = key(kt, 6);
        let sig = k.sign(alg, b"message", &mut rng).expect("sign");
        k.public_key()
            .verify(alg, b"message", &sig)
            .expect("verify");
        assert_eq!(
            k.public_key().verify(alg, b"messagE", &sig),
            Err(KeyError::BadSignature),
            "{alg}"
        );
        let mut bad = sig.clone();
        bad[0] ^= 1;
        assert_eq!(
            k.public_key().verify(alg, b"message", &bad),
            Err(KeyError::BadSignature),
            "{alg}"
        );
        assert_eq!(
            k.public_key().verify(alg, b"message", &sig[1..]),
            Err(KeyError::BadSignature)
        );
    }
}

#[test]
fn key_and_algorithm_must_agree() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let ed = key(KeyType::Ed25519, 8);
    let err = ed
        .sign(SignatureAlgorithm::RSA_PSS_SHA256, b"m", &mut rng)
        .unwrap_err();
    assert!(matches!(err, KeyError::AlgorithmMismatch { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "a ed25519 key cannot be used with RSASSA-PSS-SHA256 (salt 32)"
    );
}

#[test]
fn bad_key_input_gives_clear_errors() {
    assert_eq!(
        PrivateKey::from_pem("no pem here").unwrap_err(),
        KeyError::NoPrivateKey
    );
    let cert_only = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_eq!(
        PrivateKey::from_pem(cert_only).unwrap_err(),
        KeyError::NoPrivateKey
    );
    assert!(matches!(
        PrivateKey::from_pkcs8_der(&[0x30, 0x03, 1, 2, 3]),
        Err(KeyError::Malformed(_))
    ));
    assert!(matches!(
        PublicKey::from_spki_der(b"garbage"),
        Err(KeyError::Malformed(_))
    ));
    assert!(matches!(
        "dsa".parse::<KeyType>(),
        Err(KeyError::UnknownKeyType(_))
    ));
    let encrypted =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert_eq!(
        PrivateKey::from_pem(encrypted).unwrap_err(),
        KeyError::Encrypted
    );
}

#[test]
fn fixture_keys_load() {
    for (pem, name) in [
        (fixtures::ED25519.server_key, "ed25519"),
        (fixtures::RSA.server_key, "rsa2048"),
        (fixtures::P256.server_key, "p256"),
        (fixtures::bad::LEAF_KEY, "ed25519"),
    ] {
        let k = PrivateKey::from_pem(pem).expect("fixture key");
        assert_eq!(k.public_key().algorithm_name(), name);
    }
}

#[test]
fn p256_keys_use_the_rfc5480_and_rfc5915_encodings() {
    let k = key(KeyType::P256, 9);
    let public = k.public_key();
    assert!(public.is_p256() && !public.is_ed25519());
    // RFC 5480 §2.2: the uncompressed point 0x04 || X || Y.
    assert_eq!(public.raw().len(), 65);
    assert_eq!(public.raw()[0], 0x04);
    // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (66 bytes) }.
    let spki = public.spki_der();
    assert_eq!(spki.len(), 91);
    assert_eq!(
        &spki[..26],
        &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00
        ]
    );
    assert_eq!(&spki[26..], public.raw());
    // PKCS#8 v1 with the curve in the algorithm, an RFC 5915 ECPrivateKey inside.
    let der = k.to_pkcs8_der().expect("der");
    assert_eq!(&der[..5], &[0x30, 0x81, 0x87, 0x02, 0x01]);
    assert_eq!(der[5], 0x00, "PKCS#8 version 0 (v1)");
    assert_eq!(
        k.certificate_signature_algorithm(),
        SignatureAlgorithm::EcdsaP256Sha256
    );
    assert_eq!("p256".parse::<KeyType>(), Ok(KeyType::P256));
    assert_eq!(public.algorithm_name(), "p256");
}

#[test]
fn p256_reads_the_sec1_ec_private_key_form() {
    use p256::pkcs8::EncodePrivateKey as _;
    let secret = p256::SecretKey::from_slice(&[0x11; 32]).expect("scalar");
    let sec1 = secret.to_sec1_der().expect("sec1");
    // What `openssl ecparam -genkey` writes: the parameters, then the key.
    let text = format!(
        "{}{}",
        pem::encode(&pem::Pem::new(
            "EC PARAMETERS",
            vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
        )),
        pem::encode(&pem::Pem::new("EC PRIVATE KEY", sec1.to_vec()))
    );
    let from_sec1 = PrivateKey::from_pem(&text).expect("SEC1 key");
    let from_pkcs8 = PrivateKey::from_pkcs8_der(secret.to_pkcs8_der().expect("pkcs8").as_bytes())
        .expect("PKCS#8 key");
    assert_eq!(from_sec1.public_key(), from_pkcs8.public_key());
    assert_eq!(
        PrivateKey::from_sec1_der(&sec1).expect("der").public_key(),
        from_pkcs8.public_key()
    );
    let _ = p256::SecretKey::from_sec1_der(&sec1).expect("round trip");
}

#[test]
fn ecdsa_signatures_are_deterministic_der_and_high_s_is_accepted() {
    use p256::elliptic_curve::scalar::IsHigh as _;
    let k = key(KeyType::P256, 10);
    let alg = SignatureAlgorithm::EcdsaP256Sha256;
    let a = k
        .sign(alg, b"message", &mut ChaCha20Rng::seed_from_u64(1))
        .expect("sign");
    let b = k
        .sign(alg, b"message", &mut ChaCha20Rng::seed_from_u64(2))
        .expect("sign");
    assert_eq!(a, b, "RFC 6979: the RNG plays no part");
    assert_eq!(a[0], 0x30, "a DER SEQUENCE");
    assert!((8..=72).contains(&a.len()), "{} bytes", a.len());

    // (r, n - s) is the other valid signature; exactly one of the two has a high S.
    let sig = p256::ecdsa::Signature::from_der(&a).expect("DER");
    let (r, s) = sig.split_scalars();
    let flipped =
        p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).expect("scalars");
    let flipped = flipped.to_der().as_bytes().to_vec();
    k.public_key()
        .verify(alg, b"message", &flipped)
        .expect("high and low S both verify");
    let high = [&a, &flipped]
        .iter()
        .filter(|der| {
            let s = p256::ecdsa::Signature::from_der(der).expect("DER");
            bool::from(s.s().is_high())
        })
        .count();
    assert_eq!(high, 1);

    // Another key's signature does not verify.
    let other = key(KeyType::P256, 11);
    let theirs = other
        .sign(alg, b"message", &mut ChaCha20Rng::seed_from_u64(1))
        .expect("sign");
    assert_eq!(
        k.public_key().verify(alg, b"message", &theirs),
        Err(KeyError::BadSignature)
    );
    // Not DER: the fixed-width r || s form, an empty input.
    assert_eq!(
        k.public_key().verify(alg, b"message", &sig.to_bytes()),
        Err(KeyError::BadSignature)
    );
    assert_eq!(
        k.public_key().verify(alg, b"message", &[]),
        Err(KeyError::BadSignature)
    );
}

#[test]
fn p256_keys_refuse_other_algorithms_with_a_typed_error() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let p = key(KeyType::P256, 13);
    let ed = key(KeyType::Ed25519, 14);
    let err = p
        .sign(SignatureAlgorithm::Ed25519, b"m", &mut rng)
        .unwrap_err();
    assert_eq!(
        err,
        KeyError::AlgorithmMismatch {
            key: "p256".into(),
            alg: SignatureAlgorithm::Ed25519
        }
    );
    let sig = p
        .sign(SignatureAlgorithm::EcdsaP256Sha256, b"m", &mut rng)
        .expect("sign");
    let err = ed
        .public_key()
        .verify(SignatureAlgorithm::EcdsaP256Sha256, b"m", &sig)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a ed25519 key cannot be used with ecdsa-with-SHA256"
    );
    let err = p
        .public_key()
        .verify(SignatureAlgorithm::RSA_PSS_SHA256, b"m", &sig)
        .unwrap_err();
    assert!(matches!(err, KeyError::AlgorithmMismatch { .. }), "{err}");
}

#[test]
fn other_curves_and_point_forms_are_refused_clearly() {
    // SubjectPublicKeyInfo of a P-384 key (the point is never looked at).
    let mut p384 = vec![
        0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05,
        0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00, 0x04,
    ];
    p384.extend_from_slice(&[0x01; 96]);
    let err = PublicKey::from_spki_der(&p384).unwrap_err();
    assert_eq!(
        err,
        KeyError::UnsupportedCurve("P-384, secp384r1 (1.3.132.0.34)".into())
    );
    assert_eq!(
        err.to_string(),
        "unsupported elliptic curve P-384, secp384r1 (1.3.132.0.34); keylab supports P-256 (prime256v1) only"
    );

    let good = key(KeyType::P256, 15);
    let prefix = &good.public_key().spki_der()[..23];
    let spki = |point: &[u8]| {
        let mut der = vec![0x30, (prefix.len() - 2 + 3 + point.len()) as u8];
        der.extend_from_slice(&prefix[2..]);
        der.extend_from_slice(&[0x03, (point.len() + 1) as u8, 0x00]);
        der.extend_from_slice(point);
        der
    };
    assert_eq!(
        PublicKey::from_spki_der(&spki(good.public_key().raw())).as_ref(),
        Ok(good.public_key()),
        "the helper rebuilds a valid key"
    );
    let mut compressed = vec![0x02 | (good.public_key().raw()[64] & 1)];
    compressed.extend_from_slice(&good.public_key().raw()[1..33]);
    let err = PublicKey::from_spki_der(&spki(&compressed)).unwrap_err();
    assert!(
        matches!(&err, KeyError::Malformed(m) if m.contains("compressed form")),
        "{err}"
    );
    let mut off_curve = good.public_key().raw().to_vec();
    off_curve[64] ^= 1;
    let err = PublicKey::from_spki_der(&spki(&off_curve)).unwrap_err();
    assert_eq!(
        err,
        KeyError::Malformed("P-256 public key is not a point on the curve".into())
    );

    // An RFC 5915 key whose parameters name P-384.
    let mut sec1 = vec![0x30, 0x3e, 0x02, 0x01, 0x01, 0x04, 0x30];
    sec1.extend_from_slice(&[0x01; 48]);
    sec1.extend_from_slice(&[0xa0, 0x07, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]);
    assert_eq!(
        PrivateKey::from_sec1_der(&sec1).unwrap_err(),
        KeyError::UnsupportedCurve("P-384, secp384r1 (1.3.132.0.34)".into())
    );
}

#[test]
fn ed25519_from_raw_and_fingerprint_agree_with_openssl() {
    // `openssl pkey -in client.key -pubout -outform DER`: its last 32 bytes, and the
    // SHA-256 of the whole DER.
    let raw = "e77e5060db3ac33b3e1ce741ce95b054a14abe2764c627a5118e39f3ebdd4f30";
    let openssl_fpr = "ade4c24967b35904e78a74d24aaf0042550bd4b71c627f7eecaaaa33d26832c1";
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(raw, &mut bytes).expect("hex");

    let from_raw = PublicKey::ed25519_from_raw(&bytes).expect("a point");
    let from_file = PrivateKey::from_pem(fixtures::ED25519.client_key).expect("fixture key");
    assert_eq!(&from_raw, from_file.public_key());
    assert_eq!(from_raw.raw(), bytes);
    assert_eq!(from_raw.fingerprint(), openssl_fpr);
    assert_eq!(pki::fingerprint(from_raw.spki_der()), openssl_fpr);
}

#[test]
fn ed25519_from_raw_refuses_what_is_not_a_point() {
    // y = 2 has no x on the curve (RFC 8032 §5.1.3 decoding fails).
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    assert!(matches!(
        PublicKey::ed25519_from_raw(&not_a_point),
        Err(KeyError::Malformed(_))
    ));
}
