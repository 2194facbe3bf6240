//! `keylab threshold dkg round1 | round2 | finish`: the distributed key generation run by
//! each participant on its own machine, packages carried between them as files.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use threshold::exchange::{self, Package, State};

use crate::cmd::load::read_secret_text;
use crate::cmd::output::check_output;
use crate::failure::{EXIT_CODES, Failure};

/// The largest state or package file read.
const MAX_FILE: u64 = 64 * 1024;

/// `keylab threshold dkg ...`
#[derive(Debug, Subcommand)]
pub enum DkgCommand {
    /// Round 1: writes this participant's secret state (0600) and its package for all.
    #[command(after_help = EXIT_CODES)]
    Round1(Round1Args),
    /// Round 2: reads everyone's round 1 packages, writes one package per other
    /// participant (DIR/round2-from-I-to-J.json, each for J's eyes only).
    #[command(after_help = EXIT_CODES)]
    Round2(Round2Args),
    /// The end: writes this participant's key share (0600) and prints the group key.
    #[command(after_help = EXIT_CODES)]
    Finish(FinishArgs),
}

/// `keylab threshold dkg round1`
#[derive(Debug, Args)]
pub struct Round1Args {
    /// This participant's number, 1 to N.
    #[arg(long, value_name = "I")]
    pub participant: u16,
    /// M: how many signers sign together.
    #[arg(long, value_name = "M")]
    pub threshold: u16,
    /// N: how many signers hold a share.
    #[arg(long, value_name = "N")]
    pub signers: u16,
    /// The secret state file to write (kept by this participant only).
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// The round 1 package to write (sent to every other participant).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `keylab threshold dkg round2`
#[derive(Debug, Args)]
pub struct Round2Args {
    /// This participant's state file from round 1 (rewritten).
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// The other participants' round 1 packages (one's own may be among them).
    #[arg(value_name = "ROUND1_FILE", required = true)]
    pub round1: Vec<PathBuf>,
    /// Directory for the round 2 packages (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
}

/// `keylab threshold dkg finish`
#[derive(Debug, Args)]
pub struct FinishArgs {
    /// This participant's state file from round 2.
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// The other participants' round 1 packages.
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    pub round1: Vec<PathBuf>,
    /// The round 2 packages addressed to this participant.
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    pub round2: Vec<PathBuf>,
    /// The key share file to write (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs a `keylab threshold dkg` command.
pub fn run(command: &DkgCommand, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        DkgCommand::Round1(args) => round1(args),
        DkgCommand::Round2(args) => round2(args),
        DkgCommand::Finish(args) => finish(args, out),
    }
}

fn input(path: &Path) -> impl Fn(threshold::Error) -> Failure + '_ {
    move |e| Failure::input(format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str, private: bool) -> Result<(), Failure> {
    pki::files::write_file(path, text.as_bytes(), true, private)
        .map_err(|e| Failure::output(format!("{}: {e}", path.display())))?;
    crate::status!(
        "wrote {}{}",
        path.display(),
        if private { " (mode 0600)" } else { "" }
    );
    Ok(())
}

fn read_state(path: &Path) -> Result<State, Failure> {
    let text = read_secret_text(path, "a DKG state", MAX_FILE)?;
    State::from_json(&text).map_err(input(path))
}

fn read_packages(paths: &[PathBuf]) -> Result<Vec<Package>, Failure> {
    paths
        .iter()
        .map(|p| {
            let text = read_secret_text(p, "a DKG package", MAX_FILE)?;
            Package::from_json(&text).map_err(input(p))
        })
        .collect()
}

fn round1(args: &Round1Args) -> Result<(), Failure> {
    check_output(&args.state, false)?;
    check_output(&args.out, false)?;
    let (state, package) = exchange::round1(
        args.participant,
        args.threshold,
        args.signers,
        &mut threshold::rng::os(),
    )
    .map_err(|e| Failure::usage(e.to_string()))?;
    let fail = |e: threshold::Error| Failure::check(e.to_string());
    write(&args.state, &state.to_json().map_err(fail)?, true)?;
    write(&args.out, &package.to_json().map_err(fail)?, false)
}

fn round2(args: &Round2Args) -> Result<(), Failure> {
    let mut state = read_state(&args.state)?;
    let packages = read_packages(&args.round1)?;
    let out = exchange::round2(&mut state, &packages).map_err(input(&args.state))?;
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| Failure::output(format!("{}: {e}", args.out_dir.display())))?;
    let fail = |e: threshold::Error| Failure::check(e.to_string());
    for p in &out {
        let to = p.to.unwrap_or_default();
        let path = args
            .out_dir
            .join(format!("round2-from-{}-to-{to}.json", p.from));
        write(&path, &p.to_json().map_err(fail)?, true)?;
    }
    // The state moves on only once its packages are written.
    write(&args.state, &state.to_json().map_err(fail)?, true)
}

fn finish(args: &FinishArgs, out: &mut dyn Write) -> Result<(), Failure> {
    check_output(&args.out, false)?;
    let state = read_state(&args.state)?;
    let round1 = read_packages(&args.round1)?;
    let round2 = read_packages(&args.round2)?;
    let share = exchange::finish(&state, &round1, &round2).map_err(input(&args.state))?;
    let group = share
        .group_key()
        .map_err(|e| Failure::check(e.to_string()))?;
    let text = share.to_json().map_err(|e| Failure::check(e.to_string()))?;
    write(&args.out, &text, true)?;
    out.write_all(group.to_pem().as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::output(e.to_string()))
}
