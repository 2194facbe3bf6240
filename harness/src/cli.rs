//! The `keylab` command line: argument definitions and dispatch.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::pki_cmd;

/// Exit codes, shared by every command.
pub const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  the check failed (e.g. `pki verify` rejected the certificate)
  2  usage error, unreadable or invalid input, or a file that would be overwritten";

/// keylab: how two parties who have never met end up sharing a secret key.
#[derive(Debug, Parser)]
#[command(name = "keylab", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// Log protocol events to stderr (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run both key-distribution paths over loopback with built-in certificates.
    #[command(after_help = EXIT_CODES)]
    Demo(DemoArgs),
    /// A TLS 1.3 echo server on a real socket.
    #[command(after_help = EXIT_CODES)]
    Server(ServerArgs),
    /// Connect to a TLS 1.3 server, send a line and print the reply.
    #[command(after_help = EXIT_CODES)]
    Client(ClientArgs),
    /// Print the client and server state machines (RFC 8446 Appendix A).
    #[command(after_help = EXIT_CODES)]
    States(StatesArgs),
    /// A tampering proxy between a client and a server, for attack tests.
    #[command(after_help = EXIT_CODES)]
    Mitm(MitmArgs),
    /// Issue, inspect and validate test certificates.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Key predistribution for wireless sensor networks: simulate, sweep, plot.
    #[command(subcommand)]
    Wsn(crate::wsn_cmd::WsnCommand),
    /// Shamir M-of-N splitting of secrets (keys) across share servers.
    #[command(subcommand)]
    Share(crate::share_cmd::ShareCommand),
    /// A public key server: publish, look up and audit Ed25519 keys.
    #[command(subcommand)]
    Keyserver(crate::keyserver_cmd::KeyserverCommand),
    /// Encrypt stdin to a key published on a key server (HPKE, RFC 9180).
    #[command(after_help = EXIT_CODES)]
    Seal(crate::keyserver_cmd::SealArgs),
    /// Decrypt a sealed message from stdin with the recipient's private key.
    #[command(after_help = EXIT_CODES)]
    Open(crate::keyserver_cmd::OpenArgs),
}

/// `keylab pki ...`
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create a root CA: writes DIR/ca.pem and DIR/ca.key.
    #[command(after_help = EXIT_CODES)]
    Init(InitArgs),
    /// Issue a server, client or intermediate certificate under a CA.
    #[command(after_help = EXIT_CODES)]
    Issue(IssueArgs),
    /// Validate a certificate chain; prints `ok: ...` or `error: ...`.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Print a short summary of each certificate or key in a file.
    #[command(after_help = EXIT_CODES)]
    Show(ShowArgs),
}

/// Key algorithms on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyArg {
    /// Ed25519.
    Ed25519,
    /// RSA, 2048-bit modulus.
    Rsa2048,
    /// RSA, 3072-bit modulus.
    Rsa3072,
    /// ECDSA on NIST P-256 (secp256r1, prime256v1).
    P256,
}

impl From<KeyArg> for pki::KeyType {
    fn from(k: KeyArg) -> Self {
        match k {
            KeyArg::Ed25519 => Self::Ed25519,
            KeyArg::Rsa2048 => Self::Rsa2048,
            KeyArg::Rsa3072 => Self::Rsa3072,
            KeyArg::P256 => Self::P256,
        }
    }
}

/// Options shared by the commands that create keys and certificates.
#[derive(Debug, Args)]
pub struct IssueCommon {
    /// Key algorithm of the new key.
    #[arg(long, value_enum, default_value = "ed25519")]
    pub key: KeyArg,
    /// Days of validity (default: 3650 for CAs, 825 for leaves).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: Option<u32>,
    /// Start of validity, RFC 3339 (e.g. 2026-01-01T00:00:00Z); default: now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub not_before: Option<time::OffsetDateTime>,
    /// Seed for the key and serial number; with --not-before, output is byte-identical.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
}

/// `keylab pki init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to write ca.pem and ca.key into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Subject common name of the root.
    #[arg(long, default_value = "keylab Root CA")]
    pub name: String,
    /// Options for the key and certificate.
    #[command(flatten)]
    pub common: IssueCommon,
}

