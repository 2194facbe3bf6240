//! `keylab server`, `keylab client`, `keylab mitm` and `keylab states`: keylab's TLS on
//! real sockets, the tampering proxy, and the state machines.

pub mod algorithms;
pub mod client;
pub mod mitm;
pub mod psk;
mod report;
pub mod server;
pub mod states;

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cmd::args::parse_timeout;
use crate::cmd::key_source::KeySharesArgs;
use crate::cmd::threshold_signers::ThresholdSignersArgs;
use crate::failure::EXIT_CODES;
use crate::mitm as mitm_ops;
pub use algorithms::AlgorithmArgs;
pub use psk::{ClientPskArgs, ServerPskArgs};

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
    pub key_shares: KeySharesArgs,
    /// Or: have threshold signers sign each handshake, no private key anywhere.
    #[command(flatten)]
    pub threshold_signers: ThresholdSignersArgs,
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
    /// Cipher suites and groups, in the server's order of preference.
    #[command(flatten)]
    pub algorithms: AlgorithmArgs,
    /// An application protocol to negotiate with ALPN (RFC 7301), e.g. http/1.1;
    /// repeatable, most preferred first. A client offering only others is refused with
    /// no_application_protocol; without --alpn the client's ALPN is ignored.
    #[arg(long = "alpn", value_name = "NAME", value_parser = parse_alpn)]
    pub alpn: Vec<Vec<u8>>,
}

/// `keylab mitm`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("operation").args(["flip", "truncate", "drop_record", "reorder", "record", "replay_from"])))]
#[command(after_long_help = with_exit_codes(MITM_HELP))]
pub struct MitmArgs {
    /// Address to listen on; port 0 picks a free port (printed as `listening on ADDR`).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The server to forward to, HOST:PORT. A connection it refuses is reported on stderr
    /// and the client's connection closed.
    #[arg(long, value_name = "ADDR")]
    pub upstream: String,
    /// Flip the low bit of byte OFFSET (0-based, counted over the whole direction) of
    /// everything sent in DIR (c2s or s2c).
    #[arg(long, value_name = "DIR:OFFSET", value_parser = mitm_ops::Operation::dir_number)]
    pub flip: Option<(mitm_ops::Dir, u64)>,
    /// Forward N bytes of DIR, then close that direction.
    #[arg(long, value_name = "DIR:N", value_parser = mitm_ops::Operation::dir_number)]
    pub truncate: Option<(mitm_ops::Dir, u64)>,
    /// Drop the N-th record (0-based) in DIR.
    #[arg(long, value_name = "DIR:N", value_parser = mitm_ops::Operation::dir_number)]
    pub drop_record: Option<(mitm_ops::Dir, u64)>,
    /// Swap records N and N+1 (0-based) in DIR.
    #[arg(long, value_name = "DIR:N", value_parser = mitm_ops::Operation::dir_number)]
    pub reorder: Option<(mitm_ops::Dir, u64)>,
    /// Forward unchanged and append the raw bytes of DIR to FILE.
    #[arg(long, value_name = "DIR:FILE", value_parser = mitm_ops::Operation::dir_file)]
    pub record: Option<(mitm_ops::Dir, PathBuf)>,
    /// Send FILE's bytes upstream instead of the client's (a replay of a --record c2s
    /// file); the client's bytes are read and thrown away.
    #[arg(long, value_name = "FILE")]
    pub replay_from: Option<PathBuf>,
    /// Stop accepting after N connections, wait until they are relayed to their end, then
    /// exit (for scripts and tests).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// Seconds a direction may stay silent before the proxy closes the connection; also
    /// the longest it tries to reach --upstream (at most 10 s).
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,
}

/// A long help's end followed by the exit codes (which `-h` shows alone).
fn with_exit_codes(text: &str) -> String {
    format!("{text}\n\n{EXIT_CODES}")
}

/// The end of `keylab mitm --help`: what the proxy reports.
const MITM_HELP: &str = "\
Without an operation the proxy forwards unchanged. Offsets and record numbers count from 0
over each direction of one connection; each connection is treated alike.

Reports (stderr, one line each, starting with the client's address):
  127.0.0.1:40312 connected; relaying to 127.0.0.1:8443
  127.0.0.1:40312 s2c: flipped the low bit of byte 100 (byte 100 of record 0 (handshake, 127 bytes)): 0x8c -> 0x8d
  127.0.0.1:40312 closed (c2s 213 bytes; s2c 1171 bytes)
and `truncated after N bytes ...`, `dropped record N (...)`, `swapped records N and N+1
(...)`, `recorded N bytes to FILE`, `ended after N bytes, before byte M: nothing changed`
when a direction ends before the operation's place, and `error: cannot reach upstream ADDR:
...; closing the client's connection`.";

/// `keylab client`
#[derive(Debug, Args)]
#[command(after_long_help = with_exit_codes(report::JSON_HELP))]
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
    /// For tests only: send an empty key_share so that the server must answer with
    /// HelloRetryRequest.
    #[arg(long, hide = true)]
    pub empty_key_share_for_testing_only: bool,
    /// Turn off middlebox compatibility mode (RFC 8446 Appendix D.4): an empty
    /// legacy_session_id and no change_cipher_spec record.
    #[arg(long)]
    pub no_middlebox_compat: bool,
    /// Pre-shared keys and resumption.
    #[command(flatten)]
    pub psk: ClientPskArgs,
    /// Cipher suites and groups to offer, in order; a key share goes with the first group.
    #[command(flatten)]
    pub algorithms: AlgorithmArgs,
    /// An application protocol to offer with ALPN (RFC 7301), e.g. http/1.1 or h2;
    /// repeatable, most preferred first. The server's choice is printed as alpn="...".
    #[arg(long = "alpn", value_name = "NAME", value_parser = parse_alpn)]
    pub alpn: Vec<Vec<u8>>,
    /// Print one JSON object describing the connection instead of the two lines (shape
    /// below, in --help); an error is {"error": {"kind": ..., "message": ...}}.
    #[arg(long)]
    pub json: bool,
}

/// An ALPN protocol name: 1 to 255 bytes (RFC 7301 §3.1 `opaque ProtocolName<1..2^8-1>`).
fn parse_alpn(name: &str) -> Result<Vec<u8>, String> {
    match name.len() {
        1..=255 => Ok(name.as_bytes().to_vec()),
        len => Err(format!(
            "an ALPN protocol name has 1 to 255 bytes (RFC 7301 §3.1), not {len}"
        )),
    }
}

/// Output formats of `keylab states`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatesFormat {
    /// A readable table.
    Text,
    /// Graphviz dot: one digraph, the client and server machines as clusters and a
    /// legend for the colours (`keylab states --format dot | dot -Tsvg > states.svg`).
    Dot,
}

/// `keylab states`
#[derive(Debug, Args)]
pub struct StatesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: StatesFormat,
}
