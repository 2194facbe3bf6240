//! Load on a key server: `CLIENTS` clients look a key up back to back for `SECONDS`, each
//! over its own connection pool, and the run prints requests per second and the median and
//! 99th-percentile latency. `scripts/service-load.sh` runs it against HTTPS and plain HTTP.
//!
//! ```text
//! cargo run --release -p harness --example service_load -- URL NAME CLIENTS SECONDS [CA.pem]
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, name, clients, seconds, rest @ ..] = args.as_slice() else {
        eprintln!("usage: service_load URL NAME CLIENTS SECONDS [CA.pem]");
        return ExitCode::from(2);
    };
    let (Ok(clients), Ok(seconds)) = (clients.parse::<usize>(), seconds.parse::<u64>()) else {
        eprintln!("CLIENTS and SECONDS are whole numbers");
        return ExitCode::from(2);
    };
    let tls = match rest.first().map(|ca| trusting(ca)).transpose() {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let client = |_| match &tls {
        Some(tls) => keyserver::Client::with_tls(url, Duration::from_secs(10), tls.clone()),
        None => keyserver::Client::new(url, Duration::from_secs(10)),
    };
    let report = service::load::run(clients, Duration::from_secs(seconds), client, |c| {
        c.hkp("get", name).map(drop)
    });
    println!(
        "{url}: {clients} clients, {seconds} s: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, {} errors{}",
        report.per_second,
        report.p50.as_secs_f64() * 1e3,
        report.p99.as_secs_f64() * 1e3,
        report.errors,
        report
            .first_error
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A client configuration trusting the certificates in `ca`.
fn trusting(ca: &str) -> Result<Arc<handshake::ClientConfig>, String> {
    let text = std::fs::read_to_string(ca).map_err(|e| format!("reading {ca}: {e}"))?;
    let roots = pki::Certificate::from_pem_bundle(&text).map_err(|e| format!("{ca}: {e}"))?;
    Ok(Arc::new(handshake::ClientConfig {
        trust_anchors: roots,
        ..handshake::ClientConfig::default()
    }))
}
