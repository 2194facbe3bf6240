//! The key services under a short load over keylab's TLS: 16 clients for 5 seconds
//! against `keylab keyserver serve` over HTTPS and against `keylab share serve` over
//! mutual TLS, with no failed request, and no leak — the server's open file descriptors
//! back to where they were once the clients leave, and its memory flat from one round to
//! the next. A bounded check, not a benchmark: `scripts/service-load.sh` measures latency
//! and throughput.

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

/// A CA, a server certificate for localhost and 127.0.0.1 and a client certificate for
/// alice under it, made by `keylab pki`.
fn certificates(dir: &Path) {
    keylab_in(dir, &["pki", "init", "--out", "ca"]);
    let issue = [
        "pki",
        "issue",
        "--ca-cert",
        "ca/ca.pem",
        "--ca-key",
        "ca/ca.key",
    ];
    let server = ["--server", "localhost,127.0.0.1", "--out", "server"];
    keylab_in(dir, &[&issue[..], &server[..]].concat());
    let alice = ["--client", "alice", "--out", "alice"];
    keylab_in(dir, &[&issue[..], &alice[..]].concat());
}

/// A keylab service started with `args` in `dir`, on a free port with the server
/// certificate; returns it and its address.
fn serve(dir: &Path, args: &[&str]) -> (Running, String) {
    let mut cmd = support::keylab();
    cmd.args(args)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--cert",
            "server.pem",
            "--key",
            "server.key",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let (running, addr, _rest) =
        support::start(cmd, |l| l.strip_prefix("listening on ").map(str::to_owned));
    (running, addr)
}

/// A client configuration trusting `dir`'s CA, presenting alice's certificate when
/// `as_alice`.
fn client_config(dir: &Path, as_alice: bool) -> Arc<ClientConfig> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("pki file");
    let identity = as_alice.then(|| {
        let alice = handshake::Identity::from_pem(&read("alice.pem"), &read("alice.key"));
        Arc::new(alice.expect("alice's identity"))
    });
    Arc::new(ClientConfig {
        trust_anchors: pki::Certificate::from_pem_bundle(&read("ca/ca.pem")).expect("ca"),
        identity,
        ..ClientConfig::default()
    })
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

/// Two rounds of load on the server `pid`, then the checks: no failed request, the
/// descriptors back to where they were, the memory flat from the first round to the
/// second.
fn no_errors_and_no_leak<S, E: std::fmt::Display>(
    pid: u32,
    setup: impl Fn(usize) -> S + Sync,
    request: impl Fn(&mut S) -> Result<(), E> + Sync,
) {
    let (baseline_fds, _) = usage(pid);
    let warm = service::load::run(CLIENTS, ROUND, &setup, &request);
    let (_, rss_warm) = usage(pid);
    let measured = service::load::run(CLIENTS, ROUND, &setup, &request);
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

#[test]
fn the_key_server_over_https_serves_16_clients_without_errors_or_leaks() {
    let dir = tempfile::tempdir().expect("tempdir");
    certificates(dir.path());
    let (server, addr) = serve(dir.path(), &["keyserver", "serve", "--db", "keys.db"]);
    let url = format!("https://{addr}");
    let tls = client_config(dir.path(), false);
    let alice = pki::PrivateKey::generate(pki::KeyType::Ed25519, &mut harness::seed::os_rng())
        .expect("key");
    keyserver::Client::with_tls(&url, Duration::from_secs(10), tls.clone())
        .publish(&alice, "alice")
        .expect("publish over HTTPS");
    no_errors_and_no_leak(
        server.child.id(),
        |_| keyserver::Client::with_tls(&url, Duration::from_secs(10), tls.clone()),
        |client| client.hkp("get", "alice").map(drop),
    );
}

#[test]
fn a_share_server_over_mutual_tls_serves_16_clients_without_errors_or_leaks() {
    let dir = tempfile::tempdir().expect("tempdir");
    certificates(dir.path());
    std::fs::create_dir(dir.path().join("shares")).expect("share dir");
    let (server, addr) = serve(
        dir.path(),
        &[
            "share",
            "serve",
            "--dir",
            "shares",
            "--client-ca",
            "ca/ca.pem",
        ],
    );
    let url = format!("https://{addr}");
    let tls = client_config(dir.path(), true);
    let secret = b"a key worth sharing out";
    let shares = sharing::split(secret, 2, 3, &mut harness::seed::os_rng()).expect("split");
    let client =
        |_| sharing::client::Client::with_tls(&url, None, Duration::from_secs(10), tls.clone());
    client(0)
        .put(&shares[0])
        .expect("store a share over mutual TLS");
    let (id, x) = (shares[0].split_id(), shares[0].x());
    no_errors_and_no_leak(server.child.id(), client, |c| c.get(id, x).map(drop));
}
