//! `keylab share split | combine | serve`: Shamir M-of-N splitting of keys across share
//! servers, with the [`sharing`] crate.

mod input;
mod serve;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use sharing::Share;
use sharing::client::{self, Client, ClientError, RecoverError};
use sharing::raw::{self, vault};
use zeroize::Zeroizing;

use self::input::{read_lines, read_secret};
pub use self::serve::ServeArgs;
use crate::cmd::key_source::{ShareTls, parse_split_id, share_clients};
use crate::cmd::output::is_stdio;
use crate::failure::{EXIT_CODES, Failure};

/// `keylab share ...`
#[derive(Debug, Subcommand)]
pub enum ShareCommand {
    /// Split a secret (stdin or a file) into N shares, any M of which rebuild it.
    ///
    /// The shares go to stdout (one per line), to DIR/share-K.txt (--out DIR) or to share
    /// servers (--servers); status lines ("wrote FILE", "stored share ...") go to stderr.
    ///
    /// With --json, one JSON object on stdout:
    ///   {"format": "keylab" | "vault", "threshold": M, "count": N,
    ///    "split_id": "ID" | null,
    ///    and where the shares went, one of:
    ///    "shares": ["SHARE", ...]                   (on stdout)
    ///    "files": ["DIR/share-1.txt", ...]          (--out DIR)
    ///    "stored": [{"x": X, "server": "URL"}, ...] (--servers)}
    /// An error is {"error": {"kind": ..., "message": ...}}: kind "input" for a bad secret
    /// or argument, "output" for a share file that cannot be written, "network" for a share
    /// server that cannot be reached, "tls" for one whose TLS handshake fails, "service"
    /// for one that answers with an error.
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    Split(SplitArgs),
    /// Rebuild a secret from share files (- for stdin) and/or share servers; write it to
    /// stdout.
    ///
    /// With --json, one JSON object on stdout instead of the secret's bytes:
    ///   {"split_id": "ID" | null, "length": BYTES, "hex": "HEX", "text": "TEXT" | null}
    /// ("text" is the secret when it is UTF-8; "split_id" is null for vault shares.)
    /// An error is {"error": {"kind": ..., "message": ...}}: kind "input" for bad or too
    /// few shares, "network" when the share servers cannot be reached, "tls" when their TLS
    /// handshakes fail, "service" when they answer with an error (403: this client may not
    /// read the share), "check" when the servers reached do not hold enough shares.
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    Combine(CombineArgs),
    /// Run a share server: stores shares in DIR, serves them over HTTPS to clients with a
    /// certificate from --client-ca (or over plain HTTP with --insecure-http).
    ///
    /// Prints "listening on ADDR" on stdout once it accepts connections, then how it
    /// serves. With RUST_LOG=info it logs each share stored and sent, naming the client.
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
    /// Store one share on each of these share servers (https://HOST:PORT, or
    /// http://HOST:PORT; comma-separated).
    #[arg(
        long,
        value_name = "URL,...",
        value_delimiter = ',',
        conflicts_with = "out"
    )]
    pub servers: Vec<String>,
    /// Write DIR/share-1.txt ... DIR/share-N.txt (never overwriting); `-`, or neither
    /// --out nor --servers: the shares go to stdout, one per line.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Share format.
    #[arg(long, value_enum, default_value = "keylab")]
    pub format: FormatArg,
    /// Bearer token for the share servers (first line of FILE).
    #[arg(long, value_name = "FILE", requires = "servers")]
    pub token_file: Option<PathBuf>,
    /// TLS to https:// share servers.
    #[command(flatten)]
    pub tls: ClientTlsArgs,
    /// Besides this client, let the clients with these certificate common names read the
    /// shares (comma-separated; needs https:// servers and --cert).
    #[arg(long, value_name = "CN,...", value_delimiter = ',', requires = "cert")]
    pub readers: Vec<String>,
    /// The file holding the secret; `-` reads stdin.
    #[arg(value_name = "SECRET", default_value = "-")]
    pub secret: PathBuf,
    /// Print one JSON object (shape above) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `keylab share combine`
