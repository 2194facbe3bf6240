//! Keys: generation from a seed, PKCS#8 / SPKI round trips, signatures.

use pki::{KeyError, KeyType, PrivateKey, PublicKey, SignatureAlgorithm};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const ALL: [KeyType; 3] = [KeyType::Ed25519, KeyType::Rsa2048, KeyType::Rsa3072];

fn key(kt: KeyType, seed: u64) -> PrivateKey {
    PrivateKey::generate(kt, &mut ChaCha20Rng::seed_from_u64(seed)).expect("generate")
}

#[test]
fn same_seed_same_key_other_seed_other_key() {
    for kt in [KeyType::Ed25519, KeyType::Rsa2048] {
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
        (fixtures::bad::LEAF_KEY, "ed25519"),
    ] {
        let k = PrivateKey::from_pem(pem).expect("fixture key");
        assert_eq!(k.public_key().algorithm_name(), name);
    }
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
