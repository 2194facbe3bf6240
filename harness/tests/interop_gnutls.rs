//! keylab against GnuTLS (`gnutls-cli`, `gnutls-serv`) over loopback, both roles: the
//! ephemeral-DH and certificate paths with Ed25519 and RSA certificates, an external PSK
//! (psk+dhe), and resumption with a ticket. GnuTLS is a third implementation nobody here
//! wrote; it runs with its default priorities (plus the PSK key exchanges where a PSK is
//! used) and verifies keylab's certificates for real.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{
    Running, fixture, keylab_client, keylab_server, run_with_timeout, text, wait_for_line,
};

const PSK_HEX: &str = "00112233445566778899aabbccddeeff102132435465768798a9bacbdcedfe0f";
const PSK_PRIORITY: &str = "NORMAL:+ECDHE-PSK:+PSK";

/// True when `gnutls-cli` and `gnutls-serv` run; under `CI=true` their absence fails.
fn have_gnutls() -> bool {
    let ok = ["gnutls-cli", "gnutls-serv"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "gnutls-cli and gnutls-serv (Debian gnutls-bin) are required under CI=true"
        );
        eprintln!("skipping: no gnutls-cli/gnutls-serv on PATH");
    }
    ok
}

/// Runs `gnutls-cli 127.0.0.1 --port PORT ARGS`, sending `input` then closing; returns
/// (exit code, stdout and stderr together).
fn gnutls_cli(port: &str, args: &[&str], input: &str) -> (Option<i32>, String) {
    let mut cmd = Command::new("gnutls-cli");
    cmd.args(["127.0.0.1", "--port", port]).args(args);
    let out = run_with_timeout(cmd, Some(input.as_bytes()), Duration::from_secs(20));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    (out.status.code(), all)
}

