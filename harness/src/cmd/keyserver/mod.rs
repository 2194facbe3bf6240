//! `keylab keyserver serve | publish | rotate | revoke | fetch | audit` and `keylab seal` /
//! `keylab open`: the [`keyserver`] crate on the command line.
//!
//! Every client command that reads a tree head checks it against the log key pinned in a
//! state file (trusted on first use) and the last head seen there, so `fetch`, `seal` and
//! `publish` audit the log a little each time they run.

use std::io::{Read as _, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use keyserver::client::{self, Client, ClientError};
use keyserver::trust::{Trust, TrustError};
use keyserver::{KeyAnswer, KeyServer, Status, VerifiedKey, seal};
use pki::PrivateKey;

use crate::cmd::load::read_private_key;
use crate::failure::{EXIT_CODES, Failure};

/// `keylab keyserver ...`
#[derive(Debug, Subcommand)]
pub enum KeyserverCommand {
    /// Run a key server: SQLite database FILE (created if missing), log key beside it.
    #[command(after_help = EXIT_CODES)]
    Serve(ServeArgs),
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

/// `keylab keyserver serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The SQLite database (created if missing); the log key is FILE.log-key.pem.
    #[arg(long, value_name = "FILE")]
    pub db: PathBuf,
}

/// The server and the client state shared by the client commands.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The key server, http://HOST:PORT.
    #[arg(long, value_name = "URL")]
    pub server: String,
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
}

/// `keylab keyserver audit`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Server and state.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `keylab seal`
#[derive(Debug, Args)]
pub struct SealArgs {
    /// The recipient: a name or fingerprint on the key server.
    #[arg(long, value_name = "NAME")]
    pub to: String,
    /// Server and state.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `keylab open`
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The recipient's Ed25519 private key.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
}

/// Runs a `keylab keyserver` command.
pub fn run(command: &KeyserverCommand, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        KeyserverCommand::Serve(args) => serve(args, out),
        KeyserverCommand::Publish(args) => publish(args, out),
        KeyserverCommand::Rotate(args) => rotate(args, out),
        KeyserverCommand::Revoke(args) => revoke(args, out),
        KeyserverCommand::Fetch(args) => fetch(args, out),
        KeyserverCommand::Audit(args) => audit(args, out),
    }
}

fn serve(args: &ServeArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let rng = Box::new(crate::seed::os_rng());
    let server = KeyServer::start(listener, &args.db, rng)
        .map_err(|e| Failure::input(format!("{}: {e}", args.db.display())))?;
    writeln!(
        out,
        "listening on {}\nlog key {} ({}), {} entries",
        server.addr(),
        server.log_key().fingerprint(),
        keyserver::store::log_key_path(&args.db).display(),
        server.entries_at_start()
    )
    .and_then(|()| out.flush())
    .map_err(io_failure)?;
    // Started: a failure from here on is the server's, not the input's.
    server
        .wait()
        .map_err(|e| Failure::check(format!("key server: {e}")))
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
    let verb = if created {
        "published"
    } else {
        "already published:"
    };
    writeln!(
        out,
        "{verb} {} key {} (log entry {}, tree size {})",
        v.name,
        v.key.fingerprint(),
        v.log_index,
        v.head.tree_size
    )
    .map_err(io_failure)
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
    out.write_all(v.key.to_pem().as_bytes()).map_err(io_failure)
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
    let pinned = if session.first_use {
        "trusted on first use"
    } else {
        "pinned"
    };
    writeln!(out, "log key {} ({pinned})", session.log_key.fingerprint()).map_err(io_failure)?;
    // A head older than the remembered one was refused above (a rollback).
    let change = match step.previous {
        None => "first audit".to_owned(),
        Some(old) if old == step.size => "unchanged".to_owned(),
        Some(old) => format!("grew from {old}, consistent"),
    };
    writeln!(
        out,
        "tree size {}: {change}\nroot {}\nentries replayed: {}, {} names, every entry signed by \
         its key and within the name policy",
        step.size,
        hex::encode(head.root),
        replayed.size(),
        replayed.names()
    )
    .map_err(io_failure)?;
    writeln!(out, "state {}", session.state_path.display()).map_err(io_failure)
}

/// `keylab seal --to NAME --server URL < MSG > MSG.sealed`
pub fn seal(args: &SealArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let mut session = Session::open(&args.server)?;
    let v = session.current_key(&args.to)?;
    let message = read_stdin(seal::MAX_MESSAGE, "the message")?;
    let sealed = seal::seal(&v.key, &message, &mut crate::seed::os_rng())
        .map_err(|e| Failure::input(e.to_string()))?;
    out.write_all(&sealed)
        .and_then(|()| out.flush())
        .map_err(io_failure)
}

/// `keylab open --key F < MSG.sealed > MSG`
pub fn open(args: &OpenArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let key = read_key(&args.key)?;
    let limit = seal::HEADER_LEN + seal::MAX_MESSAGE + keyserver::hpke::TAG_LEN;
    let sealed = read_stdin(limit, "the sealed message")?;
    let message = seal::open(&key, &sealed).map_err(|e| match e {
        seal::SealError::Malformed(_) | seal::SealError::Version(_) => {
            Failure::input(e.to_string())
        }
        other => Failure::check(other.to_string()),
    })?;
    out.write_all(&message)
        .and_then(|()| out.flush())
        .map_err(io_failure)
}

