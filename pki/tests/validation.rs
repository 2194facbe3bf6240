//! Path validation: good chains from the fixtures and fresh issues, and every negative
//! fixture rejected with its own error and the detail a person needs.

use pki::{
    CertSignature, Certificate, CertificateRequest, IssueError, KeyType, PathRequest, PrivateKey,
    Profile, PublicKey, Purpose, SignatureAlgorithm, ValidPath, ValidationError,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use time::OffsetDateTime;
use time::macros::datetime;

const CHECK_AT: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);
/// The validity of certificates issued by the tests.
const FROM: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);
const TO: OffsetDateTime = datetime!(2028-01-01 0:00 UTC);

fn certs(pem: &str) -> Vec<Certificate> {
    Certificate::from_pem_bundle(pem).expect("parse chain")
}

/// Validates the first certificate of `chain_pem`, the rest as intermediates.
fn validate(
    chain_pem: &str,
    root_pem: &str,
    purpose: Purpose,
    name: Option<&str>,
) -> Result<Vec<String>, ValidationError> {
    let chain = certs(chain_pem);
    verify(&chain, &certs(root_pem), CHECK_AT, purpose, name).map(|p| p.subjects())
}

/// A server chain that ends at `issuer`, a root `root_pem` does not hold.
fn assert_unknown_root(chain_pem: &str, root_pem: &str, issuer: &str) {
    assert_eq!(
        validate(chain_pem, root_pem, Purpose::Server, None),
        Err(ValidationError::UnknownIssuer {
            issuer: issuer.into()
        })
    );
}

/// Validates `chain[0]` with the rest of `chain` as intermediates.
fn verify(
    chain: &[Certificate],
    anchors: &[Certificate],
    time: OffsetDateTime,
    purpose: Purpose,
    name: Option<&str>,
) -> Result<ValidPath, ValidationError> {
    pki::verify_path(&PathRequest {
        leaf: &chain[0],
        intermediates: &chain[1..],
        anchors,
        time,
        purpose,
        name,
    })
}

/// A request for `subject` with `profile`, valid from [`FROM`] to [`TO`].
fn request(subject: &str, profile: Profile) -> CertificateRequest {
    CertificateRequest::new(subject, profile, FROM, TO)
}

/// `key`'s certificate for `subject` and `profile`, issued by `ca` with `ca_key`.
fn issue(
    subject: &str,
    profile: Profile,
    key: &PublicKey,
    (ca, ca_key): (&Certificate, &PrivateKey),
    rng: &mut ChaCha20Rng,
) -> Certificate {
    pki::issue::issue(&request(subject, profile), key, ca, ca_key, rng).expect(subject)
}

#[test]
fn fixture_chains_validate_for_their_purpose_and_names() {
    for h in [fixtures::ED25519, fixtures::RSA, fixtures::P256] {
        let root_cn = match h.key_type {
            "rsa2048" => "rsa",
            other => other,
        };
        for name in ["localhost", "LOCALHOST", "127.0.0.1", "::1"] {
            let path = validate(h.server_chain, h.root, Purpose::Server, Some(name)).expect(name);
            assert_eq!(
                path,
                [
                    "CN=localhost".to_owned(),
                    format!("CN=keylab {root_cn} Intermediate CA"),
                    format!("CN=keylab {root_cn} Root CA"),
                ]
            );
        }
        let path = validate(h.client_chain, h.root, Purpose::Client, None).expect("client");
        assert_eq!(path[0], "CN=alice");
    }
}

