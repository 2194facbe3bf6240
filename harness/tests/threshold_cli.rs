//! `keylab threshold` end to end: FROST key shares from `keylab threshold keygen`, a
//! certificate for the group key from `keylab pki issue --public-key`, signers from
//! `keylab threshold signer`, and `keylab server --threshold-signers` completing handshakes
//! with OpenSSL, rustls, GnuTLS and keylab clients while signers are down, slow, cheating
//! or killed mid-handshake.

mod support;

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use support::{
    Running, assert_ok, have_openssl, keylab, keylab_client, keylab_server, run_keylab,
    run_with_timeout, rustls_peer, start_listening, stderr, text,
};

/// A CA, a 5-share group, the server's certificate for the group key, TLS files for the
/// signers and their coordinator.
struct Group {
    dir: tempfile::TempDir,
}

impl Group {
    fn new(m: &str, n: &str, dealer: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let group = Self { dir };
        let p = |rel: &str| group.path(rel);
        assert_ok(&run_keylab(&["pki", "init", "--out", &p("ca")]));
        let mut keygen = vec!["threshold", "keygen", "--threshold", m, "--signers", n];
        let out_dir = p("shares");
        keygen.extend(["--out", &out_dir]);
        if dealer {
            keygen.extend(["--trusted-dealer", "--seed", "7"]);
        }
        let printed = assert_ok(&run_keylab(&keygen));
        assert!(
            printed.starts_with("-----BEGIN PUBLIC KEY-----"),
            "{printed}"
        );
        assert_eq!(
            printed,
            std::fs::read_to_string(p("shares/group.pem")).expect("group.pem")
        );
        let issue = |extra: &[&str]| {
            let (ca, key) = (p("ca/ca.pem"), p("ca/ca.key"));
            let mut args = vec!["pki", "issue", "--ca-cert", &ca, "--ca-key", &key];
            args.extend_from_slice(extra);
            assert_ok(&run_keylab(&args));
        };
        let (group_key, server) = (p("shares/group.pem"), p("server"));
        issue(&[
            "--server",
            "localhost,127.0.0.1",
            "--public-key",
            &group_key,
            "--out",
            &server,
        ]);
        assert!(
            !Path::new(&p("server.key")).exists(),
            "no private key is written"
        );
        issue(&["--server", "localhost,127.0.0.1", "--out", &p("signer")]);
        issue(&["--client", "coordinator", "--out", &p("coordinator")]);
        group
    }

    fn path(&self, rel: &str) -> String {
        self.dir
            .path()
            .join(rel)
            .to_str()
            .expect("utf-8")
            .to_owned()
    }

    /// Starts signer `i` over mutual TLS (or plain HTTP), with `extra` options; its URL.
    fn signer(&self, i: usize, tls: bool, extra: &[&str]) -> (Running, String) {
        let mut cmd = keylab();
        cmd.args([
            "threshold",
            "signer",
            "--listen",
            "127.0.0.1:0",
            "--key-share",
        ])
        .arg(self.path(&format!("shares/share-{i}.json")))
        .args(extra)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
        if tls {
            cmd.args([
                "--cert",
                &self.path("signer.pem"),
                "--key",
                &self.path("signer.key"),
            ])
            .args(["--client-ca", &self.path("ca/ca.pem")]);
        } else {
            cmd.arg("--insecure-http");
        }
        let (running, addr) = start_listening(cmd);
        let scheme = if tls { "https" } else { "http" };
        (running, format!("{scheme}://{addr}"))
    }