#[derive(Debug, Args)]
pub struct CombineArgs {
    /// Share files (one share per line; several files and lines are fine); `-` reads
    /// stdin.
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
    /// TLS to https:// share servers.
    #[command(flatten)]
    pub tls: ClientTlsArgs,
    /// Print one JSON object (shape above) instead of the secret.
    #[arg(long)]
    pub json: bool,
}

/// How `split` and `combine` reach https:// share servers.
#[derive(Debug, Args)]
pub struct ClientTlsArgs {
    /// The CA certificate(s) (PEM) to trust for https:// share servers; their
    /// certificates must also name the URL's host.
    #[arg(long, value_name = "FILE", requires = "servers")]
    pub ca: Option<PathBuf>,
    /// The client certificate chain (PEM) shown to the share servers, as `keylab pki
    /// issue --client` writes it; its subject owns the shares stored.
    #[arg(long, value_name = "FILE", requires_all = ["key", "ca"])]
    pub cert: Option<PathBuf>,
    /// The private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
}

impl ClientTlsArgs {
    fn files(&self) -> ShareTls<'_> {
        ShareTls::new(
            self.ca.as_deref(),
            "--ca",
            self.cert.as_deref(),
            self.key.as_deref(),
        )
    }
}

/// Runs a `keylab share` command.
pub fn run(command: &ShareCommand, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        ShareCommand::Split(args) => split(args, out),
        ShareCommand::Combine(args) => combine(args, out),
        ShareCommand::Serve(args) => serve::serve(args, out),
    }
}

/// Where `split` puts the shares, checked before the secret is read.
enum Destination {
    Stdout,
    Files { dir: PathBuf, paths: Vec<PathBuf> },
    Servers(Vec<Client>),
}

/// What `split --json` prints (documented on [`ShareCommand::Split`]).
#[derive(Serialize)]
struct SplitJson<'a> {
    format: &'static str,
    threshold: usize,
    count: usize,
    split_id: Option<String>,
    #[serde(flatten)]
    placed: Placed<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Placed<'a> {
    Shares(Vec<&'a str>),
    Files(Vec<String>),
    Stored(Vec<StoredJson>),
}

#[derive(Serialize)]
struct StoredJson {
    x: u8,
    server: String,
}

fn split(args: &SplitArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let n = share_count(args)?;
    if !args.servers.is_empty() && args.format == FormatArg::Vault {
        return Err(Failure::input(
            "share servers hold keylab-format shares: --format vault needs --out or stdout",
        ));
    }
    let destination = destination(args, n)?;
    let secret = read_secret(&args.secret)?;
    let mut rng = crate::seed::os_rng();
    let (lines, shares) = match args.format {
        FormatArg::Keylab => {
            let shares = sharing::split(&secret, args.m, n, &mut rng).map_err(input)?;
            (shares.iter().map(Share::to_text).collect(), shares)
        }
        FormatArg::Vault => {
            let shares = raw::split(&secret, args.m, n, &mut rng).map_err(input)?;
            (
                shares.iter().map(vault::encode).collect::<Vec<_>>(),
                Vec::new(),
            )
        }
    };
    let id = shares.first().map(Share::split_id);
    let placed = match destination {
        Destination::Stdout if args.json => {
            Placed::Shares(lines.iter().map(|l| l.as_str()).collect())
        }
        Destination::Stdout => {
            for line in &lines {
                writeln!(out, "{}", line.as_str()).map_err(io_failure)?;
            }
            return Ok(());
        }
        Destination::Files { dir, paths } => {
            write_files(&dir, &paths, &lines)?;
            Placed::Files(paths.iter().map(|p| p.display().to_string()).collect())
        }
        Destination::Servers(servers) => Placed::Stored(store(
            &servers,
            &shares,
            &args.readers,
            (!args.json).then_some(&mut *out),
        )?),
    };
    if args.json {
        let report = SplitJson {
            format: format_name(args.format),
            threshold: args.m,
            count: n,
            split_id: id.map(|id| id.to_string()),
            placed,
        };
        let text = Zeroizing::new(
            serde_json::to_string(&report).map_err(|e| Failure::input(e.to_string()))?,
        );
        writeln!(out, "{}", text.as_str()).map_err(io_failure)
    } else {
        match (placed, id) {
            (Placed::Files(_), Some(id)) => writeln!(out, "split id {id}").map_err(io_failure),
            _ => Ok(()),
        }
    }
}

