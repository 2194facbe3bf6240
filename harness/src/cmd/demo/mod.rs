//! `keylab demo`: every path over loopback with the embedded fixtures, explained.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use handshake::{ClientAuth, SessionCache, Summary, Tickets};
use rand_core::Rng;

use crate::failure::Failure;
use crate::runner::{self, ClientSpec, DemoKey, Outcome};
use crate::seed::connection_rng;
use crate::states_diagram::Diagram;
use crate::teach::model::{Explanation, Repeat};
use crate::teach::{build, html, layout, terminal};

mod forward_secrecy;
mod json;
mod pake;
mod plans;
mod threshold;
mod weak_psk;

pub use forward_secrecy::{Attempt, ForwardSecrecy, Leaked, Recovered, attack, demonstrate};
use plans::{Holds, Plan, check, plans_for};

/// Which demo runs to make: each handshake path by the name the JSON `path` fields use,
/// `hrr`, or all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PathArg {
    /// The client stays anonymous: ephemeral X25519 only.
    #[value(name = "ephemeral-dh")]
    EphemeralDh,
    /// The client authenticates with its certificate (mutual TLS).
    Certificate,
    /// Both sides hold an external pre-shared key, used alone (psk_ke: no X25519, no
    /// forward secrecy).
    Psk,
    /// Both sides hold an external pre-shared key, with X25519 on top (psk_dhe_ke).
    #[value(name = "psk+dhe")]
    PskDhe,
    /// A full handshake earns a ticket; the next connection resumes with it alone (psk_ke).
    Resumption,
    /// A full handshake earns a ticket; the next connection resumes with it and X25519
    /// (psk_dhe_ke).
    #[value(name = "resumption+dhe")]
    ResumptionDhe,
    /// The client guesses a key share for a group the server does not prefer; the server
    /// asks again with a HelloRetryRequest (ephemeral-dh path).
    Hrr,
    /// 2 of 3 FROST signers make the server's CertificateVerify; the signing rounds shown.
    Threshold,
    /// ephemeral-dh, certificate, psk+dhe, resumption+dhe, psk and hrr.
    All,
    /// A psk+dhe handshake keyed by a 6-digit code, recorded, and the code cracked offline
    /// from its binder (the guess rate measured in the run).
    #[value(name = "weak-psk")]
    WeakPsk,
    /// The same kind of code through `keylab pair` (SPAKE2): the pairing messages, where
    /// the strong key comes from, and the crack finding nothing.
    Pake,
}

/// `keylab demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which path(s) to run.
    #[arg(long, value_enum, default_value = "all")]
    pub path: PathArg,
    /// Seed every connection's randomness: output and transcripts are byte-identical
    /// across runs (timings are left out).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// One JSON document instead of text (format in the README).
    #[arg(long)]
    pub json: bool,
    /// Append the secrets in NSS key log format (Wireshark); SSLKEYLOGFILE also works.
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// Show every handshake message field by field and the key schedule.
    #[arg(long)]
    pub explain: bool,
    /// The embedded certificates and keys both sides use.
    #[arg(long, value_enum, default_value = "ed25519")]
    pub key: DemoKey,
    /// Write the state machines as one Graphviz digraph (as `keylab states --format dot`)
    /// with the states and transitions of the run highlighted. Needs a --path other than
    /// `all`; for the resumption paths it shows the resuming run, not the one that earned
    /// the ticket. `-` writes it to stdout and the report to stderr.
    #[arg(long, value_name = "FILE")]
    pub states_dot: Option<PathBuf>,
    /// Write the explanation of every run as one self-contained HTML page (no network
    /// requests; opens from file://); `-` writes it to stdout and the report to stderr.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Overwrite the --states-dot or --html file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Record an ephemeral-dh, a psk+dhe and a psk_ke connection, leak the PSK and the
    /// server's key, and show which recordings decrypt with them.
    #[arg(long, conflicts_with_all = ["explain", "keylog"])]
    pub forward_secrecy: bool,
}

