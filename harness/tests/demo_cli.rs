//! `keylab demo`, `keylab states`, `keylab server` and `keylab client` as users run them.

mod support;

use std::time::Duration;

use support::{
    assert_fails, assert_mentions, assert_ok, ed25519, ed25519_server, keylab, keylab_client,
    run_keylab, run_with_timeout, stderr, text,
};

/// The NSS key log labels of one TLS 1.3 connection, in the order the secrets arise.
const KEY_LOG_LABELS: [&str; 5] = [
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "EXPORTER_SECRET",
];

/// `keylab demo ARGS` (no key log from the environment), which must succeed; returns its
/// stdout.
#[track_caller]
fn demo_ok(args: &[&str]) -> String {
    let mut cmd = keylab();
    cmd.arg("demo").args(args).env_remove("SSLKEYLOGFILE");
    let out = run_with_timeout(cmd, None, Duration::from_secs(60));
    assert_ok(&out)
}

#[test]
fn demo_runs_every_path_and_says_why() {
    let out = demo_ok(&[]);
    assert_mentions(
        &out,
        &[
            "run 1: ephemeral-dh (client without a certificate;",
            "run 2: certificate (client CN=alice with a certificate)",
            "client: server requested a certificate; client has none and stays anonymous",
            "server: client presented CN=alice, verified against CN=keylab ed25519 Root CA",
            "client -> server  CertificateVerify",
            "TLS_CHACHA20_POLY1305_SHA256, x25519",
            "run 3: psk+dhe (client holding the external PSK \"keylab-demo\")",
            "server: client proved external PSK \"keylab-demo\" (psk_dhe_ke)",
            "client is:   psk:keylab-demo",
            "run 4: resumption+dhe (the client of run 1, resuming with its ticket)",
            "server: client proved a ticket issued 0 s earlier to an anonymous client",
        ],
    );
    assert!(out.contains("time:"), "timings are shown without --seed");
    assert!(
        out.trim_end().ends_with("ok: 4 of 4 runs succeeded"),
        "{out}"
    );
}

#[test]
fn demo_psk_and_resumption_paths_alone() {
    let out = demo_ok(&["--path", "psk", "--explain", "--seed", "5"]);
    assert_mentions(
        &out,
        &[
            "run 1: psk+dhe",
            "the PSK binder (RFC 8446 §4.2.11.2)",
            "binder_key (external)",
            "= HKDF-Extract(salt 0, IKM PSK)",
        ],
    );
    assert!(!out.contains("run 2"), "{out}");
    assert!(
        !out.contains("server -> client  Certificate"),
        "no certificates on the PSK path: {out}"
    );

    // Resumption needs the run that earns the ticket first.
    let out = demo_ok(&["--path", "resumption", "--seed", "5"]);
    assert_mentions(
        &out,
        &[
            "run 1: ephemeral-dh",
            "run 2: resumption+dhe",
            "server -> client  NewSessionTicket",
        ],
    );
}

#[test]
fn seeded_demo_output_is_byte_identical() {
    let a = demo_ok(&["--seed", "42"]);
    assert_eq!(a, demo_ok(&["--seed", "42"]), "same seed, same output");
    assert!(!a.contains("time:"), "no timings with --seed");
    let c = demo_ok(&["--seed", "43"]);
    assert_ne!(a, c, "the transcript hash depends on the seed");
    let json = demo_ok(&["--seed", "42", "--json"]);
    assert_eq!(json, demo_ok(&["--seed", "42", "--json"]));
}

