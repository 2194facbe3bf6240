//! A peer that refuses the client after the handshake (a required certificate missing)
//! sends an alert and closes; the client's next write may then fail with EPIPE or
//! ECONNRESET. `keylab client` must report the peer's alert, as `openssl s_client` does,
//! on every run, never "Broken pipe".

mod support;

use std::time::Duration;

use support::{
    fixture, have_openssl, keylab, keylab_server, openssl_server, run_with_timeout, text,
};

const RUNS: usize = 20;

/// Runs a certificate-less `keylab client` against `addr`; returns its exit code and
/// stderr.
fn anonymous_client(addr: &str) -> (Option<i32>, String) {
    let mut cmd = keylab();
    cmd.args(["client", "--connect", addr, "--server-name", "localhost"])
        .args(["--ca", &fixture("ed25519/root.pem"), "--send", "hello"])
        .args(["--timeout", "10"]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

fn assert_reports_certificate_required(addr: &str) {
    for run in 0..RUNS {
        let (code, out) = anonymous_client(addr);
        assert_eq!(code, Some(1), "run {run}: {out}");
        assert!(
            out.contains("peer sent fatal alert certificate_required"),
            "run {run}: {out}"
        );
    }
}

#[test]
fn keylab_client_reports_certificate_required_from_keylab_server() {
    let (_server, addr, _log) = keylab_server(&[
        "--cert",
        &fixture("ed25519/server.pem"),
        "--key",
        &fixture("ed25519/server.key"),
        "--client-auth",
        "required",
        "--client-ca",
        &fixture("ed25519/root.pem"),
    ]);
    assert_reports_certificate_required(&addr);
}

#[test]
fn keylab_client_reports_certificate_required_from_openssl_s_server() {
    if !have_openssl() {
        return;
    }
    let (_server, port, _out) = openssl_server(&[
        "-cert",
        &fixture("ed25519/server.pem"),
        "-key",
        &fixture("ed25519/server.key"),
        "-cert_chain",
        &fixture("ed25519/intermediate.pem"),
        "-CAfile",
        &fixture("ed25519/root.pem"),
        "-Verify",
        "1",
    ]);
    assert_reports_certificate_required(&format!("127.0.0.1:{port}"));
}
