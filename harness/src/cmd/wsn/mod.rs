//! `keylab wsn simulate | sweep`: key predistribution for wireless sensor networks, with the
//! [`predist`] crate.
//!
//! `simulate` deploys one network and prints its measurements beside the published
//! analysis; `sweep` varies the ring size or the number of captured nodes, prints a table
//! and can draw an SVG plot; `handshake` ([`link`]) runs a real TLS 1.3 PSK
//! handshake keyed by a simulated link key.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use predist::{Config, Estimate, Report, Scheme};

mod json;
mod link;
mod sweep;
use rand_core::Rng;

pub use crate::cmd::progress::When;
use crate::failure::{EXIT_CODES, Failure};

const DEFAULT_POOL: u32 = 10_000;
const DEFAULT_RING: u32 = 100;
const DEFAULT_Q: u32 = 2;
/// Degree 99: 100 field elements per node, the storage of a 100-key ring.
const DEFAULT_DEGREE: u32 = 99;

/// `keylab wsn ...`
#[derive(Debug, Subcommand)]
pub enum WsnCommand {
    /// Simulate one deployment; print measurements beside the analytic values.
    #[command(after_help = EXIT_CODES)]
    Simulate(SimulateArgs),
    /// Vary the ring size or the captured nodes; print a table, optionally plot it (SVG).
    ///
    /// Each row of the table is printed as soon as its point is done, so a sweep stopped
    /// early (Ctrl-C) keeps the rows it printed; a progress bar with an estimate of the time
    /// left shows on stderr when it is a terminal. With `--plot -` the SVG goes to stdout and
    /// the table to stderr. Status lines ("plot written to FILE") go to stderr.
    #[command(after_help = EXIT_CODES)]
    Sweep(SweepArgs),
    /// Two neighbours derive their link key and run a keylab PSK handshake with it.
    #[command(after_help = EXIT_CODES)]
    Handshake(link::HandshakeArgs),
}

/// Schemes on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemeArg {
    /// Eschenauer–Gligor random key predistribution (--pool, --ring).
    Eg,
    /// q-composite, Chan–Perrig–Song (--pool, --ring, --q).
    Qcomposite,
    /// Blundo symmetric polynomial (--degree).
    Blundo,
}

/// What a sweep varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VaryArg {
    /// Ring size: connection probability against keys per node.
    Ring,
    /// Captured nodes: compromised fraction against captured nodes.
    Capture,
}

/// The key material of a scheme, shared by `simulate`, `sweep` and `handshake`; flags
/// that do not apply to the scheme are usage errors ([`check_flags`]).
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Key pool size P (eg, qcomposite) [default: 10000].
    #[arg(long, value_name = "P")]
    pub pool: Option<u32>,
    /// Keys per node k (eg, qcomposite) [default: 100]. All rings together hold at most
    /// 1000000000 key ids (4 bytes each: 4 GB).
    #[arg(long, value_name = "K")]
    pub ring: Option<u32>,
    /// Shared keys a q-composite link needs [default: 2].
    #[arg(long, value_name = "Q")]
    pub q: Option<u32>,
    /// Degree t of the Blundo polynomial; withstands t captured nodes [default: 99].
    #[arg(long, value_name = "T")]
    pub degree: Option<u32>,
}

/// The deployment and scheme parameters shared by `simulate` and `sweep`.
#[derive(Debug, Args)]
pub struct DeploymentArgs {
    /// Number of nodes (at most 1000000), placed uniformly in the unit square. Memory bounds
    /// the neighbour pairs to 400000000 (20 bytes each at the peak: 8 GB).
    #[arg(long, value_name = "N")]
    pub nodes: u32,
    /// The scheme's key material.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Radio range in the unit square; without it every pair of nodes is in range.
    #[arg(long, value_name = "R")]
    pub range: Option<f64>,
    /// Seed of every random choice; default: a random seed, printed with the results.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads; default: every core. The output is the same for any number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
}