/// A client, the state file and the log key it trusts.
struct Session {
    client: Client,
    trust: Trust,
    state_path: PathBuf,
    log_key: pki::PublicKey,
    first_use: bool,
}

impl Session {
    fn open(args: &ServerArgs) -> Result<Self, Failure> {
        let url = args.server.trim_end_matches('/');
        let Some(host) = url.strip_prefix("http://").filter(|h| !h.is_empty()) else {
            return Err(Failure::input(format!(
                "key server {:?}: expected http://HOST:PORT",
                args.server
            )));
        };
        let state_path = match &args.state {
            Some(path) => path.clone(),
            None => default_state(host)?,
        };
        let trust = Trust::load(&state_path, url).map_err(|e| Failure::input(e.to_string()))?;
        let client = Client::new(url, client::DEFAULT_TIMEOUT);
        let (log_key, first_use) = trust.log_key(&client).map_err(trust_failure)?;
        if first_use {
            eprintln!(
                "trusting the log key {} of {url} on first use (pinned in {})",
                log_key.fingerprint(),
                state_path.display()
            );
        }
        Ok(Self {
            client,
            trust,
            state_path,
            log_key,
            first_use,
        })
    }

    /// Checks an answer's proofs and its tree head against the state.
    fn verify(&mut self, answer: &KeyAnswer) -> Result<VerifiedKey, Failure> {
        let v = keyserver::verify_answer(answer, &self.log_key)
            .map_err(|e| Failure::check(e.to_string()))?;
        self.trust
            .accept(&self.client, &self.log_key, &v.head)
            .map_err(trust_failure)?;
        Ok(v)
    }

    /// The verified current key for a name or fingerprint.
    fn current_key(&mut self, search: &str) -> Result<VerifiedKey, Failure> {
        let answer = self.client.lookup(search).map_err(client_failure)?;
        // The answer must be for what was asked, not another validly logged key.
        keyserver::verify_lookup(&answer, &self.log_key, search)
            .map_err(|e| Failure::check(e.to_string()))?;
        let v = self.verify(&answer)?;
        match (v.status, &v.status_entry) {
            (Status::Current, _) => Ok(v),
            (status, entry) => Err(Failure::check(format!(
                "key {} of {} is {} (log entry {})",
                v.key.fingerprint(),
                v.name,
                status.as_str(),
                entry.as_ref().map(|(i, _)| *i).unwrap_or_default()
            ))),
        }
    }
}

/// Checks that the server's answer to a publish, rotate or revoke is about `key` and the
/// name asked for, not some other logged key.
fn expect_key(v: &VerifiedKey, key: &PrivateKey, name: &str) -> Result<(), Failure> {
    let normalised = keyserver::name::normalize(name).unwrap_or_default();
    if v.key != *key.public_key() || v.name != normalised {
        return Err(Failure::check(format!(
            "the server answered with key {} of {:?}, not key {} of {normalised:?}",
            v.key.fingerprint(),
            v.name,
            key.public_key().fingerprint()
        )));
    }
    Ok(())
}

/// `$XDG_CONFIG_HOME/keylab/keyserver/HOST_PORT.state`, else under `$HOME/.config`.
fn default_state(host: &str) -> Result<PathBuf, Failure> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = absolute("XDG_CONFIG_HOME")
        .or_else(|| absolute("HOME").map(|h| h.join(".config")))
        .ok_or_else(|| {
            Failure::input("no $XDG_CONFIG_HOME or $HOME to keep the state in: give --state FILE")
        })?;
    let file: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(base
        .join("keylab")
        .join("keyserver")
        .join(format!("{file}.state")))
}

/// An Ed25519 private key: the only kind the key server takes.
fn read_key(path: &Path) -> Result<PrivateKey, Failure> {
    let key = read_private_key(path)?;
    if !key.public_key().is_ed25519() {
        return Err(Failure::input(format!(
            "{}: a {} key; the key server takes Ed25519 keys only",
            path.display(),
            key.public_key().algorithm_name()
        )));
    }
    Ok(key)
}

fn read_stdin(limit: usize, what: &str) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::input(format!("reading {what} from stdin: {e}")))?;
    if bytes.len() > limit {
        return Err(Failure::input(format!(
            "{what} is larger than {limit} bytes"
        )));
    }
    Ok(bytes)
}

fn client_failure(e: ClientError) -> Failure {
    match e {
        ClientError::Input(message) => Failure::input(message),
        other => Failure::check(other.to_string()),
    }
}

fn trust_failure(e: TrustError) -> Failure {
    match e {
        TrustError::Io { .. } | TrustError::Malformed { .. } | TrustError::OtherServer { .. } => {
            Failure::input(e.to_string())
        }
        other => Failure::check(other.to_string()),
    }
}

fn io_failure(e: std::io::Error) -> Failure {
    Failure::input(e.to_string())
}