#[test]
fn purposes_are_not_interchangeable() {
    let h = fixtures::ED25519;
    let err = validate(h.client_chain, h.root, Purpose::Server, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "wrong extended key usage: CN=alice is for [clientAuth], needed serverAuth"
    );
    let err = validate(h.server_chain, h.root, Purpose::Client, None).unwrap_err();
    assert!(
        matches!(
            err,
            ValidationError::WrongExtendedKeyUsage {
                needed: Purpose::Client,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_chain_does_not_validate_against_the_other_hierarchy() {
    assert_unknown_root(
        fixtures::RSA.server_chain,
        fixtures::ED25519.root,
        "CN=keylab rsa Root CA",
    );
}

#[test]
fn missing_intermediate_is_unknown_issuer() {
    let chain = certs(fixtures::ED25519.server_chain);
    let anchors = certs(fixtures::ED25519.root);
    let err = pki::verify_path(&PathRequest {
        leaf: &chain[0],
        intermediates: &[],
        anchors: &anchors,
        time: CHECK_AT,
        purpose: Purpose::Server,
        name: None,
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown issuer: CN=keylab ed25519 Intermediate CA"
    );
}

#[test]
fn negative_fixtures_fail_with_their_own_error() {
    use fixtures::bad;
    let root = fixtures::ED25519.root;
    let server = |pem| validate(pem, root, Purpose::Server, Some("localhost")).unwrap_err();

    for (pem, message) in [
        (
            bad::EXPIRED,
            "certificate expired: notAfter 2021-01-01T00:00:00Z, checked at 2026-11-28T12:00:00Z (CN=expired.localhost)",
        ),
        (
            bad::NOT_YET_VALID,
            "certificate not yet valid: notBefore 2070-01-01T00:00:00Z, checked at 2026-11-28T12:00:00Z (CN=future.localhost)",
        ),
        (
            bad::WRONG_EKU,
            "wrong extended key usage: CN=wrong-eku.localhost is for [clientAuth], needed serverAuth",
        ),
        (
            bad::NAME_MISMATCH,
            "name mismatch: expected localhost, certificate is valid for [a.example, 10.0.0.1]",
        ),
        (bad::UNKNOWN_ISSUER, "unknown issuer: CN=Other Root"),
        (
            bad::BAD_SIGNATURE,
            "bad signature on CN=localhost (issuer CN=keylab ed25519 Intermediate CA, algorithm ed25519)",
        ),
        (
            bad::UNKNOWN_CRITICAL_EXTENSION,
            "unknown critical extension 1.3.6.1.4.1.55555.1 in CN=critical.localhost",
        ),
    ] {
        assert_eq!(server(pem).to_string(), message);
    }
    assert_eq!(
        validate(bad::CLIENT_UNKNOWN_ISSUER, root, Purpose::Client, None).unwrap_err(),
        ValidationError::UnknownIssuer {
            issuer: "CN=Other Root".into()
        }
    );
    assert_eq!(
        server(bad::ISSUER_NOT_CA),
        ValidationError::IssuerNotCa {
            issuer: "CN=not-a-ca.localhost".into(),
            subject: "CN=localhost".into()
        }
    );
    assert_eq!(
        server(bad::PATHLEN_EXCEEDED),
        ValidationError::PathLenExceeded {
            issuer: "CN=Constrained CA".into(),
            allowed: 0,
            found: 1
        }
    );
}

#[test]
fn p256_chains_carry_ecdsa_with_sha256_and_a_flipped_bit_is_a_bad_signature() {
    let h = fixtures::P256;
    let chain = certs(h.server_chain);
    for cert in chain.iter().chain(&certs(h.root)) {
        assert_eq!(
            cert.signature_algorithm(),
            &CertSignature::Supported(SignatureAlgorithm::EcdsaP256Sha256),
            "{}",
            cert.subject()
        );
        assert!(cert.public_key().expect("P-256 key").is_p256());
    }
    let mut der = chain[0].der().to_vec();
    if let Some(last) = der.last_mut() {
        *last ^= 0x01; // the signature BIT STRING ends the certificate
    }
    let tampered = Certificate::from_der(&der).expect("still parses");
    let err = pki::verify_path(&PathRequest {
        leaf: &tampered,
        intermediates: &chain[1..],
        anchors: &certs(h.root),
        time: CHECK_AT,
        purpose: Purpose::Server,
        name: Some("localhost"),
    })
    .unwrap_err();
    assert_eq!(
        err,
        ValidationError::BadSignature {
            subject: "CN=localhost".into(),
            issuer: "CN=keylab p256 Intermediate CA".into(),
            algorithm: "ecdsa-with-SHA256".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "bad signature on CN=localhost (issuer CN=keylab p256 Intermediate CA, algorithm ecdsa-with-SHA256)"
    );
    // The other hierarchies' roots do not anchor it.
    assert_unknown_root(
        h.server_chain,
        fixtures::ED25519.root,
        "CN=keylab p256 Root CA",
    );
}

/// Every key type under a CA of every key type: the CA's key decides the signature.
#[test]
fn any_key_type_is_issued_under_any_ca_type() {
    let types = [KeyType::Ed25519, KeyType::Rsa2048, KeyType::P256];
    let (from, to) = (
        datetime!(2026-01-01 0:00 UTC),
        datetime!(2028-01-01 0:00 UTC),
    );
    let mut rng = ChaCha20Rng::seed_from_u64(100);
    for ca_type in types {
        let signature = match ca_type {
            KeyType::Ed25519 => SignatureAlgorithm::Ed25519,
            KeyType::P256 => SignatureAlgorithm::EcdsaP256Sha256,
            _ => SignatureAlgorithm::RsaPkcs1Sha256,
        };
        let ca_key = PrivateKey::generate(ca_type, &mut rng).expect("key");
        let ca = pki::issue::self_signed(
            &CertificateRequest::new("Mixed Root", Profile::Root { path_len: None }, from, to),
            &ca_key,
            &mut rng,
        )
        .expect("root");
        for leaf_type in types {
            let leaf_key = PrivateKey::generate(leaf_type, &mut rng).expect("key");
            let leaf = pki::issue::issue(
                &CertificateRequest::new(
                    "localhost",
                    Profile::Server {
                        names: vec!["localhost".into()],
                    },
                    from,
                    to,
                ),
                leaf_key.public_key(),
                &ca,
                &ca_key,
                &mut rng,
            )
            .unwrap_or_else(|e| panic!("{leaf_type} under {ca_type}: {e}"));
            assert_eq!(
                leaf.signature_algorithm(),
                &CertSignature::Supported(signature),
                "{leaf_type} under {ca_type}"
            );
            assert_eq!(leaf.public_key(), Ok(leaf_key.public_key()));
            pki::verify_path(&PathRequest {
                leaf: &leaf,
                intermediates: &[],
                anchors: std::slice::from_ref(&ca),
                time: datetime!(2027-01-01 0:00 UTC),
                purpose: Purpose::Server,
                name: Some("localhost"),
            })
            .unwrap_or_else(|e| panic!("{leaf_type} under {ca_type}: {e}"));
        }
    }
}

#[test]
fn name_mismatch_also_for_ip_and_other_names() {
    let h = fixtures::ED25519;
    let err = validate(h.server_chain, h.root, Purpose::Server, Some("10.0.0.1")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "name mismatch: expected 10.0.0.1, certificate is valid for [localhost, 127.0.0.1, ::1]"
    );
    // Neither a name outside the SANs nor an IP close to one of them matches.
    for other in ["example.com", "127.0.0.2"] {
        let err = validate(h.server_chain, h.root, Purpose::Server, Some(other)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "name mismatch: expected {other}, certificate is valid for [localhost, 127.0.0.1, ::1]"
            )
        );
    }
}

#[test]
fn validity_is_checked_on_every_certificate_including_the_anchor() {
    let h = fixtures::ED25519;
    let chain = certs(h.server_chain);
    let anchors = certs(h.root);
    for (at, want_expired) in [
        (datetime!(2075-01-02 0:00 UTC), true),
        (datetime!(2024-12-31 0:00 UTC), false),
    ] {
        let err = verify(&chain, &anchors, at, Purpose::Server, None).unwrap_err();
        assert_eq!(
            matches!(err, ValidationError::Expired { .. }),
            want_expired,
            "{err}"
        );
    }
}

#[test]
fn no_anchors_is_an_error() {
    let chain = certs(fixtures::ED25519.server_chain);
    let err = verify(&chain, &[], CHECK_AT, Purpose::Server, None).unwrap_err();
    assert_eq!(err, ValidationError::NoTrustAnchors);
}

/// Issue → parse → verify for every key type and role, and byte-identical reissue.
#[test]
fn issue_parse_verify_round_trip_for_every_key_type() {
    for kt in [
        KeyType::Ed25519,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::P256,
    ] {
        let make = || {
            let mut rng = ChaCha20Rng::seed_from_u64(99);
            let root_key = PrivateKey::generate(kt, &mut rng).expect("key");
            let root_req = request("Round Trip Root", Profile::Root { path_len: Some(1) });
            let root = pki::issue::self_signed(&root_req, &root_key, &mut rng).expect("root");
            let int_key = PrivateKey::generate(kt, &mut rng).expect("key");
            let int = issue(
                "Round Trip Int",
                Profile::Intermediate { path_len: Some(0) },
                int_key.public_key(),
                (&root, &root_key),
                &mut rng,
            );
            let leaf_key = PrivateKey::generate(kt, &mut rng).expect("key");
            let names = vec!["*.example.test".into(), "192.0.2.7".into()];
            let server = issue(
                "srv",
                Profile::Server { names },
                leaf_key.public_key(),
                (&int, &int_key),
                &mut rng,
            );
            let email = Some("bob@example.test".into());
            let client = issue(
                "bob",
                Profile::Client { email },
                leaf_key.public_key(),
                (&int, &int_key),
                &mut rng,
            );
            (root, int, server, client)
        };
        let (root, int, server, client) = make();
        let again = make();
        assert_eq!(
            server.der(),
            again.2.der(),
            "{kt}: same seed and times must give the same bytes"
        );
        assert_eq!(root.der(), again.0.der());

        // Parsed fields.
        assert!(root.is_ca() && int.is_ca() && !server.is_ca());
        assert_eq!(int.basic_constraints().and_then(|b| b.path_len), Some(0));
        assert_eq!(server.authority_key_id(), int.subject_key_id());
        assert_eq!(int.authority_key_id(), root.subject_key_id());
        assert_eq!(root.authority_key_id(), root.subject_key_id());
        assert_eq!(client.subject().common_name(), Some("bob"));
        assert_eq!(server.serial().len(), 16);

        let pem: String = [&server, &int].iter().map(|c| c.to_pem()).collect();
        let reparsed = Certificate::from_pem_bundle(&pem).expect("bundle");
        assert_eq!(reparsed, vec![server.clone(), int.clone()]);

        let at = datetime!(2027-01-01 0:00 UTC);
        for (leaf, purpose, name) in [
            (&server, Purpose::Server, Some("www.example.test")),
            (&server, Purpose::Server, Some("192.0.2.7")),
            (&client, Purpose::Client, None),
        ] {
            let chain = [leaf.clone(), int.clone()];
            let path = verify(&chain, std::slice::from_ref(&root), at, purpose, name)
                .unwrap_or_else(|e| panic!("{kt} {purpose}: {e}"));
            assert_eq!(path.chain.len(), 3);
            assert_eq!(path.anchor().der(), root.der());
        }
    }
}

#[test]
fn issuing_refuses_bad_requests() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let key = PrivateKey::generate(KeyType::Ed25519, &mut rng).expect("key");
    let other = PrivateKey::generate(KeyType::Ed25519, &mut rng).expect("key");
    let root = pki::issue::self_signed(
        &request("R", Profile::Root { path_len: None }),
        &key,
        &mut rng,
    )
    .expect("root");
    let req = request(
        "x",
        Profile::Server {
            names: vec!["x.test".into()],
        },
    );
    let err = pki::issue::issue(&req, key.public_key(), &root, &other, &mut rng).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("CA key does not match CA certificate CN=R"),
        "{err}"
    );

    let bad_name = request(
        "x",
        Profile::Server {
            names: vec!["bad name!".into()],
        },
    );
    assert!(matches!(
        pki::issue::issue(&bad_name, key.public_key(), &root, &key, &mut rng),
        Err(IssueError::InvalidName { name, .. }) if name == "bad name!"
    ));
    let backwards = CertificateRequest::new("x", Profile::Root { path_len: None }, TO, FROM);
    assert_eq!(
        pki::issue::self_signed(&backwards, &key, &mut rng).unwrap_err(),
        IssueError::EmptyValidity {
            not_before: "2028-01-01T00:00:00Z".into(),
            not_after: "2026-01-01T00:00:00Z".into(),
        }
    );

    let leaf = pki::issue::issue(&req, other.public_key(), &root, &key, &mut rng).expect("leaf");
    let err = pki::issue::issue(&req, key.public_key(), &leaf, &other, &mut rng).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CN=x is not a CA certificate (basicConstraints CA:TRUE missing)"
    );
}

/// Many intermediates with one name and one key make every ordering a candidate path; the
/// search gives up after a fixed number of checks instead of trying them all.
#[test]
fn path_building_has_a_budget() {
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let key = PrivateKey::generate(KeyType::Ed25519, &mut rng).expect("key");
    let looping = request("Loop CA", Profile::Intermediate { path_len: None });
    let first = pki::issue::self_signed(&looping, &key, &mut rng).expect("first");
    let intermediates: Vec<Certificate> = std::iter::once(first.clone())
        .chain((0..11).map(|_| {
            pki::issue::issue(&looping, key.public_key(), &first, &key, &mut rng).expect("loop")
        }))
        .collect();
    let names = vec!["victim.test".into()];
    let leaf = issue(
        "victim",
        Profile::Server { names },
        key.public_key(),
        (&first, &key),
        &mut rng,
    );
    let chain: Vec<Certificate> = std::iter::once(leaf).chain(intermediates).collect();
    let anchors = certs(fixtures::ED25519.root);
    let started = std::time::Instant::now();
    let at = datetime!(2027-01-01 0:00 UTC);
    let err = verify(&chain, &anchors, at, Purpose::Server, None).unwrap_err();
    assert_eq!(
        err,
        ValidationError::SearchBudgetExhausted {
            checks: pki::MAX_SIGNATURE_CHECKS
        }
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
