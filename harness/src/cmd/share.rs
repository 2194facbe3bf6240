//! `keylab share split | combine | serve`: Shamir M-of-N splitting of keys across share
//! servers, with the [`sharing`] crate.

use std::io::{Read as _, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use sharing::client::{self, Client, RecoverError};
use sharing::raw::{self, vault};
use sharing::server::ShareServer;
use sharing::{Share, SplitId};
use zeroize::Zeroizing;

use crate::cmd::key_source::{parse_split_id, share_clients};
use crate::cmd::load::{read_secret_text, read_token};
use crate::failure::{EXIT_CODES, Failure};

/// `keylab share ...`
#[derive(Debug, Subcommand)]
pub enum ShareCommand {
    /// Split the secret on stdin into N shares, any M of which rebuild it.
    #[command(after_help = EXIT_CODES)]
    Split(SplitArgs),
    /// Rebuild a secret from share files and/or share servers; write it to stdout.
    #[command(after_help = EXIT_CODES)]
    Combine(CombineArgs),
    /// Run a share server: stores shares in DIR, serves them over HTTP.
    #[command(after_help = EXIT_CODES)]
    Serve(ServeArgs),
}

/// Share formats on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// keylab-share-v1 lines: split id, threshold and a digest that detects bad shares.
    Keylab,
    /// HashiCorp Vault's layout (base64 of y bytes then x): no id, no threshold, no check.
    Vault,
}

/// `keylab share split`
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// Shares needed to rebuild the secret.
    #[arg(short = 'm', long = "threshold", value_name = "M")]
    pub m: usize,
    /// Shares to make [default: the number of --servers].
    #[arg(short = 'n', long = "shares", value_name = "N")]
    pub n: Option<usize>,
    /// Store one share on each of these share servers (http://HOST:PORT, comma-separated).
    #[arg(
        long,
        value_name = "URL,...",
        value_delimiter = ',',
        conflicts_with = "out"
    )]
    pub servers: Vec<String>,
    /// Write DIR/share-1.txt ... DIR/share-N.txt (never overwriting); without --out or
    /// --servers the shares go to stdout, one per line.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Share format.
    #[arg(long, value_enum, default_value = "keylab")]
    pub format: FormatArg,
    /// Bearer token for the share servers (first line of FILE).
    #[arg(long, value_name = "FILE", requires = "servers")]
    pub token_file: Option<PathBuf>,
}

/// `keylab share combine`
#[derive(Debug, Args)]
pub struct CombineArgs {
    /// Share files (one share per line; several files and lines are fine).
    pub files: Vec<PathBuf>,
    /// Fetch the split's shares from these share servers (comma-separated).
    #[arg(long, value_name = "URL,...", value_delimiter = ',', requires = "id")]
    pub servers: Vec<String>,
    /// The split id printed by `split --servers`.
    #[arg(long, value_name = "SPLIT_ID", requires = "servers")]
    pub id: Option<String>,
    /// Share format of the files.
    #[arg(long, value_enum, default_value = "keylab")]
    pub format: FormatArg,
    /// Bearer token for the share servers (first line of FILE).
    #[arg(long, value_name = "FILE", requires = "servers")]
    pub token_file: Option<PathBuf>,
}

/// `keylab share serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Directory holding the shares (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Require `Authorization: Bearer TOKEN` with the first line of FILE as TOKEN.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// Runs a `keylab share` command.
pub fn run(command: &ShareCommand, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        ShareCommand::Split(args) => split(args, out),
        ShareCommand::Combine(args) => combine(args, out),
        ShareCommand::Serve(args) => serve(args, out),
    }
}

fn split(args: &SplitArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let n = match (args.n, args.servers.len()) {
        (Some(n), 0) => n,
        (None, 0) => return Err(Failure::input("say how many shares: -n N (or --servers)")),
        (None, s) => s,
        (Some(n), s) if n == s => n,
        (Some(n), s) => {
            return Err(Failure::input(format!(
                "-n {n} shares but {s} servers: one share goes to each server"
            )));
        }
    };
    if !args.servers.is_empty() && args.format == FormatArg::Vault {
        return Err(Failure::input(
            "share servers hold keylab-format shares: --format vault needs --out or stdout",
        ));
    }
    let secret = read_secret()?;
    let mut rng = crate::seed::os_rng();
    let (lines, id): (Vec<Zeroizing<String>>, Option<SplitId>) = match args.format {
        FormatArg::Keylab => {
            let shares = sharing::split(&secret, args.m, n, &mut rng).map_err(input)?;
            if !args.servers.is_empty() {
                let servers = share_clients(&args.servers, args.token_file.as_deref())?;
                return store(&servers, &shares, out);
            }
            let id = shares.first().map(Share::split_id);
            (shares.iter().map(Share::to_text).collect(), id)
        }
        FormatArg::Vault => {
            let shares = raw::split(&secret, args.m, n, &mut rng).map_err(input)?;
            (shares.iter().map(vault::encode).collect(), None)
        }
    };
    match &args.out {
        Some(dir) => write_files(dir, &lines, id, out),
        None => {
            for line in &lines {
                writeln!(out, "{}", line.as_str()).map_err(io_failure)?;
            }
            Ok(())
        }
    }
}

