//! The command line of the algorithm choices: `--suites` and `--groups` refuse unknown
//! names with a usage error listing what is accepted, and `keylab demo --key` runs every
//! path with each embedded fixture set.

mod support;

use std::time::Duration;

use support::{keylab, run_with_timeout, text};

#[test]
fn unknown_suite_or_group_names_are_usage_errors() {
    for (args, message) in [
        (
            [
                "client",
                "--connect",
                "127.0.0.1:1",
                "--ca",
                "ca.pem",
                "--groups",
                "x25519:X448",
            ],
            "unknown group \"X448\"; accepted: X25519, P-256 (or prime256v1, secp256r1)",
        ),
        (
            [
                "server",
                "--listen",
                "127.0.0.1:0",
                "--cert",
                "c.pem",
                "--suites",
                "TLS_AES_256_GCM_SHA384",
            ],
            "unknown cipher suite \"TLS_AES_256_GCM_SHA384\"; accepted: \
             TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256",
        ),
    ] {
        let mut cmd = keylab();
        cmd.args(args);
        let out = run_with_timeout(cmd, None, Duration::from_secs(10));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
}

#[test]
fn demo_runs_every_path_with_each_fixture_set() {
    for (key, label, signature) in [
        (None, "Ed25519", "server signature ed25519"),
        (Some("ed25519"), "Ed25519", "server signature ed25519"),
        (
            Some("rsa"),
            "RSA-2048",
            "server signature rsa_pss_rsae_sha256",
        ),
        (
            Some("p256"),
            "ECDSA P-256",
            "server signature ecdsa_secp256r1_sha256",
        ),
    ] {
        let mut cmd = keylab();
        cmd.args(["demo", "--seed", "1"]);
        if let Some(key) = key {
            cmd.args(["--key", key]);
        }
        let out = run_with_timeout(cmd, None, Duration::from_secs(60));
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{key:?}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(
            stdout.starts_with(&format!(
                "keylab demo: TLS 1.3 over loopback; server CN=localhost ({label})"
            )),
            "{key:?}: {stdout}"
        );
        assert!(stdout.contains(signature), "{key:?}: {stdout}");
        let client_signature = signature.replace("server", "client");
        assert!(stdout.contains(&client_signature), "{key:?}: {stdout}");
        assert!(
            stdout.contains("ok: 6 of 6 runs succeeded"),
            "{key:?}: {stdout}"
        );
    }
}
