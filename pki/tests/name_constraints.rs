//! nameConstraints (RFC 5280 §4.2.1.10): issued as keylab's teach CA needs them, read
//! back by x509-parser, and enforced by path validation.

use pki::{
    Certificate, CertificateRequest, GeneralSubtree, KeyType, NameConstraints, PathRequest,
    PrivateKey, Profile, Purpose, ValidationError,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use time::macros::datetime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer as _;

const FROM: time::OffsetDateTime = datetime!(2025-01-01 0:00 UTC);
const TO: time::OffsetDateTime = datetime!(2035-01-01 0:00 UTC);

fn constrained_root(rng: &mut ChaCha20Rng) -> (Certificate, PrivateKey) {
    let key = PrivateKey::generate(KeyType::P256, rng).expect("key");
    let mut request =
        CertificateRequest::new("teach CA", Profile::Root { path_len: Some(0) }, FROM, TO);
    request.name_constraints = Some(NameConstraints::loopback_only());
    let cert = pki::issue::self_signed(&request, &key, rng).expect("root");
    (cert, key)
}

fn leaf(names: &[&str], ca: (&Certificate, &PrivateKey), rng: &mut ChaCha20Rng) -> Certificate {
    let key = PrivateKey::generate(KeyType::P256, rng).expect("key");
    let profile = Profile::Server {
        names: names.iter().map(|n| (*n).to_owned()).collect(),
    };
    let request = CertificateRequest::new("leaf", profile, FROM, TO);
    pki::issue::issue(&request, key.public_key(), ca.0, ca.1, rng).expect("leaf")
}

fn validate(leaf: &Certificate, anchor: &Certificate, name: &str) -> Result<(), ValidationError> {
    pki::verify_path(&PathRequest {
        leaf,
        intermediates: &[],
        anchors: std::slice::from_ref(anchor),
        time: datetime!(2026-06-01 0:00 UTC),
        purpose: Purpose::Server,
        name: Some(name),
    })
    .map(|_| ())
}

#[test]
fn issued_constraints_parse_back_critical_with_the_three_loopback_names() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (root, _) = constrained_root(&mut rng);
    let (_, x509) = x509_parser::certificate::X509Certificate::from_der(root.der()).expect("der");
    let ext = x509
        .tbs_certificate
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "2.5.29.30")
        .expect("a nameConstraints extension");
    assert!(ext.critical, "RFC 5280 §4.2.1.10: MUST be critical");
    let ParsedExtension::NameConstraints(nc) = ext.parsed_extension() else {
        panic!(
            "not parsed as nameConstraints: {:?}",
            ext.parsed_extension()
        );
    };
    assert!(nc.excluded_subtrees.is_none());
    let permitted: Vec<String> = nc
        .permitted_subtrees
        .as_ref()
        .expect("permitted subtrees")
        .iter()
        .map(|s| match &s.base {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::IPAddress(b) => format!("IP:{}", hex::encode(b)),
            other => format!("{other}"),
        })
        .collect();
    assert_eq!(
        permitted,
        [
            "DNS:localhost".to_owned(),
            "IP:7f000001ffffffff".to_owned(),
            format!("IP:{}{}", "0".repeat(31) + "1", "f".repeat(32)),
        ]
    );
    // keylab's own parser reads them back too, and knows the extension.
    assert_eq!(
        root.name_constraints(),
        Some(&NameConstraints::loopback_only())
    );
    assert!(root.unknown_critical_extensions().is_empty());
    assert!(
        root.summary()
            .contains("nameConstraints: permitted [DNS:localhost, IP:127.0.0.1/32, IP:::1/128]")
    );
}

#[test]
fn names_inside_the_constraints_validate() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (root, key) = constrained_root(&mut rng);
    let cert = leaf(&["localhost", "127.0.0.1", "::1"], (&root, &key), &mut rng);
    for name in ["localhost", "127.0.0.1", "::1"] {
        validate(&cert, &root, name).expect(name);
    }
    let below = leaf(&["app.localhost"], (&root, &key), &mut rng);
    validate(&below, &root, "app.localhost").expect("a name below localhost");
}

#[test]
fn a_name_outside_the_constraints_is_refused_even_when_asked_for_another() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (root, key) = constrained_root(&mut rng);
    let cert = leaf(&["localhost", "example.com"], (&root, &key), &mut rng);
    let err = validate(&cert, &root, "localhost").expect_err("example.com is not permitted");
    assert_eq!(
        err,
        ValidationError::NameNotPermitted {
            issuer: "CN=teach CA".into(),
            subject: "CN=leaf".into(),
            name: "DNS:example.com".into(),
        }
    );
    let ip = leaf(&["10.0.0.1"], (&root, &key), &mut rng);
    assert!(matches!(
        validate(&ip, &root, "10.0.0.1"),
        Err(ValidationError::NameNotPermitted { .. })
    ));
}

#[test]
fn constraints_bind_through_an_intermediate() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let root_key = PrivateKey::generate(KeyType::P256, &mut rng).expect("key");
    let mut request = CertificateRequest::new("root", Profile::Root { path_len: None }, FROM, TO);
    request.name_constraints = Some(NameConstraints {
        permitted: vec![GeneralSubtree::Dns("example.org".into())],
        excluded: vec![GeneralSubtree::Dns("secret.example.org".into())],
    });
    let root = pki::issue::self_signed(&request, &root_key, &mut rng).expect("root");
    let mid_key = PrivateKey::generate(KeyType::P256, &mut rng).expect("key");
    let mid = pki::issue::issue(
        &CertificateRequest::new("mid", Profile::Intermediate { path_len: None }, FROM, TO),
        mid_key.public_key(),
        &root,
        &root_key,
        &mut rng,
    )
    .expect("intermediate");
    let run = |names: &[&str], rng: &mut ChaCha20Rng| {
        let cert = leaf(names, (&mid, &mid_key), rng);
        pki::verify_path(&PathRequest {
            leaf: &cert,
            intermediates: std::slice::from_ref(&mid),
            anchors: std::slice::from_ref(&root),
            time: datetime!(2026-06-01 0:00 UTC),
            purpose: Purpose::Server,
            name: Some(names[0]),
        })
        .map(|_| ())
    };
    run(&["www.example.org"], &mut rng).expect("permitted");
    assert!(matches!(
        run(&["a.secret.example.org"], &mut rng),
        Err(ValidationError::NameNotPermitted { .. })
    ));
    assert!(matches!(
        run(&["example.net"], &mut rng),
        Err(ValidationError::NameNotPermitted { .. })
    ));
}

#[test]
fn constraints_on_a_leaf_profile_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let key = PrivateKey::generate(KeyType::P256, &mut rng).expect("key");
    let mut request = CertificateRequest::new(
        "leaf",
        Profile::Server {
            names: vec!["localhost".into()],
        },
        FROM,
        TO,
    );
    request.name_constraints = Some(NameConstraints::loopback_only());
    assert!(pki::issue::self_signed(&request, &key, &mut rng).is_err());
}
