//! A TLS 1.3 handshake load generator on keylab's sans-IO core, and a rustls server to
//! point it at (`scripts/bench-server-load.sh` runs both, with `keylab server` and
//! `openssl s_server`).
//!
//! ```text
//! tls_load client ADDR CONNECTIONS SECONDS [CA_PEM]
//! tls_load rustls-server CHAIN_PEM KEY_PEM [THREADS]
//! ```
//!
//! `client` keeps CONNECTIONS connections in flight from one thread (non-blocking sockets
//! and poll(2)). Each makes one full handshake (x25519, TLS_CHACHA20_POLY1305_SHA256, no
//! PSK) with keylab's client, validating the server's chain for `localhost` against
//! CA_PEM (default: the checked-in Ed25519 root), then sends close_notify, closes and is
//! replaced by a new one. After SECONDS it prints one JSON line: handshakes completed,
//! handshakes per second, the 50th and 99th percentile of the handshake latency (from
//! connect to the client's HandshakeComplete) and the connections that failed.
//!
//! `rustls-server` serves on a free loopback port (printing `listening on ADDR`) on THREADS
//! threads (default 64; give at least the generator's connections) that each accept and serve one connection after another, as `keylab server`
//! reuses its threads: the handshake, close_notify, close; a peer that stalls is dropped
//! after 5 seconds. It runs until killed.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use handshake::{ClientConfig, Connection, SupportedGroup, SupportedSuite};
use pki::Certificate;
use time::OffsetDateTime;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["client", addr, conns, secs] => client(addr, conns, secs, None),
        ["client", addr, conns, secs, ca] => client(addr, conns, secs, Some(ca)),
        ["rustls-server", chain, key] => rustls_server(chain, key, "64"),
        ["rustls-server", chain, key, threads] => rustls_server(chain, key, threads),
        _ => Err(
            "usage: tls_load client ADDR CONNECTIONS SECONDS [CA_PEM] | \
                  tls_load rustls-server CHAIN_PEM KEY_PEM [THREADS]"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("tls_load: {e}");
        std::process::exit(2);
    }
}

type Result<T> = std::result::Result<T, String>;

/// One connection in flight.
struct Slot {
    tcp: TcpStream,
    tls: Connection,
    started: Instant,
    /// Bytes for the server not yet written.
    pending: Vec<u8>,
}

fn client(addr: &str, conns: &str, secs: &str, ca: Option<&str>) -> Result<()> {
    let addr: SocketAddr = addr.parse().map_err(|e| format!("address {addr}: {e}"))?;
    let conns: usize = conns.parse().map_err(|e| format!("connections: {e}"))?;
    let secs: u64 = secs.parse().map_err(|e| format!("seconds: {e}"))?;
    let roots = match ca {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
        None => fixtures::ED25519.root.to_owned(),
    };
    let config = Arc::new(ClientConfig {
        cipher_suites: vec![SupportedSuite::Chacha20Poly1305Sha256],
        groups: vec![SupportedGroup::X25519],
        trust_anchors: Certificate::from_pem_bundle(&roots).map_err(|e| e.to_string())?,
        ..ClientConfig::default()
    });
    let mut slots = Vec::with_capacity(conns);
    let mut failed = 0u64;
    let mut latencies = Vec::new();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    while Instant::now() < deadline {
        while slots.len() < conns {
            match open(addr, &config) {
                Ok(slot) => slots.push(slot),
                Err(_) => failed += 1,
            }
        }
        wait(&slots)?;
        let mut i = 0;
        while i < slots.len() {
            match step(&mut slots[i]) {
                Step::Busy => i += 1,
                Step::Done(latency) => {
                    latencies.push(latency);
                    slots.swap_remove(i);
                }
                Step::Failed => {
                    failed += 1;
                    slots.swap_remove(i);
                }
            }
        }
    }
    report(&mut latencies, start.elapsed(), failed);
    Ok(())
}

/// A new connection with its ClientHello queued.
fn open(addr: SocketAddr, config: &Arc<ClientConfig>) -> Result<Slot> {
    let started = Instant::now();
    let tcp =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
    let mut tls = Connection::client(config.clone(), "localhost", harness::seed::os_rng())
        .map_err(|e| e.to_string())?;
    let mut pending = Vec::new();
    tls.start(OffsetDateTime::now_utc(), &mut pending)
        .map_err(|e| e.to_string())?;
    Ok(Slot {
        tcp,
        tls,
        started,
        pending,
    })
}

