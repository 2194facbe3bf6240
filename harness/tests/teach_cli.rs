//! `keylab teach` over real sockets with keylab's own TLS client: the page and
//! `/explain.json`, the HTTP error answers (400, 404, 405, 431), the request time limit,
//! and the per-user CA it makes on first run and reuses.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use handshake::{ClientConfig, Connection, Stream};
use rand_core::SeedableRng;
use support::{Running, keylab, lines, start};
use time::OffsetDateTime;

/// `keylab teach --listen 127.0.0.1:0 ARGS` with its data under `data`; returns it, its
/// address, its stdout lines after the address, and its log (stderr).
fn teach(
    data: &Path,
    args: &[&str],
) -> (
    Running,
    String,
    mpsc::Receiver<String>,
    mpsc::Receiver<String>,
) {
    let mut cmd = keylab();
    cmd.args(["teach", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("XDG_DATA_HOME", data)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let (mut running, addr, out) = start(cmd, |l| {
        l.strip_prefix("listening on ")
            .and_then(|rest| rest.split_once(": "))
            .map(|(addr, _)| addr.to_owned())
    });
    let log = lines(running.stderr.take().expect("stderr"));
    (running, addr, out, log)
}

/// The lines printed so far (waiting briefly for them).
fn collect(rx: &mpsc::Receiver<String>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
        out.push(line);
    }
    out
}

/// A TLS connection to `addr` trusting the teach CA under `data`, offering ALPN as a
/// browser does (h2, then http/1.1); teach must choose http/1.1 (RFC 7301 §3.2).
fn connect(addr: &str, data: &Path) -> Stream<TcpStream> {
    let ca = std::fs::read_to_string(data.join("keylab/teach/ca.pem")).expect("the teach CA");
    let config = ClientConfig {
        trust_anchors: pki::Certificate::from_pem_bundle(&ca).expect("CA"),
        alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        ..ClientConfig::default()
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let conn = Connection::client(Arc::new(config), "localhost", rng).expect("client");
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut stream = Stream::new(conn, tcp, OffsetDateTime::now_utc);
    let summary = stream
        .handshake()
        .expect("handshake with the teach CA trusted");
    assert_eq!(summary.alpn.as_deref(), Some(&b"http/1.1"[..]));
    stream
}

/// Sends `request` and reads the answer to the end: (status, head, body).
fn exchange(addr: &str, data: &Path, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = connect(addr, data);
    stream.write_all(request).expect("send");
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => panic!(
                "reading the answer: {e}; so far {:?}",
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8(answer[..split].to_vec()).expect("ASCII head");
    let status = head[9..12].parse().expect("status code");
    (status, head, answer[split + 4..].to_vec())
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: keylab-test\r\n\r\n")
        .into_bytes()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in the page"))
        + start.len();
    let len = text[from..].find(end).expect("end marker");
    &text[from..from + len]
}

#[test]
fn the_page_explains_its_own_connection_and_json_serves_the_whole_model() {
    let data = tempfile::tempdir().expect("tempdir");
    let (_teach, addr, _, log) = teach(data.path(), &[]);
    let (status, head, body) = exchange(&addr, data.path(), &get("/any/path?x=1"));
    assert_eq!(status, 200, "{head}");
    for h in [
        "Connection: close",
        "Content-Type: text/html; charset=utf-8",
        "Cache-Control: no-store",
    ] {
        assert!(head.contains(h), "{h} missing in {head}");
    }
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "{head}"
    );
    let page = String::from_utf8(body).expect("UTF-8 page");
    assert!(page.starts_with("<!doctype html>"));
    let id = between(&page, "<strong id=\"connection-id\">", "</strong>").to_owned();
    let random = between(&page, "<code id=\"client-random\">", "</code>").to_owned();
    assert_eq!(random.len(), 64, "{random}");
    assert!(page.contains("GET /any/path?x=1"));
    let link = between(&page, "<a href=\"/explain.json", "\"").replace("&amp;", "&");
    let link = format!("/explain.json{link}");
    assert!(
        link.starts_with(&format!("/explain.json?c={id}&t=")),
        "{link}"
    );
    // Without the token the page gave, or with another, the model stays private.
    for stranger in [format!("/explain.json?c={id}"), format!("{link}0")] {
        let (status, head, _) = exchange(&addr, data.path(), &get(&stranger));
        assert_eq!(status, 404, "{stranger}: {head}");
    }
    assert_eq!(
        between(&page, "<code id=\"alpn-chosen\">", "</code>"),
        "http/1.1"
    );
    let choice = between(&page, "<p id=\"alpn-choice\">", "</p>");
    assert!(
        choice.contains("keylab chose &quot;http/1.1&quot;") && choice.contains("HTTP/2"),
        "{choice}"
    );

    let (status, head, body) = exchange(&addr, data.path(), &get(&link));
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("Content-Type: application/json"));
    let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        json["connection"].as_u64().map(|c| c.to_string()),
        Some(id.clone())
    );
    assert_eq!(json["offered"]["client_random"], random.as_str());
    assert_eq!(json["status"], 200);
    assert_eq!(json["request"], "GET /any/path?x=1");
    assert_eq!(
        json["offered"]["alpn"],
        serde_json::json!(["h2", "http/1.1"])
    );
    assert_eq!(json["offered"]["alpn_chosen"], "http/1.1");
    assert!(
        json["explanation"]["steps"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );

    for unknown in [
        "/explain.json?c=999999",
        "/explain.json?c=unknown",
        "/explain.json",
    ] {
        let (status, head, _) = exchange(&addr, data.path(), &get(unknown));
        assert_eq!(status, 404, "{unknown}: {head}");
    }
    let (status, _, body) = exchange(
        &addr,
        data.path(),
        &b"HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
    );
    assert_eq!((status, body.len()), (200, 0), "HEAD has no body");

    let log = collect(&log);
    assert!(
        log.iter()
            .any(|l| l.contains("handshake complete: path=") && l.contains("alpn=\"http/1.1\"")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("GET /any/path?x=1 -> 200")),
        "{log:?}"
    );
}

#[test]
fn bad_requests_get_their_status_and_the_server_goes_on() {
    let data = tempfile::tempdir().expect("tempdir");
    let (_teach, addr, _, _log) = teach(data.path(), &[]);
    let mut huge = b"GET / HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    while huge.len() < 40 * 1024 {
        huge.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    huge.extend_from_slice(b"\r\n");
    let cases: [(&[u8], u16); 5] = [
        (&huge, 431),
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
            405,
        ),
        (b"DELETE /x HTTP/1.1\r\nHost: localhost\r\n\r\n", 405),
    ];
    for (request, expected) in cases {
        let (status, head, _) = exchange(&addr, data.path(), request);
        assert_eq!(status, expected, "{head}");
        assert!(head.contains("Connection: close") && head.contains("Content-Length: "));
    }
    let (status, _, _) = exchange(&addr, data.path(), &get("/"));
    assert_eq!(status, 200, "still serving after the errors");
}

