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
            "run 5: psk (client holding the external PSK \"keylab-demo\", offering psk_ke only)",
            "server: client proved external PSK \"keylab-demo\" (psk_ke)",
            "TLS_CHACHA20_POLY1305_SHA256, no (EC)DHE",
            "run 6: hrr (client guessing secp256r1 while the server prefers x25519)",
            "server -> client  HelloRetryRequest",
        ],
    );
    assert!(out.contains("time:"), "timings are shown without --seed");
    assert!(
        out.trim_end().ends_with("ok: 6 of 6 runs succeeded"),
        "{out}"
    );
}

/// The certificate run receives no ticket where the plain client does, and says why.
#[test]
fn demo_says_why_the_certificate_run_gets_no_ticket() {
    let out = demo_ok(&["--seed", "1"]);
    let run = |n: usize| {
        let start = out.find(&format!("run {n}:")).expect("run");
        let end = out[start..].find("\n\n").map_or(out.len(), |e| start + e);
        flat(&out[start..end])
    };
    assert!(
        run(1).contains("tickets: 1 received and kept in the client's session cache"),
        "{}",
        run(1)
    );
    assert!(
        run(2).contains(
            "tickets: 0 received: this client keeps no session cache, so its ClientHello \
             lists no psk_key_exchange_modes, and the server issues tickets only for a mode \
             the client lists (RFC 8446 §4.2.9)"
        ),
        "{}",
        run(2)
    );
}

/// `text` with every run of whitespace made one space: the explanation wraps to the
/// terminal, so phrases are matched regardless of where lines break.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Like `assert_mentions`, for wrapped text.
#[track_caller]
fn assert_says(text: &str, phrases: &[&str]) {
    let flat_text = flat(text);
    for phrase in phrases {
        assert!(
            flat_text.contains(&flat(phrase)),
            "missing {phrase:?} in\n{text}"
        );
    }
}

#[test]
fn demo_psk_and_resumption_paths_alone() {
    // `psk` is psk_ke, as in the JSON; `psk+dhe` adds X25519.
    for (path, mode, group) in [
        ("psk", "psk_ke", "no (EC)DHE"),
        ("psk+dhe", "psk_dhe_ke", "x25519"),
    ] {
        let out = demo_ok(&["--path", path, "--seed", "5"]);
        assert_mentions(
            &out,
            &[
                &format!("run 1: {path} (client holding the external PSK"),
                &format!("  path:        {path}\n"),
                &format!("server: client proved external PSK \"keylab-demo\" ({mode})"),
                &format!("TLS_CHACHA20_POLY1305_SHA256, {group}, server signature none"),
            ],
        );
        assert!(!out.contains("run 2"), "{out}");
        assert!(
            !out.contains("server -> client  Certificate"),
            "no certificates on the PSK path: {out}"
        );
        let out = demo_ok(&["--path", path, "--explain", "--seed", "5"]);
        assert_says(
            &out,
            &[
                "The PSK binder (§4.2.11.2)",
                "binder_key",
                "early_secret = HKDF-Extract(",
            ],
        );
        assert!(
            !out.contains("message 3 (server -> client): Certificate"),
            "{out}"
        );
        assert_eq!(
            flat(&out).contains("With psk_ke nothing else does: no (EC)DHE"),
            path == "psk",
            "{out}"
        );
    }

    // Resumption needs the run that earns the ticket first.
    for (path, group) in [("resumption", "no (EC)DHE"), ("resumption+dhe", "x25519")] {
        let out = demo_ok(&["--path", path, "--seed", "5"]);
        assert_mentions(
            &out,
            &[
                "run 1: ephemeral-dh",
                &format!("run 2: {path} (the client of run 1, resuming with its ticket"),
                &format!("  path:        {path}\n"),
                &format!("TLS_CHACHA20_POLY1305_SHA256, {group}, server signature none"),
                "server -> client  NewSessionTicket",
                "ok: 2 of 2 runs succeeded",
            ],
        );
    }
}

