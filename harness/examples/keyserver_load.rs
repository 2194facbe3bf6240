//! The key server's throughput on SQLite and on PostgreSQL: publishes and lookups per
//! second with median and 99th-percentile latency, for one SQLite server, one PostgreSQL
//! front end and three PostgreSQL front ends on one database, each over HTTPS (keylab's
//! TLS) and plain HTTP, with the same closed-loop load generator (`service::load`).
//! `scripts/keyserver-load.sh` builds and runs it.
//!
//! ```text
//! cargo run --release -p harness --example keyserver_load -- CLIENTS SECONDS
//! ```
//!
//! It starts its own throwaway PostgreSQL cluster (PostgreSQL's default durability
//! settings) and its own `keylab keyserver serve` processes (the `keylab` binary beside
//! this example), and stops them when done. Clients are spread over the front ends
//! round-robin; a publish is two requests (a challenge, then the signed statement), a
//! lookup one (`GET /names/NAME`, the key with its inclusion proof).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keyserver::Client;
use pki::{KeyType, PrivateKey};
use service::load::LoadReport;

/// A `keylab keyserver serve` process, killed (by its pid) when dropped.
struct FrontEnd {
    child: Child,
    url: String,
}

impl Drop for FrontEnd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    keylab: PathBuf,
    dir: tempfile::TempDir,
    cluster: testpg::Cluster,
    tls: Arc<handshake::ClientConfig>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [clients, seconds] = args.as_slice() else {
        eprintln!("usage: keyserver_load CLIENTS SECONDS");
        return ExitCode::from(2);
    };
    let (Ok(clients), Ok(seconds)) = (clients.parse::<usize>(), seconds.parse::<u64>()) else {
        eprintln!("CLIENTS and SECONDS are whole numbers");
        return ExitCode::from(2);
    };
    match run(clients, Duration::from_secs(seconds)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyserver_load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(clients: usize, time: Duration) -> Result<(), String> {
    let setup = setup()?;
    println!(
        "key server load: {clients} clients, {} s per run; PostgreSQL {}",
        time.as_secs(),
        setup.cluster.port()
    );
    println!(
        "| store | front ends | transport | publishes/s | p50 | p99 | lookups/s | p50 | p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for https in [true, false] {
        for (store, count) in [("SQLite", 1), ("PostgreSQL", 1), ("PostgreSQL", 3)] {
            let front_ends = start_front_ends(&setup, store, count, https)?;
            let urls: Vec<String> = front_ends.iter().map(|f| f.url.clone()).collect();
            let publish = load(&setup, &urls, https, clients, time, Op::Publish);
            let lookup = load(&setup, &urls, https, clients, time, Op::Lookup);
            println!(
                "| {store} | {count} | {} | {} | {} |",
                if https { "HTTPS" } else { "HTTP" },
                cells(&publish),
                cells(&lookup)
            );
        }
    }
    Ok(())
}

fn cells(r: &LoadReport) -> String {
    let errors = match &r.first_error {
        Some(e) => format!(" ({} errors, first: {e})", r.errors),
        None => String::new(),
    };
    format!(
        "{:.0}{errors} | {:.1} ms | {:.1} ms",
        r.per_second,
        r.p50.as_secs_f64() * 1e3,
        r.p99.as_secs_f64() * 1e3
    )
}

fn setup() -> Result<Setup, String> {
    let keylab = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("keylab"))
        .filter(|p| p.is_file())
        .ok_or("build the keylab binary first (cargo build --release -p harness)")?;
    let cluster = testpg::Cluster::start(testpg::Mode::Durable).ok_or("PostgreSQL is missing")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let pki = |args: &[&str]| -> Result<(), String> {
        let out = Command::new(&keylab)
            .args(args)
            .current_dir(dir.path())
            .output()
            .map_err(|e| e.to_string())?;
        out.status
            .success()
            .then_some(())
            .ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
    };
    pki(&["pki", "init", "--out", "ca"])?;
    pki(&[
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
    ])?;
    let ca = std::fs::read_to_string(dir.path().join("ca/ca.pem")).map_err(|e| e.to_string())?;
    let tls = Arc::new(handshake::ClientConfig {
        trust_anchors: pki::Certificate::from_pem_bundle(&ca).map_err(|e| e.to_string())?,
        ..handshake::ClientConfig::default()
    });
    Ok(Setup {
        keylab,
        dir,
        cluster,
        tls,
    })
}

/// Starts `count` front ends on a fresh log (a SQLite file, or a new PostgreSQL database
/// made with `keylab keyserver init`).
fn start_front_ends(
    setup: &Setup,
    store: &str,
    count: usize,
    https: bool,
) -> Result<Vec<FrontEnd>, String> {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let run = RUN.fetch_add(1, Ordering::SeqCst);
    let key_file = setup.dir.path().join(format!("log-{run}.pem"));
    let db = if store == "SQLite" {
        setup
            .dir
            .path()
            .join(format!("keys-{run}.db"))
            .display()
            .to_string()
    } else {
        let url = setup.cluster.create_database(&format!("load{run}"));
        let out = keylab(setup)
            .args(["keyserver", "init", "--db", &url, "--log-key"])
            .arg(&key_file)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        url
    };
    (0..count)
        .map(|_| {
            let mut cmd = keylab(setup);
            cmd.args(["keyserver", "serve", "--listen", "127.0.0.1:0", "--db", &db]);
            if store != "SQLite" {
                cmd.arg("--log-key").arg(&key_file);
            }
            if https {
                cmd.args(["--cert", "server.pem", "--key", "server.key"]);
            } else {
                cmd.arg("--insecure-http");
            }
            spawn(cmd, https)
        })
        .collect()
}

fn keylab(setup: &Setup) -> Command {
    let mut cmd = Command::new(&setup.keylab);
    cmd.current_dir(setup.dir.path())
        .env("PGPASSWORD", setup.cluster.password());
    cmd
}

fn spawn(mut cmd: Command, https: bool) -> Result<FrontEnd, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned));
    // Keep reading what it prints, so that it never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let scheme = if https { "https" } else { "http" };
    match line {
        Some(addr) => Ok(FrontEnd {
            child,
            url: format!("{scheme}://{addr}"),
        }),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err("a front end did not start".into())
        }
    }
}

#[derive(Clone, Copy)]
enum Op {
    Publish,
    Lookup,
}

/// One load run: client `i` talks to front end `i % N`, publishing fresh keys under
/// names of its own, or looking up the names published before.
fn load(
    setup: &Setup,
    urls: &[String],
    https: bool,
    clients: usize,
    time: Duration,
    op: Op,
) -> LoadReport {
    let timeout = Duration::from_secs(10);
    let client = |i: usize| {
        let url = &urls[i % urls.len()];
        let client = if https {
            Client::with_tls(url, timeout, setup.tls.clone())
        } else {
            Client::new(url, timeout)
        };
        (client, i, 0u64)
    };
    service::load::run(clients, time, client, |(client, i, n)| {
        *n += 1;
        match op {
            Op::Publish => {
                let key = PrivateKey::generate(KeyType::Ed25519, &mut harness::seed::os_rng())
                    .map_err(|e| e.to_string())?;
                client
                    .publish(&key, &format!("c{i}-{n}"))
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            Op::Lookup => client
                .by_name(&format!("c{i}-{}", 1 + *n % 5))
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    })
}