/// `keylab pki issue`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).args(["server", "client", "intermediate"])))]
pub struct IssueArgs {
    /// The CA certificate (a chain file is fine: its first certificate signs).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: PathBuf,
    /// The CA private key.
    #[arg(long, value_name = "FILE")]
    pub ca_key: PathBuf,
    /// A server certificate for these names (comma-separated; IP addresses become IP
    /// subjectAltNames, anything else DNS ones). The first name is the subject CN.
    #[arg(long, value_name = "NAME[,NAME...]", value_delimiter = ',')]
    pub server: Option<Vec<String>>,
    /// A client certificate with this subject CN.
    #[arg(long, value_name = "NAME")]
    pub client: Option<String>,
    /// An intermediate CA with this subject CN.
    #[arg(long, value_name = "NAME")]
    pub intermediate: Option<String>,
    /// E-mail subjectAltName of a client certificate.
    #[arg(long, requires = "client")]
    pub email: Option<String>,
    /// pathLenConstraint of an intermediate (default 0: it may only issue leaves).
    #[arg(long, requires = "intermediate", value_parser = clap::value_parser!(u8).range(0..=8))]
    pub path_len: Option<u8>,
    /// Output prefix: writes PREFIX.pem (certificate + CA chain) and PREFIX.key.
    #[arg(long, value_name = "PREFIX")]
    pub out: PathBuf,
    /// Options for the key and certificate.
    #[command(flatten)]
    pub common: IssueCommon,
}

/// Certificate purposes on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PurposeArg {
    /// TLS server (serverAuth); the name is checked.
    Server,
    /// TLS client (clientAuth).
    Client,
}

/// `keylab pki verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Trust anchors (every certificate in the file).
    #[arg(long, value_name = "FILE")]
    pub ca: PathBuf,
    /// Extra intermediate certificates.
    #[arg(long, value_name = "FILE")]
    pub intermediates: Option<PathBuf>,
    /// The certificate to check; further certificates in the file count as intermediates.
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// The DNS name or IP address the server certificate must be valid for.
    #[arg(long)]
    pub name: Option<String>,
    /// What the certificate is for.
    #[arg(long, value_enum, default_value = "server")]
    pub purpose: PurposeArg,
    /// Time to validate at, RFC 3339; default: now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub at: Option<time::OffsetDateTime>,
}

/// `keylab pki show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A PEM file (certificates, keys) or a DER certificate.
    pub file: PathBuf,
}

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
}

/// PSK and ticket options of `keylab server`.
#[derive(Debug, Args)]
pub struct ServerPskArgs {
    /// External PSKs, one `IDENTITY:HEXKEY` per line (HEXKEY as OpenSSL's -psk takes it).
    /// Without --cert the server takes only these keys.
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    /// Accept psk_ke (a PSK without X25519) when the client offers it: no forward secrecy.
    #[arg(long)]
    pub psk_ke: bool,
    /// Let an external PSK satisfy --client-auth required.
    #[arg(long)]
    pub psk_satisfies_client_auth: bool,
    /// Do not issue session tickets (nor accept them).
    #[arg(long, conflicts_with_all = ["single_use_tickets", "ticket_lifetime"])]
    pub no_tickets: bool,
    /// Accept each ticket once; a replay gets a full handshake. The record of used tickets
    /// is kept in memory and lost on restart.
    #[arg(long)]
    pub single_use_tickets: bool,
    /// Ticket lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 7200, value_parser = clap::value_parser!(u32).range(1..=604_800))]
    pub ticket_lifetime: u32,
}

/// PSK and session options of `keylab client`.
#[derive(Debug, Args)]
pub struct ClientPskArgs {
    /// External PSKs, one `IDENTITY:HEXKEY` per line; the one named by --psk-identity (or
    /// the only one) is offered.
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    /// Which key of --psk-file to offer.
    #[arg(long, value_name = "ID", requires = "psk_file")]
    pub psk_identity: Option<String>,
    /// Also offer psk_ke (a PSK without X25519): no forward secrecy.
    #[arg(long)]
    pub psk_ke: bool,
    /// Resume with the session (ticket) in FILE.
    #[arg(long, value_name = "FILE")]
    pub session_in: Option<PathBuf>,
    /// Save the newest ticket from the server to FILE (mode 0600: it holds a secret).
    #[arg(long, value_name = "FILE")]
    pub session_out: Option<PathBuf>,
}

/// Client-authentication policy on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// Never ask for a client certificate.
    Off,
    /// Ask; accept clients without one; refuse invalid ones.
    Optional,
    /// Ask and require a valid one.
    Required,
}

/// `keylab server`
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on; port 0 picks a free port (printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Certificate chain (PEM, leaf first); optional with --psk-file.
    #[arg(long, value_name = "FILE", required_unless_present = "psk_file")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Or: rebuild the private key from share servers.
    #[command(flatten)]
    pub key_shares: crate::share_cmd::KeySharesArgs,
    /// Trust anchors for client certificates (needed with optional/required).
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
    /// Whether to ask clients for certificates.
    #[arg(long, value_enum, default_value = "off")]
    pub client_auth: AuthArg,
    /// Append the secrets in NSS key log format; SSLKEYLOGFILE also works.
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// Seconds a connection may stay silent before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,
    /// Exit after this many connections (for scripts and tests).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// Seconds a client has to complete the handshake.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub handshake_timeout: u64,
    /// Connections served at once; more are closed at once (and logged).
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_concurrent: u64,
    /// Pre-shared keys and session tickets.
    #[command(flatten)]
    pub psk: ServerPskArgs,
}

