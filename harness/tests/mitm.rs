//! The tampering proxy over real sockets: every operation makes the connection fail — with
//! an alert or a timeout, never a hang — while an untouched relay works; and `keylab mitm`
//! as a command.

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use handshake::ClientAuth;
use harness::mitm::{Dir, Operation, Proxy};
use harness::runner::{self, ClientSpec, LoopbackServer, Outcome};
use support::{
    Running, assert_fails, ed25519, ed25519_server, hierarchy, keylab, keylab_client, keylab_peer,
    lines, run_with_timeout, start_listening, stderr, stdout,
};

const LIMIT: Duration = Duration::from_secs(5);

/// The receiver of a damaged protected record: the AEAD says no more than this.
const UNDECRYPTABLE: &str = "record decryption failed";
/// Its peer, told so by the alert the receiver sends.
const ALERTED: &str = "peer sent fatal alert bad_record_mac";
/// A client whose peer's flight never came.
const TIMED_OUT: &str = "timed out waiting for the peer";
/// Both sides of a connection the proxy cut short.
const TRUNCATED: &str = "connection closed without close_notify (possible truncation)";

/// A server that requires a client certificate.
fn server(rsa: bool, seed: Option<u64>) -> LoopbackServer {
    let config = keylab_peer::server_config(hierarchy(rsa), ClientAuth::Required);
    LoopbackServer::start("127.0.0.1:0", Arc::new(config), seed).expect("server")
}

/// One connection through a proxy doing `op`; returns the client's outcome with the
/// server's attached, and how long it took.
fn through(rsa: bool, op: Operation) -> (Outcome, Duration) {
    let server = server(rsa, Some(5));
    let proxy = Proxy::start("127.0.0.1:0", server.addr(), op, Some(1)).expect("proxy");
    let start = Instant::now();
    let client = keylab_peer::client_config(hierarchy(rsa), true);
    let mut outcome = runner::run_client(
        proxy.addr(),
        &ClientSpec::new(client, b"through the proxy".to_vec()),
        harness::seed::connection_rng(Some(3), "client", 0),
        LIMIT,
    );
    outcome.server = server.next_outcome(runner::DEFAULT_TIMEOUT + Duration::from_secs(2));
    (outcome, start.elapsed())
}

/// A connection through a proxy doing `op` fails in time, the client and the server with
/// the errors `expected` names, in that order.
fn assert_fails_with(rsa: bool, op: Operation, expected: (&str, &str)) {
    let what = format!("rsa={rsa} {op:?}");
    let (o, took) = through(rsa, op);
    let client = o.client.as_ref().err().map(String::as_str);
    let server = o
        .server
        .as_ref()
        .map(|s| s.result.as_ref().err().map(String::as_str));
    assert_eq!(
        (client, server),
        (Some(expected.0), Some(Some(expected.1))),
        "{what}: the client's and the server's errors"
    );
    assert!(
        took < LIMIT + runner::DEFAULT_TIMEOUT + Duration::from_secs(3),
        "{what}: took {took:?}"
    );
}

/// What the client and the server report when a protected record sent in `dir` is damaged:
/// its receiver cannot decrypt it and alerts the sender.
fn receiver_fails(dir: Dir) -> (&'static str, &'static str) {
    match dir {
        Dir::C2S => (ALERTED, UNDECRYPTABLE),
        Dir::S2C => (UNDECRYPTABLE, ALERTED),
    }
}

#[test]
fn an_untouched_relay_works() {
    for rsa in [false, true] {
        let (o, _) = through(rsa, Operation::Pass);
        assert!(
            o.ok(b"through the proxy"),
            "{:?} {:?}",
            o.client,
            o.server.map(|s| s.result)
        );
    }
}

#[test]
fn flipped_bytes_through_the_proxy() {
    // A sample across both flights: ClientHello random, ServerHello key share (bytes 95..127
    // of the first record, after the 32-byte session id echo), the server's protected
    // Certificate and Finished, the client's protected Certificate and Finished. (The
    // client's flight starts after its ClientHello record of about 200 bytes and the
    // change_cipher_spec; the server's flight is over 1,100 bytes with either key type.)
    for rsa in [false, true] {
        for (dir, in_hello, protected) in [(Dir::C2S, 20, [400, 700]), (Dir::S2C, 110, [400, 1000])]
        {
            // A changed hello: the two key schedules part, and neither side can decrypt.
            let both = (UNDECRYPTABLE, UNDECRYPTABLE);
            assert_fails_with(rsa, Operation::Flip(dir, in_hello), both);
            for offset in protected {
                assert_fails_with(rsa, Operation::Flip(dir, offset), receiver_fails(dir));
            }
        }
    }
}

