//! keylab against OpenSSL over loopback, both roles: `keylab client` ↔ `openssl s_server`
//! and `openssl s_client` ↔ `keylab server`, on both paths, with Ed25519 and RSA
//! certificates, client auth optional and required, and HelloRetryRequest. OpenSSL
//! verifies for real: `-verify_return_error` everywhere, `-verify_hostname` on s_client.

mod support;

use std::time::Duration;

use support::{
    fixture, have_openssl, keylab_client, keylab_server, openssl_server, run_with_timeout, text,
};

const KEYS: [&str; 2] = ["ed25519", "rsa"];

/// OpenSSL's client-auth flags: none, optional (`-verify`) or required (`-Verify`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Auth {
    Off,
    Optional,
    Required,
}

/// A file of the `key` fixture hierarchy (`ed25519` or `rsa`).
fn file(key: &str, name: &str) -> String {
    fixture(&format!("{key}/{name}"))
}

fn s_server_args(key: &str, auth: Auth) -> Vec<String> {
    let mut args: Vec<String> = [
        "-cert",
        &file(key, "server.pem"),
        "-key",
        &file(key, "server.key"),
        "-cert_chain",
        &file(key, "intermediate.pem"),
        "-CAfile",
        &file(key, "root.pem"),
        "-verify_return_error",
        "-rev",
    ]
    .map(str::to_owned)
    .to_vec();
    match auth {
        Auth::Off => {}
        Auth::Optional => args.extend(["-verify".into(), "3".into()]),
        Auth::Required => args.extend(["-Verify".into(), "3".into()]),
    }
    args
}

