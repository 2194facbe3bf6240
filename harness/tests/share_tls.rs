//! `keylab share` over HTTPS with client certificates, all made by `keylab pki`: a split
//! to five mutual-TLS share servers recovered with two down, by the owner and by a named
//! reader but not by anyone else (403); clients without a certificate or with one from
//! another CA refused in the handshake (kind `tls`); `keylab server --key-shares` from
//! such servers; curl and `openssl s_client` as clients nobody here wrote; how `serve`
//! chooses between HTTPS and plain HTTP.

mod support;

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::{
    Running, assert_fails, assert_mentions, assert_ok, keylab_client, keylab_server,
    run_with_input, text,
};

const LIMIT: Duration = Duration::from_secs(30);
/// The secret split in these tests: the fixture server's private key, so that `keylab
/// server --key-shares` can serve the fixture certificate with it.
const KEY: &str = fixtures::ED25519.server_key;

/// A CA with a server certificate for `localhost` and `127.0.0.1` and client certificates
/// for alice, bob and eve; a second CA with a client certificate for mallory.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let pki = Self {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        pki.run(&["pki", "init", "--out", "ca"]);
        pki.run(&["pki", "init", "--out", "other-ca"]);
        pki.issue(
            "ca",
            &["--server", "localhost,127.0.0.1", "--out", "server"],
        );
        for name in ["alice", "bob", "eve"] {
            pki.issue("ca", &["--client", name, "--out", name]);
        }
        pki.issue("other-ca", &["--client", "mallory", "--out", "mallory"]);
        pki
    }

    fn issue(&self, ca: &str, args: &[&str]) {
        let (cert, key) = (format!("{ca}/ca.pem"), format!("{ca}/ca.key"));
        let issue = ["pki", "issue", "--ca-cert", &cert, "--ca-key", &key];
        self.run(&[&issue[..], args].concat());
    }

    /// Runs a keylab command in the directory; it must succeed.
    fn run(&self, args: &[&str]) {
        assert_ok(&self.keylab(args, b""));
    }

    /// Runs a keylab command in the directory with `stdin`.
    fn keylab(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut cmd = support::keylab();
        cmd.args(args).current_dir(self.dir.path());
        run_with_input(cmd, stdin, LIMIT)
    }

    /// The path of `name` in the directory, as text.
    fn file(&self, name: &str) -> String {
        self.dir
            .path()
            .join(name)
            .to_str()
            .expect("utf-8 path")
            .to_owned()
    }

    /// `--ca`, `--cert` and `--key` for the client `who` (`None`: no certificate).
    fn client_args(&self, who: Option<&str>) -> Vec<String> {
        let mut args = vec!["--ca".to_owned(), self.file("ca/ca.pem")];
        if let Some(who) = who {
            args.extend(["--cert".into(), self.file(&format!("{who}.pem"))]);
            args.extend(["--key".into(), self.file(&format!("{who}.key"))]);
        }
        args
    }
}

/// A running `keylab share serve` over mutual TLS, with its URL and log (stderr, at
/// RUST_LOG=info).
struct ShareServer {
    _running: Running,
    url: String,
    addr: String,
    log: mpsc::Receiver<String>,
}