/// N: `-n`, or the number of `--servers`.
fn share_count(args: &SplitArgs) -> Result<usize, Failure> {
    match (args.n, args.servers.len()) {
        (Some(n), 0) => Ok(n),
        (None, 0) => Err(Failure::input("say how many shares: -n N (or --servers)")),
        (None, s) => Ok(s),
        (Some(n), s) if n == s => Ok(n),
        (Some(n), s) => Err(Failure::input(format!(
            "-n {n} shares but {s} servers: one share goes to each server"
        ))),
    }
}

/// Where the shares go, with the share files checked (none may exist, the directory must
/// be one) and the servers' addresses and token read, all before the secret is read.
fn destination(args: &SplitArgs, n: usize) -> Result<Destination, Failure> {
    if !args.servers.is_empty() {
        if !args.readers.is_empty()
            && let Some(plain) = args.servers.iter().find(|u| !u.starts_with("https://"))
        {
            return Err(Failure::input(format!(
                "--readers names certificate holders, and {plain} is not an https:// share \
                 server"
            )));
        }
        return share_clients(&args.servers, args.token_file.as_deref(), args.tls.files())
            .map(Destination::Servers);
    }
    let Some(dir) = args.out.as_ref().filter(|dir| !is_stdio(dir)) else {
        return Ok(Destination::Stdout);
    };
    if dir.exists() && !dir.is_dir() {
        return Err(Failure::output(format!(
            "--out {} is not a directory",
            dir.display()
        )));
    }
    let paths: Vec<PathBuf> = (1..=n)
        .map(|k| dir.join(format!("share-{k}.txt")))
        .collect();
    if let Some(existing) = paths.iter().find(|p| p.symlink_metadata().is_ok()) {
        return Err(Failure::output(format!(
            "{} exists: refusing to overwrite shares",
            existing.display()
        )));
    }
    Ok(Destination::Files {
        dir: dir.clone(),
        paths,
    })
}

fn format_name(format: FormatArg) -> &'static str {
    match format {
        FormatArg::Keylab => "keylab",
        FormatArg::Vault => "vault",
    }
}

/// Stores `shares[i]` on `servers[i]`, readable by `readers` too. The split id goes to
/// `id_out` first (when given): if an upload fails, the shares already stored can still
/// be found.
fn store(
    servers: &[Client],
    shares: &[Share],
    readers: &[String],
    id_out: Option<&mut dyn Write>,
) -> Result<Vec<StoredJson>, Failure> {
    let Some(id) = shares.first().map(Share::split_id) else {
        return Ok(Vec::new());
    };
    if let Some(out) = id_out {
        writeln!(out, "--id {id}")
            .and_then(|()| out.flush())
            .map_err(io_failure)?;
    }
    let mut stored = Vec::with_capacity(shares.len());
    for (server, share) in servers.iter().zip(shares) {
        server.put_for(share, readers).map_err(|e| {
            client_failure(
                &e,
                format!(
                    "storing share x = {} of split {id} (shares stored before it stay on \
                     their servers)",
                    share.x()
                ),
            )
        })?;
        crate::status!("stored share x = {} on {}", share.x(), server.url());
        stored.push(StoredJson {
            x: share.x(),
            server: server.url().to_owned(),
        });
    }
    Ok(stored)
}

