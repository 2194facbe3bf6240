//! A tampering TCP proxy for attack tests: it sits between a client and a server and
//! changes one thing on the way — flips a bit, cuts a direction short, drops or swaps a
//! record, records the raw bytes, or replays recorded bytes instead of the client's.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

mod framing;
mod tamper;

pub use tamper::Tamper;

/// A direction of traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    C2S,
    /// Server to client.
    S2C,
}

impl FromStr for Dir {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "c2s" => Ok(Dir::C2S),
            "s2c" => Ok(Dir::S2C),
            other => Err(format!("direction {other:?} is neither c2s nor s2c")),
        }
    }
}

impl fmt::Display for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if *self == Dir::C2S { "c2s" } else { "s2c" })
    }
}

/// What the proxy does to the traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Forward unchanged.
    Pass,
    /// Flip the low bit of byte `offset` (0-based) of everything sent in `dir`.
    Flip(Dir, u64),
    /// Close `dir` after `n` bytes.
    Truncate(Dir, u64),
    /// Drop the `n`-th record (0-based) in `dir`.
    DropRecord(Dir, u64),
    /// Swap records `n` and `n + 1` in `dir`.
    Reorder(Dir, u64),
    /// Forward unchanged and append `dir`'s raw bytes to the file.
    Record(Dir, PathBuf),
    /// Send the file's bytes upstream instead of the client's.
    ReplayFrom(PathBuf),
}

impl Operation {
    /// Parses `DIR:N` (`c2s:17`).
    pub fn dir_number(arg: &str) -> Result<(Dir, u64), String> {
        let (dir, n) = arg
            .split_once(':')
            .ok_or_else(|| format!("expected DIR:N, got {arg:?}"))?;
        let n = n
            .parse()
            .map_err(|_| format!("{n:?} is not a non-negative number"))?;
        Ok((dir.parse()?, n))
    }

    /// Parses `DIR:FILE` (`s2c:server.bin`).
    pub fn dir_file(arg: &str) -> Result<(Dir, PathBuf), String> {
        let (dir, file) = arg
            .split_once(':')
            .ok_or_else(|| format!("expected DIR:FILE, got {arg:?}"))?;
        if file.is_empty() {
            return Err("missing FILE after DIR:".into());
        }
        Ok((dir.parse()?, PathBuf::from(file)))
    }
}

/// Receives the proxy's reports, one line each: the connections it relays, what it
/// changed in them, and what it could not do (an upstream it cannot reach).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// How a proxy runs, besides its operation.
#[derive(Clone)]
pub struct Settings {
    /// End the accept loop after this many connections, then wait for their relays.
    pub max_connections: Option<u64>,
    /// How long a relayed direction may stay silent (or blocked) before the proxy closes
    /// the connection; the time to reach upstream is at most this and [`CONNECT_LIMIT`].
    pub idle: Duration,
    /// Where the reports go; without one they are logged at debug level.
    pub log: Option<Log>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_connections: None,
            idle: Duration::from_secs(30),
            log: None,
        }
    }
}

