//! Middlebox compatibility mode (RFC 8446 Appendix D.4) against OpenSSL, which uses it by
//! default: each side's change_cipher_spec records, as OpenSSL's `-msg` trace shows them.

mod support;

use std::time::Duration;

use support::{
    ed25519_openssl_server, fixture, have_openssl, keylab, keylab_server, run_with_timeout, text,
};

/// The record headers `openssl -msg` printed for records read from the peer (`<<<`), as
/// their first byte (content type), in order.
fn received_record_types(msg: &str) -> Vec<String> {
    let lines: Vec<&str> = msg.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].starts_with("<<<") && w[0].contains("RecordHeader"))
        .map(|w| {
            w[1].split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// `openssl s_client -msg EXTRA` against a fresh `keylab server`; returns its output.
fn s_client_against_keylab(extra: &[&str]) -> String {
    let (server, addr, _log) = keylab_server(&[
        "--cert",
        &fixture("ed25519/server.pem"),
        "--key",
        &fixture("ed25519/server.key"),
        "--max-connections",
        "1",
    ]);
    let mut cmd = std::process::Command::new("openssl");
    cmd.args(["s_client", "-connect", &addr, "-tls1_3", "-msg"])
        .args([
            "-CAfile",
            &fixture("ed25519/root.pem"),
            "-verify_return_error",
        ])
        .args(extra);
    let out = run_with_timeout(cmd, Some(b"hello keylab\n"), Duration::from_secs(20));
    drop(server);
    text(&out.stdout) + &text(&out.stderr)
}

#[test]
fn keylab_server_answers_a_session_id_with_one_change_cipher_spec() {
    if !have_openssl() {
        return;
    }
    // s_client sends a 32-byte session id: ServerHello, then the change_cipher_spec (14),
    // then only protected records (17).
    let out = s_client_against_keylab(&[]);
    assert!(out.contains("Verification: OK"), "{out}");
    let types = received_record_types(&out);
    assert_eq!(types[..2], ["16", "14"], "{out}");
    assert!(types[2..].iter().all(|t| t == "17"), "{types:?}");

    // After a HelloRetryRequest the one change_cipher_spec follows it, not the ServerHello.
    let out = s_client_against_keylab(&["-groups", "P-256:X25519"]);
    assert!(out.contains("Verification: OK"), "{out}");
    let types = received_record_types(&out);
    assert_eq!(types[..3], ["16", "14", "16"], "{out}");
    assert_eq!(types.iter().filter(|t| *t == "14").count(), 1, "{types:?}");

    // Without a session id (-no_middlebox), no change_cipher_spec.
    let out = s_client_against_keylab(&["-no_middlebox"]);
    assert!(out.contains("Verification: OK"), "{out}");
    let types = received_record_types(&out);
    assert!(!types.contains(&"14".to_owned()), "{types:?}");
}

/// `keylab client EXTRA` against a fresh `openssl s_server -msg`; returns the client's
/// exit code and stdout, and what s_server printed.
fn keylab_client_against_s_server(extra: &[&str]) -> (Option<i32>, String, String) {
    let (server, port, lines) = ed25519_openssl_server(&["-msg", "-rev"]);
    let mut cmd = keylab();
    cmd.args(["client", "--connect", &format!("127.0.0.1:{port}")])
        .args(["--server-name", "localhost", "--send", "hello openssl"])
        .args(["--ca", &fixture("ed25519/root.pem"), "--timeout", "10"])
        .args(extra);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    drop(server);
    let msg: Vec<String> = lines.iter().collect();
    (out.status.code(), text(&out.stdout), msg.join("\n"))
}

#[test]
fn keylab_client_sends_one_change_cipher_spec_unless_told_not_to() {
    if !have_openssl() {
        return;
    }
    // s_server answers the client's session id with its own change_cipher_spec, which the
    // client drops; the client's one comes before its second flight.
    let (code, stdout, msg) = keylab_client_against_s_server(&[]);
    assert_eq!(code, Some(0), "{stdout}{msg}");
    assert!(stdout.contains("lssnepo olleh"), "{stdout}");
    let types = received_record_types(&msg);
    assert_eq!(types[..2], ["16", "14"], "{msg}");
    assert!(types[2..].iter().all(|t| t == "17"), "{types:?}");

    // After a HelloRetryRequest it goes before the second ClientHello.
    let (code, stdout, msg) =
        keylab_client_against_s_server(&["--empty-key-share-for-testing-only"]);
    assert_eq!(code, Some(0), "{stdout}{msg}");
    assert!(stdout.contains("hrr=yes"), "{stdout}");
    let types = received_record_types(&msg);
    assert_eq!(types[..3], ["16", "14", "16"], "{msg}");
    assert_eq!(types.iter().filter(|t| *t == "14").count(), 1, "{types:?}");

    let (code, stdout, msg) = keylab_client_against_s_server(&["--no-middlebox-compat"]);
    assert_eq!(code, Some(0), "{stdout}{msg}");
    let types = received_record_types(&msg);
    assert!(!types.contains(&"14".to_owned()), "{types:?}");
}
