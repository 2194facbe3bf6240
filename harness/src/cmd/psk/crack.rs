//! `keylab psk crack`: the offline guessing attack on a PSK made from a short code.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use zeroize::Zeroizing;

use crate::cmd::load::MAX_SECRET_FILE;
use crate::cmd::output::read_input;
use crate::crack::{Budget, Candidates, Search, Target, capture, search};
use crate::failure::Failure;

/// The largest capture read.
const MAX_CAPTURE: u64 = 256 * 1024 * 1024;

/// `keylab psk crack`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("candidates").args(["digits", "wordlist"]).required(true)))]
pub struct CrackArgs {
    /// The recording: a pcap file or a `keylab mitm --record c2s:FILE` file (- for stdin).
    #[arg(long, value_name = "FILE")]
    pub capture: PathBuf,
    /// The PSK identity whose binder to attack, as offered in the ClientHello.
    #[arg(long, value_name = "ID")]
    pub identity: String,
    /// Try every code of N digits, leading zeros included (0000 to 9999 for 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=12))]
    pub digits: Option<u32>,
    /// Try each line of FILE as a code.
    #[arg(long, value_name = "FILE")]
    pub wordlist: Option<PathBuf>,
    /// Stop after this many guesses.
    #[arg(long, value_name = "N", default_value_t = 100_000_000)]
    pub max_guesses: u64,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub time_limit: u64,
    /// Guessing threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub threads: Option<u64>,
    /// One JSON object on stdout (format in `--help`).
    #[arg(long)]
    pub json: bool,
}

/// Runs the attack and reports what it found.
pub(super) fn run(args: &CrackArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let bytes = read_input(&args.capture, MAX_CAPTURE)?;
    let name = crate::cmd::load::input_name(&args.capture);
    let hello =
        capture::client_hello(&bytes).map_err(|e| Failure::input(format!("{name}: {e}")))?;
    let target = Target::from_client_hello(&hello, &args.identity)
        .map_err(|e| Failure::input(format!("{name}: {e}")))?;
    let candidates = match (&args.digits, &args.wordlist) {
        (Some(n), _) => Candidates::Digits(*n),
        (None, Some(file)) => Candidates::Words(read_words(file)?),
        (None, None) => return Err(Failure::usage("give --digits N or --wordlist FILE")),
    };
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |n| n as usize,
    );
    let budget = Budget {
        max_guesses: args.max_guesses,
        time_limit: Duration::from_secs(args.time_limit),
        threads,
    };
    let result = search(&target, &candidates, budget);
    report(args, &target, &result, out)
}

/// The word list, one candidate per line (line ends and surrounding blanks removed).
fn read_words(file: &std::path::Path) -> Result<Vec<String>, Failure> {
    let bytes = Zeroizing::new(read_input(file, MAX_SECRET_FILE * 64)?);
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Failure::input(format!(
            "{}: not UTF-8 text",
            crate::cmd::load::input_name(file)
        ))
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

fn report(
    args: &CrackArgs,
    target: &Target,
    result: &Search,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let secs = result.elapsed.as_secs_f64();
    let rate = result.rate();
    let Some(found) = &result.found else {
        let why = result
            .stopped
            .map_or("every candidate was tried".to_owned(), |s| {
                format!("stopped by {s}")
            });
        return Err(Failure::check(format!(
            "no candidate matched the binder of {:?}: {} guesses of {} in {secs:.2} s \
             ({rate:.0} guesses/s on {} threads; {why})",
            target.identity, result.guesses, result.candidates, result.threads
        )));
    };
    let text = if args.json {
        serde_json::json!({
            "identity": target.identity,
            "code": found.code,
            "position": found.position,
            "guesses": result.guesses,
            "candidates": result.candidates,
            "seconds": secs,
            "guesses_per_second": rate.round(),
            "threads": result.threads,
        })
        .to_string()
    } else {
        format!(
            "code {} for identity {:?}: found after {} guesses (position {} of {}) in {secs:.2} s, \
             {rate:.0} guesses/s on {} threads",
            found.code,
            target.identity,
            result.guesses,
            found.position,
            result.candidates,
            result.threads
        )
    };
    writeln!(out, "{text}").map_err(|e| Failure::output(e.to_string()))
}
