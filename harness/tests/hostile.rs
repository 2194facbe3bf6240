//! Hostile clients against `keylab server`: each gets the right alert or is cut off by the
//! handshake timeout, the server logs it and keeps serving — a well-behaved client succeeds
//! during and after every attack. Every loop here is bounded in count and time.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use support::{assert_fails, ed25519, ed25519_server, keylab_client, run_with_timeout, text};

/// Alert descriptions (RFC 8446 §6).
const DECODE_ERROR: u8 = 50;
const UNEXPECTED_MESSAGE: u8 = 10;
const RECORD_OVERFLOW: u8 = 22;
const PROTOCOL_VERSION: u8 = 70;

fn start_server() -> (support::Running, String, Receiver<String>) {
    ed25519_server(&["--handshake-timeout", "2"])
}

/// A good client must succeed against `addr`.
fn good_client(addr: &str) {
    let mut cmd = keylab_client(addr);
    cmd.args(["--ca", &ed25519("root.pem"), "--send", "still here"]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    assert!(
        out.status.success(),
        "a good client failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("still here"));
}

/// Sends `bytes`, then reads what the server answers until it closes (at most 10 s).
fn attack(addr: &str, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = s.write_all(bytes);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    answer
}

/// The answer is exactly one fatal plaintext alert with one of `allowed`.
fn assert_alert(answer: &[u8], allowed: &[u8], what: &str) {
    assert!(
        answer.len() == 7
            && answer[..5] == [0x15, 0x03, 0x03, 0x00, 0x02]
            && answer[5] == 2
            && allowed.contains(&answer[6]),
        "{what}: expected a fatal alert in {allowed:?}, got {answer:02x?}"
    );
}

/// Reads a good client's two log lines: its handshake, then its clean end.
fn good_client_logged(log: &Receiver<String>) {
    for what in [" handshake ok: ", " closed: close_notify received"] {
        let line = log
            .recv_timeout(Duration::from_secs(10))
            .expect("the good client's log line");
        assert!(line.contains(what), "{line}");
    }
}

fn log_line(log: &Receiver<String>, what: &str) -> String {
    let line = log
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what}: no log line"));
    assert!(line.contains("error:"), "{what}: {line}");
    line
}

/// A TLS 1.2-only ClientHello (no supported_versions), as an old client sends it.
fn tls12_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend([7u8; 32]);
    body.push(0); // session id
    body.extend([0x00, 0x02, 0xc0, 0x2f]); // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    body.extend([0x01, 0x00]); // null compression
    let mut hs = vec![0x01, 0x00, 0x00, body.len() as u8];
    hs.extend(body);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, hs.len() as u8];
    record.extend(hs);
    record
}

#[test]
fn malformed_input_gets_the_right_alert_and_the_server_serves_on() {
    let (_server, addr, log) = start_server();
    let mut random = [0u8; 64];
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    for b in &mut random {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    random[0] = 0x99; // not a content type
    let cases: Vec<(&str, Vec<u8>, &[u8])> = vec![
        (
            "random bytes",
            random.to_vec(),
            &[UNEXPECTED_MESSAGE, DECODE_ERROR],
        ),
        (
            "an HTTP request",
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
            &[UNEXPECTED_MESSAGE, DECODE_ERROR],
        ),
        (
            "an oversized record",
            [&[0x16, 0x03, 0x03, 0x48, 0x01][..], &vec![0u8; 0x4801]].concat(),
            &[RECORD_OVERFLOW],
        ),
        (
            "an unknown content type",
            vec![0x18, 0x03, 0x03, 0x00, 0x01, 0x00],
            &[UNEXPECTED_MESSAGE],
        ),
        (
            "a zero-length handshake fragment",
            vec![0x16, 0x03, 0x03, 0x00, 0x00],
            &[UNEXPECTED_MESSAGE, DECODE_ERROR],
        ),
        (
            "an SSLv2-format hello",
            vec![
                0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
            ],
            &[DECODE_ERROR, UNEXPECTED_MESSAGE],
        ),
        (
            "a TLS 1.2-only ClientHello",
            tls12_client_hello(),
            &[PROTOCOL_VERSION],
        ),
    ];
    for (what, bytes, allowed) in cases {
        let answer = attack(&addr, &bytes);
        assert_alert(&answer, allowed, what);
        log_line(&log, what);
        good_client(&addr);
        good_client_logged(&log);
    }
}

#[test]
fn incomplete_and_slow_clients_are_cut_off_by_the_handshake_timeout() {
    let (_server, addr, log) = start_server();
    // Half a ClientHello, then silence.
    let start = Instant::now();
    let answer = attack(&addr, &[0x16, 0x03, 0x01, 0x00, 0x80, 0x01, 0x00]);
    assert!(
        answer.is_empty(),
        "no alert is owed to a silent client: {answer:02x?}"
    );
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(8),
        "closed after {waited:?}"
    );
    assert!(log_line(&log, "incomplete hello").contains("handshake not completed within 2 s"));

    // One byte per second: the deadline covers the whole handshake, not each read.
    let mut s = TcpStream::connect(&addr).expect("connect");
    let start = Instant::now();
    for (i, b) in tls12_client_hello().iter().take(5).enumerate() {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        if i == 0 {
            good_client(&addr); // served meanwhile
            good_client_logged(&log);
        }
        std::thread::sleep(Duration::from_millis(700));
    }
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "the slow client was not cut off"
    );
    assert!(log_line(&log, "slow client").contains("handshake not completed within 2 s"));
    good_client(&addr);
}

#[test]
fn five_hundred_idle_connections_do_not_stop_good_clients() {
    let (_server, addr, log) = start_server();
    let idle: Vec<TcpStream> = (0..500)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    good_client(&addr);
    // All 500 are closed by the handshake timeout, each with a log line.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut timed_out = 0;
    while timed_out < 500 && Instant::now() < deadline {
        match log.recv_timeout(Duration::from_secs(5)) {
            Ok(line) if line.contains("handshake not completed") => timed_out += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(timed_out, 500, "every idle connection ends with a log line");
    drop(idle);
    good_client(&addr);
}

#[test]
fn a_trickling_server_cannot_hold_the_client_past_its_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            // A plausible record header, then one byte every 300 ms (bounded: 40 bytes).
            let _ = s.write_all(&[0x16, 0x03, 0x03, 0x40, 0x00]);
            for _ in 0..40 {
                if s.write_all(&[0]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    });
    let start = Instant::now();
    let mut cmd = keylab_client(&addr);
    cmd.args(["--ca", &ed25519("root.pem"), "--timeout", "2"]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    assert_fails(&out, 1, "timed out");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "the client stayed {:?}",
        start.elapsed()
    );
}