impl DeploymentArgs {
    /// The worker threads to use.
    fn threads(&self) -> usize {
        self.threads
            .map_or_else(predist::available_threads, |t| t as usize)
    }
}

/// `keylab wsn simulate`
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The scheme.
    #[arg(long, value_enum)]
    pub scheme: SchemeArg,
    /// Deployment and scheme parameters.
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Capture this many random nodes and measure the links they expose.
    #[arg(long, value_name = "X")]
    pub capture: Option<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `keylab wsn sweep`
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Schemes to compare, one series each (comma-separated or repeated).
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    pub scheme: Vec<SchemeArg>,
    /// Deployment and scheme parameters.
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// The parameter to vary.
    #[arg(long, value_enum)]
    pub vary: VaryArg,
    /// First value.
    #[arg(long, value_name = "A")]
    pub from: u32,
    /// Last value.
    #[arg(long, value_name = "B")]
    pub to: u32,
    /// Step.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub step: u32,
    /// Write an SVG plot (simulated points over the analytic curves) to FILE.svg; `-`
    /// writes it to stdout, and the table to stderr. Other formats (PNG) are refused.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Overwrite the plot file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object instead of the table (at the end; not with --plot -).
    #[arg(long)]
    pub json: bool,
    /// Show a progress bar on stderr, with the time left: auto = when stderr is a terminal.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub progress: When,
}

/// Runs `keylab wsn ...`.
pub fn run(command: &WsnCommand, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        WsnCommand::Simulate(args) => simulate(args, out),
        WsnCommand::Sweep(args) => sweep::run(args, out),
        WsnCommand::Handshake(args) => link::run(args, out),
    }
}

/// `keylab wsn simulate`.
pub fn simulate(args: &SimulateArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let d = &args.deployment;
    check_flags(&[args.scheme], &d.keys, true)?;
    let config = Config {
        scheme: scheme_of(args.scheme, d, None),
        nodes: d.nodes,
        range: d.range,
        capture: args.capture,
        seed: seed_or_random(d.seed),
    };
    let report =
        predist::simulate_on(&config, d.threads()).map_err(|e| Failure::input(e.to_string()))?;
    let text = if args.json {
        json::report(&report)
    } else {
        report_text(&report)
    };
    out.write_all(text.as_bytes()).map_err(write_failure)
}

/// The schemes of a sweep; one given twice (anywhere in the list) is a usage error (exit 2),
/// as it would only draw the same series twice.
fn distinct_schemes(schemes: &[SchemeArg]) -> Result<Vec<SchemeArg>, Failure> {
    for (i, s) in schemes.iter().enumerate() {
        if schemes[..i].contains(s) {
            return Err(Failure::input(format!(
                "--scheme {} is given more than once; list each scheme once",
                scheme_name(*s)
            )));
        }
    }
    Ok(schemes.to_vec())
}

/// Flags that none of the given schemes use are usage errors (exit 2), so that a typo'd
/// scheme never silently ignores a parameter.
/// Refuses flags that none of `schemes` uses (`single`: the command takes one scheme).
fn check_flags(schemes: &[SchemeArg], d: &KeyArgs, single: bool) -> Result<(), Failure> {
    let uses = |wanted: &[SchemeArg]| schemes.iter().any(|s| wanted.contains(s));
    let pool = uses(&[SchemeArg::Eg, SchemeArg::Qcomposite]);
    let q = uses(&[SchemeArg::Qcomposite]);
    let degree = uses(&[SchemeArg::Blundo]);
    let misplaced = [
        (
            "--pool",
            d.pool.is_some() && !pool,
            "the key pool of eg and qcomposite",
        ),
        (
            "--ring",
            d.ring.is_some() && !pool,
            "the keys per node of eg and qcomposite",
        ),
        ("--q", d.q.is_some() && !q, "the qcomposite threshold"),
        (
            "--degree",
            d.degree.is_some() && !degree,
            "the blundo polynomial degree",
        ),
    ];
    match misplaced.iter().find(|(_, bad, _)| *bad) {
        Some((flag, _, what)) => {
            let names: Vec<&str> = schemes.iter().map(|&s| scheme_name(s)).collect();
            let scheme = if single {
                "--scheme"
            } else {
                "any of --scheme"
            };
            Err(Failure::input(format!(
                "{flag} does not apply to {scheme} {} (it sets {what})",
                names.join(",")
            )))
        }
        None => Ok(()),
    }
}