/// The lines of a real `--explain` run that `keylab demo --help` shows (a test keeps them
/// equal to the output).
pub const HELP_EXCERPT: &str = include_str!("help_excerpt.txt");

/// The end of `keylab demo --help`: an excerpt of the explanation, then the exit codes.
pub fn long_help() -> String {
    format!(
        "--explain shows every record, message and key schedule step; each computed value \
         comes with a command that recomputes it. Excerpt of `keylab demo --seed 1 --path \
         psk+dhe --explain`, the server's encrypted flight (EncryptedExtensions and \
         Finished in one record) opened:\n\n{HELP_EXCERPT}\n\
         --html FILE writes the same explanation as one self-contained page; \
         --forward-secrecy shows, by trying, that a leaked PSK opens a psk_ke recording but \
         not a psk+dhe one; --states-dot FILE draws the state machines with the run's path \
         highlighted.\n\n{}",
        crate::failure::EXIT_CODES
    )
}

/// Writes the report of a demonstration that explains itself (`--forward-secrecy`,
/// `--path weak-psk|pake|threshold`): `report` as pretty JSON with `--json`, else `text`.
fn write_report<T: serde::Serialize>(
    report: &T,
    json: bool,
    text: impl FnOnce(&T) -> String,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let shown = if json {
        serde_json::to_string_pretty(report).map_err(|e| Failure::output(e.to_string()))? + "\n"
    } else {
        text(report)
    };
    out.write_all(shown.as_bytes())
        .map_err(|e| Failure::output(e.to_string()))
}

/// Runs the demo and writes its report to `out`.
pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<(), Failure> {
    if args.forward_secrecy {
        return forward_secrecy::run(args, out);
    }
    if args.path == PathArg::Threshold {
        return threshold::run(args, out);
    }
    if matches!(args.path, PathArg::WeakPsk | PathArg::Pake) {
        if args.explain || args.keylog.is_some() || args.html.is_some() || args.states_dot.is_some()
        {
            return Err(Failure::usage(
                "--path weak-psk and --path pake explain themselves: they take --seed, --json \
                 and --key only",
            ));
        }
        return match args.path {
            PathArg::WeakPsk => weak_psk::run(args, out),
            _ => pake::run(args, out),
        };
    }
    let plans = plans_for(args.path);
    let page_on_stdout = stdout_file(args)?;
    if let Some(file) = &args.states_dot {
        check_states_dot(args.path, file, args.force)?;
    }
    if let Some(file) = &args.html {
        refuse_existing(file, args.force)?;
    }
    let key_log = crate::keylog::from_option(args.keylog.as_ref())
        .map_err(|e| Failure::input(e.to_string()))?;
    let mut ticket_key = zeroize::Zeroizing::new([0u8; 32]);
    // The explanation prints the demo's ephemeral private keys, so every explained run can
    // be repeated: without --seed, one is drawn (and printed).
    let explained = args.explain || args.html.is_some();
    let seed = args
        .seed
        .or_else(|| explained.then(|| crate::seed::os_rng().next_u64()));
    connection_rng(seed, "ticket key", 0).fill_bytes(&mut ticket_key[..]);
    let mut server = runner::demo_server_config_for(args.key, ClientAuth::Optional)
        .map_err(|e| Failure::input(e.to_string()))?
        .with_psks(vec![runner::demo_psk()])
        .with_tickets(Arc::new(Tickets::new(&ticket_key)));
    // psk_ke for the `psk` and `resumption` runs: only a client offering it alone gets it.
    server.allow_psk_ke = true;
    let cache = Arc::new(SessionCache::default());
    let mut specs = Vec::new();
    for plan in &plans {
        let mut config = runner::demo_client_config_for(args.key, plan.holds == Holds::Certificate)
            .map_err(|e| Failure::input(e.to_string()))?;
        match plan.holds {
            Holds::Nothing | Holds::Ticket => config.session_cache = Some(cache.clone()),
            Holds::Psk => config.psk = Some(runner::demo_psk()),
            Holds::Certificate | Holds::NothingNoTickets => {}
        }
        if plan.psk_ke {
            config.allow_psk_ke = true;
            config.psk_ke_only = true;
        }
        if let Some(groups) = plan.groups {
            config.groups = groups.to_vec();
        }
        // The client logs the secrets; the server would log the same lines again.
        config.key_log = key_log.clone();
        specs.push(ClientSpec::new(config, plan.message.to_vec()).with_demo_ending());
    }
    let outcomes = runner::run("127.0.0.1:0", Arc::new(server), specs, seed)
        .map_err(|e| Failure::input(format!("cannot start the loopback server: {e}")))?;

    let failures: Vec<String> = plans
        .iter()
        .zip(&outcomes)
        .enumerate()
        .filter_map(|(i, (plan, o))| check(plan, o).err().map(|e| format!("run {}: {e}", i + 1)))
        .collect();
    let report = if args.explain {
        explanation_report(&plans, &outcomes, args, seed.unwrap_or_default(), &failures)
    } else if args.json {
        json::report(&plans, &outcomes, args)
    } else {
        let text = text_report(&plans, &outcomes, args, &failures);
        // Colour only for a person at a terminal (and never with NO_COLOR set).
        if layout::colour_wanted() {
            colourise(&text)
        } else {
            text
        }
    };
    // With `--html -` or `--states-dot -` stdout carries that file; the report goes to
    // stderr.
    if page_on_stdout {
        crate::status_part!("{report}");
    } else {
        out.write_all(report.as_bytes())
            .map_err(|e| Failure::output(e.to_string()))?;
    }
    if let Some(file) = &args.html {
        let page = html::render(
            &explanation(&plans, &outcomes, args, seed.unwrap_or_default()),
            "keylab demo: TLS 1.3 explained, record by record",
        );
        write_output(file, &page, args.force, out)?;
    }
    if let (Some(file), Some((plan, o))) = (&args.states_dot, plans.last().zip(outcomes.last())) {
        write_states_dot(file, plan, o, args.force, out)?;
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::check(failures.join("; ")))
    }
}

