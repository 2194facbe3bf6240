//! `keylab client`: connect, complete the handshake, send a line, print the reply.

use std::io::{self, BufRead as _, Read as _, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use handshake::{ClientConfig, Connection, Event, Stream, Summary};
use time::OffsetDateTime;

use super::report::{Bytes, ClientReport, Exchange};
use super::{ClientArgs, psk};
use crate::cmd::args::resolve;
use crate::cmd::load::{read_certs, read_identity};
use crate::cmd::output::check_output;
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
    // Every output is checked before connecting: a bad path fails now, not after the
    // handshake. (Both files may exist: the key log is appended to, and a session file is
    // replaced, atomically, by the newer ticket.)
    for file in [&args.psk.session_out, &args.keylog].into_iter().flatten() {
        check_output(file, true)?;
    }
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
            .map_err(|e| Failure::output(e.to_string()))?,
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
    let text_out = (!args.json).then_some(&mut *out);
    let (summary, exchange) =
        talk(conn, addr, deadline, &args.send, text_out).map_err(|e| connection_failure(&e))?;
    let mut report = ClientReport::new(addr.to_string(), name.clone(), &summary, exchange);
    if let (Some(path), Some(cache)) = (&args.psk.session_out, &cache) {
        psk::save_session(cache, &name, path)?;
        report.saved(path);
    }
    if args.json {
        writeln!(out, "{}", report.to_json()).map_err(|e| Failure::output(e.to_string()))?;
    }
    Ok(())
}

/// A failed connection: `tls` when the handshake or record layer said no (an alert sent
/// or received, a certificate refused), `network` when the transport did (refused, reset,
/// timed out). Both exit with 1, as a failed check.
fn connection_failure(e: &io::Error) -> Failure {
    let message = describe_io_error(e);
    let failure = if Stream::<TcpStream>::protocol_error(e).is_some() {
        Failure::tls(message)
    } else {
        Failure::network(message)
    };
    Failure { code: 1, ..failure }
}

/// A server (or a proxy in front of it) that closes the connection before the handshake
/// is done, without an alert: said so, naming the address, rather than as truncation.
fn closed_during_handshake(e: io::Error, addr: SocketAddr) -> io::Error {
    match Stream::<TcpStream>::protocol_error(&e) {
        Some(handshake::Error::Truncated) => io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{addr} closed the connection during the handshake, without an alert"),
        ),
        _ => e,
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

/// A transport that counts the bytes through it.
struct Counted {
    tcp: TcpStream,
    read: u64,
    written: u64,
}

impl io::Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.tcp.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Connects, completes the handshake (printing its summary line to `text_out`, when
/// given, as soon as it is known), sends `text` and reads one line back (printed too).
fn talk(
    conn: Connection,
    addr: SocketAddr,
    deadline: Instant,
    text: &str,
    mut text_out: Option<&mut (dyn Write + '_)>,
) -> io::Result<(Summary, Exchange)> {
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
        let counted = Counted {
            tcp,
            read: 0,
            written: 0,
        };
        let mut stream = Stream::new(conn, counted, OffsetDateTime::now_utc);
        let summary = stream
            .handshake()
            .map_err(|e| closed_during_handshake(e, addr))?
            .clone();
        if let Some(out) = text_out.as_mut() {
            writeln!(out, "{}", summary.one_line())?;
            out.flush()?;
        }
        let line = format!("{text}\n");
        stream.write_all(line.as_bytes())?;
        let mut reply = Vec::new();
        io::BufReader::new((&mut stream).take(MAX_REPLY)).read_until(b'\n', &mut reply)?;
        if reply.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed without replying",
            ));
        }
        let shown = String::from_utf8_lossy(&reply)
            .trim_end_matches(['\r', '\n'])
            .to_owned();
        if let Some(out) = text_out.as_mut() {
            writeln!(out, "{shown}")?;
        }
        stream.close()?;
        let tickets = stream
            .take_events()
            .iter()
            .filter(|e| matches!(e, Event::SessionTicket { .. }))
            .count() as u64;
        let wire = stream.get_ref();
        let bytes = Bytes {
            application_sent: line.len() as u64,
            application_received: reply.len() as u64,
            wire_sent: wire.written,
            wire_received: wire.read,
        };
        let exchange = Exchange {
            sent: text.to_owned(),
            reply: shown,
            bytes,
            tickets,
        };
        Ok((summary, exchange))
    })();
    done.stop();
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