/// The server's Finished covers the transcript up to the message before it: its
/// CertificateVerify on the certificate paths, EncryptedExtensions on the PSK paths (which
/// have no CertificateVerify); after a HelloRetryRequest it starts with message_hash.
#[test]
fn finished_explanations_name_the_transcript_of_their_path() {
    let covers = |transcript: &str| format!("HMAC(finished_key, Transcript-Hash({transcript}))");
    for (path, server, client) in [
        (
            "certificate",
            "ClientHello..server CertificateVerify",
            "ClientHello..client CertificateVerify",
        ),
        (
            "ephemeral-dh",
            "ClientHello..server CertificateVerify",
            "ClientHello..client Certificate",
        ),
        (
            "psk",
            "ClientHello..server EncryptedExtensions",
            "ClientHello..server Finished",
        ),
        (
            "psk+dhe",
            "ClientHello..server EncryptedExtensions",
            "ClientHello..server Finished",
        ),
        (
            "resumption",
            "ClientHello..server EncryptedExtensions",
            "ClientHello..server Finished",
        ),
        (
            "resumption+dhe",
            "ClientHello..server EncryptedExtensions",
            "ClientHello..server Finished",
        ),
        (
            "hrr",
            "message_hash(ClientHello1), HelloRetryRequest, ClientHello2..server CertificateVerify",
            "message_hash(ClientHello1), HelloRetryRequest, ClientHello2..client Certificate",
        ),
    ] {
        let out = demo_ok(&["--path", path, "--explain", "--seed", "8"]);
        assert_says(&out, &[&covers(server), &covers(client)]);
        // The run of the path asked for (resumption+dhe first runs ephemeral-dh).
        let last = out.rsplit("\nrun ").next().expect("a run");
        if path.starts_with("psk") || path.starts_with("resumption") {
            assert!(!last.contains("server CertificateVerify"), "{path}: {out}");
        }
    }
}

/// `--path hrr`: the client's key share is for a group the server does not prefer, so the
/// server asks again; both sides report it and the run's check looks at the messages.
#[test]
fn demo_hrr_path_sends_a_hello_retry_request() {
    let table = demo_ok(&["--path", "hrr", "--seed", "4"]);
    let names: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("run 1: hrr"))
        .take_while(|l| !l.starts_with("  path:"))
        .filter(|l| l.contains(" -> "))
        .map(|l| l.split_whitespace().nth(4).expect("message name"))
        .collect();
    assert_eq!(
        names.get(..4),
        Some(
            &[
                "ClientHello",
                "HelloRetryRequest",
                "ClientHello",
                "ServerHello"
            ][..]
        ),
        "{table}"
    );
    assert_mentions(
        &table,
        &[
            "  path:        ephemeral-dh\n",
            "TLS_CHACHA20_POLY1305_SHA256, x25519,",
            "ok: 1 of 1 runs succeeded",
        ],
    );
    let out = demo_ok(&["--path", "hrr", "--seed", "4", "--explain"]);
    assert_says(
        &out,
        &[
            "message 2 (server -> client): HelloRetryRequest",
            "The transcript after a HelloRetryRequest (§4.4.1)",
            "msg_type fe: message_hash (254)",
        ],
    );
    let json = demo_ok(&["--path", "hrr", "--seed", "4", "--json"]);
    assert_mentions(
        &json,
        &[
            "\"path\": \"hrr\"",
            "\"path\": \"ephemeral-dh\"",
            "\"hello_retry\": true",
            "\"name\": \"HelloRetryRequest\"",
        ],
    );
    assert!(!json.contains("\"hello_retry\": false"), "{json}");
    // The message_hash shown is SHA-256 of the first ClientHello the JSON lists.
    let client_hello1 = json
        .split("\"hex\": \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("first message's hex");
    let digest = sha2::Digest::finalize(sha2::Digest::chain_update(
        <sha2::Sha256 as sha2::Digest>::new(),
        hex::decode(client_hello1).expect("hex"),
    ));
    let first_row: Vec<String> = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let synthetic = out
        .split("message_hash (synthetic, in the transcript only)")
        .nth(1)
        .expect("the synthetic message is shown");
    assert!(synthetic.contains(&first_row.join(" ")), "{out}");
}

