//! `keylab demo`: every path over loopback with the embedded fixtures, explained.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use handshake::{ClientAuth, Path, SessionCache, Summary, Tickets};
use rand_core::Rng;

use crate::failure::Failure;
use crate::runner::{self, ClientSpec, DemoKey, Outcome};
use crate::seed::connection_rng;

mod forward_secrecy;
mod json;

pub use forward_secrecy::{Attempt, ForwardSecrecy, Leaked, Recovered, attack, demonstrate};

/// Which demo runs to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PathArg {
    /// The client stays anonymous: ephemeral X25519 only.
    #[value(name = "ephemeral-dh")]
    EphemeralDh,
    /// The client authenticates with its certificate (mutual TLS).
    Certificate,
    /// Both sides hold an external pre-shared key (psk_dhe_ke).
    Psk,
    /// A full handshake earns a ticket; the next connection resumes with it.
    Resumption,
    /// Every path.
    All,
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
    /// Record an ephemeral-dh, a psk+dhe and a psk_ke connection, leak the PSK and the
    /// server's key, and show which recordings decrypt with them.
    #[arg(long, conflicts_with_all = ["explain", "keylog"])]
    pub forward_secrecy: bool,
}

/// What the client of a run holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holds {
    /// Nothing but trust in the root; it keeps the tickets it is given.
    Nothing,
    /// A certificate and its key.
    Certificate,
    /// The demo's external PSK.
    Psk,
    /// A ticket from an earlier run.
    Ticket,
}

/// One planned run: the path it should take, how to describe the client, what it holds.
struct Plan {
    path: Path,
    client: &'static str,
    message: &'static [u8],
    holds: Holds,
}

const PLANS: [Plan; 4] = [
    Plan {
        path: Path::EphemeralDh,
        client: "client without a certificate; it keeps the ticket it is given",
        message: b"hello from an anonymous client",
        holds: Holds::Nothing,
    },
    Plan {
        path: Path::Certificate,
        client: "client CN=alice with a certificate",
        message: b"hello from alice",
        holds: Holds::Certificate,
    },
    Plan {
        path: Path::PskDhe,
        client: "client holding the external PSK \"keylab-demo\"",
        message: b"hello from a PSK holder",
        holds: Holds::Psk,
    },
    Plan {
        path: Path::ResumptionDhe,
        client: "the client of run 1, resuming with its ticket",
        message: b"hello again, resumed",
        holds: Holds::Ticket,
    },
];

/// The runs `--path` asks for (resumption needs the run that earns the ticket first).
fn plans_for(path: PathArg) -> Vec<&'static Plan> {
    let wanted: &[Path] = match path {
        PathArg::All => &[
            Path::EphemeralDh,
            Path::Certificate,
            Path::PskDhe,
            Path::ResumptionDhe,
        ],
        PathArg::EphemeralDh => &[Path::EphemeralDh],
        PathArg::Certificate => &[Path::Certificate],
        PathArg::Psk => &[Path::PskDhe],
        PathArg::Resumption => &[Path::EphemeralDh, Path::ResumptionDhe],
    };
    PLANS.iter().filter(|p| wanted.contains(&p.path)).collect()
}

/// Runs the demo and writes its report to `out`.
pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<(), Failure> {
    if args.forward_secrecy {
        return forward_secrecy::run(args, out);
    }
    let plans = plans_for(args.path);
    let key_log = crate::keylog::from_option(args.keylog.as_ref())
        .map_err(|e| Failure::input(e.to_string()))?;
    let mut ticket_key = zeroize::Zeroizing::new([0u8; 32]);
    connection_rng(args.seed, "ticket key", 0).fill_bytes(&mut ticket_key[..]);
    let server = runner::demo_server_config_for(args.key, ClientAuth::Optional)
        .map_err(|e| Failure::input(e.to_string()))?
        .with_psks(vec![runner::demo_psk()])
        .with_tickets(Arc::new(Tickets::new(&ticket_key)));
    let cache = Arc::new(SessionCache::default());
    let mut specs = Vec::new();
    for plan in &plans {
        let mut config = runner::demo_client_config_for(args.key, plan.holds == Holds::Certificate)
            .map_err(|e| Failure::input(e.to_string()))?;
        match plan.holds {
            Holds::Nothing | Holds::Ticket => config.session_cache = Some(cache.clone()),
            Holds::Psk => config.psk = Some(runner::demo_psk()),
            Holds::Certificate => {}
        }
        // The client logs the secrets; the server would log the same lines again.
        config.key_log = key_log.clone();
        specs.push(ClientSpec::new(config, plan.message.to_vec()).with_demo_ending());
    }
    let outcomes = runner::run("127.0.0.1:0", Arc::new(server), specs, args.seed)
        .map_err(|e| Failure::input(format!("cannot start the loopback server: {e}")))?;

    let failures: Vec<String> = plans
        .iter()
        .zip(&outcomes)
        .enumerate()
        .filter_map(|(i, (plan, o))| check(plan, o).err().map(|e| format!("run {}: {e}", i + 1)))
        .collect();
    let report = if args.json {
        json::report(&plans, &outcomes, args)
    } else {
        let text = text_report(&plans, &outcomes, args, &failures);
        // Colour only for a person at a terminal (and never with NO_COLOR set).
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
        if terminal && std::env::var_os("NO_COLOR").is_none() {
            colourise(&text)
        } else {
            text
        }
    };
    out.write_all(report.as_bytes())
        .map_err(|e| Failure::input(e.to_string()))?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::check(failures.join("; ")))
    }
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