#[test]
fn a_slow_request_is_cut_off_at_the_request_timeout() {
    let data = tempfile::tempdir().expect("tempdir");
    let (_teach, addr, _, log) = teach(
        data.path(),
        &["--request-timeout", "1", "--idle-timeout", "5"],
    );
    let mut stream = connect(&addr, data.path());
    let start = Instant::now();
    stream.write_all(b"GET / HTTP/1.1\r\n").expect("send");
    // One header byte every 200 ms: each read succeeds, the request never completes.
    let mut cut = false;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(200));
        if stream.write_all(b"X").is_err() {
            cut = true;
            break;
        }
        stream.get_ref().set_nonblocking(true).expect("nonblocking");
        let mut probe = [0u8; 64];
        let closed = matches!(stream.get_mut().read(&mut probe), Ok(0));
        stream.get_ref().set_nonblocking(false).expect("blocking");
        if closed {
            cut = true;
            break;
        }
    }
    let took = start.elapsed();
    assert!(cut, "the server kept a trickling request open for {took:?}");
    assert!(took < Duration::from_secs(4), "cut after {took:?}");
    let log = collect(&log);
    assert!(
        log.iter().any(|l| l.contains("not complete within")),
        "{log:?}"
    );
}

#[test]
fn the_ca_is_made_once_with_private_keys_and_reused() {
    let data = tempfile::tempdir().expect("tempdir");
    let (first, _, out, _) = teach(data.path(), &["--max-connections", "1"]);
    let first_out = collect(&out);
    drop(first);
    let dir = data.path().join("keylab/teach");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("ca.key")), 0o600);
        assert_eq!(mode(&dir.join("leaf.key")), 0o600);
    }
    let ca = pki::Certificate::from_pem_bundle(
        &std::fs::read_to_string(dir.join("ca.pem")).expect("ca"),
    )
    .expect("CA");
    let nc = ca[0].name_constraints().expect("name constraints");
    assert_eq!(nc, &pki::NameConstraints::loopback_only());
    // OpenSSL, which nobody here wrote, reads the same constraints and accepts the leaf
    // under them.
    if support::have_openssl() {
        let openssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let ca_pem = dir.join("ca.pem");
        let ca_pem = ca_pem.to_str().expect("utf-8 path");
        let leaf_pem = dir.join("leaf.pem");
        let verified = openssl(&[
            "verify",
            "-CAfile",
            ca_pem,
            "-purpose",
            "sslserver",
            leaf_pem.to_str().expect("utf-8 path"),
        ]);
        assert!(verified.trim_end().ends_with(": OK"), "{verified}");
        let text = openssl(&["x509", "-in", ca_pem, "-noout", "-text"]);
        for needle in [
            "X509v3 Name Constraints: critical",
            "DNS:localhost",
            "IP:127.0.0.1/255.255.255.255",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }
    let spki = |lines: &[String]| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix("spki: ").map(str::to_owned))
            .expect("an spki line")
    };
    assert!(
        first_out.iter().any(|l| l.contains("(created now)")),
        "{first_out:?}"
    );
    assert!(
        first_out
            .iter()
            .any(|l| l.contains("--ignore-certificate-errors-spki-list="))
    );
    assert!(
        first_out
            .iter()
            .any(|l| l.contains("certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n keylab-teach -i "))
    );

    let (second, _, out, _) = teach(data.path(), &["--max-connections", "1"]);
    let second_out = collect(&out);
    drop(second);
    assert!(
        !second_out.iter().any(|l| l.contains("created now")),
        "{second_out:?}"
    );
    assert_eq!(spki(&first_out), spki(&second_out), "the same leaf");
}

#[test]
fn cert_and_key_override_the_teach_ca() {
    let data = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (
        support::fixture("p256/server.pem"),
        support::fixture("p256/server.key"),
    );
    let (_teach, addr, out, _log) = teach(data.path(), &["--cert", &cert, "--key", &key]);
    let out = collect(&out);
    assert!(out.iter().any(|l| l.starts_with("spki: ")), "{out:?}");
    assert!(
        !out.iter().any(|l| l.contains("certutil")),
        "no CA to import: {out:?}"
    );
    assert!(!data.path().join("keylab").exists(), "no CA is made");
    let config = ClientConfig {
        trust_anchors: pki::Certificate::from_pem_bundle(fixtures::P256.root).expect("root"),
        ..ClientConfig::default()
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let conn = Connection::client(Arc::new(config), "localhost", rng).expect("client");
    let tcp = TcpStream::connect(&addr).expect("connect");
    let mut stream = Stream::new(conn, tcp, OffsetDateTime::now_utc);
    let summary = stream
        .handshake()
        .expect("handshake with the given certificate")
        .clone();
    assert_eq!(
        summary.server_chain.first().map(String::as_str),
        Some("CN=localhost"),
        "{summary:?}"
    );
}
