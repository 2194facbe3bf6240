//! The `keylab` command line: the top-level parser and the dispatch to [`crate::cmd`].
//! Each command family owns its argument structs in its own module.

use clap::{Parser, Subcommand};

use crate::cmd::{demo, keyserver, net, pair, pki, psk, share, shell, teach, threshold, wsn};
use crate::failure::{EXIT_CODES, Failure};

/// keylab: how two parties who have never met end up sharing a secret key, shown and tested.
///
/// A TLS 1.3 handshake (RFC 8446) run over loopback and explained byte by byte, a small
/// PKI for test certificates, pre-shared keys and resumption, a public key server, Shamir
/// sharing of keys across servers and key predistribution for sensor networks. For
/// learners and teachers, engineers testing TLS clients and servers, and people fuzzing
/// state machines. Not for protecting production traffic: its keys and certificates are
/// for tests, and it has not been audited.
///
/// Start with `keylab demo --explain`.
#[derive(Debug, Parser)]
#[command(name = "keylab", version, propagate_version = true, after_help = EXIT_CODES)]
pub struct Cli {
    /// Log protocol events to stderr (-v debug, -vv trace); without -v, RUST_LOG
    /// (`debug`, `harness=trace`, ...) is honoured.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every TLS 1.3 path over loopback, with built-in certificates and keys.
    #[command(after_help = EXIT_CODES, after_long_help = demo::long_help())]
    Demo(demo::DemoArgs),
    /// A TLS 1.3 echo server on a real socket.
    #[command(after_help = EXIT_CODES)]
    Server(net::ServerArgs),
    /// Connect to a TLS 1.3 server, send a line and print the reply.
    #[command(after_help = EXIT_CODES)]
    Client(net::ClientArgs),
    /// An HTTPS server whose page explains the TLS connection that delivered it.
    #[command(after_help = EXIT_CODES)]
    Teach(teach::TeachArgs),
    /// Print the client and server state machines (RFC 8446 Appendix A).
    #[command(after_help = EXIT_CODES)]
    States(net::StatesArgs),
    /// A tampering proxy between a client and a server, for attack tests.
    #[command(after_help = EXIT_CODES)]
    Mitm(net::MitmArgs),
    /// Pre-shared keys: how a short code makes a weak one (from-code, crack), and how to
    /// make and carry a strong one (new, import).
    #[command(subcommand)]
    Psk(psk::PskCommand),
    /// Agree on a strong PSK from a short code typed on both sides (SPAKE2, RFC 9382),
    /// and save it as a PSK file on both sides.
    #[command(after_help = EXIT_CODES, after_long_help = pair::long_help())]
    Pair(pair::PairArgs),
    /// Issue, inspect and validate test certificates.
    #[command(subcommand)]
    Pki(pki::PkiCommand),
    /// Key predistribution for wireless sensor networks: simulate, sweep, plot.
    #[command(subcommand)]
    Wsn(wsn::WsnCommand),
    /// Shamir M-of-N splitting of secrets (keys) across share servers.
    #[command(subcommand)]
    Share(share::ShareCommand),
    /// Threshold keys: FROST signers that sign a server's handshakes together.
    #[command(subcommand)]
    Threshold(threshold::ThresholdCommand),
    /// A public key server: publish, look up and audit Ed25519 keys.
    #[command(subcommand)]
    Keyserver(keyserver::KeyserverCommand),
    /// Encrypt a file or stdin to an Ed25519 public key: a key server's or a local one
    /// (HPKE, RFC 9180).
    #[command(after_help = EXIT_CODES)]
    Seal(keyserver::SealArgs),
    /// Decrypt a sealed message (a file or stdin) with the recipient's private key.
    #[command(after_help = EXIT_CODES)]
    Open(keyserver::OpenArgs),
    /// Print a shell completion script (bash, zsh or fish) on stdout.
    #[command(after_help = EXIT_CODES)]
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff) on stdout, or write every page into a directory.
    #[command(after_help = EXIT_CODES)]
    Manpage(shell::ManpageArgs),
}

impl Cli {
    /// Whether the command prints JSON (`--json`), so that an error is printed on stdout
    /// as `{"error": {"kind": ..., "message": ...}}` too.
    pub fn json_output(&self) -> bool {
        match &self.command {
            Command::Demo(args) => args.json,
            Command::Client(args) => args.json,
            Command::Wsn(wsn::WsnCommand::Simulate(args)) => args.json,
            Command::Wsn(wsn::WsnCommand::Sweep(args)) => args.json,
            Command::Wsn(wsn::WsnCommand::Handshake(args)) => args.json,
            Command::Pki(pki::PkiCommand::Show(args)) => args.json,
            Command::Pki(pki::PkiCommand::Verify(args)) => args.json,
            Command::Keyserver(keyserver::KeyserverCommand::Publish(args)) => args.json,
            Command::Keyserver(keyserver::KeyserverCommand::Fetch(args)) => args.json,
            Command::Keyserver(keyserver::KeyserverCommand::Audit(args)) => args.json,
            Command::Psk(psk::PskCommand::Crack(args)) => args.json,
            Command::Share(share::ShareCommand::Split(args)) => args.json,
            Command::Share(share::ShareCommand::Combine(args)) => args.json,
            _ => false,
        }
    }
}

/// Runs a parsed command, writing its report to `out`.
pub fn run(cli: Cli, out: &mut dyn std::io::Write) -> Result<(), Failure> {
    match cli.command {
        Command::Demo(args) => demo::run(&args, out),
        Command::Server(args) => net::server::run(&args, out),
        Command::Client(args) => net::client::run(&args, out),
        Command::Teach(args) => teach::run(&args, out),
        Command::States(args) => net::states::run(&args, out),
        Command::Mitm(args) => net::mitm::run(&args, out),
        Command::Psk(command) => psk::run(&command, out),
        Command::Pair(args) => pair::run(&args, out),
        Command::Pki(command) => pki::run(&command, out),
        Command::Wsn(command) => wsn::run(&command, out),
        Command::Share(command) => share::run(&command, out),
        Command::Threshold(command) => threshold::run(&command, out),
        Command::Keyserver(command) => keyserver::run(&command, out),
        Command::Seal(args) => keyserver::seal(&args, out),
        Command::Open(args) => keyserver::open(&args, out),
        Command::Completions(args) => shell::completions(&args, out),
        Command::Manpage(args) => shell::manpage(&args, out),
    }
}