/// A run is good when both sides completed on the planned path and the echo came back.
fn check(plan: &Plan, o: &Outcome) -> Result<(), String> {
    let client = o
        .client
        .as_ref()
        .map_err(|e| format!("client failed: {e}"))?;
    let server = match &o.server {
        Some(s) => s
            .result
            .as_ref()
            .map_err(|e| format!("server failed: {e}"))?,
        None => return Err("the server did not report".into()),
    };
    for (side, s) in [("client", client), ("server", server)] {
        if s.path != plan.path {
            return Err(format!(
                "{side} took path {} instead of {}",
                s.path, plan.path
            ));
        }
    }
    if o.reply != plan.message {
        return Err("the echo did not match what was sent".into());
    }
    Ok(())
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
        let _ = writeln!(s, "run {}: {} ({})", i + 1, plan.path, plan.client);
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
        if args.explain {
            explain(&mut s, o);
        }
        s.push('\n');
    }
    if failures.is_empty() {
        let _ = writeln!(
            s,
            "ok: {} of {} runs succeeded",
            outcomes.len(),
            outcomes.len()
        );
    } else {
        let _ = writeln!(s, "failed: {}", failures.join("; "));
    }
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

/// A change_cipher_spec record of middlebox compatibility mode, where it went.
fn explain_change_cipher_spec(s: &mut String, from_client: bool) {
    let dir = if from_client {
        "client -> server"
    } else {
        "server -> client"
    };
    let _ = writeln!(
        s,
        "\n  change_cipher_spec ({dir}, one record of 6 bytes, never encrypted)\n    \
         14 03 03 00 01 01: content type 20 change_cipher_spec, legacy_record_version 0x0303,\n    \
         length 1, the single byte 0x01. Middlebox compatibility mode (RFC 8446 Appendix D.4):\n    \
         with the client's 32-byte legacy_session_id it makes the handshake look like a TLS 1.2\n    \
         resumption to middleboxes. TLS 1.3 peers drop it (RFC 8446 §5); it is a record, not a\n    \
         handshake message, and not part of the transcript."
    );
}

fn explain(s: &mut String, o: &Outcome) {
    let _ = writeln!(s, "\n  every message, field by field:");
    let ccs_after = |n: usize| {
        o.observed
            .change_cipher_specs
            .iter()
            .filter(move |c| c.after_messages == n)
    };
    for (i, m) in o.observed.messages.iter().enumerate() {
        for ccs in ccs_after(i) {
            explain_change_cipher_spec(s, ccs.from_client);
        }
        let dir = if m.from_client {
            "client -> server"
        } else {
            "server -> client"
        };
        let _ = writeln!(
            s,
            "\n  {} ({dir}, {} bytes{})",
            m.name,
            m.bytes.len(),
            if m.encrypted { ", sent encrypted" } else { "" }
        );
        let sender = if m.from_client {
            handshake::Side::Client
        } else {
            handshake::Side::Server
        };
        for line in
            crate::explain::render(&crate::explain::explain_message_from(&m.bytes, sender)).lines()
        {
            let _ = writeln!(s, "    {line}");
        }
    }
    for ccs in ccs_after(o.observed.messages.len()) {
        explain_change_cipher_spec(s, ccs.from_client);
    }
    if o.observed
        .secrets
        .iter()
        .any(|x| x.label.starts_with("binder_key"))
    {
        let _ = writeln!(
            s,
            "\n  the PSK binder (RFC 8446 §4.2.11.2): the ClientHello ends with\n    \
             HMAC(finished_key(binder_key), Transcript-Hash(ClientHello up to the binders)).\n    \
             Only a holder of the PSK can compute it, and it binds the key to this very\n    \
             ClientHello; the server checks it before it answers (a wrong one: decrypt_error).\n    \
             The PSK then enters the key schedule as the input of the Early Secret, and X25519\n    \
             (psk_dhe_ke) as the input of the Handshake Secret."
        );
    }
    let _ = writeln!(
        s,
        "\n  key schedule (RFC 8446 §7.1), as the client derived it:"
    );
    for secret in &o.observed.secrets {
        let _ = writeln!(s, "    {:<36} {}", secret.label, hex::encode(&secret.value));
        let _ = writeln!(s, "    {:<36} = {}", "", secret.derivation);
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