/// Starts `gnutls-serv --echo ARGS` on a free loopback port. gnutls-serv cannot be told
/// to take port 0, so a free port is looked up first and the start retried if another
/// process took it in between.
fn gnutls_server(args: &[&str]) -> (Running, u16) {
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("gnutls-serv")
            .args(["--port", &port.to_string(), "--echo"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gnutls-serv");
        // It says where it listens on stderr.
        let stderr = child.stderr.take().expect("stderr");
        let (ready, _lines) = wait_for_line(stderr, |l| {
            l.contains("Echo Server listening on IPv4").then_some(())
        });
        let running = Running {
            child,
            stderr: None,
        };
        if ready.is_some() {
            return (running, port);
        }
    }
    panic!("gnutls-serv did not start");
}

/// Runs `keylab client --connect 127.0.0.1:PORT --server-name localhost ARGS`.
fn client(port: u16, args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = keylab_client(&format!("127.0.0.1:{port}"));
    cmd.args(["--timeout", "10"]).args(args);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    (
        out.status.code(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

fn psk_file(dir: &Path) -> String {
    let path = dir.join("keys.psk");
    std::fs::write(&path, format!("lab:{PSK_HEX}\n")).expect("write psk file");
    path.to_str().expect("utf-8").to_owned()
}

/// The server chain, its key and the root of the `key` fixture set.
fn server_files(key: &str) -> (String, String, String) {
    let file = |name: &str| fixture(&format!("{key}/{name}"));
    (file("server.pem"), file("server.key"), file("root.pem"))
}

/// The next log line of `keylab server` that reports a connection's handshake or its
/// failure (the lines that report a connection's end are passed over).
fn next_log(log: &std::sync::mpsc::Receiver<String>) -> String {
    loop {
        let line = log
            .recv_timeout(Duration::from_secs(10))
            .expect("keylab server logged the connection");
        if line.contains(" handshake ok: ") || line.contains(" error") {
            return line;
        }
    }
}

#[test]
fn gnutls_cli_against_keylab_server() {
    if !have_gnutls() {
        return;
    }
    for key in ["ed25519", "rsa"] {
        let (cert, priv_key, root) = server_files(key);
        let (_server, addr, log) = keylab_server(&[
            "--cert",
            &cert,
            "--key",
            &priv_key,
            "--client-ca",
            &root,
            "--client-auth",
            "optional",
        ]);
        let port = addr.rsplit(':').next().expect("a port");
        let trust = ["--x509cafile", &root, "--verify-hostname", "localhost"];

        // Ephemeral-DH: GnuTLS verifies keylab's chain and name, sends no certificate.
        let (code, out) = gnutls_cli(port, &trust, "hello keylab\n");
        assert_eq!(code, Some(0), "{key}: {out}");
        assert!(out.contains("The certificate is trusted"), "{key}: {out}");
        assert!(out.contains("(TLS1.3-X.509)"), "{key}: {out}");
        assert!(out.contains("hello keylab"), "{key}: the echo: {out}");
        let line = next_log(&log);
        assert!(line.contains("path=ephemeral-dh"), "{key}: {line}");

        // Certificate path: GnuTLS presents alice's certificate; keylab verifies it.
        let client = [
            "--x509certfile",
            &fixture(&format!("{key}/client.pem")),
            "--x509keyfile",
            &fixture(&format!("{key}/client.key")),
        ];
        let (code, out) = gnutls_cli(port, &[&trust[..], &client[..]].concat(), "mtls\n");
        assert_eq!(code, Some(0), "{key}: {out}");
        assert_alice(key, &next_log(&log));
    }
}

/// A summary or log line of the certificate path with alice's certificate.
fn assert_alice(key: &str, line: &str) {
    assert!(line.contains("path=certificate"), "{key}: {line}");
    assert!(line.contains("client=\"CN=alice\""), "{key}: {line}");
}

#[test]
fn gnutls_cli_psk_and_resumption_against_keylab_server() {
    if !have_gnutls() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = fixture("ed25519/root.pem");
    let (_server, addr, log) = keylab_server(&[
        "--cert",
        &fixture("ed25519/server.pem"),
        "--key",
        &fixture("ed25519/server.key"),
        "--psk-file",
        &psk_file(dir.path()),
    ]);
    let port = addr.rsplit(':').next().expect("a port");

    let psk = [
        "--pskusername",
        "lab",
        "--pskkey",
        PSK_HEX,
        "--priority",
        PSK_PRIORITY,
    ];
    let (code, out) = gnutls_cli(port, &psk, "psk\n");
    assert_eq!(code, Some(0), "{out}");
    let line = next_log(&log);
    assert!(line.contains("path=psk+dhe"), "{line}");
    assert!(line.contains("client=\"psk:lab\""), "{line}");

    // `--resume` connects twice: a full handshake earns a ticket, the second resumes.
    let resume = [
        "--x509cafile",
        &root,
        "--verify-hostname",
        "localhost",
        "--resume",
    ];
    let (code, out) = gnutls_cli(port, &resume, "again\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("This is a resumed session"), "{out}");
    assert!(next_log(&log).contains("path=ephemeral-dh"));
    let line = next_log(&log);
    assert!(line.contains("path=resumption+dhe"), "{line}");
}

#[test]
fn keylab_client_against_gnutls_serv() {
    if !have_gnutls() {
        return;
    }
    for key in ["ed25519", "rsa"] {
        let (cert, priv_key, root) = server_files(key);
        let sig = if key == "rsa" {
            "server_sig=rsa_pss_rsae_sha256"
        } else {
            "server_sig=ed25519"
        };
        let (_plain, port) = gnutls_server(&["--x509certfile", &cert, "--x509keyfile", &priv_key]);
        let (code, out) = client(port, &["--ca", &root, "--send", "hello gnutls"]);
        assert_eq!(code, Some(0), "{key}: {out}");
        assert!(out.starts_with("path=ephemeral-dh"), "{key}: {out}");
        assert!(out.contains(sig), "{key}: {out}");
        assert!(out.contains("\nhello gnutls\n"), "{key}: the echo: {out}");

        let (_mtls, port) = gnutls_server(&[
            "--x509certfile",
            &cert,
            "--x509keyfile",
            &priv_key,
            "--x509cafile",
            &root,
            "--require-client-cert",
        ]);
        let alice = [
            "--ca",
            &root,
            "--cert",
            &fixture(&format!("{key}/client.pem")),
            "--key",
            &fixture(&format!("{key}/client.key")),
            "--send",
            "mtls",
        ];
        let (code, out) = client(port, &alice);
        assert_eq!(code, Some(0), "{key}: {out}");
        assert!(out.starts_with("path=certificate"), "{key}: {out}");
        assert_alice(key, &out);
    }
}

#[test]
fn keylab_client_psk_and_resumption_against_gnutls_serv() {
    if !have_gnutls() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = psk_file(dir.path());
    let root = fixture("ed25519/root.pem");
    let (_server, port) = gnutls_server(&[
        "--x509certfile",
        &fixture("ed25519/server.pem"),
        "--x509keyfile",
        &fixture("ed25519/server.key"),
        "--pskpasswd",
        &keys,
        "--priority",
        PSK_PRIORITY,
    ]);
    let (code, out) = client(port, &["--psk-file", &keys, "--send", "psk"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("path=psk+dhe"), "{out}");

    let session = dir.path().join("session.txt");
    let session = session.to_str().expect("utf-8");
    let first = ["--ca", &root, "--send", "one", "--session-out", session];
    let (code, out) = client(port, &first);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("path=ephemeral-dh"), "{out}");
    let second = ["--ca", &root, "--send", "two", "--session-in", session];
    let (code, out) = client(port, &second);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("path=resumption+dhe"), "{out}");
    assert!(out.contains("\ntwo\n"), "the echo: {out}");
}