    /// `keylab server` signing with `urls`, M = `m`.
    fn server(
        &self,
        urls: &[String],
        m: &str,
        extra: &[&str],
    ) -> (Running, String, mpsc::Receiver<String>) {
        let joined = urls.join(",");
        let mut args = vec!["--cert".to_owned(), self.path("server.pem")];
        args.extend([
            "--threshold-signers".to_owned(),
            joined,
            "--threshold".into(),
            m.into(),
        ]);
        if urls.iter().any(|u| u.starts_with("https://")) {
            args.extend([
                "--threshold-signers-ca".to_owned(),
                self.path("ca/ca.pem"),
                "--threshold-signers-cert".into(),
                self.path("coordinator.pem"),
                "--threshold-signers-key".into(),
                self.path("coordinator.key"),
            ]);
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        keylab_server(&refs)
    }

    /// `keylab client` sends a line; its output.
    fn keylab_client(&self, addr: &str) -> std::process::Output {
        let mut cmd = keylab_client(addr);
        cmd.args([
            "--ca",
            &self.path("ca/ca.pem"),
            "--send",
            "hi",
            "--timeout",
            "20",
        ]);
        run_with_timeout(cmd, None, Duration::from_secs(30))
    }
}

/// Log lines that arrive within `wait`.
fn drain(log: &mpsc::Receiver<String>, wait: Duration) -> Vec<String> {
    let end = Instant::now() + wait;
    let mut lines = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match log.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
    lines
}

fn key_share_mode(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).expect("share").permissions().mode() & 0o777
}

#[test]
fn three_of_five_with_two_down_serves_openssl_rustls_gnutls_and_keylab() {
    let group = Group::new("3", "5", false);
    assert_eq!(key_share_mode(&group.path("shares/share-1.json")), 0o600);
    let mut signers: Vec<Option<Running>> = Vec::new();
    let mut urls = Vec::new();
    for i in 1..=5 {
        let (running, url) = group.signer(i, true, &[]);
        signers.push(Some(running));
        urls.push(url);
    }
    // Two of five down before the server starts.
    signers[1] = None;
    signers[3] = None;
    let (_server, addr, log) = group.server(&urls, "3", &[]);

    let out = group.keylab_client(&addr);
    assert!(out.status.success(), "keylab client: {}", stderr(&out));
    let lines = drain(&log, Duration::from_secs(2));
    let signed = lines
        .iter()
        .find(|l| l.contains("CertificateVerify signed by"))
        .expect("signed");
    assert!(
        !signed.contains(&urls[1]) && !signed.contains(&urls[3]),
        "{signed}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("handshake ok") && l.contains("server_sig=ed25519"))
    );

    if have_openssl() {
        let mut cmd = Command::new("openssl");
        cmd.args(["s_client", "-connect", &addr, "-tls1_3", "-CAfile"])
            .arg(group.path("ca/ca.pem"))
            .args(["-verify_return_error", "-verify_hostname", "localhost"])
            .args(["-servername", "localhost"]);
        let out = run_with_timeout(cmd, Some(b"hello threshold\n"), Duration::from_secs(20));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(all.contains("Verify return code: 0 (ok)"), "{all}");
        assert!(all.contains("hello threshold"), "the echo: {all}");
    }

    let roots =
        rustls_peer::roots_from(&std::fs::read_to_string(group.path("ca/ca.pem")).expect("ca"));
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .expect("TLS 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut tls = rustls_peer::connect(Arc::new(config), addr.parse().expect("addr"));
    tls.write_all(b"hello from rustls").expect("write");
    let mut reply = [0u8; 17];
    tls.read_exact(&mut reply).expect("echo");
    assert_eq!(&reply, b"hello from rustls");

    if let Some(port) = gnutls_port(&addr) {
        let mut cmd = Command::new("gnutls-cli");
        cmd.args(["127.0.0.1", "--port", &port, "--x509cafile"])
            .arg(group.path("ca/ca.pem"))
            .args(["--verify-hostname", "localhost"]);
        let out = run_with_timeout(cmd, Some(b"hello gnutls\n"), Duration::from_secs(20));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{all}");
        assert!(all.contains("The certificate is trusted"), "{all}");
        assert!(all.contains("hello gnutls"), "{all}");
    }
}

/// The port of `addr` when `gnutls-cli` is installed; under `CI=true` it must be.
fn gnutls_port(addr: &str) -> Option<String> {
    let ok = Command::new("gnutls-cli")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "gnutls-cli is required under CI"
        );
        eprintln!("skipping GnuTLS: no gnutls-cli on PATH");
        return None;
    }
    addr.rsplit(':').next().map(str::to_owned)
}