/// Runs `keylab client` against a fresh `openssl s_server`; returns (exit code, stdout, stderr).
fn keylab_client_vs_openssl(
    key: &str,
    auth: Auth,
    with_cert: bool,
    extra: &[&str],
) -> (Option<i32>, String, String) {
    let args = s_server_args(key, auth);
    let (server, port, _out) = openssl_server(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut cmd = keylab_client(&format!("127.0.0.1:{port}"));
    cmd.args(["--ca", &file(key, "root.pem"), "--send", "hello openssl"])
        .args(["--timeout", "10"])
        .args(extra);
    if with_cert {
        let (cert, key) = (file(key, "client.pem"), file(key, "client.key"));
        cmd.args(["--cert", &cert, "--key", &key]);
    }
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    drop(server);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn keylab_client_against_openssl_s_server() {
    if !have_openssl() {
        return;
    }
    for key in KEYS {
        let sig = if key == "rsa" {
            "server_sig=rsa_pss_rsae_sha256"
        } else {
            "server_sig=ed25519"
        };
        for (auth, with_cert, path) in [
            (Auth::Off, false, "ephemeral-dh"),
            (Auth::Off, true, "ephemeral-dh"),
            (Auth::Optional, false, "ephemeral-dh"),
            (Auth::Optional, true, "certificate"),
            (Auth::Required, true, "certificate"),
        ] {
            let what = format!("{key} {auth:?} cert={with_cert}");
            let (code, stdout, stderr) = keylab_client_vs_openssl(key, auth, with_cert, &[]);
            assert_eq!(code, Some(0), "{what}: {stdout}{stderr}");
            let mut lines = stdout.lines();
            let summary = lines.next().unwrap_or_default();
            assert!(
                summary.contains(&format!("path={path}")),
                "{what}: {summary}"
            );
            assert!(
                summary.contains("suite=TLS_CHACHA20_POLY1305_SHA256 group=x25519"),
                "{what}: {summary}"
            );
            assert!(summary.contains(sig), "{what}: {summary}");
            // s_server -rev answers with the line reversed.
            assert_eq!(lines.next(), Some("lssnepo olleh"), "{what}: {stdout}");
        }
        let (code, stdout, stderr) = keylab_client_vs_openssl(key, Auth::Required, false, &[]);
        assert_eq!(
            code,
            Some(1),
            "{key}: a required certificate was missing: {stdout}{stderr}"
        );
        assert!(stderr.contains("error:"), "{key}: {stderr}");
        let (code, stdout, stderr) = keylab_client_vs_openssl(
            key,
            Auth::Optional,
            true,
            &["--empty-key-share-for-testing-only"],
        );
        assert_eq!(code, Some(0), "{key} HRR: {stdout}{stderr}");
        assert!(
            stdout.contains("hrr=yes") && stdout.contains("path=certificate"),
            "{key} HRR: {stdout}"
        );
    }
}

/// Runs `openssl s_client` against a fresh `keylab server`; returns (s_client output,
/// the server's log line for the connection).
fn openssl_client_vs_keylab(
    key: &str,
    auth: &str,
    with_cert: bool,
    extra: &[&str],
) -> (String, String) {
    let mut args = vec![
        "--cert".to_owned(),
        file(key, "server.pem"),
        "--key".to_owned(),
        file(key, "server.key"),
        "--client-auth".to_owned(),
        auth.to_owned(),
        "--max-connections".to_owned(),
        "1".to_owned(),
    ];
    if auth != "off" {
        args.extend(["--client-ca".to_owned(), file(key, "root.pem")]);
    }
    let (server, addr, log) = keylab_server(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &addr,
        "-tls1_3",
        "-CAfile",
        &file(key, "root.pem"),
    ])
    .args([
        "-verify_return_error",
        "-verify_hostname",
        "localhost",
        "-servername",
        "localhost",
    ])
    .args(extra);
    if with_cert {
        let (cert, key, chain) = (
            file(key, "client.pem"),
            file(key, "client.key"),
            file(key, "intermediate.pem"),
        );
        cmd.args(["-cert", &cert, "-key", &key, "-cert_chain", &chain]);
    }
    let out = run_with_timeout(cmd, Some(b"hello keylab\n"), Duration::from_secs(20));
    let line = log
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_default();
    drop(server);
    (format!("{}{}", text(&out.stdout), text(&out.stderr)), line)
}

#[test]
fn openssl_s_client_against_keylab_server() {
    if !have_openssl() {
        return;
    }
    for key in KEYS {
        for (auth, with_cert, path) in [
            ("off", false, "ephemeral-dh"),
            ("optional", false, "ephemeral-dh"),
            ("optional", true, "certificate"),
            ("required", true, "certificate"),
        ] {
            let what = format!("{key} {auth} cert={with_cert}");
            let (client, log) = openssl_client_vs_keylab(key, auth, with_cert, &[]);
            assert!(
                client.contains("Verification: OK")
                    || client.contains("Verify return code: 0 (ok)"),
                "{what}: {client}"
            );
            assert!(
                client.contains("hello keylab"),
                "{what}: no echo in {client}"
            );
            assert!(
                log.contains(&format!(" handshake ok: path={path} ")) && log.contains("; why: "),
                "{what}: {log}"
            );
        }
        let (client, log) = openssl_client_vs_keylab(key, "required", false, &[]);
        assert!(client.contains("certificate required"), "{key}: {client}");
        assert!(
            log.contains("error: client certificate required, but the client sent none"),
            "{key}: {log}"
        );
        // s_client offering a P-256 share first: keylab asks again for x25519.
        let (client, log) =
            openssl_client_vs_keylab(key, "optional", true, &["-groups", "P-256:X25519"]);
        assert!(client.contains("hello keylab"), "{key} HRR: {client}");
        assert!(
            log.contains("hrr=yes") && log.contains("path=certificate"),
            "{key} HRR: {log}"
        );
    }
}

/// ALPN (RFC 7301) both ways with OpenSSL: the server's choice reaches both sides, and a
/// keylab server that speaks none of the offered protocols sends no_application_protocol.
#[test]
fn alpn_with_openssl_both_ways() {
    if !have_openssl() {
        return;
    }
    let key = "ed25519";
    let (server, port, _out) = openssl_server(
        &[
            &s_server_args(key, Auth::Off)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()[..],
            &["-alpn", "http/1.1"],
        ]
        .concat(),
    );
    let mut cmd = keylab_client(&format!("127.0.0.1:{port}"));
    cmd.args(["--ca", &file(key, "root.pem"), "--send", "hello openssl"])
        .args(["--timeout", "10", "--alpn", "h2", "--alpn", "http/1.1"]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    drop(server);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains(" alpn=\"http/1.1\""), "{stdout}");

    let alpn_server = |client_alpn: &str| {
        let args = [
            "--cert",
            &file(key, "server.pem"),
            "--key",
            &file(key, "server.key"),
            "--alpn",
            "http/1.1",
            "--max-connections",
            "1",
        ];
        let (server, addr, log) = keylab_server(&args);
        let mut cmd = std::process::Command::new("openssl");
        cmd.args(["s_client", "-connect", &addr, "-tls1_3", "-CAfile"])
            .arg(file(key, "root.pem"))
            .args(["-servername", "localhost", "-alpn", client_alpn]);
        let out = run_with_timeout(cmd, Some(b"hello keylab\n"), Duration::from_secs(20));
        let line = log
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_default();
        drop(server);
        (format!("{}{}", text(&out.stdout), text(&out.stderr)), line)
    };
    let (client, log) = alpn_server("h2,http/1.1");
    assert!(client.contains("ALPN protocol: http/1.1"), "{client}");
    assert!(client.contains("hello keylab"), "{client}");
    assert!(log.contains(" alpn=\"http/1.1\""), "{log}");
    let (client, log) = alpn_server("h2");
    assert!(
        client.to_lowercase().contains("no application protocol"),
        "{client}"
    );
    assert!(
        log.contains("no application protocol in common: the client offers [\"h2\"]"),
        "{log}"
    );
}
