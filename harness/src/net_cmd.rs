//! `keylab server`, `keylab client` and `keylab states`.

use std::io::{self, BufRead as _, Read as _, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path as FsPath;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use handshake::states::{self, Transition};
use handshake::{ClientAuth, ClientConfig, Connection, Identity, ServerConfig, Stream};
use time::OffsetDateTime;

use crate::cli::{AuthArg, ClientArgs, Failure, MitmArgs, ServerArgs, StatesArgs, StatesFormat};
use crate::mitm::{Operation, Proxy};
use crate::runner::{self, describe_io_error};

fn read_text(path: &FsPath) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("reading {}: {e}", path.display())))
}

fn read_certs(path: &FsPath) -> Result<Vec<pki::Certificate>, Failure> {
    pki::Certificate::from_pem_bundle(&read_text(path)?)
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

fn identity(cert: &FsPath, key: &FsPath) -> Result<Identity, Failure> {
    Identity::from_pem(&read_text(cert)?, &read_text(key)?)
        .map_err(|e| Failure::input(format!("{} / {}: {e}", cert.display(), key.display())))
}

/// The server's certificate with its key from `--key`, or rebuilt from `--key-shares`;
/// `None` for a PSK-only server.
fn server_identity(args: &ServerArgs) -> Result<Option<Identity>, Failure> {
    let Some(cert) = &args.cert else {
        if args.key_shares.key_shares.is_empty() {
            return Ok(None);
        }
        return Err(Failure::input(
            "--key-shares rebuilds the key of --cert FILE",
        ));
    };
    match &args.key {
        Some(key) => identity(cert, key).map(Some),
        None if !args.key_shares.key_shares.is_empty() => {
            let key = crate::share_cmd::key_from_shares(&args.key_shares)?;
            Identity::from_pem(&read_text(cert)?, &key)
                .map(Some)
                .map_err(|e| Failure::input(format!("{} / key from shares: {e}", cert.display())))
        }
        None => Err(Failure::input(
            "--cert needs its private key: --key FILE or --key-shares",
        )),
    }
}

/// `keylab server`: serves until killed (or `--max-connections`), echoing data back.
pub fn server(args: &ServerArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let policy = match args.client_auth {
        AuthArg::Off => ClientAuth::Off,
        AuthArg::Optional => ClientAuth::Optional,
        AuthArg::Required => ClientAuth::Required,
    };
    let psks = crate::psk_args::server_psks(&args.psk)?;
    let mut config = match server_identity(args)? {
        Some(identity) => ServerConfig::new(identity).with_psks(psks),
        None => ServerConfig::psk_only(psks),
    };
    config.allow_psk_ke = args.psk.psk_ke;
    config.psk_satisfies_client_auth = args.psk.psk_satisfies_client_auth;
    config.tickets = crate::psk_args::server_tickets(&args.psk, &mut crate::rng::rng_from(None))?;
    if policy != ClientAuth::Off {
        let Some(ca) = &args.client_ca else {
            return Err(Failure::input(format!(
                "--client-auth {policy} needs --client-ca FILE"
            )));
        };
        config = config
            .with_client_auth(policy, read_certs(ca)?)
            .map_err(|e| Failure::input(e.to_string()))?;
    }
    config.key_log = crate::keylog::from_option(args.keylog.as_ref())
        .map_err(|e| Failure::input(e.to_string()))?;
    let config = Arc::new(config);
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::input(e.to_string()))?;
    writeln!(out, "listening on {local}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::input(e.to_string()))?;

    let active = Arc::new(AtomicUsize::new(0));
    let timeouts = runner::Timeouts {
        handshake: Duration::from_secs(args.handshake_timeout),
        idle: Duration::from_secs(args.idle_timeout),
    };
    let mut workers = Vec::new();
    let mut served = 0u64;
    for conn in listener.incoming() {
        let tcp = match conn {
            Ok(tcp) => tcp,
            Err(e) => {
                eprintln!("accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer = tcp
            .peer_addr()
            .map_or_else(|_| "unknown peer".to_owned(), |a| a.to_string());
        if active.load(Ordering::Relaxed) as u64 >= args.max_concurrent {
            eprintln!(
                "{peer} refused: {} connections already open",
                args.max_concurrent
            );
            continue;
        }
        let slot = Slot::take(&active);
        let config = config.clone();
        let who = peer.clone();
        let spawned = std::thread::Builder::new().spawn(move || {
            // Frees the slot however the worker ends, a panic included.
            let _slot = slot;
            let addr = tcp
                .peer_addr()
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
            let o = runner::serve_connection(
                tcp,
                addr,
                config,
                crate::rng::rng_from(None),
                timeouts,
                OffsetDateTime::now_utc,
            );
            match &o.result {
                Ok(s) => eprintln!(
                    "{peer} {} ok ({} bytes echoed); why: {}",
                    s.one_line(),
                    o.received_len,
                    s.reason
                ),
                Err(e) => eprintln!("{peer} error: {e}"),
            }
        });
        match spawned {
            Ok(worker) => workers.push(worker),
            Err(e) => eprintln!("{who} refused: cannot start a thread ({e})"),
        }
        workers.retain(|w| !w.is_finished());
        served += 1;
        if args.max_connections.is_some_and(|max| served >= max) {
            break;
        }
    }
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

/// One of `--max-concurrent` places, given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::Relaxed);
        Self(active.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `keylab mitm`: a tampering proxy until killed (or `--max-connections`).
pub fn mitm(args: &MitmArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let op = if let Some((d, n)) = args.flip {
        Operation::Flip(d, n)
    } else if let Some((d, n)) = args.truncate {
        Operation::Truncate(d, n)
    } else if let Some((d, n)) = args.drop_record {
        Operation::DropRecord(d, n)
    } else if let Some((d, n)) = args.reorder {
        Operation::Reorder(d, n)
    } else if let Some((d, file)) = &args.record {
        Operation::Record(*d, file.clone())
    } else if let Some(file) = &args.replay_from {
        if !file.is_file() {
            return Err(Failure::input(format!(
                "--replay-from {}: no such file",
                file.display()
            )));
        }
        Operation::ReplayFrom(file.clone())
    } else {
        Operation::Pass
    };
    let upstream = args
        .upstream
        .to_socket_addrs()
        .map_err(|e| Failure::input(format!("cannot resolve {}: {e}", args.upstream)))?
        .next()
        .ok_or_else(|| Failure::input(format!("{} resolves to no address", args.upstream)))?;
    let proxy = Proxy::start(&args.listen, upstream, op, args.max_connections)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    writeln!(out, "listening on {}", proxy.addr())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::input(e.to_string()))?;
    proxy.join();
    Ok(())
}

/// The host part of `host:port`, `[v6]:port` or `v6` forms.
fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, _)) if !host.contains(':') => host,
        _ => addr,
    }
}

/// `keylab client`: handshake, one line out, one line back, close_notify.
pub fn client(args: &ClientArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(Arc::new(identity(cert, key)?)),
        (None, None) => None,
        _ => return Err(Failure::input("--cert and --key go together")),
    };
    let cache = crate::psk_args::client_cache(&args.psk)?;
    let config = ClientConfig {
        trust_anchors: args.ca.as_deref().map_or(Ok(Vec::new()), read_certs)?,
        identity,
        key_log: crate::keylog::from_option(args.keylog.as_ref())
            .map_err(|e| Failure::input(e.to_string()))?,
        psk: crate::psk_args::client_psk(&args.psk)?,
        session_cache: cache.clone(),
        allow_psk_ke: args.psk.psk_ke,
        empty_key_share_for_testing_only: args.empty_key_share_for_testing_only,
    };
    let name = args
        .server_name
        .clone()
        .unwrap_or_else(|| host_of(&args.connect).to_owned());
    let addr = args
        .connect
        .to_socket_addrs()
        .map_err(|e| Failure::input(format!("cannot resolve {}: {e}", args.connect)))?
        .next()
        .ok_or_else(|| Failure::input(format!("{} resolves to no address", args.connect)))?;
    let conn = Connection::client(Arc::new(config), &name, crate::rng::rng_from(None))
        .map_err(|e| Failure::input(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs_f64(args.timeout);
    let result = talk(conn, addr, deadline, &args.send, out);
    result.map_err(|e| Failure::check(describe_io_error(&e)))?;
    match (&args.psk.session_out, &cache) {
        (Some(path), Some(cache)) => crate::psk_args::save_session(cache, &name, path),
        _ => Ok(()),
    }
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
    }
    Ok(left)
}

/// The longest reply line `keylab client` reads.
const MAX_REPLY: u64 = 64 * 1024;

fn talk(
    conn: Connection,
    addr: SocketAddr,
    deadline: Instant,
    text: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut conn = conn;
    let _observed = runner::observe(&mut conn, true);
    let tcp = TcpStream::connect_timeout(&addr, remaining(deadline)?)?;
    tcp.set_read_timeout(Some(remaining(deadline)?))?;
    tcp.set_write_timeout(Some(remaining(deadline)?))?;
    // The deadline covers the whole exchange: a server that trickles bytes cannot keep
    // the client past it.
    let (done, fired) = runner::watchdog(&tcp, remaining(deadline)?)?;
    let result = (|| {
        let mut stream = Stream::new(conn, tcp, OffsetDateTime::now_utc);
        let line = stream.handshake()?.one_line();
        writeln!(out, "{line}")?;
        out.flush()?;
        stream.write_all(format!("{text}\n").as_bytes())?;
        let mut reply = Vec::new();
        io::BufReader::new((&mut stream).take(MAX_REPLY)).read_until(b'\n', &mut reply)?;
        if reply.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed without replying",
            ));
        }
        let reply = String::from_utf8_lossy(&reply);
        writeln!(out, "{}", reply.trim_end_matches(['\r', '\n']))?;
        stream.close()
    })();
    let _ = done.send(());
    match result {
        Err(_) if fired.load(Ordering::Relaxed) => {
            Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
        }
        other => other,
    }
}