#[test]
fn truncated_dropped_and_reordered_records() {
    let cut = (TRUNCATED, TRUNCATED);
    assert_fails_with(false, Operation::Truncate(Dir::C2S, 100), cut);
    assert_fails_with(false, Operation::Truncate(Dir::S2C, 300), cut);
    // Record 1 each way is the change_cipher_spec of middlebox compatibility mode (RFC 8446
    // Appendix D.4), which may be dropped (below); record 2 is the first protected one: the
    // client's whole second flight, followed by its application data, which the server
    // cannot open under the handshake keys; the server's whole encrypted flight, after
    // which the server sends nothing until the client answers, so the client waits for
    // it in vain.
    for op in [Operation::DropRecord, Operation::Reorder] {
        assert_fails_with(false, op(Dir::C2S, 2), receiver_fails(Dir::C2S));
        assert_fails_with(false, op(Dir::S2C, 2), (TIMED_OUT, TRUNCATED));
    }
}

#[test]
fn the_change_cipher_spec_record_may_be_dropped_but_not_moved_past_finished() {
    for op in [
        Operation::DropRecord(Dir::S2C, 1),
        Operation::DropRecord(Dir::C2S, 1),
    ] {
        let (o, _) = through(false, op.clone());
        assert!(o.ok(b"through the proxy"), "{op:?}: {:?}", o.client);
    }
    // Each flight is one record, so the change_cipher_spec moved one place lands after
    // the sender's Finished, where RFC 8446 §5 requires unexpected_message.
    let (o, _) = through(false, Operation::Reorder(Dir::S2C, 1));
    let client = o
        .client
        .expect_err("the client refuses the late change_cipher_spec");
    assert!(client.contains("got change_cipher_spec"), "{client}");
    let (o, _) = through(false, Operation::Reorder(Dir::C2S, 1));
    let server = o.server.and_then(|s| s.result.err()).unwrap_or_default();
    assert!(server.contains("got change_cipher_spec"), "{server}");
}

#[test]
fn a_replayed_client_transcript_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("c2s.bin");
    let (o, _) = through(false, Operation::Record(Dir::C2S, file.clone()));
    assert!(
        o.ok(b"through the proxy"),
        "recording must not disturb the connection"
    );
    assert!(std::fs::metadata(&file).expect("recorded").len() > 1000);
    // The same client bytes against a fresh server with fresh randomness (new random and
    // key share): refused. (A server seeded like the first would answer identically —
    // which is why seeds are for tests only.)
    let server = server(false, None);
    let proxy = Proxy::start(
        "127.0.0.1:0",
        server.addr(),
        Operation::ReplayFrom(file),
        Some(1),
    )
    .expect("proxy");
    let _ = std::net::TcpStream::connect(proxy.addr()).expect("connect");
    let outcome = server
        .next_outcome(runner::DEFAULT_TIMEOUT + Duration::from_secs(2))
        .expect("server outcome");
    let err = outcome.result.expect_err("a replay must not complete");
    assert!(
        err.contains("record decryption failed") || err.contains("Finished"),
        "{err}"
    );
}

