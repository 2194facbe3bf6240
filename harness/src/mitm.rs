//! A tampering TCP proxy for attack tests: it sits between a client and a server and
//! changes one thing on the way — flips a bit, cuts a direction short, drops or swaps a
//! record, records the raw bytes, or replays recorded bytes instead of the client's.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

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

/// A running proxy; dropping it stops accepting (open connections finish on their own).
pub struct Proxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
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
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut served = 0u64;
            while !stopping.load(Ordering::Relaxed) && max_connections.is_none_or(|m| served < m) {
                match listener.accept() {
                    Ok((client, _)) => {
                        served += 1;
                        let op = op.clone();
                        std::thread::spawn(move || {
                            if let Err(e) = relay(client, upstream, &op) {
                                tracing::debug!(error = %e, "proxy connection ended");
                            }
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
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

    /// Waits until the accept loop ends (with `max_connections`).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
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

/// How long a relayed direction may stay silent before the proxy gives up on it.
const IDLE: Duration = Duration::from_secs(30);

fn relay(client: TcpStream, upstream: SocketAddr, op: &Operation) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect_timeout(&upstream, IDLE)?;
    for s in [&client, &server] {
        s.set_read_timeout(Some(IDLE))?;
    }
    if let Operation::ReplayFrom(file) = op {
        let bytes = std::fs::read(file)?;
        let mut up = server.try_clone()?;
        up.write_all(&bytes)?;
        // The client's own bytes are read and thrown away.
        let mut sink = client.try_clone()?;
        std::thread::spawn(move || {
            let _ = io::copy(&mut sink, &mut io::sink());
        });
        return pump(server, client, Tamper::new(op, Dir::S2C));
    }
    let (c2, s2) = (client.try_clone()?, server.try_clone()?);
    let op_c2s = Tamper::new(op, Dir::C2S);
    let up = std::thread::spawn(move || pump(c2, s2, op_c2s));
    let down = pump(server, client, Tamper::new(op, Dir::S2C));
    let _ = up.join();
    down
}

/// Copies `from` to `to`, changing the bytes as `tamper` says, then half-closes `to`.
fn pump(mut from: TcpStream, mut to: TcpStream, mut tamper: Tamper) -> io::Result<()> {
    let mut buf = [0u8; 16 * 1024];
    let result = loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        };
        let (out, done) = tamper.apply(&buf[..n])?;
        if let Err(e) = to.write_all(&out) {
            break Err(e);
        }
        if done {
            break Ok(());
        }
    };
    let out = tamper.finish();
    let _ = to.write_all(&out);
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
    result
}

/// The per-direction state of an operation.
pub struct Tamper {
    op: Operation,
    active: bool,
    /// Bytes seen so far in this direction.
    seen: u64,
    /// Record framing for the record operations: bytes of an incomplete record, the
    /// number of complete records so far, and a record held back for a swap.
    partial: Vec<u8>,
    records: u64,
    held: Option<Vec<u8>>,
}

impl Tamper {
    /// The state for `dir` under `op`; directions `op` does not name pass unchanged.
    pub fn new(op: &Operation, dir: Dir) -> Self {
        let active = match op {
            Operation::Pass | Operation::ReplayFrom(_) => false,
            Operation::Flip(d, _)
            | Operation::Truncate(d, _)
            | Operation::DropRecord(d, _)
            | Operation::Reorder(d, _)
            | Operation::Record(d, _) => *d == dir,
        };
        Self {
            op: op.clone(),
            active,
            seen: 0,
            partial: Vec::new(),
            records: 0,
            held: None,
        }
    }

    /// Transforms one chunk; returns the bytes to forward and whether the direction is
    /// now finished (truncation).
    pub fn apply(&mut self, chunk: &[u8]) -> io::Result<(Vec<u8>, bool)> {
        let start = self.seen;
        self.seen += chunk.len() as u64;
        if !self.active {
            return Ok((chunk.to_vec(), false));
        }
        match &self.op {
            Operation::Flip(_, offset) => {
                let mut out = chunk.to_vec();
                if (start..self.seen).contains(offset) {
                    out[(offset - start) as usize] ^= 0x01;
                }
                Ok((out, false))
            }
            Operation::Truncate(_, n) => {
                let keep = n.saturating_sub(start).min(chunk.len() as u64) as usize;
                Ok((chunk[..keep].to_vec(), self.seen >= *n))
            }
            Operation::Record(_, path) => {
                let mut file = OpenOptions::new().create(true).append(true).open(path)?;
                file.write_all(chunk)?;
                Ok((chunk.to_vec(), false))
            }
            Operation::DropRecord(..) | Operation::Reorder(..) => {
                Ok((self.records_through(chunk), false))
            }
            Operation::Pass | Operation::ReplayFrom(_) => Ok((chunk.to_vec(), false)),
        }
    }

    /// Splits the stream into records (5-byte header + length) and applies the record
    /// operation to complete ones.
    fn records_through(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.partial.extend_from_slice(chunk);
        let mut out = Vec::new();
        loop {
            if self.partial.len() < 5 {
                break;
            }
            let len = 5 + usize::from(u16::from_be_bytes([self.partial[3], self.partial[4]]));
            if self.partial.len() < len {
                break;
            }
            let record: Vec<u8> = self.partial.drain(..len).collect();
            let index = self.records;
            self.records += 1;
            match (&self.op, self.held.take()) {
                (Operation::DropRecord(_, n), _) if index == *n => {}
                (Operation::Reorder(_, n), _) if index == *n => self.held = Some(record),
                (Operation::Reorder(..), Some(first)) => {
                    out.extend_from_slice(&record);
                    out.extend_from_slice(&first);
                }
                _ => out.extend_from_slice(&record),
            }
        }
        out
    }

    /// What is still held when the direction ends (a record waiting to be swapped, and a
    /// trailing partial record are forwarded as they are).
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = self.held.take().unwrap_or_default();
        out.append(&mut self.partial);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| vec![0x17, 3, 3, 0, 1, i as u8])
            .collect()
    }

    #[test]
    fn record_operations_work_across_chunk_boundaries() {
        let stream = records(4);
        for split in 0..stream.len() {
            let mut t = Tamper::new(&Operation::Reorder(Dir::C2S, 1), Dir::C2S);
            let mut out = t.apply(&stream[..split]).expect("apply").0;
            out.extend(t.apply(&stream[split..]).expect("apply").0);
            out.extend(t.finish());
            let order: Vec<u8> = out.chunks(6).map(|r| r[5]).collect();
            assert_eq!(order, [0, 2, 1, 3], "split at {split}");

            let mut t = Tamper::new(&Operation::DropRecord(Dir::C2S, 2), Dir::C2S);
            let mut out = t.apply(&stream[..split]).expect("apply").0;
            out.extend(t.apply(&stream[split..]).expect("apply").0);
            out.extend(t.finish());
            let order: Vec<u8> = out.chunks(6).map(|r| r[5]).collect();
            assert_eq!(order, [0, 1, 3], "split at {split}");
        }
    }

    #[test]
    fn flip_and_truncate_count_bytes_across_chunks() {
        let mut t = Tamper::new(&Operation::Flip(Dir::S2C, 7), Dir::S2C);
        let a = t.apply(&[0; 5]).expect("apply").0;
        let b = t.apply(&[0; 5]).expect("apply").0;
        assert_eq!([a, b].concat(), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
        let mut t = Tamper::new(&Operation::Flip(Dir::S2C, 7), Dir::C2S);
        assert_eq!(
            t.apply(&[0; 10]).expect("apply").0,
            [0; 10],
            "other direction untouched"
        );

        let mut t = Tamper::new(&Operation::Truncate(Dir::C2S, 6), Dir::C2S);
        assert_eq!(t.apply(&[1; 4]).expect("apply"), (vec![1; 4], false));
        assert_eq!(t.apply(&[2; 4]).expect("apply"), (vec![2; 2], true));
    }

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
