use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;

use super::*;
use crate::oid;

/// Every certificate among the fixtures, as DER.
fn fixture_ders() -> Vec<Vec<u8>> {
    let mut texts = Vec::new();
    for h in [fixtures::ED25519, fixtures::RSA, fixtures::P256] {
        texts.extend([h.root, h.intermediate, h.server_chain, h.client_chain]);
    }
    texts.extend([
        fixtures::bad::EXPIRED,
        fixtures::bad::WRONG_EKU,
        fixtures::bad::ISSUER_NOT_CA,
        fixtures::bad::NAME_MISMATCH,
        fixtures::bad::PATHLEN_EXCEEDED,
        fixtures::bad::UNKNOWN_CRITICAL_EXTENSION,
    ]);
    texts
        .iter()
        .flat_map(|text| pem::parse_many(text).expect("PEM"))
        .map(|block| block.contents().to_vec())
        .collect()
}

fn ed25519_leaf() -> Vec<u8> {
    let blocks = pem::parse_many(fixtures::ED25519.server_chain).expect("PEM");
    blocks[0].contents().to_vec()
}

/// What keylab reads agrees with x509-parser's full parse of the same certificate.
#[test]
fn reads_what_x509_parser_reads() {
    let ders = fixture_ders();
    assert!(ders.len() > 20, "{} certificates", ders.len());
    for der in &ders {
        let ours = Certificate::from_der(der).expect("parses");
        let (_, theirs) = X509Certificate::from_der(der).expect("x509-parser parses");
        let tbs = &theirs.tbs_certificate;
        assert_eq!(ours.tbs_der(), tbs.as_ref());
        assert_eq!(ours.signature(), theirs.signature_value.data.as_ref());
        assert_eq!(
            ours.signature_algorithm(),
            &super::super::signature_algorithm(&theirs.signature_algorithm)
        );
        assert_eq!(ours.version(), tbs.version.0 + 1);
        assert_eq!(ours.serial(), tbs.raw_serial());
        assert_eq!(ours.subject().der(), tbs.subject.as_raw());
        assert_eq!(ours.issuer().der(), tbs.issuer.as_raw());
        assert_eq!(ours.subject().to_string(), tbs.subject.to_string());
        assert_eq!(ours.not_before(), tbs.validity.not_before.to_datetime());
        assert_eq!(ours.not_after(), tbs.validity.not_after.to_datetime());
        let key = PublicKey::from_spki_der(tbs.subject_pki.raw).expect("key");
        assert_eq!(ours.public_key(), Ok(&key));
        compare_extensions(&ours, &theirs);
    }
}

fn compare_extensions(ours: &Certificate, theirs: &X509Certificate<'_>) {
    let mut criticals = 0;
    for ext in theirs.tbs_certificate.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                let want = BasicConstraints {
                    ca: bc.ca,
                    path_len: bc.path_len_constraint,
                };
                assert_eq!(ours.basic_constraints(), Some(want));
            }
            ParsedExtension::KeyUsage(ku) => {
                assert_eq!(ours.key_usage(), Some(KeyUsage(ku.flags)));
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let list = ours.extended_key_usage().expect("EKU");
                assert_eq!(
                    list.contains(&ExtendedKeyUsage::ServerAuth),
                    eku.server_auth
                );
                assert_eq!(
                    list.contains(&ExtendedKeyUsage::ClientAuth),
                    eku.client_auth
                );
                assert_eq!(list.contains(&ExtendedKeyUsage::Any), eku.any);
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                let want: Vec<_> = san.general_names.iter().map(alt_name).collect();
                assert_eq!(ours.subject_alt_names(), want.as_slice());
            }
            ParsedExtension::SubjectKeyIdentifier(id) => {
                assert_eq!(ours.subject_key_id(), Some(id.0));
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                let want = aki.key_identifier.as_ref().map(|id| id.0);
                assert_eq!(ours.authority_key_id(), want);
            }
            ParsedExtension::UnsupportedExtension { .. } if ext.critical => criticals += 1,
            _ => {}
        }
    }
    assert_eq!(ours.unknown_critical_extensions().len(), criticals);
}

#[test]
fn the_extensions_read_are_the_known_ones() {
    let mut cert = Certificate::from_der(&ed25519_leaf()).expect("leaf");
    let read: Vec<String> = (0..=u8::MAX)
        .filter(|n| read_extension(&mut cert, &[], *n, &[0x05, 0x00]) != Ok(false))
        .map(|n| format!("2.5.29.{n}"))
        .collect();
    let mut known: Vec<String> = oid::KNOWN_EXTENSIONS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    known.sort_by_key(|s| s.rsplit('.').next().and_then(|n| n.parse::<u8>().ok()));
    assert_eq!(read, known);
    let ed25519 = Oid::new(oid::ED25519_DER.into()).to_id_string();
    assert_eq!(ed25519, oid::ED25519);
    assert_eq!(&ED25519_ALGORITHM[4..], oid::ED25519_DER);
}

