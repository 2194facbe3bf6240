//! `keylab pair`: turn a short code typed on both sides into a strong external PSK with
//! SPAKE2 ([`crate::pairing`]), and save it as a PSK file on both sides.

use std::io::{BufRead as _, IsTerminal as _, Read as _, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use handshake::ExternalPsk;
use zeroize::Zeroizing;

use crate::cmd::output::{check_output, write_secret};
use crate::failure::Failure;
use crate::pairing::{PairError, Role, pair};

/// `keylab pair`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("side").args(["listen", "connect"]).required(true)))]
pub struct PairArgs {
    /// Wait for the other side on ADDR (host:port; port 0 picks one); prints `listening on
    /// ADDR` on stdout.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Connect to the other side's --listen ADDR.
    #[arg(long, value_name = "ADDR")]
    pub connect: Option<String>,
    /// The PSK identity both sides give the key (the same on both).
    #[arg(long, value_name = "ID")]
    pub identity: String,
    /// The PSK file to write (IDENTITY:HEXKEY, mode 0600); - for stdout.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Give up after this many seconds of waiting for the other side or for a message.
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// The end of `keylab pair --help`: an example, what an attacker gets, the exit codes.
pub fn long_help() -> String {
    format!(
        "Example, on two machines (the code is typed, not shown, on each):

  alice$ keylab pair --listen 0.0.0.0:7000 --identity lab --out lab.psk
  bob$   keylab pair --connect 192.0.2.7:7000 --identity lab --out lab.psk
  (both) keylab server/client --psk-file lab.psk ...

The code is read from the terminal without echo, or as the first line of stdin when that
is not a terminal. A passive observer of the pairing can test no code offline; an active
one gets one guess per attempt. A wrong code fails on both sides with \"the codes did not
match (or someone in between guessed wrong)\" and exit status 1, and nothing is written.

{}",
        crate::failure::EXIT_CODES
    )
}

/// Runs one side of a pairing.
pub fn run(args: &PairArgs, out: &mut dyn Write) -> Result<(), Failure> {
    check_output(&args.out, args.force)?;
    // The identity is checked before anyone types a code.
    ExternalPsk::new(&args.identity, &[0; 32]).map_err(|e| Failure::input(e.to_string()))?;
    let limit = Duration::from_secs(args.timeout);
    // The listener says where it listens first, so the other side can start while the
    // code is being typed here.
    let (mut stream, role, peer, code) = match (&args.listen, &args.connect) {
        (Some(addr), _) => {
            let listener = listen(addr, out)?;
            let code = read_code()?;
            let (stream, peer) = accept_one(&listener, limit)?;
            (stream, Role::Listener, peer, code)
        }
        (None, Some(addr)) => {
            let code = read_code()?;
            let (stream, peer) = connect(addr, limit)?;
            (stream, Role::Connector, peer, code)
        }
        (None, None) => return Err(Failure::usage("give --listen ADDR or --connect ADDR")),
    };
    let timeouts = stream
        .set_read_timeout(Some(limit))
        .and_then(|()| stream.set_write_timeout(Some(limit)));
    timeouts.map_err(|e| Failure::network(format!("{peer}: {e}")))?;
    let paired = pair(
        &mut stream,
        role,
        code.as_bytes(),
        &args.identity,
        crate::seed::os_rng(),
    )
    .map_err(|e| match e {
        PairError::Mismatch => Failure::check(format!("{e}; nothing was written")),
        PairError::Identity { .. } | PairError::Protocol(_) => {
            Failure::input(format!("{peer}: {e}"))
        }
        PairError::Wire(_) => Failure::network(format!("{peer}: {e}")),
    })?;
    let psk = ExternalPsk::new(&args.identity, &paired.psk[..])
        .map_err(|e| Failure::input(e.to_string()))?;
    let line = Zeroizing::new(format!("{}:{}\n", psk.identity(), psk.hex().as_str()));
    write_secret(&args.out, line.as_bytes(), args.force, out)?;
    crate::status!(
        "paired with {peer}: both sides now hold the same 32-byte key for {:?}{}",
        psk.identity(),
        if crate::cmd::output::is_stdio(&args.out) {
            String::new()
        } else {
            format!(", written to {}", args.out.display())
        }
    );
    Ok(())
}

/// The code: from the terminal without echo, or the first line of stdin when it is not a
/// terminal.
fn read_code() -> Result<Zeroizing<String>, Failure> {
    let code = if std::io::stdin().is_terminal() {
        Zeroizing::new(
            rpassword::prompt_password("pairing code (the same on both sides): ")
                .map_err(|e| Failure::input(format!("reading the code: {e}")))?,
        )
    } else {
        let mut line = Zeroizing::new(String::new());
        std::io::BufReader::new(std::io::stdin().lock().take(4096))
            .read_line(&mut line)
            .map_err(|e| Failure::input(format!("reading the code from stdin: {e}")))?;
        line
    };
    let trimmed = Zeroizing::new(code.trim().to_owned());
    if trimmed.is_empty() {
        return Err(Failure::input("the pairing code is empty"));
    }
    Ok(trimmed)
}

/// Listens on `addr` and says where (`listening on ADDR` on stdout).
fn listen(addr: &str, out: &mut dyn Write) -> Result<TcpListener, Failure> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| Failure::network(format!("listening on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::network(e.to_string()))?;
    writeln!(out, "listening on {local}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::output(e.to_string()))?;
    Ok(listener)
}

/// The first connection to `listener` within `limit`.
fn accept_one(listener: &TcpListener, limit: Duration) -> Result<(TcpStream, SocketAddr), Failure> {
    let local = listener
        .local_addr()
        .map_err(|e| Failure::network(e.to_string()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Failure::network(e.to_string()))?;
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                stream
                    .set_nonblocking(false)
                    .map_err(|e| Failure::network(e.to_string()))?;
                return Ok((stream, peer));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(Failure::network(format!(
                        "nobody connected to {local} within {} s",
                        limit.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(Failure::network(format!("accepting on {local}: {e}"))),
        }
    }
}

/// Connects to `addr` within `limit`.
fn connect(addr: &str, limit: Duration) -> Result<(TcpStream, SocketAddr), Failure> {
    let resolved: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| Failure::network(format!("{addr}: {e}")))?
        .collect();
    let mut last = None;
    for a in &resolved {
        match TcpStream::connect_timeout(a, limit) {
            Ok(s) => return Ok((s, *a)),
            Err(e) => last = Some(e),
        }
    }
    Err(Failure::network(match last {
        Some(e) => format!("connecting to {addr}: {e}"),
        None => format!("{addr} resolves to no address"),
    }))
}