/// Whether `--html` or `--states-dot` is `-` (stdout); both at once are refused.
fn stdout_file(args: &DemoArgs) -> Result<bool, Failure> {
    let dash = |f: &Option<std::path::PathBuf>| f.as_deref().is_some_and(super::output::is_stdio);
    match (dash(&args.html), dash(&args.states_dot)) {
        (true, true) => Err(Failure::usage(
            "--html - and --states-dot - would both write to stdout: name a file for one",
        )),
        (html, dot) => Ok(html || dot),
    }
}

/// Writes `text` to `file` atomically, or to `out` when `file` is `-`; says so on stderr.
fn write_output(
    file: &std::path::Path,
    text: &str,
    force: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    if super::output::is_stdio(file) {
        return out
            .write_all(text.as_bytes())
            .map_err(|e| Failure::output(e.to_string()));
    }
    pki::files::write_file(file, text.as_bytes(), force, false)
        .map_err(|e| Failure::output(format!("cannot write {}: {e}", file.display())))?;
    crate::status!("wrote {}", file.display());
    Ok(())
}

/// `--states-dot` needs one path, and refuses to overwrite a file without `--force`
/// (checked before any run, so a refused file costs nothing).
fn check_states_dot(path: PathArg, file: &std::path::Path, force: bool) -> Result<(), Failure> {
    if path == PathArg::All {
        return Err(Failure::input(
            "--states-dot highlights one run: pass --path with one path (ephemeral-dh, \
             certificate, psk, psk+dhe, resumption, resumption+dhe or hrr), not all",
        ));
    }
    refuse_existing(file, force)
}

/// Writes the state diagram with the run asked for highlighted: the last one (the runs
/// before it only earn its ticket).
fn write_states_dot(
    file: &std::path::Path,
    plan: &Plan,
    o: &Outcome,
    force: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let path = o.client_summary().map_or(plan.path, |s| s.path);
    let server: &[(String, String)] = o.server.as_ref().map_or(&[], |s| &s.observed.transitions);
    let dot = Diagram::of_run(plan.name, &o.observed.transitions, server, path).to_dot();
    write_output(file, &dot, force, out)
}

