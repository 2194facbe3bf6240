//! `keylab keyserver serve | publish | rotate | revoke | fetch | audit` and `keylab seal` /
//! `keylab open`: the [`keyserver`] crate on the command line.
//!
//! Every client command that reads a tree head checks it against the log key pinned in a
//! state file (trusted on first use) and the last head seen there, so `fetch`, `seal` and
//! `publish` audit the log a little each time they run.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use keyserver::Status;
use serde_json::json;

use crate::failure::{EXIT_CODES, Failure};

mod seal;
mod serve;
mod session;

pub use seal::{OpenArgs, SealArgs, open, seal};
pub use serve::{InitArgs, MigrateArgs, ServeArgs};
use session::{Session, client_failure, expect_key, io_failure, read_key, trust_failure};

/// `keylab keyserver ...`
#[derive(Debug, Subcommand)]
pub enum KeyserverCommand {
    /// Run a key server (a front end) on a SQLite file or a PostgreSQL database.
    #[command(after_help = EXIT_CODES)]
    Serve(ServeArgs),
    /// Create a log in a PostgreSQL database: its key file, and its public key recorded.
    #[command(after_help = EXIT_CODES)]
    Init(InitArgs),
    /// Move a SQLite key server's log to an empty PostgreSQL database.
    #[command(after_help = EXIT_CODES)]
    Migrate(MigrateArgs),
    /// Publish an Ed25519 key under a name (proof of possession; first come, first served).
    #[command(after_help = EXIT_CODES)]
    Publish(PublishArgs),
    /// Hand a name over from its current key to a new one.
    #[command(after_help = EXIT_CODES)]
    Rotate(RotateArgs),
    /// Revoke a key (signed by the key itself); its name is retired if it was current.
    #[command(after_help = EXIT_CODES)]
    Revoke(RevokeArgs),
    /// Look a key up by name or fingerprint, verify its log proofs, print it as PEM.
    #[command(after_help = EXIT_CODES)]
    Fetch(FetchArgs),
    /// Check that the log only grew since the last tree head seen (kept in the state file).
    #[command(after_help = EXIT_CODES)]
    Audit(AuditArgs),
}

/// The server and the client state shared by the client commands.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The key server, https://HOST:PORT (or http://HOST:PORT for one run with
    /// --insecure-http).
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The CA certificate(s) (PEM) to trust for an https:// server; the server's
    /// certificate must also name the URL's host.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The pinned log key and last tree head
    /// [default: $XDG_CONFIG_HOME/keylab/keyserver/HOST_PORT.state, or under ~/.config].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

/// `keylab keyserver publish`
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Server and state.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The Ed25519 private key (PKCS#8 PEM, as `keylab pki` or `openssl genpkey` write).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The name (trimmed and lowercased; letters, digits and . - _ @ +).
    #[arg(long)]
    pub name: String,
    /// Print the result as one JSON object on stdout:
    /// {"created": true|false, "name", "fingerprint", "log_index", "tree_size"}
    /// ("created" is false when the name already had this key).
    #[arg(long)]
    pub json: bool,
}

/// `keylab keyserver rotate`
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Server and state.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The name's current private key (signs the hand-over).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The new private key.
    #[arg(long, value_name = "FILE")]
    pub new_key: PathBuf,
    /// The name.
    #[arg(long)]
    pub name: String,
}

/// `keylab keyserver revoke`
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Server and state.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The private key to revoke.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
}

/// `keylab keyserver fetch`
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Server and state.
    #[command(flatten)]
    pub server: ServerArgs,
    /// A name, or a fingerprint (64 hex digits).
    pub search: String,
    /// Print one JSON object on stdout instead of the PEM key:
    /// {"name", "fingerprint", "status": "current", "log_index", "tree_size",
    /// "public_key": "-----BEGIN PUBLIC KEY-----..."}.
    #[arg(long)]
    pub json: bool,
}

/// `keylab keyserver audit`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Server and state.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Print the result as one JSON object on stdout:
    /// {"log_key": FINGERPRINT, "first_use": true|false, "tree_size", "previous_size":
    /// N|null (null on the first audit), "root": HEX, "entries", "names", "state": FILE}.
    /// A log that does not check out exits 1 with {"error": {"kind": "check", ...}}.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `keylab keyserver` command.
pub fn run(command: &KeyserverCommand, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        KeyserverCommand::Serve(args) => serve::serve(args, out),
        KeyserverCommand::Init(args) => serve::init(args, out),
        KeyserverCommand::Migrate(args) => serve::migrate(args, out),
        KeyserverCommand::Publish(args) => publish(args, out),
        KeyserverCommand::Rotate(args) => rotate(args, out),
        KeyserverCommand::Revoke(args) => revoke(args, out),
        KeyserverCommand::Fetch(args) => fetch(args, out),
        KeyserverCommand::Audit(args) => audit(args, out),
    }
}