#[test]
fn demo_json_has_the_documented_shape() {
    let out = demo_ok(&["--json", "--seed", "1", "--path", "certificate"]);
    assert!(out.starts_with("{\n  \"runs\": [\n"), "{out}");
    assert_mentions(
        &out,
        &[
            "\"path\": \"certificate\"",
            "\"ok\": true",
            "\"client\": {",
            "\"server\": {",
            "\"messages\": [",
            "\"name\": \"CertificateRequest\"",
            "\"from\": \"client\"",
            "\"client_chain\": [\n",
        ],
    );
    assert!(
        !out.contains("\"path\": \"ephemeral-dh\""),
        "only the certificate run was asked for"
    );
    // Well-formed JSON, checked by an independent parser when one is at hand.
    if let Ok(mut py) = std::process::Command::new("python3")
        .args(["-c", "import json,sys; d=json.load(sys.stdin); assert d['runs'][0]['client']['path']=='certificate'"])
        .stdin(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        py.stdin.take().expect("stdin").write_all(out.as_bytes()).expect("write");
        assert!(py.wait().expect("python").success(), "python3 rejected the JSON");
    }
}

#[test]
fn demo_explain_covers_every_message_and_the_key_schedule() {
    let out = demo_ok(&["--explain", "--seed", "3", "--path", "certificate"]);
    assert_mentions(
        &out,
        &[
            "ClientHello (client -> server",
            "CertificateRequest (server -> client",
            "Certificate (client -> server",
            "CertificateVerify (client -> server",
            "Finished (client -> server",
            "key schedule (RFC 8446 §7.1)",
            "client_handshake_traffic_secret",
            "Derive-Secret(handshake_secret, \"c hs traffic\", CH..SH)",
            "exporter_master_secret",
        ],
    );
    // Middlebox compatibility mode: each side's change_cipher_spec record is shown where it
    // went, the server's right after its ServerHello, the client's before its flight.
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {out}"))
    };
    let server_ccs = at("\n  change_cipher_spec (server -> client, one record of 6 bytes");
    let client_ccs = at("\n  change_cipher_spec (client -> server, one record of 6 bytes");
    assert!(at("\n  ServerHello (server -> client") < server_ccs);
    assert!(server_ccs < at("\n  EncryptedExtensions (server -> client"));
    assert!(at("\n  Finished (server -> client") < client_ccs);
    assert!(client_ccs < at("\n  Certificate (client -> server"));
    assert_eq!(out.matches("14 03 03 00 01 01: content type 20").count(), 2);
}

#[test]
fn demo_key_log_file_and_environment() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("keys.log");
    demo_ok(&[
        "--keylog",
        file.to_str().expect("path"),
        "--path",
        "ephemeral-dh",
    ]);
    let log = std::fs::read_to_string(&file).expect("key log");
    let labels: Vec<&str> = log.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(labels, KEY_LOG_LABELS);
    let env_file = dir.path().join("env.log");
    let mut cmd = keylab();
    cmd.args(["demo", "--path", "ephemeral-dh"])
        .env("SSLKEYLOGFILE", &env_file);
    assert!(
        run_with_timeout(cmd, None, Duration::from_secs(60))
            .status
            .success()
    );
    assert_eq!(
        std::fs::read_to_string(&env_file)
            .expect("env key log")
            .lines()
            .count(),
        5
    );
}

#[test]
fn states_prints_the_handshake_crates_tables() {
    let out = run_keylab(&["states"]);
    assert!(out.status.success());
    let t = text(&out.stdout);
    assert!(
        t.contains("client (RFC 8446 Appendix A.1)")
            && t.contains("server (RFC 8446 Appendix A.2)"),
        "{t}"
    );
    assert!(
        t.contains("WAIT_CERT_CR   -> WAIT_CERT      on recv CertificateRequest\n"),
        "{t}"
    );
    assert!(
        t.contains("WAIT_CERT      -> WAIT_CV        on recv Certificate   [certificate path]"),
        "{t}"
    );
    let dot = text(&run_keylab(&["states", "--format", "dot"]).stdout);
    assert!(
        dot.starts_with("digraph client {") && dot.contains("digraph server {"),
        "{dot}"
    );
}