#[test]
fn a_cheating_signer_is_named_and_a_slow_one_left_out() {
    let group = Group::new("2", "4", true);
    let (_cheat, cheat_url) = group.signer(1, false, &["--corrupt-shares-for-testing"]);
    let (_slow, slow_url) = group.signer(2, false, &["--delay-for-testing-ms", "8000"]);
    let (_s3, url3) = group.signer(3, false, &[]);
    let (_s4, url4) = group.signer(4, false, &[]);
    let urls = [cheat_url.clone(), slow_url.clone(), url3, url4];
    let (_server, addr, log) = group.server(&urls, "2", &["--threshold-timeout", "1"]);
    let mut seen = Vec::new();
    // Round 1 keeps the first two answers: connect until the cheater was among them.
    for _ in 0..15 {
        let started = Instant::now();
        let out = group.keylab_client(&addr);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
        seen.extend(drain(&log, Duration::from_millis(300)));
        if seen.iter().any(|l| l.contains("invalid signature share")) {
            break;
        }
    }
    let named = seen
        .iter()
        .find(|l| l.contains("invalid signature share"))
        .expect("cheater named");
    assert!(
        named.contains(&cheat_url) && named.contains("participant 1"),
        "{named}"
    );
    // The slow signer is not waited for: the first M answers are taken.
    assert!(
        seen.iter()
            .filter(|l| l.contains("CertificateVerify signed by"))
            .all(|l| !l.contains(&cheat_url) && !l.contains(&slow_url))
    );
}

#[test]
fn a_signer_killed_mid_handshake_is_replaced_and_too_few_fail_clearly() {
    let group = Group::new("2", "3", true);
    let (doomed, doomed_url) = group.signer(1, false, &["--delay-for-testing-ms", "1500"]);
    let (mut other_slow, slow_url) = group.signer(2, false, &["--delay-for-testing-ms", "700"]);
    let (_s3, url3) = group.signer(3, false, &[]);
    let urls = [doomed_url.clone(), slow_url, url3];
    let (mut server, addr, log) = group.server(&urls, "2", &[]);
    let client = {
        let addr = addr.clone();
        let ca = group.path("ca/ca.pem");
        std::thread::spawn(move || {
            let mut cmd = keylab_client(&addr);
            cmd.args(["--ca", &ca, "--send", "hi", "--timeout", "20"]);
            run_with_timeout(cmd, None, Duration::from_secs(30))
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    drop(doomed);
    let out = client.join().expect("client");
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = drain(&log, Duration::from_secs(1));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("left out") && l.contains(&doomed_url)),
        "{lines:?}"
    );

    // One signer of two needed: a clear failure, in bounded time, and the server lives on.
    let _ = other_slow.child.kill();
    let _ = other_slow.child.wait();
    let started = Instant::now();
    let out = group.keylab_client(&addr);
    assert!(!out.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(stderr(&out).contains("internal_error"), "{}", stderr(&out));
    let lines = drain(&log, Duration::from_secs(1));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("1 of 3 signers answered round 1, 2 needed")),
        "{lines:?}"
    );
    assert!(
        server.child.try_wait().expect("status").is_none(),
        "the server still runs"
    );
}

#[test]
fn bad_setups_are_refused_before_serving() {
    let group = Group::new("2", "3", true);
    let (_s1, url1) = group.signer(1, false, &[]);
    let (_s2, url2) = group.signer(2, false, &[]);
    let cert = group.path("server.pem");
    // M differs from the shares'.
    let out = run_keylab(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--cert",
        &cert,
        "--threshold-signers",
        &format!("{url1},{url2}"),
        "--threshold",
        "3",
    ]);
    assert!(!out.status.success());
    // A certificate for another key.
    let other = group.path("signer.pem");
    let out = run_keylab(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--cert",
        &other,
        "--threshold-signers",
        &format!("{url1},{url2}"),
        "--threshold",
        "2",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not the certificate's"),
        "{}",
        stderr(&out)
    );
    // A key share file that is not one.
    let bogus = group.path("bogus.json");
    std::fs::write(&bogus, "{}").expect("write");
    let out = run_keylab(&[
        "threshold",
        "signer",
        "--listen",
        "127.0.0.1:0",
        "--key-share",
        &bogus,
        "--insecure-http",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a keylab key share file"),
        "{}",
        stderr(&out)
    );
    // 1 of 3 is no threshold.
    let out = run_keylab(&[
        "threshold",
        "keygen",
        "--threshold",
        "1",
        "--signers",
        "3",
        "--out",
        &group.path("x"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
