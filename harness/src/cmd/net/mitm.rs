//! `keylab mitm`: the tampering proxy of [`crate::mitm`] on the command line.

use std::io::Write;

use super::MitmArgs;
use crate::cmd::args::resolve;
use crate::failure::Failure;
use crate::mitm::{Operation, Proxy};

/// `keylab mitm`: a tampering proxy until killed (or `--max-connections`).
pub fn run(args: &MitmArgs, out: &mut dyn Write) -> Result<(), Failure> {
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
    let upstream = resolve(&args.upstream)?;
    let proxy = Proxy::start(&args.listen, upstream, op, args.max_connections)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    writeln!(out, "listening on {}", proxy.addr())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::input(e.to_string()))?;
    proxy.join();
    Ok(())
}
