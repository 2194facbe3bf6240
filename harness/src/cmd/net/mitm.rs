//! `keylab mitm`: the tampering proxy of [`crate::mitm`] on the command line. It prints
//! `listening on ADDR` on stdout and a status line on stderr for each connection and each
//! change it makes (a flipped bit and the record it is in, a cut, a dropped or swapped
//! record, what it recorded or replayed), and for an upstream it cannot reach.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use super::MitmArgs;
use crate::cmd::args::resolve;
use crate::cmd::output::check_output;
use crate::failure::Failure;
use crate::mitm::{Operation, Proxy, Settings};

/// The operation the arguments ask for (at most one; clap enforces it).
fn operation(args: &MitmArgs) -> Result<Operation, Failure> {
    Ok(if let Some((d, n)) = args.flip {
        Operation::Flip(d, n)
    } else if let Some((d, n)) = args.truncate {
        Operation::Truncate(d, n)
    } else if let Some((d, n)) = args.drop_record {
        Operation::DropRecord(d, n)
    } else if let Some((d, n)) = args.reorder {
        Operation::Reorder(d, n)
    } else if let Some((d, file)) = &args.record {
        // Appended to, so an existing file is fine; a missing directory is not.
        check_output(file, true)?;
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
    })
}

/// `keylab mitm`: a tampering proxy until killed, or until `--max-connections`
/// connections have been accepted and relayed to their end.
pub fn run(args: &MitmArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let op = operation(args)?;
    let upstream = resolve(&args.upstream)?;
    let settings = Settings {
        max_connections: args.max_connections,
        idle: Duration::from_secs(args.idle_timeout),
        log: Some(Arc::new(|line: &str| crate::status!("{line}"))),
    };
    let proxy = Proxy::start_with(&args.listen, upstream, op, settings)
        .map_err(|e| Failure::network(format!("cannot listen on {}: {e}", args.listen)))?;
    writeln!(out, "listening on {}", proxy.addr())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::output(e.to_string()))?;
    proxy.join();
    Ok(())
}
