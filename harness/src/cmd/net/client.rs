//! `keylab client`: connect, complete the handshake, send a line, print the reply.

use std::io::{self, BufRead as _, Read as _, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use handshake::{ClientConfig, Connection, Stream};
use time::OffsetDateTime;

use super::{ClientArgs, psk};
use crate::cmd::args::resolve;
use crate::cmd::load::{read_certs, read_identity};
use crate::failure::Failure;
use crate::observe::observe;
use crate::runner::{self, describe_io_error};
use crate::seed::os_rng;

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
pub fn run(args: &ClientArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(Arc::new(read_identity(cert, key)?)),
        (None, None) => None,
        _ => return Err(Failure::input("--cert and --key go together")),
    };
    let cache = psk::client_cache(&args.psk)?;
    let config = ClientConfig {
        cipher_suites: args.algorithms.suites(),
        groups: args.algorithms.groups(),
        trust_anchors: args.ca.as_deref().map_or(Ok(Vec::new()), read_certs)?,
        identity,
        key_log: crate::keylog::from_option(args.keylog.as_ref())
            .map_err(|e| Failure::input(e.to_string()))?,
        psk: psk::client_psk(&args.psk)?,
        session_cache: cache.clone(),
        // A server prefers psk_dhe_ke whenever it is offered, so --psk-ke offers psk_ke
        // alone: the psk and resumption paths stay reachable.
        allow_psk_ke: args.psk.psk_ke,
        psk_ke_only: args.psk.psk_ke,
        empty_key_share_for_testing_only: args.empty_key_share_for_testing_only,
        middlebox_compat: !args.no_middlebox_compat,
        alpn_protocols: args.alpn.clone(),
    };
    let name = args
        .server_name
        .clone()
        .unwrap_or_else(|| host_of(&args.connect).to_owned());
    let addr = resolve(&args.connect)?;
    let conn = Connection::client(Arc::new(config), &name, os_rng())
        .map_err(|e| Failure::input(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs_f64(args.timeout);
    let result = talk(conn, addr, deadline, &args.send, out);
    result.map_err(|e| Failure::check(describe_io_error(&e)))?;
    match (&args.psk.session_out, &cache) {
        (Some(path), Some(cache)) => psk::save_session(cache, &name, path),
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
    let _observed = observe(&mut conn, true);
    let tcp = TcpStream::connect_timeout(&addr, remaining(deadline)?)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot connect to {addr}: {e}")))?;
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