/// `keylab share serve` on 127.0.0.1:0 with the CA's server certificate, requiring client
/// certificates from the CA; `extra` is added.
fn serve(pki: &Pki, dir: &str, extra: &[&str]) -> ShareServer {
    let mut cmd = support::keylab();
    cmd.args(["share", "serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(pki.dir.path().join(dir))
        .args(["--cert", &pki.file("server.pem"), "--key"])
        .args([
            &pki.file("server.key"),
            "--client-ca",
            &pki.file("ca/ca.pem"),
        ])
        .args(extra)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let (mut running, addr, _) =
        support::start(cmd, |l| l.strip_prefix("listening on ").map(str::to_owned));
    let log = support::lines(running.stderr.take().expect("stderr"));
    ShareServer {
        _running: running,
        url: format!("https://{addr}"),
        addr,
        log,
    }
}

/// The next log line of `server` that contains `needle`, within 10 seconds.
fn log_line(server: &ShareServer, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match server.log.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no log line with {needle:?}")
}

/// `keylab share combine --json --servers URLS --id ID` as `who`.
fn combine(pki: &Pki, urls: &str, id: &str, who: Option<&str>) -> Output {
    let mut args = vec!["share", "combine", "--json", "--servers", urls, "--id", id];
    let tls = pki.client_args(who);
    args.extend(tls.iter().map(String::as_str));
    pki.keylab(&args, b"")
}

/// The kind of the JSON error a failed `--json` run printed (exit 2), and its message.
#[track_caller]
fn error_of(o: &Output) -> (String, String) {
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(&text(&o.stdout)).expect("a JSON error");
    let field = |name: &str| v["error"][name].as_str().expect("a field").to_owned();
    (field("kind"), field("message"))
}

/// Splits [`KEY`] 3 of N onto `urls` as alice, naming `readers`; returns the split id.
fn split_as_alice(pki: &Pki, urls: &str, readers: &[&str]) -> String {
    let mut args = vec!["share", "split", "-m", "3", "--servers", urls];
    let tls = pki.client_args(Some("alice"));
    args.extend(tls.iter().map(String::as_str));
    let readers = readers.join(",");
    if !readers.is_empty() {
        args.extend(["--readers", &readers]);
    }
    let out = assert_ok(&pki.keylab(&args, KEY.as_bytes()));
    out.lines()
        .find_map(|l| l.strip_prefix("--id "))
        .expect("--id line")
        .to_owned()
}

#[test]
fn five_mutual_tls_servers_recover_with_two_down_for_owner_and_reader_only() {
    let pki = Pki::new();
    let mut servers: Vec<Option<ShareServer>> = (0..5)
        .map(|i| Some(serve(&pki, &format!("shares{i}"), &[])))
        .collect();
    let urls = servers
        .iter()
        .flatten()
        .map(|s| s.url.clone())
        .collect::<Vec<_>>()
        .join(",");
    let id = split_as_alice(&pki, &urls, &["bob"]);
    // Each server's log names the client that stored its share, and the reader.
    for server in servers.iter().flatten() {
        let line = log_line(server, "stored split");
        assert_mentions(&line, &[&id, "for CN=alice", "(readers: bob)"]);
    }
    servers[1] = None;
    servers[3] = None;
    for who in ["alice", "bob"] {
        let o = combine(&pki, &urls, &id, Some(who));
        let v: Value = serde_json::from_str(&assert_ok(&o)).expect("JSON");
        assert_eq!(v["text"], KEY, "{who}");
    }
    // eve holds a certificate from the CA but was not named: 403 from each server.
    let (kind, message) = error_of(&combine(&pki, &urls, &id, Some("eve")));
    assert_eq!(kind, "service", "{message}");
    assert_eq!(message.matches(": 403: ").count(), 3, "{message}");
    assert!(log_line(servers[0].as_ref().expect("up"), "refused").contains("CN=eve"));
    // No certificate, or one from another CA: refused in the handshake.
    for (who, alerts) in [
        (None, &["certificate_required"][..]),
        (Some("mallory"), &["unknown_ca", "bad_certificate"][..]),
    ] {
        let (kind, message) = error_of(&combine(&pki, &urls, &id, who));
        assert_eq!(kind, "tls", "{message}");
        assert!(alerts.iter().any(|a| message.contains(a)), "{message}");
    }
}

#[test]
fn a_server_rebuilds_its_key_from_mutual_tls_share_servers() {
    let pki = Pki::new();
    let servers: Vec<ShareServer> = (0..3)
        .map(|i| serve(&pki, &format!("shares{i}"), &[]))
        .collect();
    let urls = servers
        .iter()
        .map(|s| s.url.clone())
        .collect::<Vec<_>>()
        .join(",");
    let id = split_as_alice(&pki, &urls, &[]);
    let (ca, alice_cert, alice_key) = (
        pki.file("ca/ca.pem"),
        pki.file("alice.pem"),
        pki.file("alice.key"),
    );
    let cert = support::ed25519("server.pem");
    let (_server, addr, _log) = keylab_server(&[
        "--cert",
        &cert,
        "--key-shares",
        &urls,
        "--key-split-id",
        &id,
        "--key-shares-ca",
        &ca,
        "--key-shares-cert",
        &alice_cert,
        "--key-shares-key",
        &alice_key,
        "--max-connections",
        "1",
    ]);
    let mut client = keylab_client(&addr);
    client.args([
        "--ca",
        &support::ed25519("root.pem"),
        "--send",
        "key via mTLS",
    ]);
    let out = assert_ok(&run_with_input(client, b"", LIMIT));
    assert_mentions(&out, &["server_sig=ed25519", "key via mTLS"]);

    // Without a client certificate the share servers refuse it, and it does not start.
    let mut args = vec!["server", "--listen", "127.0.0.1:0", "--cert", &cert];
    args.extend(["--key-shares", &urls, "--key-split-id", &id]);
    args.extend(["--key-shares-ca", &ca]);
    let o = pki.keylab(&args, b"");
    assert_fails(&o, 1, "certificate_required");
    // Without the CA an https:// share server cannot be checked.
    let o = pki.keylab(&args[..args.len() - 2], b"");
    assert_fails(&o, 2, "give --key-shares-ca FILE");
}

/// Runs `program` with `args` within [`LIMIT`]; `None` when it is not installed.
fn external(program: &str, args: &[&str]) -> Option<Output> {
    support::external(program, args, LIMIT)
}

#[test]
fn curl_with_a_client_certificate_stores_and_reads_a_share() {
    let pki = Pki::new();
    let server = serve(&pki, "shares", &[]);
    let line = assert_ok(&pki.keylab(&["share", "split", "-m", "2", "-n", "2"], KEY.as_bytes()));
    let share = line.lines().next().expect("a share").to_owned();
    // keylab-share-v1:ID:M:X:Y
    let fields: Vec<&str> = share.split(':').collect();
    let url = format!("{}/shares/{}/{}", server.url, fields[1], fields[3]);
    let base = ["--silent", "--show-error", "--max-time", "10"];
    let (ca, cert, key) = (
        pki.file("ca/ca.pem"),
        pki.file("alice.pem"),
        pki.file("alice.key"),
    );
    let mutual = ["--cacert", &ca, "--cert", &cert, "--key", &key];
    let put = ["--upload-file", "-", "--write-out", "%{http_code}"];
    if external("curl", &["--version"]).is_none() {
        return;
    }
    let mut cmd = Command::new("curl");
    cmd.args(base).args(mutual).args(put).arg(&url);
    let o = run_with_input(cmd, share.as_bytes(), LIMIT);
    assert_eq!(text(&o.stdout), "stored\n201", "curl: {}", text(&o.stderr));
    assert!(log_line(&server, "stored split").contains("for CN=alice"));
    let o = external("curl", &[&base[..], &mutual[..], &[&url[..]]].concat()).expect("curl");
    assert_eq!(
        text(&o.stdout).trim_end(),
        share,
        "curl: {}",
        text(&o.stderr)
    );
    // Without a client certificate curl gets no answer.
    let o = external("curl", &[&base[..], &["--cacert", &ca, &url]].concat()).expect("curl");
    assert!(!o.status.success(), "answered: {}", text(&o.stdout));
    assert!(o.stdout.is_empty(), "{}", text(&o.stdout));
    let line = log_line(&server, "TLS handshake");
    assert!(line.contains("certificate_required"), "{line}");
}

#[test]
fn openssl_s_client_sees_tls_1_3_the_certificate_request_and_the_suite() {
    if !support::have_openssl() {
        return;
    }
    let pki = Pki::new();
    let server = serve(&pki, "shares", &[]);
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &server.addr, "-CAfile"])
        .args([&pki.file("ca/ca.pem"), "-cert", &pki.file("alice.pem")])
        .args([
            "-key",
            &pki.file("alice.key"),
            "-verify_return_error",
            "-msg",
        ]);
    let o = run_with_input(cmd, b"", LIMIT);
    let said = text(&o.stdout) + &text(&o.stderr);
    assert!(o.status.success(), "{said}");
    assert_mentions(
        &said,
        &[
            "CertificateRequest",
            // "Acceptable ..." or "No ... sent": either way, a CertificateRequest came.
            "client certificate CA names",
            "New, TLSv1.3, Cipher is TLS_",
            "Verify return code: 0 (ok)",
        ],
    );
}

