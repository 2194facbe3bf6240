//! `keylab demo --path weak-psk` and `--path pake`: the code is cracked from the recorded
//! binder in one and not in the other, the figures are the run's own, and a seed repeats
//! everything but the measured rate.

mod support;

use std::time::Duration;

use support::{assert_fails, assert_ok, keylab, run_keylab, run_with_timeout};

fn demo(args: &[&str]) -> String {
    let mut cmd = keylab();
    cmd.arg("demo").args(args);
    assert_ok(&run_with_timeout(cmd, None, Duration::from_secs(120)))
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&demo(&[args, &["--json"]].concat())).expect("JSON")
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[test]
fn weak_psk_cracks_the_code_and_projects_longer_ones_from_the_measured_rate() {
    let v = json(&["--path", "weak-psk", "--seed", "4"]);
    let code = v["code"].as_str().expect("code");
    assert_eq!(code.len(), 6, "{v}");
    assert_eq!(v["psk"], sha256_hex(code), "the naive derivation");
    assert_eq!(v["crack"]["found"], code);
    let position = v["crack"]["position"].as_u64().expect("position");
    assert_eq!(position, code.parse::<u64>().expect("digits") + 1);
    assert_eq!(v["recorded"]["path"], "psk+dhe");
    let rate = v["crack"]["guesses_per_second"].as_f64().expect("rate");
    assert!(rate > 1000.0, "{v}");
    let projections = v["projections"].as_array().expect("projections");
    for (p, digits) in projections.iter().zip([8, 10, 12]) {
        assert_eq!(p[0], digits);
        let secs = p[1].as_f64().expect("seconds");
        let expected = 10f64.powi(digits) / rate;
        assert!(
            (secs - expected).abs() / expected < 1e-6,
            "{p} vs {expected}"
        );
    }

    // The text run with the same seed: the same code and binder, explained, with the
    // measured figures labelled as such.
    let text = demo(&["--path", "weak-psk", "--seed", "4"]);
    let binder = v["recorded"]["binder"].as_str().expect("binder");
    for needle in [
        format!("Two people agree on {code} face to face"),
        format!("binder       = {binder}"),
        format!("found {code} at position {position} of 1000000"),
        "measured on this machine: ".to_owned(),
        " 8 digits: ".to_owned(),
        "12 digits: ".to_owned(),
        "\"ext binder\"".to_owned(),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn pake_pairs_reproducibly_and_the_same_crack_finds_nothing() {
    let v = json(&["--path", "pake", "--seed", "4"]);
    assert!(v["crack"]["found"].is_null(), "{v}");
    assert_eq!(v["crack"]["guesses"], 1_000_000);
    let code = v["code"].as_str().expect("code");
    let psk = v["psk"].as_str().expect("psk");
    assert_eq!(psk.len(), 64);
    assert_ne!(psk, sha256_hex(code));
    // The SPAKE2 messages carry the side byte ('A' = 0x41, 'B' = 0x42) after the identity.
    let hello_a = v["hello_connector"].as_str().expect("hello");
    assert!(
        hello_a.starts_with("0c") && hello_a[26..].starts_with("41"),
        "{hello_a}"
    );
    let text = demo(&["--path", "pake", "--seed", "4"]);
    for needle in [
        &format!("Both sides type {code}."),
        &format!("= {psk}"),
        v["confirm_connector"].as_str().expect("confirm"),
        "found nothing: the key is not a function of the code alone.",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn the_face_to_face_paths_refuse_options_they_do_not_use() {
    let out = run_keylab(&["demo", "--path", "pake", "--explain"]);
    assert_fails(&out, 2, "they take --seed, --json and --key only");
}
