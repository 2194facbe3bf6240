//! `keylab server` and `keylab client` as a user meets them: the server logs each
//! handshake when it completes and the connection's end apart; the client checks its
//! output files before connecting and can describe the connection as JSON; every option
//! of server, client and mitm is documented; `-v` logs the server's states and messages.

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use clap::CommandFactory as _;
use handshake::{Connection, Stream};
use support::{
    ed25519, ed25519_server, hierarchy, keylab_client, keylab_peer, run_keylab, run_with_timeout,
    stderr, stdout, text,
};

/// The next line of a log, waiting at most 10 s.
fn next_line(log: &Receiver<String>) -> String {
    log.recv_timeout(Duration::from_secs(10))
        .expect("a log line within 10 s")
}

#[test]
fn the_server_logs_the_handshake_when_it_completes_and_the_end_apart() {
    let (_server, addr, log) = ed25519_server(&["--max-connections", "2"]);
    // A client that completes the handshake, exchanges a line and leaves without
    // close_notify, as browsers and `openssl s_client -quiet` do.
    let config = keylab_peer::client_config(hierarchy(false), false);
    let conn =
        Connection::client(Arc::new(config), "localhost", harness::seed::os_rng()).expect("client");
    let tcp = TcpStream::connect(&addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut stream = Stream::new(conn, tcp, time::OffsetDateTime::now_utc);
    stream.handshake().expect("handshake");
    // Logged while the connection is still open: the path is known at once.
    let line = next_line(&log);
    let client_port = stream.get_ref().local_addr().expect("addr").port();
    assert!(
        line.starts_with(&format!("127.0.0.1:{client_port} handshake ok: path=ephemeral-dh suite=TLS_CHACHA20_POLY1305_SHA256 group=x25519 server_sig=ed25519 sni=localhost; why: ")),
        "{line}"
    );
    stream.write_all(b"bye\n").expect("write");
    let mut echo = [0u8; 4];
    stream.read_exact(&mut echo).expect("echo");
    drop(stream);
    let line = next_line(&log);
    assert_eq!(
        line,
        format!(
            "127.0.0.1:{client_port} warning: closed without close_notify after 4 bytes echoed (possible truncation)"
        )
    );

    // A client that closes properly is logged as such.
    let mut cmd = keylab_client(&addr);
    cmd.args(["--ca", &ed25519("root.pem"), "--send", "hi"]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(next_line(&log).contains(" handshake ok: path=ephemeral-dh "));
    assert!(
        next_line(&log).ends_with(" closed: close_notify received, 3 bytes echoed"),
        "the end of a clean connection"
    );
}

/// A client that leaves in the middle of the handshake is an error, not a truncation
/// warning: there was no connection to truncate.
#[test]
fn a_client_that_leaves_during_the_handshake_is_an_error() {
    let (_server, addr, log) = ed25519_server(&["--max-connections", "1"]);
    let mut tcp = TcpStream::connect(&addr).expect("connect");
    tcp.write_all(&[22, 3, 1, 0, 200, 1])
        .expect("a piece of a ClientHello");
    let port = tcp.local_addr().expect("addr").port();
    drop(tcp);
    assert_eq!(
        next_line(&log),
        format!("127.0.0.1:{port} error: the client left before the handshake completed")
    );
}

/// The server keeps no record of its connections' messages and secrets, but `-v` still
/// logs each message and state as it happens (names and sizes, never a value).
#[test]
fn the_server_logs_states_and_messages_with_v() {
    let (_server, addr, log) = ed25519_server(&["-v", "--max-connections", "1"]);
    let mut cmd = keylab_client(&addr);
    cmd.args(["--ca", &ed25519("root.pem"), "--send", "hi"]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut lines = Vec::new();
    while let Ok(line) = log.recv_timeout(Duration::from_secs(10)) {
        let end = line.contains(" closed: close_notify received");
        lines.push(line);
        if end {
            break;
        }
    }
    let logged = lines.join("\n");
    for want in [
        r#"handshake message side="server" direction=Received ClientHello"#,
        r#"state side="server" from="START" to="RECVD_CH""#,
        r#"handshake message side="server" direction=Sent CertificateVerify"#,
        r#"state side="server" from="WAIT_FINISHED" to="CONNECTED""#,
        " handshake ok: path=ephemeral-dh ",
    ] {
        assert!(logged.contains(want), "{want:?} not in:\n{logged}");
    }
}

#[test]
fn client_outputs_are_checked_before_connecting() {
    // A listener that counts the connections it gets.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr").to_string();
    let ca = ed25519("root.pem");
    for (flag, value, message) in [
        (
            "--session-out",
            "/nonexistent/dir/s.txt",
            "cannot write /nonexistent/dir/s.txt: /nonexistent/dir does not exist",
        ),
        (
            "--keylog",
            "/nonexistent/dir/keys.log",
            "cannot write /nonexistent/dir/keys.log: /nonexistent/dir does not exist",
        ),
    ] {
        let mut cmd = keylab_client(&addr);
        cmd.args(["--ca", &ca, "--timeout", "3", "--json", flag, value]);
        let out = run_with_timeout(cmd, None, Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr(&out));
        let error: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
        assert_eq!(error["error"]["kind"], "output", "{flag}: {error}");
        assert_eq!(error["error"]["message"], message, "{flag}");
        assert!(
            listener.accept().is_err(),
            "{flag}: the client connected before checking its output"
        );
    }
}

#[test]
fn client_json_describes_the_connection() {
    let (_server, addr, _log) = ed25519_server(&["--alpn", "h2"]);
    let dir = tempfile::tempdir().expect("tmp");
    let session = dir.path().join("s.txt");
    let mut cmd = keylab_client(&addr);
    cmd.args(["--ca", &ed25519("root.pem"), "--json", "--alpn", "h2"])
        .args([
            "--cert",
            &ed25519("client.pem"),
            "--key",
            &ed25519("client.key"),
        ])
        .args(["--send", "json please", "--session-out"])
        .arg(&session);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert_eq!(printed.lines().count(), 1, "one object: {printed}");
    let v: serde_json::Value = serde_json::from_str(&printed).expect("JSON");
    assert_eq!(v["connected_to"], addr);
    assert_eq!(v["server_name"], "localhost");
    assert_eq!(v["version"], "TLSv1.3");
    // The server does not ask for a certificate, so the client sends none.
    assert_eq!(v["path"], "ephemeral-dh");
    assert_eq!(v["suite"], "TLS_CHACHA20_POLY1305_SHA256");
    assert_eq!(v["group"], "x25519");
    assert_eq!(v["server_signature"], "ed25519");
    assert_eq!(v["client_signature"], serde_json::Value::Null);
    assert_eq!(v["alpn"], "h2");
    assert_eq!(v["resumed"], false);
    assert_eq!(v["psk_identity"], serde_json::Value::Null);
    assert_eq!(v["server_certificate"], "CN=localhost");
    assert_eq!(v["server_chain"][2], "CN=keylab ed25519 Root CA");
    assert_eq!(v["sent"], "json please");
    assert_eq!(v["reply"], "json please");
    assert_eq!(v["bytes"]["application_sent"], 12);
    assert_eq!(v["bytes"]["application_received"], 12);
    assert!(
        v["bytes"]["wire_received"].as_u64().expect("count") > 1000,
        "{v}"
    );
    assert_eq!(v["tickets_received"], 1);
    assert_eq!(v["session_saved"], session.display().to_string());

    // Resumed with the saved ticket.
    let mut cmd = keylab_client(&addr);
    cmd.args(["--json", "--alpn", "h2", "--session-in"])
        .arg(&session);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["path"], "resumption+dhe", "{v}");
    assert_eq!(v["resumed"], true);
    assert_eq!(v["server_certificate"], serde_json::Value::Null);
}

#[test]
fn client_failures_have_their_kind_in_json() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = free.local_addr().expect("addr").to_string();
    drop(free);
    let start = Instant::now();
    let out = run_keylab(&[
        "client",
        "--connect",
        &addr,
        "--ca",
        &ed25519("root.pem"),
        "--json",
    ]);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert_eq!(v["error"]["kind"], "network", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .starts_with(&format!("cannot connect to {addr}: ")),
        "{v}"
    );

    // A server whose certificate the client does not trust: a TLS failure.
    let (_server, addr, _log) = ed25519_server(&[]);
    let mut cmd = keylab_client(&addr);
    cmd.args(["--ca", &support::fixture("rsa/root.pem"), "--json"]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert_eq!(v["error"]["kind"], "tls", "{v}");
}

#[test]
fn every_option_of_server_client_and_mitm_is_documented() {
    let cli = harness::cli::Cli::command();
    for name in ["server", "client", "mitm"] {
        let command = cli.find_subcommand(name).expect("subcommand");
        let help = text(&run_keylab(&[name, "--help"]).stdout);
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if arg.is_hide_set() {
                assert!(
                    long.contains("testing") || long.starts_with("test-"),
                    "{name} --{long} is hidden: it must be test-only and named so"
                );
                continue;
            }
            let documented = arg
                .get_help()
                .is_some_and(|h| !h.to_string().trim().is_empty());
            assert!(documented, "{name} --{long} has no help text");
            assert!(
                help.contains(&format!("--{long}")),
                "{name} --help lacks --{long}"
            );
        }
    }
    let mitm = text(&run_keylab(&["mitm", "--help"]).stdout);
    assert!(mitm.contains("Stop accepting after N connections, wait until they are relayed"));
    let client = text(&run_keylab(&["client", "--help"]).stdout);
    assert!(
        client.contains("With --json, stdout is one JSON object"),
        "{client}"
    );
    assert!(client.contains("Exit status:"), "{client}");
}