/// Waits (at most `limit`) for a started command to exit by itself.
fn exit_status(running: &mut Running, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = running.child.try_wait().expect("wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// `keylab mitm --listen 127.0.0.1:0 --upstream UPSTREAM OP...`, started, with its stderr.
fn keylab_mitm(upstream: &str, op: &[&str]) -> (Running, String, Receiver<String>) {
    let mut cmd = keylab();
    cmd.args(["mitm", "--listen", "127.0.0.1:0", "--upstream", upstream])
        .args(op)
        .stderr(Stdio::piped());
    let (mut running, addr) = start_listening(cmd);
    let reports = lines(running.stderr.take().expect("stderr"));
    (running, addr, reports)
}

/// The lines a command printed, up to the first one containing `needle` (at most 10 s).
fn lines_until(rx: &Receiver<String>, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with {needle:?} in {seen:#?}");
}

/// Each record of a byte stream: (content type, length of the whole record).
fn record_types(stream: &[u8]) -> Vec<(u8, usize)> {
    let mut records = Vec::new();
    let mut rest = stream;
    while rest.len() >= 5 {
        let len = 5 + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        records.push((rest[0], len));
        rest = &rest[len.min(rest.len())..];
    }
    records
}

#[test]
fn max_connections_waits_for_the_relayed_connection() {
    let (_server, upstream, _log) = ed25519_server(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("c2s.bin");
    let record = format!("c2s:{}", file.display());
    let (mut mitm, addr, reports) =
        keylab_mitm(&upstream, &["--record", &record, "--max-connections", "1"]);
    let mut cmd = keylab_client(&addr);
    cmd.args([
        "--ca",
        &ed25519("root.pem"),
        "--send",
        "whole",
        "--timeout",
        "5",
    ]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    // Before, the proxy exited as soon as it had accepted its one connection, cutting it.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).ends_with("\nwhole\n"), "{}", stdout(&out));
    let status = exit_status(&mut mitm, Duration::from_secs(10)).expect("mitm exits by itself");
    assert!(status.success(), "{status}");
    // The whole client side: ClientHello, change_cipher_spec, Finished, the line and
    // close_notify (the last three protected, as application_data).
    let recorded = std::fs::read(&file).expect("recorded");
    let types: Vec<u8> = record_types(&recorded).iter().map(|r| r.0).collect();
    assert_eq!(types, [22, 20, 23, 23, 23], "{recorded:?}");
    let said = lines_until(&reports, "closed (").join("\n");
    assert!(
        said.contains(&format!("c2s: recorded {} bytes to ", recorded.len())),
        "{said}"
    );
}

#[test]
fn keylab_mitm_says_what_it_changed() {
    let (_server, upstream, _log) = ed25519_server(&[]);
    let client = |addr: &str| {
        let mut cmd = keylab_client(addr);
        cmd.args(["--ca", &ed25519("root.pem"), "--timeout", "5"]);
        run_with_timeout(cmd, None, Duration::from_secs(20))
    };
    for (op, expected) in [
        (
            ["--flip", "s2c:100"],
            "s2c: flipped the low bit of byte 100 (byte 100 of record 0 (handshake, ",
        ),
        (
            ["--truncate", "c2s:100"],
            "c2s: truncated after 100 bytes (the last one forwarded is byte 99 of record 0 (handshake, ",
        ),
        (
            ["--drop-record", "s2c:2"],
            "s2c: dropped record 2 (application_data, ",
        ),
        (
            ["--reorder", "c2s:1"],
            "c2s: swapped records 1 and 2 (change_cipher_spec, 6 bytes; application_data, ",
        ),
    ] {
        let (mut mitm, addr, reports) =
            keylab_mitm(&upstream, &[&op[..], &["--max-connections", "1"]].concat());
        let out = client(&addr);
        let said = lines_until(&reports, expected);
        assert!(
            said[0].ends_with(&format!(" connected; relaying to {upstream}")),
            "{op:?}: {said:?}"
        );
        // Each breaks the connection. (The client sends no certificate, so its
        // change_cipher_spec moved after its Finished arrives after the handshake, where it
        // is an unexpected message, RFC 8446 §5.)
        assert_eq!(out.status.code(), Some(1), "{op:?}: {}", stderr(&out));
        lines_until(&reports, "closed (");
        let status = exit_status(&mut mitm, Duration::from_secs(10)).expect("mitm exits");
        assert!(status.success(), "{op:?}: {status}");
    }
    // An offset the connection never reaches: said so when the direction ends.
    let (_mitm, addr, reports) = keylab_mitm(
        &upstream,
        &["--flip", "c2s:100000", "--max-connections", "1"],
    );
    assert_eq!(client(&addr).status.code(), Some(0));
    let said = lines_until(&reports, "before byte 100000: nothing changed");
    assert!(
        said.last().expect("line").contains(" c2s: ended after "),
        "{said:?}"
    );
}

#[test]
fn an_unreachable_upstream_is_reported_and_the_client_let_go() {
    // A port nobody listens on: bound, then released.
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let upstream = free.local_addr().expect("addr").to_string();
    drop(free);
    let (mut mitm, addr, reports) = keylab_mitm(&upstream, &["--max-connections", "1"]);
    let start = Instant::now();
    let mut cmd = keylab_client(&addr);
    cmd.args(["--ca", &ed25519("root.pem"), "--timeout", "8", "--json"]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert_eq!(error["error"]["kind"], "network", "{error}");
    assert_eq!(
        error["error"]["message"],
        format!("{addr} closed the connection during the handshake, without an alert")
    );
    let said = lines_until(&reports, "cannot reach");
    assert!(
        said.last().expect("line").ends_with(&format!(
            " error: cannot reach upstream {upstream}: Connection refused (os error 111); \
             closing the client's connection"
        )),
        "{said:?}"
    );
    let status = exit_status(&mut mitm, Duration::from_secs(5)).expect("mitm exits");
    assert!(status.success(), "{status}");
}

#[test]
fn keylab_mitm_command() {
    let (_server, upstream, _log) = ed25519_server(&[]);
    // `keylab mitm` in front of the server, doing `op`.
    let mitm = |op: &[&str]| {
        let mut cmd = keylab();
        cmd.args(["mitm", "--listen", "127.0.0.1:0", "--upstream", &upstream])
            .args(op);
        cmd
    };
    let bad = mitm(&["--flip", "up:3"]).output().expect("run");
    assert_fails(&bad, 2, "neither c2s nor s2c");
    let two = mitm(&["--flip", "c2s:1", "--truncate", "c2s:5"])
        .output()
        .expect("run");
    // One operation at a time.
    assert_fails(
        &two,
        2,
        "'--flip <DIR:OFFSET>' cannot be used with '--truncate <DIR:N>'",
    );
    // A file it cannot record to is refused before listening.
    let nowhere = mitm(&["--record", "c2s:/nonexistent/dir/c2s.bin"])
        .output()
        .expect("run");
    assert_fails(&nowhere, 2, "/nonexistent/dir does not exist");
}