#[test]
fn keylab_server_and_client_over_loopback() {
    let h = ed25519;
    let (server, addr, log) = ed25519_server(&[
        "--client-ca",
        &h("root.pem"),
        "--client-auth",
        "optional",
        "--max-connections",
        "3",
    ]);
    for (cert, path) in [(false, "ephemeral-dh"), (true, "certificate")] {
        let mut cmd = keylab_client(&addr);
        cmd.args(["--ca", &h("root.pem"), "--send", "hi there"]);
        if cert {
            cmd.args(["--cert", &h("client.pem"), "--key", &h("client.key")]);
        }
        let out = run_with_timeout(cmd, None, Duration::from_secs(20));
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
        let lines: Vec<&str> = stdout.lines().collect();
        assert!(
            lines[0].starts_with(&format!(
                "path={path} suite=TLS_CHACHA20_POLY1305_SHA256 group=x25519"
            )),
            "{stdout}"
        );
        assert_eq!(lines[1], "hi there");
        let line = log
            .recv_timeout(Duration::from_secs(10))
            .expect("server log line");
        assert!(
            line.contains(&format!("path={path}")) && line.contains(" ok (9 bytes echoed); why: "),
            "{line}"
        );
    }
    // A bad client does not stop the server: it logs the error and serves on.
    let mut raw = std::net::TcpStream::connect(&addr).expect("connect");
    std::io::Write::write_all(&mut raw, b"GET / HTTP/1.1\r\n\r\n").expect("write");
    let line = log
        .recv_timeout(Duration::from_secs(10))
        .expect("server log line");
    assert!(line.contains("error:"), "{line}");
    drop(server);
}

#[test]
fn usage_errors_exit_2_and_failures_exit_1() {
    let h = ed25519;
    let (root, cert) = (h("root.pem"), h("client.pem"));
    let out = run_keylab(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--cert",
        &h("server.pem"),
        "--key",
        &h("server.key"),
        "--client-auth",
        "required",
    ]);
    assert_fails(&out, 2, "--client-auth required needs --client-ca FILE");

    // Nothing listens on a port we just freed: the client fails with exit 1.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let free = format!("127.0.0.1:{port}");
    let out = run_keylab(&[
        "client",
        "--connect",
        &free,
        "--ca",
        &root,
        "--timeout",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));

    let out = run_keylab(&["client", "--connect", "x:1", "--ca", &root, "--cert", &cert]);
    let no_key = "required arguments were not provided:\n  --key <FILE>";
    assert_fails(&out, 2, no_key);
    let out = run_keylab(&["demo", "--path", "psk+ke"]);
    assert_fails(&out, 2, "invalid value 'psk+ke' for '--path <PATH>'");
}

#[test]
fn demo_forward_secrecy_decrypts_only_the_psk_ke_recording() {
    let out = demo_ok(&["--forward-secrecy", "--seed", "11"]);
    assert_mentions(
        &out,
        &[
            "run 1: ephemeral-dh",
            "run 2: psk+dhe",
            "run 3: psk",
            "recovered: client -> server \"secret sent with psk_ke\"",
            "result: DECRYPTED with the leaked PSK alone: psk_ke has no forward secrecy",
            "the AEAD tag check failed",
            "ephemeral private key, and both were erased",
        ],
    );
    assert_eq!(out.matches("result: not decrypted").count(), 2, "{out}");
    assert!(out.lines().all(|l| l.len() <= 100), "{out}");
    assert_eq!(
        out,
        demo_ok(&["--forward-secrecy", "--seed", "11"]),
        "byte-identical under a seed"
    );
    let json: serde_json::Value =
        serde_json::from_str(&demo_ok(&["--forward-secrecy", "--seed", "11", "--json"]))
            .expect("JSON");
    let decrypted: Vec<_> = json["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| (a["path"].as_str(), a["decrypted"].as_bool()))
        .collect();
    assert_eq!(
        decrypted,
        [
            (Some("ephemeral-dh"), Some(false)),
            (Some("psk+dhe"), Some(false)),
            (Some("psk"), Some(true)),
        ]
    );
}