/// Every `--path` value is the run's JSON `path`, and `all` makes the six documented runs.
#[test]
fn demo_path_names_are_the_json_path_values() {
    let check = |args: &[&str], script: &str| {
        let json = demo_ok(args);
        let Ok(mut py) = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .spawn()
        else {
            eprintln!("skipping the JSON check: no python3");
            return;
        };
        use std::io::Write;
        py.stdin
            .take()
            .expect("stdin")
            .write_all(json.as_bytes())
            .expect("write");
        assert!(py.wait().expect("python").success(), "{args:?}: {json}");
    };
    check(
        &["--json", "--seed", "6"],
        "import json,sys; d=json.load(sys.stdin); r=d['runs']; \
         assert [x['path'] for x in r]==['ephemeral-dh','certificate','psk+dhe','resumption+dhe','psk','hrr'], r; \
         assert all(x['ok'] for x in r); \
         assert [x['client']['path'] for x in r]==['ephemeral-dh','certificate','psk+dhe','resumption+dhe','psk','ephemeral-dh']; \
         assert [x['server']['hello_retry'] for x in r]==[False]*5+[True]",
    );
    for path in [
        "ephemeral-dh",
        "certificate",
        "psk",
        "psk+dhe",
        "resumption",
        "resumption+dhe",
    ] {
        check(
            &["--json", "--seed", "6", "--path", path],
            &format!(
                "import json,sys; r=json.load(sys.stdin)['runs'][-1]; \
                 assert r['ok'] and r['path']=='{path}' and r['client']['path']=='{path}' \
                 and r['server']['path']=='{path}', r"
            ),
        );
    }
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

/// Every key of `shape` (the README's abbreviated example) is in `real` at the same place;
/// a `"..."` key stands for more fields.
fn keys_present(shape: &serde_json::Value, real: &serde_json::Value, at: &str) -> Vec<String> {
    use serde_json::Value;
    match (shape, real) {
        (Value::Object(s), Value::Object(r)) => s
            .iter()
            .filter(|(k, _)| k.as_str() != "...")
            .flat_map(|(k, v)| match r.get(k) {
                Some(rv) => keys_present(v, rv, &format!("{at}.{k}")),
                None => vec![format!("{at}.{k}")],
            })
            .collect(),
        (Value::Array(s), Value::Array(r)) => match (s.first(), r.first()) {
            (Some(sv), Some(rv)) => keys_present(sv, rv, &format!("{at}[0]")),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

#[test]
fn the_readme_json_shape_is_the_real_one() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme
        .find("```json\n")
        .expect("the README shows the JSON shape")
        + 8;
    let end = start + readme[start..].find("```").expect("end of block");
    let shape: serde_json::Value = serde_json::from_str(&readme[start..end]).expect("valid JSON");
    let real: serde_json::Value = serde_json::from_str(&demo_ok(&[
        "--json",
        "--seed",
        "1",
        "--path",
        "certificate",
    ]))
    .expect("demo JSON");
    let missing = keys_present(&shape, &real, "");
    assert!(
        missing.is_empty(),
        "the README shows keys keylab does not print: {missing:?}"
    );
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
    assert_says(
        &out,
        &[
            "message 1 (client -> server): ClientHello",
            "message 4 (server -> client): CertificateRequest, encrypted",
            "(client -> server): Certificate, encrypted",
            "(client -> server): CertificateVerify, encrypted",
            "(client -> server): Finished, encrypted",
            "client_handshake_traffic_secret",
            "exporter_master_secret",
            "opened with server_handshake_traffic_secret",
            "TLSInnerPlaintext, decrypted (§5.2):",
        ],
    );
    // Middlebox compatibility mode: each side's change_cipher_spec record is shown where it
    // went, the server's right after its ServerHello, the client's before its flight.
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {out}"))
    };
    let server_ccs = at("(server -> client): plaintext, change_cipher_spec");
    let client_ccs = at("(client -> server): plaintext, change_cipher_spec");
    assert!(at("(server -> client): ServerHello") < server_ccs);
    assert!(server_ccs < at("(server -> client): EncryptedExtensions"));
    assert!(at("(server -> client): Finished") < client_ccs);
    assert!(client_ccs < at("(client -> server): Certificate"));
    assert_eq!(out.matches("change_cipher_spec from the").count(), 2);
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
}

/// `keylab states --format dot` is one digraph, the machines as clusters with a legend,
/// and Graphviz renders it without a complaint.
#[test]
fn states_dot_is_one_digraph_that_renders() {
    let out = run_keylab(&["states", "--format", "dot"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dot = text(&out.stdout);
    assert!(dot.starts_with("digraph keylab_states {"), "{dot}");
    assert_eq!(dot.matches("digraph").count(), 1, "{dot}");
    assert_mentions(
        &dot,
        &[
            "subgraph cluster_client {",
            "subgraph cluster_server {",
            "subgraph cluster_legend {",
            "\"client_WAIT_CERT_CR\" -> \"client_WAIT_CERT\" [label=\"recv CertificateRequest\"",
        ],
    );
    // Every colour an arrow uses has its entry in the legend.
    for colour in dot
        .lines()
        .filter(|l| l.contains(" -> "))
        .filter_map(|l| l.split(", color=").nth(1))
        .filter_map(|rest| rest.split([',', ']']).next())
    {
        assert!(
            dot.contains(&format!("<FONT COLOR=\"{colour}\">")),
            "{colour} is not in the legend"
        );
    }
    support::render_dot(&dot);
}

/// The (side, from, to) transitions `keylab -v` logs for a run (the trace hook's events).
fn logged_transitions(log: &str) -> std::collections::BTreeSet<(String, String, String)> {
    let field = |line: &str, name: &str| {
        let start = line.find(&format!("{name}=\""))? + name.len() + 2;
        let len = line.get(start..)?.find('"')?;
        Some(line[start..start + len].to_owned())
    };
    log.lines()
        .filter(|l| l.contains(" state "))
        .filter_map(|l| Some((field(l, "side")?, field(l, "from")?, field(l, "to")?)))
        .filter(|(_, _, to)| to != "CLOSED")
        .collect()
}

/// The (side, from, to) arrows a `--states-dot` file draws thick.
fn highlighted_arrows(dot: &str) -> Vec<(String, String, String)> {
    dot.lines()
        .filter(|l| l.contains(" -> ") && l.contains("penwidth=3"))
        .map(|l| {
            let ids: Vec<&str> = l.split('"').collect();
            let (from, to) = (ids[1], ids[3]);
            let (side, from) = from.split_once('_').expect("side prefix");
            let to = to.split_once('_').expect("side prefix").1;
            (side.to_owned(), from.to_owned(), to.to_owned())
        })
        .collect()
}

/// `keylab demo --states-dot FILE` highlights exactly the transitions the run took, and
/// the file renders.
#[test]
fn demo_states_dot_highlights_the_run() {
    let dir = tempfile::tempdir().expect("tmp");
    for path in ["hrr", "psk", "certificate"] {
        let file = dir.path().join(format!("{path}.dot"));
        let file_arg = file.to_str().expect("path");
        let mut cmd = keylab();
        cmd.args([
            "-v",
            "demo",
            "--path",
            path,
            "--seed",
            "9",
            "--states-dot",
            file_arg,
        ])
        .env_remove("SSLKEYLOGFILE")
        .env("NO_COLOR", "1");
        let out = run_with_timeout(cmd, None, Duration::from_secs(60));
        assert_ok(&out);
        let dot = std::fs::read_to_string(&file).expect("dot file");
        assert_eq!(dot.matches("digraph").count(), 1, "{dot}");
        assert!(dot.contains(&format!("run {path} highlighted")), "{dot}");
        let taken = logged_transitions(&stderr(&out));
        assert!(
            taken.len() >= 8,
            "{path}: too few transitions logged: {taken:?}"
        );
        let thick = highlighted_arrows(&dot);
        let thick_set: std::collections::BTreeSet<_> = thick.iter().cloned().collect();
        assert_eq!(
            thick.len(),
            thick_set.len(),
            "{path}: one arrow per transition\n{dot}"
        );
        assert_eq!(thick_set, taken, "{path}\n{dot}");
        if path == "hrr" {
            assert_mentions(
                &dot,
                &[
                    "\"client_WAIT_SH\" -> \"client_WAIT_SH\" [label=\"2: recv HelloRetryRequest",
                    "\"server_RECVD_CH\" -> \"server_START\" [label=\"2: send HelloRetryRequest",
                    "\"server_START\" -> \"server_RECVD_CH\" [label=\"1, 3: recv ClientHello",
                ],
            );
        }
        if path == "psk" {
            assert!(
                dot.contains("[label=\"3: send ServerHello (pre_shared_key)"),
                "{dot}"
            );
        }
        support::render_dot(&dot);
    }

    // Refused: overwriting without --force, several runs; allowed with --force.
    let file = dir.path().join("hrr.dot");
    let file_arg = file.to_str().expect("path");
    let out = run_keylab(&["demo", "--path", "hrr", "--states-dot", file_arg]);
    assert_fails(&out, 2, "exists; pass --force to overwrite");
    let out = run_keylab(&["demo", "--states-dot", "x.dot"]);
    assert_fails(&out, 2, "--states-dot highlights one run");
    std::fs::write(&file, "old").expect("write");
    let out = run_keylab(&[
        "demo",
        "--path",
        "ephemeral-dh",
        "--seed",
        "1",
        "--states-dot",
        file_arg,
        "--force",
    ]);
    assert_ok(&out);
    assert!(
        std::fs::read_to_string(&file)
            .expect("dot")
            .contains("run ephemeral-dh highlighted")
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
            line.contains(&format!(" handshake ok: path={path} ")) && line.contains("; why: "),
            "{line}"
        );
        let end = log
            .recv_timeout(Duration::from_secs(10))
            .expect("server log line");
        assert!(
            end.ends_with(" closed: close_notify received, 9 bytes echoed"),
            "{end}"
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
    assert!(
        stderr(&out).starts_with(&format!("error: cannot connect to {free}: ")),
        "the address that refused is named: {}",
        stderr(&out)
    );

    let out = run_keylab(&["client", "--connect", "x:1", "--ca", &root, "--cert", &cert]);
    let no_key = "required arguments were not provided:\n  --key <FILE>";
    assert_fails(&out, 2, no_key);
    let out = run_keylab(&["demo", "--path", "psk+ke"]);
    assert_fails(&out, 2, "invalid value 'psk+ke' for '--path <PATH>'");
    let out = run_keylab(&["demo", "--forward-secrecy", "--explain"]);
    assert_fails(&out, 2, "cannot be used with");
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

/// A client pointed at a server of another protocol hears text where a record header
/// belongs, and says so rather than naming a content type.
#[test]
fn a_client_talking_to_an_http_server_is_told_it_does_not_speak_tls() {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let server = std::thread::spawn(move || {
        if let Ok((mut tcp, _)) = listener.accept() {
            let mut hello = [0u8; 512];
            let _ = tcp.read(&mut hello);
            let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let root = ed25519("root.pem");
    let out = run_keylab(&[
        "client",
        "--connect",
        &addr,
        "--ca",
        &root,
        "--timeout",
        "5",
    ]);
    let _ = server.join();
    assert_fails(
        &out,
        1,
        "the peer does not speak TLS: it sent \"HTTP/\" where a record header belongs",
    );
}
