//! The entry point of the `pki` fuzz target, shared with the replay test
//! (`tests/fuzz_seeds.rs`) that runs its corpus on stable. Not part of the API: hidden
//! from the docs and free to change.
//!
//! One input is tried two ways: as one DER certificate, validated against the caller's
//! trust anchors and intermediates at the fixed time [`NOW`] for both purposes; and, when
//! it is UTF-8, as a PEM bundle whose first certificate is validated with the rest as its
//! intermediates. Certificates and anchors come from the caller (the fuzz target and the
//! test take them from the `fixtures` crate).

use std::hint::black_box;

use time::OffsetDateTime;
use time::macros::datetime;

use crate::cert::Certificate;
use crate::error::{ParseError, Purpose};
use crate::verify::{PathRequest, check_name, verify_path};

/// The time certificates are validated at (inside the fixtures' validity).
pub const NOW: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

/// The name a server certificate is checked for.
pub const SERVER_NAME: &str = "localhost";

/// What validation may build on.
#[derive(Clone, Debug)]
pub struct Trust {
    /// Trust anchors.
    pub anchors: Vec<Certificate>,
    /// Intermediates offered to a DER leaf.
    pub intermediates: Vec<Certificate>,
}

impl Trust {
    /// Reads PEM anchors and intermediates (each text may hold several certificates).
    pub fn from_pem(anchors: &[&str], intermediates: &[&str]) -> Result<Self, ParseError> {
        let read = |texts: &[&str]| -> Result<Vec<Certificate>, ParseError> {
            let mut all = Vec::new();
            for text in texts {
                all.extend(Certificate::from_pem_bundle(text)?);
            }
            Ok(all)
        };
        Ok(Self {
            anchors: read(anchors)?,
            intermediates: read(intermediates)?,
        })
    }
}

/// What one run of [`certificate`] reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the input parsed as one DER certificate.
    pub der: bool,
    /// For how many purposes (server, client) that certificate validated.
    pub der_valid_for: usize,
    /// How many certificates the input held as a PEM bundle.
    pub pem_certificates: usize,
    /// For how many purposes the bundle's first certificate validated.
    pub pem_valid_for: usize,
}

/// Parses `input` as a DER certificate and as a PEM bundle and validates what parsed.
///
/// # Panics
///
/// When a certificate that parsed does not parse back to itself from its own PEM
/// encoding (`to_pem`), which is a property under test.
pub fn certificate(input: &[u8], trust: &Trust) -> Outcome {
    let mut outcome = Outcome::default();
    if let Ok(cert) = Certificate::from_der(input) {
        outcome.der = true;
        check_pem_round_trip(&cert);
        black_box(cert.summary());
        black_box(check_name(&cert, "127.0.0.1").is_ok());
        outcome.der_valid_for = validate(&cert, &trust.intermediates, &trust.anchors);
    }
    if let Ok(text) = std::str::from_utf8(input)
        && let Ok(certs) = Certificate::from_pem_bundle(text)
    {
        outcome.pem_certificates = certs.len();
        if let Some((leaf, rest)) = certs.split_first() {
            outcome.pem_valid_for = validate(leaf, rest, &trust.anchors);
        }
    }
    outcome
}

/// Validates `leaf` for both purposes; returns for how many it is valid.
fn validate(leaf: &Certificate, intermediates: &[Certificate], anchors: &[Certificate]) -> usize {
    [
        (Purpose::Server, Some(SERVER_NAME)),
        (Purpose::Client, None),
    ]
    .into_iter()
    .filter(|&(purpose, name)| {
        let result = verify_path(&PathRequest {
            leaf,
            intermediates,
            anchors,
            time: NOW,
            purpose,
            name,
        });
        // Rendering the error is part of what a caller does with it.
        result.map_err(|e| black_box(e.to_string())).is_ok()
    })
    .count()
}

fn check_pem_round_trip(cert: &Certificate) {
    match Certificate::from_pem_bundle(&cert.to_pem()) {
        Ok(again) => assert!(
            again.len() == 1 && again[0] == *cert,
            "{} does not parse back from its PEM encoding",
            cert.subject()
        ),
        Err(e) => panic!(
            "{} does not parse from its PEM encoding: {e}",
            cert.subject()
        ),
    }
}