/// `der` with its first occurrence of `from` replaced by `to` (same length).
fn patched(der: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = der
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern in the DER");
    let mut out = der.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

fn malformed_text(der: &[u8]) -> String {
    match Certificate::from_der(der) {
        Err(ParseError::Malformed(why)) => why,
        other => panic!("expected a malformed certificate, got {other:?}"),
    }
}

#[test]
fn a_version_past_v3_is_refused() {
    // [0] EXPLICIT INTEGER 2 (v3) becomes 3.
    let der = patched(
        &ed25519_leaf(),
        &[0xa0, 0x03, 0x02, 0x01, 0x02],
        &[0xa0, 0x03, 0x02, 0x01, 0x03],
    );
    assert!(malformed_text(&der).contains("a version other than v1, v2, v3"));
}

#[test]
fn the_inner_signature_algorithm_must_match_the_outer() {
    // The first Ed25519 AlgorithmIdentifier is the TBSCertificate's; make it Ed448.
    let mut ed448 = ED25519_ALGORITHM;
    ed448[6] = 0x71;
    let der = patched(&ed25519_leaf(), &ED25519_ALGORITHM, &ed448);
    assert!(malformed_text(&der).contains("RFC 5280 §4.1.1.2"));
}

#[test]
fn trailing_bytes_and_truncation_are_told_apart() {
    let mut der = ed25519_leaf();
    assert!(malformed_text(&der[..der.len() - 1]).contains("ends early"));
    der.push(0);
    assert_eq!(Certificate::from_der(&der), Err(ParseError::TrailingData));
}

#[test]
fn an_extension_twice_or_a_known_one_malformed_is_refused() {
    use crate::issue::{CertificateRequest, ExtraExtension, Profile, self_signed};
    use crate::key::{KeyType, PrivateKey};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use time::macros::datetime;

    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let key = PrivateKey::generate(KeyType::Ed25519, &mut rng).expect("key");
    let issue = |extra: Vec<ExtraExtension>| {
        let mut request = CertificateRequest::new(
            "test",
            Profile::Server {
                names: vec!["localhost".into()],
            },
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2027-01-01 0:00 UTC),
        );
        request.extra_extensions = extra;
        self_signed(&request, &key, &mut ChaCha20Rng::seed_from_u64(2))
    };
    let private = ExtraExtension {
        oid: vec![1, 3, 6, 1, 4, 1, 55555, 1],
        critical: false,
        value: vec![0x05, 0x00],
    };
    let twice = issue(vec![private.clone(), private]).expect_err("duplicate");
    assert!(
        twice
            .to_string()
            .contains("1.3.6.1.4.1.55555.1 appears twice"),
        "{twice}"
    );
    let garbled = ExtraExtension {
        oid: vec![2, 5, 29, 30],
        critical: true,
        value: vec![0x05, 0x00],
    };
    let e = issue(vec![garbled]).expect_err("malformed nameConstraints");
    assert!(e.to_string().contains("extension 2.5.29.30"), "{e}");
}

/// An RDNSequence of one RDN per entry, each of (OID contents, string tag, value).
fn name_der(rdns: &[&[(&[u8], u8, &str)]]) -> Vec<u8> {
    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let len = u16::try_from(value.len()).expect("short");
        let mut out = match len {
            0..0x80 => vec![tag, len as u8],
            0x80..0x100 => vec![tag, 0x81, len as u8],
            _ => vec![tag, 0x82, (len >> 8) as u8, len as u8],
        };
        out.extend_from_slice(value);
        out
    }
    let mut sequence = Vec::new();
    for rdn in rdns {
        let mut set = Vec::new();
        for (oid, string_tag, value) in *rdn {
            let mut pair = tlv(tag::OID, oid);
            pair.extend(tlv(*string_tag, value.as_bytes()));
            set.extend(tlv(tag::SEQUENCE, &pair));
        }
        sequence.extend(tlv(tag::SET, &set));
    }
    tlv(tag::SEQUENCE, &sequence)
}

#[test]
fn names_print_as_x509_parser_prints_them() {
    use x509_parser::x509::X509Name;
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    const SERIAL: &[u8] = &[0x55, 0x04, 0x05];
    let cases: Vec<Vec<u8>> = vec![
        name_der(&[]),
        name_der(&[&[(CN, 0x0c, "alice")]]),
        name_der(&[&[(CN, 0x13, "x"), (O, 0x0c, "y")]]),
        name_der(&[
            &NAME_ATTRIBUTES.map(|(oid, _)| (oid, 0x0c, "v"))[..],
            &[(O, 0x13, "Example Ltd")],
            &[(CN, 0x16, "héllo")],
        ]),
        name_der(&[&[(SERIAL, 0x13, "1234")]]),
        name_der(&[&[(CN, 0x1e, "\0a")]]),
        name_der(&[&[(CN, 0x02, "\x01")]]),
    ];
    let mut quick = 0;
    for der in &cases {
        let (_, theirs) = X509Name::from_der(der).expect("x509-parser reads the name");
        if let Some(ours) = name_text(der) {
            quick += 1;
            assert_eq!(ours, theirs.to_string());
        }
    }
    assert_eq!(quick, 4, "the last three are left to x509-parser");
    for der in fixture_ders() {
        let cert = Certificate::from_der(&der).expect("parses");
        for name in [cert.subject(), cert.issuer()] {
            assert!(name_text(name.der()).is_some(), "{name}");
        }
    }
}