fn publish(args: &PublishArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let key = read_key(&args.key)?;
    let mut session = Session::open(&args.server)?;
    let (created, answer) = session
        .client
        .publish(&key, &args.name)
        .map_err(client_failure)?;
    let v = session.verify(&answer)?;
    expect_key(&v, &key, &args.name)?;
    let report = if args.json {
        json!({
            "created": created,
            "name": v.name,
            "fingerprint": v.key.fingerprint(),
            "log_index": v.log_index,
            "tree_size": v.head.tree_size,
        })
        .to_string()
    } else {
        let verb = if created {
            "published"
        } else {
            "already published:"
        };
        format!(
            "{verb} {} key {} (log entry {}, tree size {})",
            v.name,
            v.key.fingerprint(),
            v.log_index,
            v.head.tree_size
        )
    };
    writeln!(out, "{report}").map_err(io_failure)
}

fn rotate(args: &RotateArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let (current, new) = (read_key(&args.key)?, read_key(&args.new_key)?);
    let mut session = Session::open(&args.server)?;
    let answer = session
        .client
        .rotate(&current, &new, &args.name)
        .map_err(client_failure)?;
    let v = session.verify(&answer)?;
    expect_key(&v, &new, &args.name)?;
    writeln!(
        out,
        "rotated {} from key {} to key {} (log entry {})",
        v.name,
        current.public_key().fingerprint(),
        v.key.fingerprint(),
        v.log_index
    )
    .map_err(io_failure)
}

fn revoke(args: &RevokeArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let key = read_key(&args.key)?;
    let mut session = Session::open(&args.server)?;
    let answer = session.client.revoke(&key).map_err(client_failure)?;
    let v = session.verify(&answer)?;
    expect_key(&v, &key, &v.name)?;
    let Some((index, _)) = v.status_entry.filter(|_| v.status == Status::Revoked) else {
        return Err(Failure::check(format!(
            "the server did not revoke key {}: it is still {}",
            v.key.fingerprint(),
            v.status.as_str()
        )));
    };
    writeln!(
        out,
        "revoked {} key {} (log entry {index})",
        v.name,
        v.key.fingerprint()
    )
    .map_err(io_failure)
}

fn fetch(args: &FetchArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let mut session = Session::open(&args.server)?;
    let v = session.current_key(&args.search)?;
    if !args.json {
        return out.write_all(v.key.to_pem().as_bytes()).map_err(io_failure);
    }
    let report = json!({
        "name": v.name,
        "fingerprint": v.key.fingerprint(),
        "status": v.status.as_str(),
        "log_index": v.log_index,
        "tree_size": v.head.tree_size,
        "public_key": v.key.to_pem(),
    });
    writeln!(out, "{report}").map_err(io_failure)
}

fn audit(args: &AuditArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let mut session = Session::open(&args.server)?;
    session
        .trust
        .check_served_key(&session.client)
        .map_err(trust_failure)?;
    let head = session.client.head().map_err(client_failure)?;
    let step = session
        .trust
        .accept(&session.client, &session.log_key, &head)
        .map_err(trust_failure)?;
    let replayed = keyserver::trust::replay_log(&session.client, &head).map_err(trust_failure)?;
    if args.json {
        let report = json!({
            "log_key": session.log_key.fingerprint(),
            "first_use": session.first_use,
            "tree_size": step.size,
            "previous_size": step.previous,
            "root": hex::encode(head.root),
            "entries": replayed.size(),
            "names": replayed.names(),
            "state": session.state_path.display().to_string(),
        });
        return writeln!(out, "{report}").map_err(io_failure);
    }
    let pinned = if session.first_use {
        "trusted on first use"
    } else {
        "pinned"
    };
    // A head older than the remembered one was refused above (a rollback).
    let change = match step.previous {
        None => "first audit".to_owned(),
        Some(old) if old == step.size => "unchanged".to_owned(),
        Some(old) => format!("grew from {old}, consistent"),
    };
    writeln!(
        out,
        "log key {} ({pinned})\ntree size {}: {change}\nroot {}\nentries replayed: {}, {} \
         names, every entry signed by its key and within the name policy\nstate {}",
        session.log_key.fingerprint(),
        step.size,
        hex::encode(head.root),
        replayed.size(),
        replayed.names(),
        session.state_path.display()
    )
    .map_err(io_failure)
}
