//! The PSK paths against real peers over loopback: OpenSSL with an external PSK in both
//! roles, OpenSSL and rustls clients resuming with keylab's tickets, and keylab's own
//! client saving and resuming sessions (`--session-out` / `--session-in`).

mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use handshake::{ClientAuth, Path, Tickets};
use harness::runner::{self, LoopbackServer};
use support::{
    ed25519, ed25519_server, have_openssl, keylab, keylab_client, keylab_server, openssl_server,
    run_with_timeout, rustls_peer, text,
};

const HEX: &str = "00112233445566778899aabbccddeeff102132435465768798a9bacbdcedfe0f";
const IDENTITY: &str = "lab-client";

/// A PSK file in a fresh temporary directory (kept alive by the returned handle).
fn psk_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keys.psk");
    std::fs::write(
        &path,
        format!("# test keys\n{IDENTITY}:{HEX}\nother:{}\n", "ab".repeat(32)),
    )
    .expect("write");
    (dir, path.to_str().expect("utf-8").to_owned())
}

/// The first line of `rx` that contains `needle`, within 10 seconds.
fn line_with(rx: &std::sync::mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no line with {needle:?}");
}

fn s_client(port_or_addr: &str, extra: &[&str], input: &[u8]) -> (Option<i32>, String) {
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        port_or_addr,
        "-tls1_3",
        "-ciphersuites",
        "TLS_CHACHA20_POLY1305_SHA256",
    ])
    .args(extra);
    let out = run_with_timeout(cmd, Some(input), Duration::from_secs(20));
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn openssl_client_with_a_psk_against_a_psk_only_keylab_server() {
    if !have_openssl() {
        return;
    }
    let (_dir, file) = psk_file();
    let (_server, addr, log) = keylab_server(&["--psk-file", &file, "--max-connections", "3"]);
    let (code, out) = s_client(
        &addr,
        &["-psk", HEX, "-psk_identity", IDENTITY],
        b"hello psk\n",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("hello psk"), "the echo came back: {out}");
    let line = line_with(&log, " handshake ok: ");
    assert!(line.contains("path=psk+dhe"), "{line}");
    assert!(line.contains("client=\"psk:lab-client\""), "{line}");

    // A wrong key: the binder does not verify, and OpenSSL hears decrypt_error.
    let (code, out) = s_client(
        &addr,
        &["-psk", &"00".repeat(32), "-psk_identity", IDENTITY],
        b"x\n",
    );
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("decrypt error"), "{out}");
    let line = line_with(&log, "error");
    assert!(line.contains("PSK binder"), "{line}");

    // No PSK at all: a PSK-only server refuses with handshake_failure.
    let (code, out) = s_client(&addr, &[], b"x\n");
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("handshake failure"), "{out}");
}

