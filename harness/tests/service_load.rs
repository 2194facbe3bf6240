//! The key services under a short load over keylab's TLS: 16 clients for 5 seconds
//! against `keylab keyserver serve` over HTTPS, with no failed request, and no leak — the
//! server's open file descriptors back to where they were once the clients leave, and its
//! memory flat from one round to the next. A bounded check, not a benchmark:
//! `scripts/service-load.sh` measures latency and throughput.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use handshake::ClientConfig;
use support::{Running, assert_ok, run_with_input};

const CLIENTS: usize = 16;
const ROUND: Duration = Duration::from_secs(5);

/// Runs `keylab ARGS` in `dir`; it must succeed.
fn keylab_in(dir: &Path, args: &[&str]) {
    let mut cmd = support::keylab();
    cmd.args(args).current_dir(dir);
    assert_ok(&run_with_input(cmd, b"", Duration::from_secs(60)));
}

/// A CA and a server certificate for localhost and 127.0.0.1, made by `keylab pki`.
fn certificates(dir: &Path) {
    keylab_in(dir, &["pki", "init", "--out", "ca"]);
    keylab_in(
        dir,
        &[
            "pki",
            "issue",
            "--ca-cert",
            "ca/ca.pem",
            "--ca-key",
            "ca/ca.key",
            "--server",
            "localhost,127.0.0.1",
            "--out",
            "server",
        ],
    );
}

/// `keylab keyserver serve` over HTTPS in `dir`; returns it and its address.
fn serve(dir: &Path) -> (Running, String) {
    let mut cmd = support::keylab();
    cmd.args([
        "keyserver",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        "keys.db",
    ])
    .args(["--cert", "server.pem", "--key", "server.key"])
    .current_dir(dir)
    .stdin(Stdio::null())
    .stderr(Stdio::null());
    let (running, addr, _rest) =
        support::start(cmd, |l| l.strip_prefix("listening on ").map(str::to_owned));
    (running, addr)
}

/// The open file descriptors and resident memory (KiB) of process `pid`.
fn usage(pid: u32) -> (usize, u64) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(Iterator::count)
        .expect("the server's /proc entry");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    (fds, rss)
}

/// Waits (at most 10 s) for the server's descriptors to come back to `baseline`; returns
/// the last count seen.
fn settled_fds(pid: u32, baseline: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (fds, _) = usage(pid);
        if fds <= baseline || Instant::now() > deadline {
            return fds;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One round: every client looks the published key up over its own connection pool.
fn round(url: &str, tls: &Arc<ClientConfig>) -> service::load::LoadReport {
    service::load::run(
        CLIENTS,
        ROUND,
        |_| keyserver::Client::with_tls(url, Duration::from_secs(10), tls.clone()),
        |client| client.hkp("get", "alice").map(drop),
    )
}

#[test]
fn the_key_server_over_https_serves_16_clients_without_errors_or_leaks() {
    let dir = tempfile::tempdir().expect("tempdir");
    certificates(dir.path());
    let (server, addr) = serve(dir.path());
    let pid = server.child.id();
    let url = format!("https://{addr}");
    let roots = pki::Certificate::from_pem_bundle(
        &std::fs::read_to_string(dir.path().join("ca/ca.pem")).expect("ca"),
    )
    .expect("ca certificate");
    let tls = Arc::new(ClientConfig {
        trust_anchors: roots,
        ..ClientConfig::default()
    });
    let alice = pki::PrivateKey::generate(pki::KeyType::Ed25519, &mut harness::seed::os_rng())
        .expect("key");
    keyserver::Client::with_tls(&url, Duration::from_secs(10), tls.clone())
        .publish(&alice, "alice")
        .expect("publish over HTTPS");
    let (baseline_fds, _) = usage(pid);

    let warm = round(&url, &tls);
    let (_, rss_warm) = usage(pid);
    let measured = round(&url, &tls);
    let (_, rss_after) = usage(pid);
    for report in [&warm, &measured] {
        assert_eq!(report.errors, 0, "{:?}", report.first_error);
        assert!(report.requests >= CLIENTS as u64, "{report:?}");
    }
    let fds = settled_fds(pid, baseline_fds);
    assert!(
        fds <= baseline_fds,
        "the server holds {fds} descriptors after the clients left, {baseline_fds} before"
    );
    // Flat: the second round leaves the server's memory where the first left it, within
    // what an allocator may keep (a leak of even 100 bytes per request would show).
    let growth = rss_after.saturating_sub(rss_warm);
    assert!(
        growth < 8 * 1024 + rss_warm / 10,
        "the server grew from {rss_warm} KiB to {rss_after} KiB over {} requests",
        measured.requests
    );
    eprintln!(
        "{} requests in {} s, {} per second, p50 {:?}, p99 {:?}; rss {rss_warm} -> {rss_after} KiB",
        measured.requests,
        ROUND.as_secs(),
        measured.per_second.round(),
        measured.p50,
        measured.p99
    );
}
