//! Cross-checks with the OpenSSL command line: OpenSSL accepts what keylab issues, and
//! keylab's validator agrees with OpenSSL on chains OpenSSL makes.
//!
//! Without an `openssl` binary these tests print why and pass, except under `CI=true`,
//! where a missing OpenSSL is a failure.

mod support;

use std::fs;

use pki::{
    Certificate, KeyType, PathRequest, PrivateKey, Purpose, SignatureAlgorithm, ValidationError,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use support::{
    check, fixtures_dir, have_openssl, load, openssl, openssl_hierarchy, openssl_ok,
    openssl_workdir,
};
use time::{Duration, OffsetDateTime};

#[test]
fn openssl_accepts_our_chains_strictly() {
    if !have_openssl() {
        return;
    }
    let dir = fixtures_dir();
    for h in ["ed25519", "rsa", "p256"] {
        for (leaf, purpose) in [("server.pem", "sslserver"), ("client.pem", "sslclient")] {
            let out = openssl_ok(
                dir,
                &[
                    "verify",
                    "-x509_strict",
                    "-purpose",
                    purpose,
                    "-CAfile",
                    &format!("{h}/root.pem"),
                    "-untrusted",
                    &format!("{h}/intermediate.pem"),
                    &format!("{h}/{leaf}"),
                ],
            );
            assert!(out.contains(": OK"), "{out}");
        }
    }
}

#[test]
fn openssl_parses_every_certificate_and_key() {
    if !have_openssl() {
        return;
    }
    let dir = fixtures_dir();
    let mut certs = 0;
    let mut keys = 0;
    for sub in ["ed25519", "rsa", "p256", "bad"] {
        let mut entries: Vec<_> = fs::read_dir(dir.join(sub))
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let rel = format!(
                "{sub}/{}",
                path.file_name().and_then(|n| n.to_str()).expect("name")
            );
            if rel.ends_with(".pem") {
                // Every certificate of the file, not only the first.
                for (i, cert) in
                    Certificate::from_pem_bundle(&fs::read_to_string(&path).expect("read"))
                        .expect("our parser")
                        .iter()
                        .enumerate()
                {
                    let tmp = tempfile::NamedTempFile::new().expect("tmp");
                    fs::write(tmp.path(), cert.to_pem()).expect("write");
                    let text = openssl_ok(
                        dir,
                        &[
                            "x509",
                            "-noout",
                            "-text",
                            "-in",
                            &tmp.path().display().to_string(),
                        ],
                    );
                    assert!(text.contains("Version: 3"), "{rel}[{i}]: {text}");
                    certs += 1;
                }
            } else if rel.ends_with(".key") {
                openssl_ok(dir, &["pkey", "-noout", "-in", &rel]);
                if sub == "p256" {
                    let out = openssl_ok(dir, &["ec", "-noout", "-check", "-in", &rel]);
                    assert!(out.contains("EC Key valid"), "{rel}: {out}");
                }
                keys += 1;
            }
        }
    }
    assert!(
        certs >= 31 && keys >= 13,
        "checked {certs} certificates and {keys} keys"
    );
}

#[test]
fn openssl_rejects_our_negative_fixtures() {
    if !have_openssl() {
        return;
    }
    let dir = fixtures_dir();
    for (file, reason) in [
        ("expired", "certificate has expired"),
        ("not-yet-valid", "certificate is not yet valid"),
        ("bad-signature", "signature failure"),
        ("unknown-issuer", "unable to get local issuer certificate"),
        ("unknown-critical-extension", "unhandled critical extension"),
        ("pathlen-exceeded", "path length constraint exceeded"),
        ("wrong-eku", "unsuitable certificate purpose"),
    ] {
        let (ok, text) = openssl(
            dir,
            &[
                "verify",
                "-x509_strict",
                "-purpose",
                "sslserver",
                "-CAfile",
                "ed25519/root.pem",
                "-untrusted",
                &format!("bad/{file}.pem"),
                &format!("bad/{file}.pem"),
            ],
        );
        assert!(!ok, "openssl accepted bad/{file}.pem");
        assert!(
            text.contains(reason),
            "bad/{file}.pem: expected {reason:?} in\n{text}"
        );
    }
}

#[test]
fn openssl_verifies_our_signatures_and_reads_our_public_keys() {
    let Some(dir) = openssl_workdir() else {
        return;
    };
    let d = dir.path();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    fs::write(d.join("msg"), b"signed by keylab").expect("write");
    for (kt, alg, extra) in [
        (
            KeyType::Ed25519,
            SignatureAlgorithm::Ed25519,
            vec!["pkeyutl", "-verify", "-rawin"],
        ),
        (
            KeyType::Rsa2048,
            SignatureAlgorithm::RSA_PSS_SHA256,
            vec![
                "dgst",
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
                "-verify",
            ],
        ),
        (
            KeyType::Rsa3072,
            SignatureAlgorithm::RsaPkcs1Sha256,
            vec!["dgst", "-sha256", "-verify"],
        ),
        (
            KeyType::P256,
            SignatureAlgorithm::EcdsaP256Sha256,
            vec!["dgst", "-sha256", "-verify"],
        ),
    ] {
        let key = PrivateKey::generate(kt, &mut rng).expect("key");
        fs::write(d.join("pub.pem"), key.public_key().to_pem()).expect("write");
        openssl_ok(d, &["pkey", "-pubin", "-noout", "-in", "pub.pem"]);
        fs::write(d.join("key.pem"), key.to_pem().expect("pem").as_bytes()).expect("write");
        openssl_ok(d, &["pkey", "-noout", "-in", "key.pem"]);
        let sig = key.sign(alg, b"signed by keylab", &mut rng).expect("sign");
        fs::write(d.join("sig"), &sig).expect("write");
        let mut args = extra.clone();
        if args[0] == "pkeyutl" {
            args.extend([
                "-pubin", "-inkey", "pub.pem", "-in", "msg", "-sigfile", "sig",
            ]);
        } else {
            args.extend(["pub.pem", "-signature", "sig", "msg"]);
        }
        let out = openssl_ok(d, &args);
        assert!(
            out.contains("Verified OK") || out.contains("Signature Verified Successfully"),
            "{kt}: {out}"
        );
    }
}