#[test]
fn extensions_seen_are_told_by_number_or_by_oid() {
    let mut seen = Seen::default();
    let (ski, aki, private) = (
        &[0x55, 0x1d, 14][..],
        &[0x55, 0x1d, 35][..],
        &[0x2b, 0x06][..],
    );
    assert!(seen.first_time(ski) && seen.first_time(aki) && seen.first_time(private));
    assert!(!seen.first_time(ski) && !seen.first_time(aki) && !seen.first_time(private));
    assert!(
        seen.first_time(&[0x55, 0x1d, 0x81, 0x00]),
        "an id-ce arc above 127"
    );
}

/// Any one byte of a certificate changed: read or refused, never a panic; and whatever
/// keylab reads here, x509-parser reads too (whether the two agree on what they read is
/// `reads_what_x509_parser_reads`' part, on unchanged certificates).
#[test]
fn every_changed_byte_is_read_or_refused() {
    let p256 = pem::parse_many(fixtures::P256.server_chain).expect("PEM")[0]
        .contents()
        .to_vec();
    let (mut read, mut refused) = (0, 0);
    for (leaf, at) in [ed25519_leaf(), p256]
        .iter()
        .flat_map(|leaf| (0..leaf.len()).map(move |at| (leaf, at)))
    {
        for mask in [0x01, 0x80, 0xff] {
            let mut der = leaf.clone();
            der[at] ^= mask;
            match Certificate::from_der(&der) {
                Ok(cert) => {
                    read += 1;
                    assert!(
                        X509Certificate::from_der(&der).is_ok(),
                        "byte {at} ^ {mask:#x}"
                    );
                    assert_eq!(cert.der(), der.as_slice());
                }
                Err(e) => {
                    refused += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
        }
    }
    assert!(read > 0 && refused > 0, "{read} read, {refused} refused");
}

#[test]
fn extended_key_usage_lists_each_purpose_once_in_order() {
    // SEQUENCE { clientAuth, 1.2.3, serverAuth, 1.2.3, 1.2.4, anyExtendedKeyUsage }
    let mut list = Vec::new();
    for oid in [
        &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02][..],
        &[0x2a, 0x03],
        &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01],
        &[0x2a, 0x03],
        &[0x2a, 0x04],
        &ANY_EKU,
    ] {
        list.extend([tag::OID, oid.len() as u8]);
        list.extend_from_slice(oid);
    }
    let mut value = vec![tag::SEQUENCE, list.len() as u8];
    value.extend(list);
    let eku = extended_key_usage(&value).expect("EKU");
    assert_eq!(
        eku,
        [
            ExtendedKeyUsage::ServerAuth,
            ExtendedKeyUsage::ClientAuth,
            ExtendedKeyUsage::Any,
            ExtendedKeyUsage::Other("1.2.3".into()),
            ExtendedKeyUsage::Other("1.2.4".into()),
        ]
    );
    assert!(
        extended_key_usage(&[0x30, 0x03, 0x06, 0x01, 0x81]).is_err(),
        "a bad OID"
    );
}

#[test]
fn critical_as_any_nonzero_byte_and_authority_key_id_fields_in_order() {
    // Extension { id 2.5.29.99, critical 01, OCTET STRING {} }
    let ext = [
        0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x63, 0x01, 0x01, 0x01, 0x04, 0x00,
    ];
    let (oid, critical, value) = extension(&mut Reader::new(&ext)).expect("extension");
    assert_eq!(
        (oid, critical, value),
        (&[0x55, 0x1d, 0x63][..], true, &[][..])
    );
    let key_id = [0x30, 0x04, 0x80, 0x02, 0xab, 0xcd];
    assert_eq!(authority_key_id(&key_id), Ok(Some(&[0xab, 0xcd][..])));
    // [2] serial before [1] issuer, and a stray field: both refused.
    let swapped = [0x30, 0x06, 0x82, 0x01, 0x05, 0xa1, 0x01, 0x00];
    assert!(authority_key_id(&swapped[..]).is_err());
    assert!(authority_key_id(&[0x30, 0x02, 0x04, 0x00]).is_err());
}

#[test]
fn key_usage_padding_bits_must_be_zero() {
    // digitalSignature and keyCertSign: 03 02 02 84 (bits 0 and 5, two unused).
    assert_eq!(
        key_usage(&[0x03, 0x02, 0x02, 0x84]),
        Ok(KeyUsage(0b10_0001))
    );
    assert!(
        key_usage(&[0x03, 0x02, 0x03, 0x84]).is_err(),
        "bit 5 is padding here"
    );
}
