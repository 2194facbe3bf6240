//! Conformance fixes seen from the command line: the peer's alert reported after a failed
//! write, and the handshake-message cap named in the server's log.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{
    ed25519_openssl_server, fixture, have_openssl, keylab, keylab_server, run_with_timeout, text,
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
    let (_server, port, _out) =
        ed25519_openssl_server(&["-CAfile", &fixture("ed25519/root.pem"), "-Verify", "1"]);
    assert_reports_certificate_required(&format!("127.0.0.1:{port}"));
}

/// RFC 8446 allows a ClientHello over 64 KiB; keylab accepts handshake messages up to its
/// cap (128 KiB) and refuses larger ones with handshake_failure, logging the cap.
#[test]
fn keylab_server_logs_the_handshake_message_cap() {
    let (_server, addr, log) = keylab_server(&[
        "--cert",
        &fixture("ed25519/server.pem"),
        "--key",
        &fixture("ed25519/server.key"),
    ]);
    let mut tcp = TcpStream::connect(&addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // A ClientHello header announcing 128 KiB + 1 bytes, in one plaintext record.
    let len: u32 = 128 * 1024 + 1;
    let mut record = vec![0x16, 0x03, 0x01, 0x00, 0x04, 0x01];
    record.extend_from_slice(&len.to_be_bytes()[1..]);
    tcp.write_all(&record).expect("write");
    let mut reply = Vec::new();
    let _ = tcp.read_to_end(&mut reply);
    // alert(21), fatal(2), handshake_failure(40)
    assert_eq!(reply, [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
    let line = log
        .iter()
        .find(|l| l.contains("error"))
        .expect("a log line");
    assert!(
        line.contains("exceeds this implementation's cap of 131072 bytes"),
        "{line}"
    );
}