/// ANSI colours for the text report: run headings bold, the path cyan, the verdict green
/// or red.
fn colourise(text: &str) -> String {
    let paint = |code: &str, s: &str| format!("\x1b[{code}m{s}\x1b[0m");
    text.lines()
        .map(|line| {
            if line.starts_with("run ") {
                paint("1", line)
            } else if line.starts_with("ok:") {
                paint("32", line)
            } else if line.starts_with("failed:") {
                paint("31", line)
            } else if let Some(path) = line.strip_prefix("  path:        ") {
                format!("  path:        {}", paint("36", path))
            } else {
                line.to_owned()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

fn text_report(
    plans: &[&Plan],
    outcomes: &[Outcome],
    args: &DemoArgs,
    failures: &[String],
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "keylab demo: TLS 1.3 over loopback; server CN=localhost ({}), client authentication\noptional, external PSK \"keylab-demo\" accepted, session tickets issued\n",
        args.key.label()
    );
    for (i, (plan, o)) in plans.iter().zip(outcomes).enumerate() {
        let _ = writeln!(s, "run {}: {} ({})", i + 1, plan.name, plan.client);
        let _ = writeln!(
            s,
            "  {:<3} {:<17} {:<20} {:>6}",
            "#", "direction", "message", "bytes"
        );
        for (n, m) in o.observed.messages.iter().enumerate() {
            let dir = if m.from_client {
                "client -> server"
            } else {
                "server -> client"
            };
            let enc = if m.encrypted { "  encrypted" } else { "" };
            let _ = writeln!(
                s,
                "  {:<3} {dir:<17} {:<20} {:>6}{enc}",
                n + 1,
                m.name,
                m.bytes.len()
            );
        }
        match (&o.client, o.server.as_ref().map(|x| &x.result)) {
            (Ok(c), Some(Ok(sv))) => describe(&mut s, c, sv, o, plan, args.seed.is_some()),
            (c, sv) => {
                let _ = writeln!(
                    s,
                    "  client: {}",
                    c.as_ref()
                        .map_or_else(|e| format!("error: {e}"), |_| "ok".into())
                );
                let sv = sv.map_or_else(
                    || "no report".into(),
                    |r| {
                        r.as_ref()
                            .map_or_else(|e| format!("error: {e}"), |_| "ok".into())
                    },
                );
                let _ = writeln!(s, "  server: {sv}");
            }
        }
        s.push('\n');
    }
    s.push_str(&verdict(outcomes.len(), failures));
    s
}

fn describe(s: &mut String, c: &Summary, sv: &Summary, o: &Outcome, plan: &Plan, seeded: bool) {
    let _ = writeln!(s, "  path:        {}", c.path);
    let _ = writeln!(s, "  why:         client: {}", c.reason);
    let _ = writeln!(s, "               server: {}", sv.reason);
    let group = c
        .group
        .map_or_else(|| "no (EC)DHE".to_owned(), |g| g.to_string());
    let signature = c.server_signature.map_or_else(
        || "none (the key itself authenticates)".to_owned(),
        |s| s.to_string(),
    );
    let _ = writeln!(
        s,
        "  negotiated:  {}, {group}, server signature {signature}",
        c.cipher_suite
    );
    if let Some(sig) = sv.client_signature {
        let _ = writeln!(
            s,
            "               client signature {sig}, client chain {}",
            sv.client_chain.join(" <- ")
        );
    }
    if let Some(id) = &sv.client_identity {
        let _ = writeln!(s, "  client is:   {id}");
    }
    if !c.server_chain.is_empty() {
        let _ = writeln!(s, "  server:      {}", c.server_chain.join(" <- "));
    }
    let echoed = if o.reply == plan.message {
        "echoed back intact"
    } else {
        "ECHO MISMATCH"
    };
    let _ = writeln!(
        s,
        "  data:        {:?} sent, {echoed}",
        String::from_utf8_lossy(plan.message)
    );
    let _ = writeln!(s, "  tickets:     {}", tickets(o, plan));
    let _ = writeln!(s, "  transcript:  {}", hex::encode(c.transcript_hash));
    if !seeded {
        let _ = writeln!(
            s,
            "  time:        handshake {:.1} ms, {} bytes sent, {} received",
            o.handshake_time.as_secs_f64() * 1e3,
            o.bytes_sent,
            o.bytes_received
        );
    }
}

/// How many tickets the client received, and why (RFC 8446 §4.2.9, §4.6.1).
fn tickets(o: &Outcome, plan: &Plan) -> String {
    let received = o
        .observed
        .messages
        .iter()
        .filter(|m| m.name == "NewSessionTicket")
        .count();
    match plan.holds {
        Holds::Certificate | Holds::NothingNoTickets => format!(
            "{received} received: this client keeps no session cache, so its ClientHello lists\n\
             {:15}no psk_key_exchange_modes, and the server issues tickets only for a mode the\n\
             {:15}client lists (RFC 8446 §4.2.9)",
            "", ""
        ),
        Holds::Nothing | Holds::Ticket => {
            format!("{received} received and kept in the client's session cache")
        }
        Holds::Psk => format!(
            "{received} received (the client lists psk_key_exchange_modes for its PSK; it keeps\n\
             {:15}no session cache, so the ticket goes unused)",
            ""
        ),
    }
}

/// An output file is checked before any run (its directory exists, it is not a directory,
/// it exists only with `--force`), so a refused file costs nothing.
fn refuse_existing(file: &std::path::Path, force: bool) -> Result<(), Failure> {
    super::output::check_output(file, force)
}

/// The explanation model of every run.
fn explanation(plans: &[&Plan], outcomes: &[Outcome], args: &DemoArgs, seed: u64) -> Explanation {
    let runs = plans
        .iter()
        .zip(outcomes)
        .enumerate()
        .map(|(i, (plan, o))| {
            let info = build::RunInfo {
                number: i + 1,
                client: plan.client,
                label: Some(plan.name),
            };
            build::run(info, o)
        })
        .collect();
    let name = |v: Option<clap::builder::PossibleValue>| {
        v.map(|v| v.get_name().to_owned()).unwrap_or_default()
    };
    Explanation {
        repeat: Some(Repeat {
            seed,
            command: format!(
                "keylab demo --path {} --key {} --seed {seed} --explain",
                name(args.path.to_possible_value()),
                name(args.key.to_possible_value())
            ),
        }),
        runs,
    }
}

/// `--explain`: the explanation model of every run, as text wrapped to the terminal or
/// (with `--json`) as one JSON document.
fn explanation_report(
    plans: &[&Plan],
    outcomes: &[Outcome],
    args: &DemoArgs,
    seed: u64,
    failures: &[String],
) -> String {
    let explanation = explanation(plans, outcomes, args, seed);
    if args.json {
        let mut text = serde_json::to_string_pretty(&explanation).unwrap_or_default();
        text.push('\n');
        return text;
    }
    let painter = layout::Painter {
        enabled: layout::colour_wanted(),
    };
    let mut text = terminal::render(&explanation, layout::detect_width(), painter);
    text.push_str(&verdict(outcomes.len(), failures));
    text
}

/// The last line: all runs succeeded, or which failed.
fn verdict(runs: usize, failures: &[String]) -> String {
    if failures.is_empty() {
        format!("ok: {runs} of {runs} runs succeeded\n")
    } else {
        format!("failed: {}\n", failures.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::colourise;

    #[test]
    fn colour_marks_headings_paths_and_verdicts_only() {
        let text = "intro\nrun 1: certificate (x)\n  path:        certificate\nok: 1 of 1 runs succeeded\n";
        let out = colourise(text);
        assert_eq!(
            out,
            "intro\n\x1b[1mrun 1: certificate (x)\x1b[0m\n  path:        \x1b[36mcertificate\x1b[0m\n\x1b[32mok: 1 of 1 runs succeeded\x1b[0m\n"
        );
        assert!(colourise("failed: run 1\n").starts_with("\x1b[31m"));
    }
}
