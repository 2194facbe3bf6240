//! The mandatory-to-implement algorithms (RFC 8446 §9.1) against OpenSSL over loopback:
//! OpenSSL with its own defaults (no `-ciphersuites`, no `-groups`) in both roles,
//! TLS_AES_128_GCM_SHA256 and secp256r1 forced from either side, and ECDSA P-256
//! certificates both ways. Each test checks what both sides report: keylab's summary line
//! and OpenSSL's `Cipher is`, `Server Temp Key` and `Peer signature type` lines.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{
    fixture, have_openssl, keylab, keylab_server, openssl_server, run_with_timeout, text,
};

const CHACHA: &str = "TLS_CHACHA20_POLY1305_SHA256";
const AES: &str = "TLS_AES_128_GCM_SHA256";

/// What one `openssl s_client` ↔ `keylab server` connection showed.
struct ServerRun {
    /// s_client's stdout and stderr.
    openssl: String,
    /// keylab server's log line for the connection's handshake.
    keylab: String,
}

/// `keylab server` with `key`'s certificate and `server_args`, and one `openssl s_client`
/// with `client_args` (and a client certificate when `client_cert`).
fn s_client_vs_keylab(
    key: &str,
    server_args: &[&str],
    client_args: &[&str],
    client_cert: bool,
) -> ServerRun {
    let cert = fixture(&format!("{key}/server.pem"));
    let server_key = fixture(&format!("{key}/server.key"));
    let root = fixture(&format!("{key}/root.pem"));
    let mut args = vec![
        "--cert",
        &cert,
        "--key",
        &server_key,
        "--max-connections",
        "1",
    ];
    if client_cert {
        args.extend(["--client-auth", "required", "--client-ca", &root]);
    }
    args.extend(server_args);
    let (server, addr, log) = keylab_server(&args);
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &addr, "-CAfile", &root])
        .args(["-verify_return_error", "-verify_hostname", "localhost"])
        .args(["-servername", "localhost"])
        .args(client_args);
    if client_cert {
        cmd.args(["-cert", &fixture(&format!("{key}/client.pem"))])
            .args(["-key", &fixture(&format!("{key}/client.key"))])
            .args(["-cert_chain", &fixture(&format!("{key}/intermediate.pem"))]);
    }
    let out = run_with_timeout(cmd, Some(b"hello keylab\n"), Duration::from_secs(20));
    let keylab = log
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_default();
    drop(server);
    ServerRun {
        openssl: format!("{}{}", text(&out.stdout), text(&out.stderr)),
        keylab,
    }
}

/// What one `keylab client` ↔ `openssl s_server` connection showed.
struct ClientRun {
    /// keylab client's exit code.
    code: Option<i32>,
    /// keylab client's summary line.
    summary: String,
    /// The rest of keylab client's output.
    rest: String,
}

/// `openssl s_server` with `key`'s certificate and `server_args` (requiring a client
/// certificate when `client_cert`), and one `keylab client` with `client_args`.
fn keylab_vs_s_server(
    key: &str,
    server_args: &[&str],
    client_args: &[&str],
    client_cert: bool,
) -> ClientRun {
    let (cert, server_key) = (
        fixture(&format!("{key}/server.pem")),
        fixture(&format!("{key}/server.key")),
    );
    let (chain, root) = (
        fixture(&format!("{key}/intermediate.pem")),
        fixture(&format!("{key}/root.pem")),
    );
    let mut args = vec!["-cert", &cert, "-key", &server_key, "-cert_chain", &chain];
    args.extend(["-CAfile", &root, "-verify_return_error", "-rev"]);
    if client_cert {
        args.extend(["-Verify", "3"]);
    }
    args.extend(server_args);
    let (server, port, _out) = openssl_server(&args);
    let mut cmd = keylab();
    cmd.args(["client", "--connect", &format!("127.0.0.1:{port}")])
        .args(["--server-name", "localhost", "--ca", &root])
        .args(["--send", "hello openssl", "--timeout", "10"])
        .args(client_args);
    if client_cert {
        cmd.args(["--cert", &fixture(&format!("{key}/client.pem"))])
            .args(["--key", &fixture(&format!("{key}/client.key"))]);
    }
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    drop(server);
    let stdout = text(&out.stdout);
    let (summary, rest) = stdout.split_once('\n').unwrap_or((&stdout, ""));
    ClientRun {
        code: out.status.code(),
        summary: summary.to_owned(),
        rest: format!("{rest}{}", text(&out.stderr)),
    }
}