/// Waits (at most 100 ms) until some connection can read, or write what it holds.
#[allow(
    unsafe_code,
    reason = "poll(2) has no safe wrapper in std; the array outlives the call"
)]
fn wait(slots: &[Slot]) -> Result<()> {
    let mut fds: Vec<libc::pollfd> = slots
        .iter()
        .map(|s| libc::pollfd {
            fd: s.tcp.as_raw_fd(),
            events: libc::POLLIN
                | if s.pending.is_empty() {
                    0
                } else {
                    libc::POLLOUT
                },
            revents: 0,
        })
        .collect();
    let n = fds.len() as libc::nfds_t;
    // SAFETY: `fds` is a valid array of `n` pollfd structures for the whole call.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), n, 100) };
    if rc < 0 {
        return Err(format!("poll: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

enum Step {
    Busy,
    Done(Duration),
    Failed,
}

/// Writes what is pending, reads what arrived and feeds it to the connection.
fn step(slot: &mut Slot) -> Step {
    if flush(slot).is_err() {
        return Step::Failed;
    }
    let mut buf = [0u8; 16_384];
    loop {
        match slot.tcp.read(&mut buf) {
            Ok(0) => return Step::Failed,
            Ok(n) => {
                let now = OffsetDateTime::now_utc();
                if slot.tls.process(&buf[..n], now, &mut slot.pending).is_err() {
                    return Step::Failed;
                }
                if !slot.tls.is_handshaking() {
                    let latency = slot.started.elapsed();
                    slot.tls.close(&mut slot.pending);
                    // Best effort: the server may already be gone.
                    let _ = slot.tcp.set_nonblocking(false);
                    let _ = slot.tcp.write_all(&slot.pending);
                    return Step::Done(latency);
                }
                if flush(slot).is_err() {
                    return Step::Failed;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Busy,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Step::Failed,
        }
    }
}

fn flush(slot: &mut Slot) -> std::io::Result<()> {
    while !slot.pending.is_empty() {
        match slot.tcp.write(&slot.pending) {
            Ok(n) => {
                slot.pending.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn report(latencies: &mut [Duration], elapsed: Duration, failed: u64) {
    latencies.sort_unstable();
    let pick = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1);
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "{{\"handshakes\": {}, \"seconds\": {:.3}, \"hs_per_s\": {:.1}, \"p50_ms\": {:.3}, \
         \"p99_ms\": {:.3}, \"failed\": {failed}}}",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pick(0.50),
        pick(0.99),
    );
}

fn rustls_server(chain: &str, key: &str, threads: &str) -> Result<()> {
    let threads: usize = threads
        .parse()
        .ok()
        .filter(|n| (1..=4096).contains(n))
        .ok_or(format!("THREADS must be 1 to 4096, not {threads:?}"))?;
    use rustls::crypto::ring;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let read = |path: &str| std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"));
    let certs = Certificate::from_pem_bundle(&read(chain)?)
        .map_err(|e| format!("{chain}: {e}"))?
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    let key = pki::PrivateKey::from_pem(&read(key)?).map_err(|e| format!("{key}: {e}"))?;
    let pkcs8 = key.to_pkcs8_der().map_err(|e| e.to_string())?.to_vec();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8));
    // The same suite and group as the other servers and the client.
    let mut provider = ring::default_provider();
    provider.cipher_suites = vec![ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
    provider.kx_groups = vec![ring::kx_group::X25519];
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    // No session tickets, as the other servers are run.
    config.send_tls13_tickets = 0;
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    println!(
        "listening on {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    // A blocking thread per connection in flight, reused from one connection to the next
    // as `keylab server` reuses its threads: the server's core is not idle while one
    // client verifies its flight. Here each of the threads accepts for itself, which
    // spares rustls the hand-over from an accept thread that keylab's server pays.
    let listener = Arc::new(listener);
    let threads: Vec<_> = (0..threads)
        .map(|_| {
            let (listener, config) = (listener.clone(), config.clone());
            std::thread::spawn(move || {
                for tcp in listener.incoming().flatten() {
                    serve_rustls(tcp, config.clone());
                }
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

/// One connection of the rustls server: the handshake, close_notify, close.
fn serve_rustls(mut tcp: TcpStream, config: Arc<rustls::ServerConfig>) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = tcp.set_nodelay(true);
    let Ok(mut conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            return;
        }
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);
}