fn scheme_name(s: SchemeArg) -> &'static str {
    match s {
        SchemeArg::Eg => "eg",
        SchemeArg::Qcomposite => "qcomposite",
        SchemeArg::Blundo => "blundo",
    }
}

/// The scheme with its parameters; `ring` overrides `--ring` (a ring sweep's first point).
fn scheme_of(s: SchemeArg, d: &DeploymentArgs, ring: Option<u32>) -> Scheme {
    let pool = d.keys.pool.unwrap_or(DEFAULT_POOL);
    let ring = ring.or(d.keys.ring).unwrap_or(DEFAULT_RING);
    match s {
        SchemeArg::Eg => Scheme::Eg { pool, ring },
        SchemeArg::Qcomposite => Scheme::QComposite {
            pool,
            ring,
            q: d.keys.q.unwrap_or(DEFAULT_Q),
        },
        SchemeArg::Blundo => Scheme::Blundo {
            degree: d.keys.degree.unwrap_or(DEFAULT_DEGREE),
        },
    }
}

fn seed_or_random(seed: Option<u64>) -> u64 {
    seed.unwrap_or_else(|| crate::seed::os_rng().next_u64())
}

fn write_failure(e: std::io::Error) -> Failure {
    Failure::input(format!("writing the output: {e}"))
}

fn report_text(r: &Report) -> String {
    let c = &r.config;
    let mut s = String::new();
    let range = match c.range {
        Some(range) => format!("range {range}"),
        None => "no range limit (every pair in range)".to_owned(),
    };
    let _ = writeln!(s, "scheme     {}", c.scheme.describe());
    let _ = writeln!(
        s,
        "nodes      {} in the unit square, {range}: {} neighbour pairs, {:.2} neighbours per node",
        c.nodes, r.neighbour_pairs, r.mean_degree
    );
    let _ = writeln!(s, "seed       {}", c.seed);
    let unit = if matches!(c.scheme, Scheme::Blundo { .. }) {
        "field elements"
    } else {
        "keys"
    };
    let _ = writeln!(s, "storage    {} {unit} per node", r.keys_per_node);
    let _ = writeln!(s);
    let _ = writeln!(s, "{:<34}{:>10}{:>11}", "", "measured", "analytic");
    row(&mut s, "local connectivity", &r.local_connectivity);
    let lcc = Estimate {
        measured: Some(r.largest_component_fraction),
        analytic: None,
    };
    row(&mut s, "largest secure component", &lcc);
    if let Some(cap) = &r.capture {
        row(
            &mut s,
            &format!("compromised fraction (x = {})", cap.captured),
            &cap.fraction,
        );
    }
    let pk = &r.path_keys;
    if pk.unsecured_pairs > 0 {
        let pct = |n: u64| 100.0 * n as f64 / pk.examined.max(1) as f64;
        let _ = writeln!(
            s,
            "\npath keys  {} neighbour pairs share no key; of the {} examined:\n           \
             2 hops {:.2}%, 3 hops {:.2}%, not within 3 hops {:.2}%",
            pk.unsecured_pairs,
            pk.examined,
            pct(pk.two_hops),
            pct(pk.three_hops),
            pct(pk.beyond)
        );
    }
    if let Some(cap) = &r.capture {
        let _ = writeln!(
            s,
            "capture    {} nodes: {} of {} secured links between uncaptured nodes exposed",
            cap.captured, cap.compromised, cap.links
        );
    }
    s
}

fn row(s: &mut String, label: &str, e: &Estimate) {
    let f = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
    let _ = writeln!(s, "{label:<34}{:>10}{:>11}", f(e.measured), f(e.analytic));
}