/// keylab's summary says `want` (a run of `key=value` words) and the echo came back.
fn assert_server_run(what: &str, run: &ServerRun, want: &str) {
    eprintln!("{what}: keylab server: {}", run.keylab);
    assert!(
        run.keylab.contains(want),
        "{what}: keylab said {}",
        run.keylab
    );
    assert!(
        run.keylab.contains(" handshake ok: "),
        "{what}: {}",
        run.keylab
    );
    assert!(
        run.openssl.contains("hello keylab"),
        "{what}: no echo in {}",
        run.openssl
    );
}

fn assert_client_run(what: &str, run: &ClientRun, want: &str) {
    eprintln!("{what}: keylab client: {}", run.summary);
    assert_eq!(run.code, Some(0), "{what}: {} {}", run.summary, run.rest);
    assert!(
        run.summary.contains(want),
        "{what}: keylab said {}",
        run.summary
    );
    // s_server -rev answers with the line reversed.
    assert!(
        run.rest.starts_with("lssnepo olleh"),
        "{what}: {}",
        run.rest
    );
}

/// OpenSSL's line for the suite, e.g. `Cipher is TLS_AES_128_GCM_SHA256`.
fn assert_openssl_says(what: &str, openssl: &str, lines: &[&str]) {
    // Shown with --nocapture: what OpenSSL reported about the connection.
    for reported in openssl.lines().filter(|l| {
        [
            "Cipher is",
            "Server Temp Key",
            "Peer signature type",
            "Verification",
        ]
        .iter()
        .any(|k| l.contains(k))
    }) {
        eprintln!("{what}: openssl: {reported}");
    }
    for line in lines {
        assert!(
            openssl.contains(line),
            "{what}: OpenSSL did not print {line:?}:\n{openssl}"
        );
    }
}

#[test]
fn openssl_s_client_with_its_defaults() {
    if !have_openssl() {
        return;
    }
    for (key, sig, openssl_sig) in [
        (
            "ed25519",
            "server_sig=ed25519",
            "Peer signature type: ed25519",
        ),
        (
            "p256",
            "server_sig=ecdsa_secp256r1_sha256",
            "Peer signature type: ECDSA",
        ),
    ] {
        let run = s_client_vs_keylab(key, &[], &[], false);
        // keylab's preference decides: ChaCha20 and x25519, for which s_client sent a share.
        assert_server_run(key, &run, &format!("suite={CHACHA} group=x25519 {sig}"));
        assert!(!run.keylab.contains("hrr=yes"), "{key}: {}", run.keylab);
        assert_openssl_says(
            key,
            &run.openssl,
            &[
                &format!("Cipher is {CHACHA}"),
                "Server Temp Key: X25519",
                openssl_sig,
            ],
        );
    }
}

#[test]
fn openssl_s_server_with_its_defaults() {
    if !have_openssl() {
        return;
    }
    for (key, sig) in [
        ("ed25519", "server_sig=ed25519"),
        ("p256", "server_sig=ecdsa_secp256r1_sha256"),
    ] {
        let run = keylab_vs_s_server(key, &[], &[], false);
        assert_client_run(
            key,
            &run,
            &format!("path=ephemeral-dh suite={CHACHA} group=x25519 {sig}"),
        );
        assert!(!run.summary.contains("hrr=yes"), "{key}: {}", run.summary);
    }
}