/// `keylab mitm`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("operation").args(["flip", "truncate", "drop_record", "reorder", "record", "replay_from"])))]
pub struct MitmArgs {
    /// Address to listen on; port 0 picks a free port (printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The server to forward to.
    #[arg(long, value_name = "ADDR")]
    pub upstream: String,
    /// Flip the low bit of byte OFFSET (0-based) of everything sent in DIR (c2s or s2c).
    #[arg(long, value_name = "DIR:OFFSET", value_parser = crate::mitm::Operation::dir_number)]
    pub flip: Option<(crate::mitm::Dir, u64)>,
    /// Close DIR after N bytes.
    #[arg(long, value_name = "DIR:N", value_parser = crate::mitm::Operation::dir_number)]
    pub truncate: Option<(crate::mitm::Dir, u64)>,
    /// Drop the N-th record (0-based) in DIR.
    #[arg(long, value_name = "DIR:N", value_parser = crate::mitm::Operation::dir_number)]
    pub drop_record: Option<(crate::mitm::Dir, u64)>,
    /// Swap records N and N+1 in DIR.
    #[arg(long, value_name = "DIR:N", value_parser = crate::mitm::Operation::dir_number)]
    pub reorder: Option<(crate::mitm::Dir, u64)>,
    /// Save the raw bytes of DIR to FILE (appended).
    #[arg(long, value_name = "DIR:FILE", value_parser = crate::mitm::Operation::dir_file)]
    pub record: Option<(crate::mitm::Dir, PathBuf)>,
    /// Send FILE's bytes upstream instead of the client's.
    #[arg(long, value_name = "FILE")]
    pub replay_from: Option<PathBuf>,
    /// Exit after this many connections.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
}

/// `keylab client`
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Server address, HOST:PORT.
    #[arg(long, value_name = "ADDR")]
    pub connect: String,
    /// Name to ask for and check the certificate against (default: the host of --connect;
    /// an IP address is checked against IP subjectAltNames and not sent as SNI).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Trust anchors for the server's certificate (optional with --psk-file or
    /// --session-in, when the server is expected to accept the key).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["psk_file", "session_in"])]
    pub ca: Option<PathBuf>,
    /// Client certificate chain: takes the certificate path when the server asks.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Client private key.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The line to send.
    #[arg(long, value_name = "TEXT", default_value = "hello from keylab")]
    pub send: String,
    /// Seconds for the handshake and the reply together.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_timeout)]
    pub timeout: f64,
    /// Append the secrets in NSS key log format; SSLKEYLOGFILE also works.
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// Send an empty key_share so the server must answer with HelloRetryRequest (tests).
    #[arg(long, hide = true)]
    pub empty_key_share_for_testing_only: bool,
    /// Pre-shared keys and resumption.
    #[command(flatten)]
    pub psk: ClientPskArgs,
}

/// Output formats of `keylab states`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatesFormat {
    /// A readable table.
    Text,
    /// Graphviz dot.
    Dot,
}

/// `keylab states`
#[derive(Debug, Args)]
pub struct StatesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: StatesFormat,
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err("expected seconds between 0 and 3600".into()),
    }
}

fn parse_time(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("not an RFC 3339 time like 2026-01-01T00:00:00Z: {e}"))
}

/// The outcome of a command: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code (1 or 2).
    pub code: u8,
    /// The message, printed after `error: `.
    pub message: String,
}

impl Failure {
    /// Exit code 2: bad input or I/O.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    /// Exit code 1: the check said no.
    pub fn check(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

/// Runs a parsed command, writing its report to `out`.
pub fn run(cli: Cli, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    match cli.command {
        Command::Demo(args) => crate::demo::run(&args, out),
        Command::Server(args) => crate::net_cmd::server(&args, out),
        Command::Client(args) => crate::net_cmd::client(&args, out),
        Command::States(args) => crate::net_cmd::states(&args, out),
        Command::Mitm(args) => crate::net_cmd::mitm(&args, out),
        Command::Pki(PkiCommand::Init(args)) => pki_cmd::init(&args, out),
        Command::Pki(PkiCommand::Issue(args)) => pki_cmd::issue(&args, out),
        Command::Pki(PkiCommand::Verify(args)) => pki_cmd::verify(&args, out),
        Command::Pki(PkiCommand::Show(args)) => pki_cmd::show(&args, out),
        Command::Wsn(command) => crate::wsn_cmd::run(&command, out),
        Command::Share(command) => crate::share_cmd::run(&command, out),
        Command::Keyserver(command) => crate::keyserver_cmd::run(&command, out),
        Command::Seal(args) => crate::keyserver_cmd::seal_cmd(&args, out),
        Command::Open(args) => crate::keyserver_cmd::open_cmd(&args, out),
    }
}
