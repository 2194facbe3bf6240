//! The "check it yourself" commands recompute what the handshake crate computes: each kind
//! of command is run with python3 and its output compared with the crate's own value.
//! Needs python3 with the `cryptography` package (`.ci/run` installs it).

use std::process::Command;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use handshake::SupportedSuite;
use handshake::key_schedule as kdf;
use harness::teach::check;

/// Runs a printed command through the shell, as a reader would paste it.
fn run(command: &str) -> String {
    let out = Command::new("bash")
        .args(["-c", command])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "`{command}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn hkdf_extract_and_expand_label_match_the_key_schedule() {
    let salt = [7u8; 32];
    let ikm = [9u8; 32];
    let prk = kdf::hkdf_extract(&salt, &ikm);
    assert_eq!(
        run(&check::hkdf_extract(&salt, &ikm)),
        hex::encode(prk.as_bytes())
    );

    let context = [0x42u8; 32];
    for (label, len) in [("c hs traffic", 32), ("key", 32), ("iv", 12), ("key", 16)] {
        let ours = kdf::hkdf_expand_label(&prk, label.as_bytes(), &context, len).expect("expand");
        let printed = check::hkdf_expand_label(prk.as_bytes(), label, &context, len);
        assert_eq!(run(&printed), hex::encode(&ours[..]), "{label}");
    }
    // The empty context of the "derived" and "finished" labels.
    let ours = kdf::hkdf_expand_label(&prk, b"finished", &[], 32).expect("expand");
    assert_eq!(
        run(&check::hkdf_expand_label(
            prk.as_bytes(),
            "finished",
            &[],
            32
        )),
        hex::encode(&ours[..])
    );
}

#[test]
fn hmac_and_sha256_match() {
    let base = kdf::hkdf_extract(&[1u8; 32], &[2u8; 32]);
    let hash = [3u8; 32];
    let verify = kdf::verify_data(&base, &hash);
    let finished_key = kdf::finished_key(&base);
    assert_eq!(
        run(&check::hmac_sha256(finished_key.as_bytes(), &hash)),
        hex::encode(verify)
    );
    use sha2::Digest;
    assert_eq!(
        run(&check::sha256(b"transcript")),
        hex::encode(sha2::Sha256::digest(b"transcript"))
    );
}

#[test]
fn x25519_and_p256_shared_secrets_match() {
    let a = x25519_dalek::StaticSecret::from([5u8; 32]);
    let b = x25519_dalek::StaticSecret::from([6u8; 32]);
    let b_pub = x25519_dalek::PublicKey::from(&b);
    let shared = a.diffie_hellman(&b_pub);
    assert_eq!(
        run(&check::x25519(&[5u8; 32], b_pub.as_bytes())),
        hex::encode(shared.as_bytes())
    );

    use p256::elliptic_curve::sec1::ToSec1Point;
    let a = p256::SecretKey::from_slice(&[5u8; 32]).expect("scalar");
    let b = p256::SecretKey::from_slice(&[6u8; 32]).expect("scalar");
    let b_point = b.public_key().to_sec1_point(false);
    let shared = p256::ecdh::diffie_hellman(a.to_nonzero_scalar(), b.public_key().as_affine());
    assert_eq!(
        run(&check::p256_ecdh(&[5u8; 32], b_point.as_bytes())),
        hex::encode(shared.raw_secret_bytes())
    );
}

#[test]
fn record_decryption_matches_for_chacha20_poly1305() {
    let key = [8u8; 32];
    let nonce = [9u8; 12];
    let aad = [0x17, 0x03, 0x03, 0x00, 0x16];
    let inner = b"hello\x17";
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(&key.into());
    let sealed = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: inner,
                aad: &aad,
            },
        )
        .expect("seal");
    let printed = check::aead_open(
        SupportedSuite::Chacha20Poly1305Sha256,
        &key,
        &nonce,
        &aad,
        &sealed,
    );
    assert_eq!(run(&printed), hex::encode(inner));
    // Wrapped to 60 columns, pasted back: the same command.
    let wrapped = check::wrap_command(&printed, 60, "    ").join("\n");
    assert_eq!(run(&wrapped), hex::encode(inner));
}

#[test]
fn record_decryption_matches_for_aes_128_gcm() {
    use aes_gcm::aead::{Aead as _, KeyInit as _};
    let key = [4u8; 16];
    let nonce = [5u8; 12];
    let aad = [0x17, 0x03, 0x03, 0x00, 0x17];
    let inner = b"finished\x16\x00";
    let cipher = aes_gcm::Aes128Gcm::new(&key.into());
    let sealed = cipher
        .encrypt(
            &nonce.into(),
            aes_gcm::aead::Payload {
                msg: inner,
                aad: &aad,
            },
        )
        .expect("seal");
    let printed = check::aead_open(SupportedSuite::Aes128GcmSha256, &key, &nonce, &aad, &sealed);
    assert_eq!(run(&printed), hex::encode(inner));
}
