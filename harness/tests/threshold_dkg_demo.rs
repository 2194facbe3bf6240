//! `keylab demo --path threshold` and `keylab threshold dkg`: the demo's aggregate is a
//! plain Ed25519 signature, and key generation run by hand gives shares that sign.

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::{
    assert_ok, keylab, keylab_client, keylab_server, run_keylab, run_with_timeout, start_listening,
    stderr,
};

fn key_share_mode(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).expect("share").permissions().mode() & 0o777
}

#[test]
fn the_threshold_demo_is_reproducible_and_its_aggregate_is_an_ed25519_signature() {
    let first = assert_ok(&run_keylab(&["demo", "--path", "threshold", "--seed", "3"]));
    let again = assert_ok(&run_keylab(&["demo", "--path", "threshold", "--seed", "3"]));
    assert_eq!(first, again);
    assert!(
        first.contains("round 1       signer 1: commitments hiding "),
        "{first}"
    );
    assert!(
        first.contains("round 2       signer 3: signature share "),
        "{first}"
    );
    assert!(first.contains("handshake ok, path ephemeral-dh"), "{first}");
    let json = assert_ok(&run_keylab(&[
        "demo",
        "--path",
        "threshold",
        "--seed",
        "3",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let key = pki::PublicKey::from_pem(v["group_key"].as_str().expect("key")).expect("PEM");
    let raw: [u8; 32] = key.raw().try_into().expect("32 bytes");
    let mut message = vec![0x20; 64];
    message.extend_from_slice(b"TLS 1.3, server CertificateVerify\0");
    message.extend(hex::decode(v["transcript_hash"].as_str().expect("hash")).expect("hex"));
    let signature = hex::decode(v["signing"]["signature"].as_str().expect("sig")).expect("hex");
    let signature = ed25519_dalek::Signature::from_slice(&signature).expect("64 bytes");
    use ed25519_dalek::Verifier as _;
    ed25519_dalek::VerifyingKey::from_bytes(&raw)
        .expect("key")
        .verify(&message, &signature)
        .expect("the aggregate verifies as a plain Ed25519 signature");
    assert_eq!(v["signing"]["rounds"].as_array().map(Vec::len), Some(2));
    let other = assert_ok(&run_keylab(&["demo", "--path", "threshold", "--seed", "4"]));
    assert_ne!(first, other);
    let out = run_keylab(&["demo", "--path", "threshold", "--key", "rsa"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// `keylab threshold dkg` as three machines would run it, the files carried between them;
/// the shares then sign a handshake.
#[test]
fn dkg_by_hand_gives_shares_that_sign() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |rel: &str| dir.path().join(rel).to_str().expect("utf-8").to_owned();
    for i in ["1", "2", "3"] {
        let (state, out) = (p(&format!("state-{i}.json")), p(&format!("r1-{i}.json")));
        assert_ok(&run_keylab(&[
            "threshold",
            "dkg",
            "round1",
            "--participant",
            i,
            "--threshold",
            "2",
            "--signers",
            "3",
            "--state",
            &state,
            "--out",
            &out,
        ]));
        assert_eq!(key_share_mode(&state), 0o600);
    }
    let round1: Vec<String> = ["1", "2", "3"]
        .iter()
        .map(|i| p(&format!("r1-{i}.json")))
        .collect();
    for i in ["1", "2", "3"] {
        let state = p(&format!("state-{i}.json"));
        let mut args = vec!["threshold", "dkg", "round2", "--state", &state];
        let out_dir = p("r2");
        args.extend(["--out-dir", &out_dir]);
        args.extend(round1.iter().map(String::as_str));
        assert_ok(&run_keylab(&args));
    }
    let mut keys = Vec::new();
    for i in ["1", "2", "3"] {
        let (state, share) = (p(&format!("state-{i}.json")), p(&format!("share-{i}.json")));
        let mut args = vec![
            "threshold",
            "dkg",
            "finish",
            "--state",
            &state,
            "--out",
            &share,
        ];
        args.push("--round1");
        args.extend(round1.iter().map(String::as_str));
        let mine: Vec<String> = ["1", "2", "3"]
            .iter()
            .filter(|j| *j != &i)
            .map(|j| p(&format!("r2/round2-from-{j}-to-{i}.json")))
            .collect();
        args.push("--round2");
        args.extend(mine.iter().map(String::as_str));
        if i == "2" {
            // A package meant for another participant is refused.
            let wrong = p("r2/round2-from-1-to-3.json");
            let mut bad = args.clone();
            bad.push(&wrong);
            let out = run_keylab(&bad);
            assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
            assert!(stderr(&out).contains("not a round 2 package for participant 2"));
        }
        keys.push(assert_ok(&run_keylab(&args)));
        assert_eq!(key_share_mode(&share), 0o600);
    }
    assert!(
        keys.iter()
            .all(|k| *k == keys[0] && k.starts_with("-----BEGIN PUBLIC KEY"))
    );
    std::fs::write(p("group.pem"), &keys[0]).expect("write");
    let ca = p("ca");
    assert_ok(&run_keylab(&["pki", "init", "--out", &ca]));
    let (ca_cert, ca_key, group, server) =
        (p("ca/ca.pem"), p("ca/ca.key"), p("group.pem"), p("server"));
    assert_ok(&run_keylab(&[
        "pki",
        "issue",
        "--ca-cert",
        &ca_cert,
        "--ca-key",
        &ca_key,
        "--server",
        "localhost",
        "--public-key",
        &group,
        "--out",
        &server,
    ]));
    let signer = |i: &str| {
        let mut cmd = keylab();
        cmd.args([
            "threshold",
            "signer",
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
        ])
        .args(["--key-share", &p(&format!("share-{i}.json"))])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
        let (running, addr) = start_listening(cmd);
        (running, format!("http://{addr}"))
    };
    let (_s1, u1) = signer("1");
    let (_s3, u3) = signer("3");
    let cert = p("server.pem");
    let (_server, addr, _log) = keylab_server(&[
        "--cert",
        &cert,
        "--threshold-signers",
        &format!("{u1},{u3}"),
        "--threshold",
        "2",
    ]);
    let mut cmd = keylab_client(&addr);
    cmd.args(["--ca", &ca_cert, "--send", "hi"]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
}