fn store(servers: &[Client], shares: &[Share], out: &mut dyn Write) -> Result<(), Failure> {
    let Some(id) = shares.first().map(Share::split_id) else {
        return Ok(());
    };
    // The id first: if an upload fails, the shares already stored can still be found.
    writeln!(out, "--id {id}")
        .and_then(|()| out.flush())
        .map_err(io_failure)?;
    for (server, share) in servers.iter().zip(shares) {
        server.put(share).map_err(|e| {
            Failure::check(format!(
                "storing share x = {} of split {id}: {e} (shares stored before it stay on \
                 their servers)",
                share.x()
            ))
        })?;
        writeln!(out, "stored share x = {} on {}", share.x(), server.url()).map_err(io_failure)?;
    }
    Ok(())
}

fn write_files(
    dir: &Path,
    lines: &[Zeroizing<String>],
    id: Option<SplitId>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::input(format!("creating {}: {e}", dir.display())))?;
    let paths: Vec<PathBuf> = (1..=lines.len())
        .map(|k| dir.join(format!("share-{k}.txt")))
        .collect();
    if let Some(existing) = paths.iter().find(|p| p.exists()) {
        return Err(Failure::input(format!(
            "{} exists: refusing to overwrite shares",
            existing.display()
        )));
    }
    for (path, line) in paths.iter().zip(lines) {
        write_new(path, line.as_bytes())
            .map_err(|e| Failure::input(format!("writing {}: {e}", path.display())))?;
        writeln!(out, "wrote {}", path.display()).map_err(io_failure)?;
    }
    if let Some(id) = id {
        writeln!(out, "split id {id}").map_err(io_failure)?;
    }
    Ok(())
}

/// A new share file (mode 0600, never replacing one), flushed with its directory.
fn write_new(path: &Path, line: &[u8]) -> std::io::Result<()> {
    let mut contents = Zeroizing::new(Vec::with_capacity(line.len() + 1));
    contents.extend_from_slice(line);
    contents.push(b'\n');
    pki::files::create_new(path, &contents, pki::files::Access::OwnerOnly)
}

fn combine(args: &CombineArgs, out: &mut dyn Write) -> Result<(), Failure> {
    if args.files.is_empty() && args.servers.is_empty() {
        return Err(Failure::input(
            "give share files, or --servers URL,... --id SPLIT_ID",
        ));
    }
    let secret = match args.format {
        FormatArg::Vault => {
            if !args.servers.is_empty() {
                return Err(Failure::input("share servers hold keylab-format shares"));
            }
            let shares = read_lines(&args.files, vault::decode)?;
            raw::combine(&shares).map_err(|e| Failure::check(e.to_string()))?
        }
        FormatArg::Keylab => {
            let shares = read_lines(&args.files, Share::from_text)?;
            if args.servers.is_empty() {
                sharing::combine(&shares).map_err(|e| Failure::check(e.to_string()))?
            } else {
                let id = parse_split_id(args.id.as_deref().unwrap_or_default())?;
                let servers = share_clients(&args.servers, args.token_file.as_deref())?;
                if let Some(other) = shares.iter().find(|s| s.split_id() != id) {
                    return Err(Failure::input(format!(
                        "a share file holds a share of split {}, not of --id {id}",
                        other.split_id()
                    )));
                }
                client::recover_with(&servers, id, shares).map_err(recover_failure)?
            }
        }
    };
    out.write_all(&secret)
        .and_then(|()| out.flush())
        .map_err(io_failure)
}

fn serve(args: &ServeArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let token = read_token(args.token_file.as_deref())?;
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let server = ShareServer::start(listener, &args.dir, token)
        .map_err(|e| Failure::input(format!("{}: {e}", args.dir.display())))?;
    writeln!(out, "listening on {}", server.addr())
        .and_then(|()| out.flush())
        .map_err(io_failure)?;
    // Start-up went well: a failure from here on is the server's, not the input's.
    server
        .wait()
        .map_err(|e| Failure::check(format!("share server: {e}")))
}

/// Shares from every non-empty line of every file.
fn read_lines<T>(
    files: &[PathBuf],
    parse: impl Fn(&str) -> Result<T, sharing::Error>,
) -> Result<Vec<T>, Failure> {
    let mut shares = Vec::new();
    for path in files {
        let text = read_secret_text(path, "a share file", MAX_SHARE_FILE)?;
        for (i, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                let share = parse(line)
                    .map_err(|e| Failure::input(format!("{}:{}: {e}", path.display(), i + 1)))?;
                shares.push(share);
            }
        }
    }
    Ok(shares)
}

/// The largest share file read: far more than 253 shares of the longest secret need.
const MAX_SHARE_FILE: u64 = 1024 * 1024;

fn read_secret() -> Result<Zeroizing<Vec<u8>>, Failure> {
    let mut secret = Zeroizing::new(Vec::with_capacity(sharing::MAX_SECRET_LEN + 1));
    std::io::stdin()
        .lock()
        .take(sharing::MAX_SECRET_LEN as u64 + 1)
        .read_to_end(&mut secret)
        .map_err(|e| Failure::input(format!("reading the secret from stdin: {e}")))?;
    Ok(secret)
}

fn recover_failure(e: RecoverError) -> Failure {
    Failure::check(e.to_string())
}

fn input(e: sharing::Error) -> Failure {
    Failure::input(e.to_string())
}

fn io_failure(e: std::io::Error) -> Failure {
    Failure::input(e.to_string())
}
