//! Replays the `pki` fuzz target's committed corpus on stable through the same entry point
//! (`pki::fuzzing::certificate`), so CI exercises it on every run:
//!
//! - `fuzz/seeds/pki/`: the fixtures' certificates as DER and as PEM chains; the test
//!   asserts the good ones validate (so the seeds reach the end of path validation).
//! - `fuzz/regressions/pki/`: inputs the fuzzer once found; they must run without a panic.
//!   The folder may be empty (a `.gitkeep` holds it in git), but it must exist.
//!
//! A missing folder, or an empty seeds folder, fails the tests: a replay over nothing
//! proves nothing. Each replay prints how many inputs it ran (`cargo test -- --nocapture`).
//!
//! The seeds are generated: a test fails when they differ from a fresh generation.
//! Regenerate them with `cargo test -p pki --test fuzz_seeds -- --ignored regenerate_seeds`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use pki::Certificate;
use pki::fuzzing::{self, Trust};

/// The fuzz target's trust: both hierarchies' roots and intermediates.
fn trust() -> Trust {
    Trust::from_pem(
        &[fixtures::ED25519.root, fixtures::RSA.root],
        &[fixtures::ED25519.intermediate, fixtures::RSA.intermediate],
    )
    .expect("fixture certificates")
}

fn seed_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join("pki")
}

/// Every input of `fuzz/<kind>/pki/`, by name; panics when the folder is missing. Dot
/// files (`.gitkeep`) and READMEs are not inputs.
fn files(kind: &str) -> BTreeMap<String, Vec<u8>> {
    let entries = fs::read_dir(seed_dir(kind))
        .unwrap_or_else(|e| panic!("fuzz/{kind}/pki cannot be read ({e}); it must exist"));
    let mut inputs = BTreeMap::new();
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name")
            .to_owned();
        if !name.starts_with('.') && !name.starts_with("README") {
            inputs.insert(name, fs::read(&path).expect("readable input"));
        }
    }
    inputs
}

/// Every seed: each fixture certificate as DER (`der-...`), and the leaf chains and
/// negative certificates as PEM (`pem-...`).
fn generate() -> BTreeMap<String, Vec<u8>> {
    let mut seeds = BTreeMap::new();
    for (h, name) in [(fixtures::ED25519, "ed25519"), (fixtures::RSA, "rsa")] {
        for (role, pem) in [
            ("root", h.root),
            ("intermediate", h.intermediate),
            ("server", h.server_chain),
            ("client", h.client_chain),
        ] {
            let first = Certificate::from_pem_bundle(pem).expect("fixture")[0].clone();
            seeds.insert(format!("der-{name}-{role}"), first.der().to_vec());
        }
        seeds.insert(format!("pem-{name}-server"), h.server_chain.into());
        seeds.insert(format!("pem-{name}-client"), h.client_chain.into());
    }
    use fixtures::bad;
    for (name, pem) in [
        ("expired", bad::EXPIRED),
        ("not-yet-valid", bad::NOT_YET_VALID),
        ("wrong-eku", bad::WRONG_EKU),
        ("issuer-not-ca", bad::ISSUER_NOT_CA),
        ("name-mismatch", bad::NAME_MISMATCH),
        ("unknown-issuer", bad::UNKNOWN_ISSUER),
        ("bad-signature", bad::BAD_SIGNATURE),
        ("pathlen-exceeded", bad::PATHLEN_EXCEEDED),
        (
            "unknown-critical-extension",
            bad::UNKNOWN_CRITICAL_EXTENSION,
        ),
    ] {
        seeds.insert(format!("pem-bad-{name}"), pem.into());
    }
    seeds
}

#[test]
fn seeds_parse_and_the_good_ones_validate() {
    let trust = trust();
    let seeds = files("seeds");
    assert!(!seeds.is_empty(), "no seeds in fuzz/seeds/pki");
    eprintln!("fuzz/seeds/pki (inputs: {})", seeds.len());
    for (name, input) in &seeds {
        let outcome = fuzzing::certificate(input, &trust);
        let expected = match name.as_str() {
            // A leaf is valid for its own purpose only; CA certificates are not valid
            // leaves (no digitalSignature key usage) and every negative one fails.
            n if n.ends_with("-server") || n.ends_with("-client") => 1,
            // A server name's certificate with only clientAuth: fine as a client's.
            "pem-bad-wrong-eku" => 1,
            _ => 0,
        };
        if name.starts_with("der-") {
            assert!(outcome.der, "{name} parses as DER");
            assert_eq!(outcome.der_valid_for, expected, "{name}: {outcome:?}");
        } else {
            assert!(outcome.pem_certificates >= 1, "{name} parses as PEM");
            assert_eq!(outcome.pem_valid_for, expected, "{name}: {outcome:?}");
        }
    }
}

#[test]
fn regression_inputs_run_without_panic() {
    let trust = trust();
    let inputs = files("regressions");
    eprintln!("fuzz/regressions/pki (inputs: {})", inputs.len());
    for (name, input) in inputs {
        eprintln!("replaying fuzz/regressions/pki/{name}");
        std::hint::black_box(fuzzing::certificate(&input, &trust));
    }
}

#[test]
fn committed_seeds_match_a_fresh_generation() {
    assert!(
        files("seeds") == generate(),
        "fuzz/seeds/pki is stale; regenerate: \
         cargo test -p pki --test fuzz_seeds -- --ignored regenerate_seeds"
    );
}

/// Writes `fuzz/seeds/pki/`, replacing what is there.
#[test]
#[ignore = "writes fuzz/seeds/pki; run on purpose after the fixtures change"]
fn regenerate_seeds() {
    let dir = seed_dir("seeds");
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("remove old seeds");
    }
    fs::create_dir_all(&dir).expect("create seed folder");
    for (name, bytes) in generate() {
        fs::write(dir.join(name), bytes).expect("write seed");
    }
}