/// The longest the proxy tries to reach upstream for one connection.
pub const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// A running proxy; dropping it stops accepting (open connections finish on their own).
pub struct Proxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    /// Listens on `listen` and forwards each connection to `upstream`, applying `op`.
    /// `max_connections` ends the accept loop after that many connections.
    pub fn start(
        listen: &str,
        upstream: SocketAddr,
        op: Operation,
        max_connections: Option<u64>,
    ) -> io::Result<Self> {
        let settings = Settings {
            max_connections,
            ..Settings::default()
        };
        Self::start_with(listen, upstream, op, settings)
    }

    /// [`Proxy::start`] with every setting.
    pub fn start_with(
        listen: &str,
        upstream: SocketAddr,
        op: Operation,
        settings: Settings,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut relays = Vec::new();
            let mut served = 0u64;
            let more = |served: u64| settings.max_connections.is_none_or(|m| served < m);
            while !stopping.load(Ordering::Relaxed) && more(served) {
                match listener.accept() {
                    Ok((client, peer)) => {
                        served += 1;
                        let (op, settings) = (op.clone(), settings.clone());
                        relays.retain(|r: &JoinHandle<()>| !r.is_finished());
                        relays.push(std::thread::spawn(move || {
                            relay(client, peer, upstream, &op, &settings)
                        }));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            relays
        });
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until the accept loop ends (with `max_connections`) and every connection it
    /// accepted has been relayed to its end (each within the idle limit of its last byte).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take()
            && let Ok(relays) = t.join()
        {
            for r in relays {
                let _ = r.join();
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reports about one relayed connection, each line starting with the client's address.
#[derive(Clone)]
struct Reporter {
    peer: SocketAddr,
    log: Option<Log>,
}

impl Reporter {
    fn say(&self, what: &str) {
        match &self.log {
            Some(log) => log(&format!("{} {what}", self.peer)),
            None => tracing::debug!(peer = %self.peer, "{what}"),
        }
    }
}

/// Relays one connection to its end and reports what happened.
fn relay(
    client: TcpStream,
    peer: SocketAddr,
    upstream: SocketAddr,
    op: &Operation,
    settings: &Settings,
) {
    let report = Reporter {
        peer,
        log: settings.log.clone(),
    };
    let server = match TcpStream::connect_timeout(&upstream, settings.idle.min(CONNECT_LIMIT)) {
        Ok(server) => server,
        Err(e) => {
            report.say(&format!(
                "error: cannot reach upstream {upstream}: {e}; closing the client's connection"
            ));
            close_gently(client);
            return;
        }
    };
    report.say(&format!("connected; relaying to {upstream}"));
    let ended = match forward(client, server, op, settings.idle, &report) {
        Ok([c2s, s2c]) => format!("closed (c2s {c2s}; s2c {s2c})"),
        Err(e) => format!("ended: {e}"),
    };
    report.say(&ended);
}

/// Closes a client's connection with a FIN, not a reset: what it already sent is read and
/// thrown away first (for at most a second), since closing a socket with unread data
/// resets the connection.
fn close_gently(client: TcpStream) {
    let _ = client.shutdown(Shutdown::Write);
    let until = std::time::Instant::now() + Duration::from_secs(1);
    let _ = client.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < until {
        match (&client).read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
}

/// Both directions of a connection; returns what each direction carried, in words.
fn forward(
    client: TcpStream,
    server: TcpStream,
    op: &Operation,
    idle: Duration,
    report: &Reporter,
) -> io::Result<[String; 2]> {
    client.set_nonblocking(false)?;
    for s in [&client, &server] {
        s.set_read_timeout(Some(idle))?;
        s.set_write_timeout(Some(idle))?;
    }
    if let Operation::ReplayFrom(file) = op {
        let bytes = std::fs::read(file)?;
        (&server).write_all(&bytes)?;
        report.say(&format!(
            "c2s: sent the {} bytes of {} upstream instead of the client's",
            bytes.len(),
            file.display()
        ));
        // The client's own bytes are read and thrown away.
        let mut sink = client.try_clone()?;
        std::thread::spawn(move || {
            let _ = io::copy(&mut sink, &mut io::sink());
        });
        let down = pump(server, client, Tamper::new(op, Dir::S2C), report);
        return Ok([format!("{} bytes replayed", bytes.len()), down]);
    }
    let (c2, s2, up_report) = (client.try_clone()?, server.try_clone()?, report.clone());
    let op_c2s = Tamper::new(op, Dir::C2S);
    let up = std::thread::spawn(move || pump(c2, s2, op_c2s, &up_report));
    let down = pump(server, client, Tamper::new(op, Dir::S2C), report);
    let up = up.join().unwrap_or_else(|_| "failed".into());
    Ok([up, down])
}

/// Copies `from` to `to`, changing the bytes as `tamper` says and reporting each change,
/// then half-closes `to`. Returns what the direction carried, in words.
fn pump(mut from: TcpStream, mut to: TcpStream, mut tamper: Tamper, report: &Reporter) -> String {
    let mut buf = [0u8; 16 * 1024];
    let result = loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        };
        let applied = tamper.apply(&buf[..n]);
        for note in tamper.take_notes() {
            report.say(&format!("{}: {note}", tamper.dir()));
        }
        let (out, done) = match applied {
            Ok(applied) => applied,
            Err(e) => break Err(e),
        };
        if let Err(e) = to.write_all(&out) {
            break Err(e);
        }
        if done {
            break Ok(());
        }
    };
    let out = tamper.finish();
    for note in tamper.take_notes() {
        report.say(&format!("{}: {note}", tamper.dir()));
    }
    let _ = to.write_all(&out);
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
    let carried = format!("{} bytes", tamper.seen());
    match result {
        Ok(()) => carried,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            format!("{carried}, then silent too long")
        }
        Err(e) => format!("{carried}, then {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse_with_clear_errors() {
        assert_eq!(Operation::dir_number("c2s:17"), Ok((Dir::C2S, 17)));
        assert_eq!(
            Operation::dir_number("up:1"),
            Err("direction \"up\" is neither c2s nor s2c".to_owned())
        );
        assert_eq!(
            Operation::dir_number("s2c:-1"),
            Err("\"-1\" is not a non-negative number".to_owned())
        );
        assert_eq!(
            Operation::dir_file("s2c:"),
            Err("missing FILE after DIR:".to_owned())
        );
    }
}