/// `keylab states`: the RFC 8446 Appendix A machines from the handshake crate's data.
pub fn states(args: &StatesArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let text = match args.format {
        StatesFormat::Dot => {
            format!(
                "{}{}",
                states::to_dot("client", &states::CLIENT_TRANSITIONS),
                states::to_dot("server", &states::SERVER_TRANSITIONS)
            )
        }
        StatesFormat::Text => {
            let mut s = String::new();
            table(
                &mut s,
                "client (RFC 8446 Appendix A.1)",
                &states::CLIENT_STATES,
                &states::CLIENT_TRANSITIONS,
            );
            s.push('\n');
            table(
                &mut s,
                "server (RFC 8446 Appendix A.2)",
                &states::SERVER_STATES,
                &states::SERVER_TRANSITIONS,
            );
            s
        }
    };
    out.write_all(text.as_bytes())
        .map_err(|e| Failure::input(e.to_string()))
}

fn table<S: std::fmt::Display>(
    s: &mut String,
    title: &str,
    names: &[S],
    transitions: &[Transition<S>],
) {
    s.push_str(title);
    s.push('\n');
    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
    s.push_str(&format!("  states: {}\n", names.join(", ")));
    for t in transitions {
        let path = t
            .path
            .map_or_else(String::new, |p| format!("   [{p} path]"));
        s.push_str(&format!(
            "  {:<14} -> {:<14} on {}{path}\n",
            t.from, t.to, t.on
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn host_part_of_addresses() {
        assert_eq!(host_of("localhost:443"), "localhost");
        assert_eq!(host_of("127.0.0.1:8443"), "127.0.0.1");
        assert_eq!(host_of("[::1]:8443"), "::1");
        assert_eq!(host_of("example.com"), "example.com");
    }
}