#[test]
fn serve_asks_for_https_or_an_explicit_insecure_http() {
    let pki = Pki::new();
    let dir = pki.file("shares");
    let base = ["share", "serve", "--listen", "127.0.0.1:0", "--dir", &dir];
    let o = pki.keylab(&base, b"");
    assert_fails(&o, 2, "give --cert FILE --key FILE --client-ca FILE");
    let (cert, key) = (pki.file("server.pem"), pki.file("server.key"));
    let o = pki.keylab(
        &[&base[..], &["--cert", &cert, "--key", &key]].concat(),
        b"",
    );
    assert_fails(&o, 2, "--client-ca");
    let o = pki.keylab(
        &[&base[..], &["--insecure-http", "--cert", &cert]].concat(),
        b"",
    );
    assert_fails(&o, 2, "cannot be used with");

    let mut cmd = support::keylab();
    cmd.args(base)
        .arg("--insecure-http")
        .current_dir(pki.dir.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let (mut running, addr, rest) =
        support::start(cmd, |l| l.strip_prefix("listening on ").map(str::to_owned));
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_eq!(
        rest.recv_timeout(Duration::from_secs(10)).ok().as_deref(),
        Some(format!("listening on {addr}").as_str())
    );
    assert_eq!(
        rest.recv_timeout(Duration::from_secs(10)).ok().as_deref(),
        Some("serving plain HTTP")
    );
    let warnings = support::lines(running.stderr.take().expect("stderr"));
    let warning = warnings
        .recv_timeout(Duration::from_secs(10))
        .expect("a warning");
    assert_mentions(&warning, &["WARNING", "plain HTTP", "--insecure-http"]);

    // Readers name certificate holders: not over plain HTTP.
    let url = format!("http://{addr}");
    let mut args = vec![
        "share",
        "split",
        "-m",
        "2",
        "--servers",
        &url,
        "--readers",
        "bob",
    ];
    let tls = pki.client_args(Some("alice"));
    args.extend(tls.iter().map(String::as_str));
    let o = pki.keylab(&args, KEY.as_bytes());
    assert_fails(&o, 2, "is not an https:// share server");
}