#[test]
fn aes_128_gcm_forced_from_either_side() {
    if !have_openssl() {
        return;
    }
    let want = format!("suite={AES} group=x25519");
    let forced = ["-ciphersuites", AES];
    let ours = ["--suites", "tls_aes_128_gcm_sha256"];
    // OpenSSL forces it, in both roles.
    let run = s_client_vs_keylab("ed25519", &[], &forced, false);
    assert_server_run("s_client -ciphersuites", &run, &want);
    assert_openssl_says(
        "s_client -ciphersuites",
        &run.openssl,
        &[&format!("Cipher is {AES}")],
    );
    let run = keylab_vs_s_server("ed25519", &forced, &[], false);
    assert_client_run("s_server -ciphersuites", &run, &want);
    // keylab forces it, in both roles.
    let run = s_client_vs_keylab("ed25519", &ours, &[], false);
    assert_server_run("keylab server --suites", &run, &want);
    assert_openssl_says(
        "keylab server --suites",
        &run.openssl,
        &[&format!("Cipher is {AES}")],
    );
    let run = keylab_vs_s_server("ed25519", &[], &ours, false);
    assert_client_run("keylab client --suites", &run, &want);
}

#[test]
fn secp256r1_forced_from_either_side() {
    if !have_openssl() {
        return;
    }
    let want = format!("suite={CHACHA} group=secp256r1");
    let p256_temp_key = "Server Temp Key: ECDH, prime256v1, 256 bits";
    // s_client offers and shares P-256 only: no HelloRetryRequest needed.
    let run = s_client_vs_keylab("ed25519", &[], &["-groups", "P-256"], false);
    assert_server_run("s_client -groups", &run, &want);
    assert!(!run.keylab.contains("hrr=yes"), "{}", run.keylab);
    assert_openssl_says("s_client -groups", &run.openssl, &[p256_temp_key]);
    // s_server accepts P-256 only; keylab's first share is x25519, so s_server asks again.
    let run = keylab_vs_s_server("ed25519", &["-groups", "P-256"], &[], false);
    assert_client_run(
        "s_server -groups",
        &run,
        &format!("{want} server_sig=ed25519 hrr=yes"),
    );
    // keylab server configured for P-256: s_client shares x25519, keylab asks again.
    let run = s_client_vs_keylab("ed25519", &["--groups", "prime256v1"], &[], false);
    assert_server_run("keylab server --groups", &run, &want);
    assert!(run.keylab.contains("hrr=yes"), "{}", run.keylab);
    assert_openssl_says("keylab server --groups", &run.openssl, &[p256_temp_key]);
    // keylab client offering P-256 first shares it at once.
    let run = keylab_vs_s_server("ed25519", &[], &["--groups", "P-256:X25519"], false);
    assert_client_run("keylab client --groups", &run, &want);
    assert!(!run.summary.contains("hrr=yes"), "{}", run.summary);
}

#[test]
fn ecdsa_p256_certificates_both_ways() {
    if !have_openssl() {
        return;
    }
    let want = "path=certificate";
    let sigs = "server_sig=ecdsa_secp256r1_sha256 client_sig=ecdsa_secp256r1_sha256";
    // keylab server, s_client with a P-256 client certificate.
    let run = s_client_vs_keylab("p256", &[], &[], true);
    assert_server_run("s_client with a P-256 certificate", &run, want);
    assert!(run.keylab.contains(sigs), "{}", run.keylab);
    assert_openssl_says(
        "s_client",
        &run.openssl,
        &["Peer signature type: ECDSA", "Verification: OK"],
    );
    // keylab client with a P-256 client certificate, s_server requiring one.
    let run = keylab_vs_s_server("p256", &[], &[], true);
    assert_client_run("keylab client with a P-256 certificate", &run, want);
    assert!(run.summary.contains(sigs), "{}", run.summary);
}