/// Writes the share files (checked absent by [`destination`]), each with "wrote FILE" on
/// stderr.
fn write_files(dir: &Path, paths: &[PathBuf], lines: &[Zeroizing<String>]) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::output(format!("creating {}: {e}", dir.display())))?;
    for (path, line) in paths.iter().zip(lines) {
        write_new(path, line.as_bytes())
            .map_err(|e| Failure::output(format!("writing {}: {e}", path.display())))?;
        crate::status!("wrote {}", path.display());
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
            "give share files (- for stdin), or --servers URL,... --id SPLIT_ID",
        ));
    }
    if args.files.iter().filter(|f| is_stdio(f)).count() > 1 {
        return Err(Failure::input(
            "- (stdin) is given twice: it can be read once",
        ));
    }
    let (secret, id) = match args.format {
        FormatArg::Vault => {
            if !args.servers.is_empty() {
                return Err(Failure::input("share servers hold keylab-format shares"));
            }
            let shares = read_lines(&args.files, vault::decode)?;
            (raw::combine(&shares).map_err(input)?, None)
        }
        FormatArg::Keylab => {
            let shares = read_lines(&args.files, Share::from_text)?;
            if args.servers.is_empty() {
                let id = shares.first().map(Share::split_id);
                (sharing::combine(&shares).map_err(input)?, id)
            } else {
                let id = parse_split_id(args.id.as_deref().unwrap_or_default())?;
                let servers =
                    share_clients(&args.servers, args.token_file.as_deref(), args.tls.files())?;
                if let Some(other) = shares.iter().find(|s| s.split_id() != id) {
                    return Err(Failure::input(format!(
                        "a share file holds a share of split {}, not of --id {id}",
                        other.split_id()
                    )));
                }
                let secret = client::recover_with(&servers, id, shares).map_err(recover_failure)?;
                (secret, Some(id))
            }
        }
    };
    if args.json {
        let text = std::str::from_utf8(&secret).ok();
        let hex = Zeroizing::new(hex::encode(&secret));
        let report = Zeroizing::new(
            serde_json::json!({
                "split_id": id.map(|id| id.to_string()),
                "length": secret.len(),
                "hex": hex.as_str(),
                "text": text,
            })
            .to_string(),
        );
        return writeln!(out, "{}", report.as_str()).map_err(io_failure);
    }
    out.write_all(&secret)
        .and_then(|()| out.flush())
        .map_err(io_failure)
}

/// A share server's error: "network" when it cannot be reached, "tls" when the TLS
/// handshake with it fails, "service" when it answers with an error or with something
/// that is not a share.
fn client_failure(e: &ClientError, context: String) -> Failure {
    let message = format!("{context}: {e}");
    match e {
        ClientError::Unreachable { .. } => Failure::network(message),
        ClientError::Tls { .. } => Failure::tls(message),
        ClientError::Status { .. } | ClientError::BadAnswer { .. } => Failure::service(message),
        ClientError::Input(_) => Failure::input(message),
    }
}

/// Why the servers' shares did not rebuild the secret: a server answering with an error
/// ("service") before a failed TLS handshake ("tls") before one out of reach
/// ("network"); shares that do not combine are bad input; servers reached that do not hold
/// enough shares fail the check.
fn recover_failure(e: RecoverError) -> Failure {
    let message = e.to_string();
    match &e {
        RecoverError::NotEnough { fetched, .. } => {
            let answered = |f: &&ClientError| {
                matches!(
                    f,
                    ClientError::Status { .. } | ClientError::BadAnswer { .. }
                )
            };
            if fetched.failures.iter().any(|f| answered(&f)) {
                Failure::service(message)
            } else if fetched.failures.iter().any(ClientError::is_tls) {
                Failure::tls(message)
            } else if fetched.failures.is_empty() {
                Failure::check(message)
            } else {
                Failure::network(message)
            }
        }
        RecoverError::Combine { .. } => Failure::input(message),
    }
}

fn input(e: sharing::Error) -> Failure {
    Failure::input(e.to_string())
}

fn io_failure(e: std::io::Error) -> Failure {
    Failure::output(format!("writing the output: {e}"))
}