#[test]
fn keylab_client_with_a_psk_against_openssl_server() {
    if !have_openssl() {
        return;
    }
    let (_dir, file) = psk_file();
    let (_server, port, _out) = openssl_server(&[
        "-nocert",
        "-psk",
        HEX,
        "-psk_identity",
        IDENTITY,
        "-ciphersuites",
        "TLS_CHACHA20_POLY1305_SHA256",
        "-rev",
    ]);
    let mut cmd = keylab_client(&format!("127.0.0.1:{port}"));
    cmd.args([
        "--psk-file",
        &file,
        "--psk-identity",
        IDENTITY,
        "--send",
        "hello openssl",
    ]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("path=psk+dhe "), "{stdout}");
    assert!(
        stdout.contains("lssnepo olleh"),
        "s_server -rev reverses: {stdout}"
    );

    // Two keys in the file and no --psk-identity: a usage error that lists them.
    let mut cmd = keylab();
    cmd.args(["client", "--connect", "127.0.0.1:1", "--psk-file", &file]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("lab-client, other"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn openssl_client_resumes_with_a_keylab_ticket() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sess = dir.path().join("sess.pem");
    let sess = sess.to_str().expect("utf-8");
    let (_server, addr, log) = ed25519_server(&["--max-connections", "2"]);
    let verify = [
        "-CAfile",
        &ed25519("root.pem"),
        "-verify_return_error",
        "-servername",
        "localhost",
    ];
    // run_with_timeout keeps s_client's stdin open after the line, so the ticket (sent
    // after the handshake) arrives before it quits.
    let session =
        |flag: &str, line: &[u8]| s_client(&addr, &[&verify[..], &[flag, sess]].concat(), line);
    let (code, out) = session("-sess_out", b"one\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("New, TLSv1.3"), "{out}");
    assert!(line_with(&log, " handshake ok: ").contains("path=ephemeral-dh"));
    let (code, out) = session("-sess_in", b"two\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Reused, TLSv1.3"), "{out}");
    assert!(line_with(&log, " handshake ok: ").contains("path=resumption+dhe"));
}

#[test]
fn keylab_client_saves_and_resumes_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let session = dir.path().join("session.txt");
    let session = session.to_str().expect("utf-8");
    let (_server, addr, log) = ed25519_server(&["--single-use-tickets", "--max-connections", "3"]);
    let client = |extra: &[&str]| {
        let mut cmd = keylab_client(&addr);
        cmd.args(extra);
        let out = run_with_timeout(cmd, None, Duration::from_secs(20));
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let ca = ed25519("root.pem");
    let (code, out, err) = client(&["--ca", &ca, "--session-out", session]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("path=ephemeral-dh"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(session)
            .expect("saved")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the session file holds a secret");
    }
    let saved = std::fs::read_to_string(session).expect("saved");
    let (code, out, err) = client(&["--session-in", session]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("path=resumption+dhe"), "{out}");
    assert!(line_with(&log, "resumption+dhe").contains(" handshake ok: "));

    // The same ticket again: single-use, so the server falls back to a full handshake
    // (which needs the trust anchors) and says why.
    std::fs::write(session, saved).expect("restore");
    let (code, out, err) = client(&["--session-in", session, "--ca", &ca]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("path=ephemeral-dh"), "{out}");
    let line = line_with(&log, " handshake ok: ");
    assert!(line.contains("path=ephemeral-dh"), "{line}");
    assert!(
        line.contains("the single-use ticket was already used"),
        "{line}"
    );

    let (code, _, err) = client(&["--session-in", "/nonexistent/session"]);
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn rustls_client_resumes_with_a_keylab_ticket() {
    let config = runner::demo_server_config(ClientAuth::Off)
        .expect("config")
        .with_tickets(Arc::new(Tickets::new(&[7; 32])));
    let server = LoopbackServer::start("127.0.0.1:0", Arc::new(config), None).expect("server");
    let client = Arc::new(rustls_peer::client_config(fixtures::ED25519, false));
    for (path, kind) in [
        (Path::EphemeralDh, rustls::HandshakeKind::Full),
        (Path::ResumptionDhe, rustls::HandshakeKind::Resumed),
    ] {
        let mut tls = rustls_peer::connect(client.clone(), server.addr());
        // The echo comes after the ticket, so rustls has stored it by then.
        tls.write_all(b"ping").expect("write");
        let mut reply = [0u8; 4];
        tls.read_exact(&mut reply).expect("echo");
        assert_eq!(&reply, b"ping");
        assert_eq!(tls.conn.handshake_kind(), Some(kind));
        tls.conn.send_close_notify();
        let _ = tls.flush();
        let outcome = server
            .next_outcome(Duration::from_secs(10))
            .expect("outcome");
        assert_eq!(outcome.result.expect("server side").path, path);
    }
}

/// RFC 8446 §4.2.9: a server allowing psk_ke still prefers psk_dhe_ke whenever the client
/// offers it (OpenSSL's `-allow_no_dhe_kex` offers both); `keylab client --psk-ke` offers
/// psk_ke alone, so the psk path stays reachable.
#[test]
fn psk_dhe_ke_is_preferred_and_psk_ke_is_offered_alone() {
    let (_dir, file) = psk_file();
    let (_server, addr, log) =
        keylab_server(&["--psk-file", &file, "--psk-ke", "--max-connections", "3"]);
    let client = |extra: &[&str]| {
        let mut cmd = keylab();
        cmd.args(["client", "--connect", &addr, "--psk-file", &file])
            .args(["--psk-identity", IDENTITY, "--send", "x"])
            .args(extra);
        let out = run_with_timeout(cmd, None, Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert!(client(&["--psk-ke"]).starts_with("path=psk "));
    assert!(line_with(&log, " handshake ok: ").contains("path=psk "));
    assert!(client(&[]).starts_with("path=psk+dhe "));
    assert!(line_with(&log, " handshake ok: ").contains("path=psk+dhe "));
    if !have_openssl() {
        return;
    }
    let (code, out) = s_client(
        &addr,
        &["-psk", HEX, "-psk_identity", IDENTITY, "-allow_no_dhe_kex"],
        b"both modes\n",
    );
    assert_eq!(code, Some(0), "{out}");
    let line = line_with(&log, " handshake ok: ");
    assert!(line.contains("path=psk+dhe "), "{line}");
}