#[test]
fn we_accept_chains_openssl_makes_and_reject_bad_ones() {
    if !have_openssl() {
        return;
    }
    for alg in ["ed25519", "rsa", "rsa-pss", "p256"] {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        openssl_hierarchy(d, alg);
        // openssl dates certificates from the second it signs them.
        let now = OffsetDateTime::now_utc() + Duration::seconds(2);
        if alg == "p256" {
            let key = fs::read_to_string(d.join("server.key")).expect("key");
            assert!(
                key.contains("BEGIN EC PARAMETERS") && key.contains("BEGIN EC PRIVATE KEY"),
                "expected ecparam's RFC 5915 form:\n{key}"
            );
        }
        if alg == "rsa-pss" {
            let text = openssl_ok(d, &["x509", "-noout", "-text", "-in", "server.pem"]);
            assert!(
                text.contains("rsassaPss"),
                "expected a PSS-signed certificate:\n{text}"
            );
        }
        check(
            d,
            "server.pem",
            &[],
            Purpose::Server,
            Some("localhost"),
            now,
        )
        .unwrap_or_else(|e| panic!("{alg}: {e}"));
        check(
            d,
            "server.pem",
            &[],
            Purpose::Server,
            Some("127.0.0.1"),
            now,
        )
        .unwrap_or_else(|e| panic!("{alg}: {e}"));
        check(d, "client.pem", &[], Purpose::Client, None, now)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        // Keys openssl wrote load, and sign what their certificates verify.
        let key = PrivateKey::from_pem(&fs::read_to_string(d.join("server.key")).expect("key"))
            .expect("openssl key");
        assert_eq!(Ok(key.public_key()), load(d, "server.pem").public_key());

        // The bad ones, each with its reason.
        let err = check(
            d,
            "server.pem",
            &[],
            Purpose::Server,
            Some("localhost"),
            now + Duration::days(40),
        )
        .unwrap_err();
        assert!(
            matches!(err, ValidationError::Expired { .. }),
            "{alg}: {err}"
        );
        let err = check(
            d,
            "server.pem",
            &[],
            Purpose::Server,
            Some("example.org"),
            now,
        )
        .unwrap_err();
        assert!(
            matches!(err, ValidationError::NameMismatch { .. }),
            "{alg}: {err}"
        );
        let err = check(d, "client.pem", &[], Purpose::Server, None, now).unwrap_err();
        assert!(
            matches!(err, ValidationError::WrongExtendedKeyUsage { .. }),
            "{alg}: {err}"
        );
        let err = check(d, "victim.pem", &["notca.pem"], Purpose::Server, None, now).unwrap_err();
        assert!(
            matches!(err, ValidationError::IssuerNotCa { .. }),
            "{alg}: {err}"
        );
        // And OpenSSL agrees on the CA:FALSE issuer.
        let (ok, _) = openssl(
            d,
            &[
                "verify",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "int.pem",
                "-untrusted",
                "notca.pem",
                "victim.pem",
            ],
        );
        assert!(
            !ok,
            "{alg}: openssl accepted a chain through a CA:FALSE certificate"
        );
        // Against another hierarchy's root: unknown issuer.
        let err = pki::verify_path(&PathRequest {
            leaf: &load(d, "server.pem"),
            intermediates: &[load(d, "int.pem")],
            anchors: &Certificate::from_pem_bundle(fixtures::ED25519.root).expect("root"),
            time: now,
            purpose: Purpose::Server,
            name: None,
        })
        .unwrap_err();
        assert_eq!(
            err,
            ValidationError::UnknownIssuer {
                issuer: "CN=OpenSSL Root".into()
            },
            "{alg}"
        );
    }
}

/// A public key's PEM is byte for byte what `openssl pkey -pubout` writes, line endings
/// included, so the two can be compared with `diff`.
#[test]
fn public_key_pem_is_what_openssl_writes() {
    let Some(dir) = openssl_workdir() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for kind in [KeyType::Ed25519, KeyType::P256] {
        let key = PrivateKey::generate(kind, &mut rng).expect("key");
        fs::write(
            dir.path().join("k.pem"),
            key.to_pem().expect("pem").as_bytes(),
        )
        .expect("write");
        let ours = key.public_key().to_pem();
        let theirs = openssl_ok(dir.path(), &["pkey", "-in", "k.pem", "-pubout"]);
        assert_eq!(ours, theirs, "{kind:?}");
    }
}
