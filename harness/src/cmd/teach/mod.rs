//! `keylab teach`: an HTTPS server on keylab's own handshake whose page explains the
//! connection that delivered it — the browser's ClientHello, what keylab chose and why,
//! the key schedule and the records up to the request — and `/explain.json?c=ID`, the
//! whole model of a recent connection.
//!
//! - [`ca`]: the per-user, name-constrained CA and its short-lived P-256 leaf.
//! - [`http`]: one bounded HTTP/1.1 request per connection, answers with
//!   `Connection: close`.
//! - [`offered`]: what the browser offered, from the decoded ClientHello.
//! - [`serve`]: one connection, captured, observed, answered and kept.

pub mod ca;
pub mod http;
pub mod offered;
pub mod serve;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use handshake::{Identity, ServerConfig, Tickets};
use time::OffsetDateTime;

use crate::cmd::accept;
use crate::failure::Failure;
use crate::runner::Timeouts;

/// `keylab teach`
#[derive(Debug, Args)]
#[command(after_long_help = long_help())]
pub struct TeachArgs {
    /// Address to listen on; port 0 picks a free port (printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// Serve this certificate chain (PEM, leaf first) instead of the teach CA's leaf.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Seconds a client has to complete the handshake.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub handshake_timeout: u64,
    /// Seconds a connection may stay silent before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,
    /// Seconds a client has to send its whole request head after the handshake.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Connections served at once; more are closed at once (and logged).
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_concurrent: u64,
    /// Exit after this many connections (for scripts and tests).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
}

/// The end of `keylab teach --help`: how trust works, then the exit codes.
fn long_help() -> String {
    format!("{TRUST_HELP}\n\n{}", crate::failure::EXIT_CODES)
}

const TRUST_HELP: &str = "\
Credentials: on first run teach makes a CA under $XDG_DATA_HOME/keylab/teach (or
~/.local/share/keylab/teach; keys mode 0600), name-constrained to localhost, 127.0.0.1 and
::1, and a P-256 leaf for those names that it re-issues when it nears expiry. It never uses
the fixture roots, whose private keys are public. At start it prints how to trust it:
  one Chromium session:  chromium --user-data-dir=DIR --ignore-certificate-errors-spki-list=HASH
  a browser profile:     certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n keylab-teach -i CA.pem
                         (Debian: apt-get install libnss3-tools)";

/// `keylab teach`: serves until killed (or `--max-connections`).
pub fn run(args: &TeachArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let creds = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => ca::from_files(cert, key)?,
        _ => ca::ensure(&ca::default_dir()?, OffsetDateTime::now_utc())?,
    };
    let identity = Identity::from_pem(&creds.chain_pem, &creds.key_pem)
        .map_err(|e| Failure::input(format!("the server's certificate and key: {e}")))?;
    let mut ticket_key = [0u8; 32];
    getrandom::fill(&mut ticket_key)
        .map_err(|e| Failure::input(format!("no randomness for the ticket key: {e}")))?;
    // Tickets let a reload resume (RFC 8446 §2.2), and the page then shows that path.
    let mut config = ServerConfig::new(identity).with_tickets(Arc::new(Tickets::new(&ticket_key)));
    // RFC 7301: HTTP/1.1 is all teach speaks; a browser that offers ALPN gets it chosen.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::input(e.to_string()))?;
    write!(out, "{}", banner(&creds, local))
        .and_then(|()| out.flush())
        .map_err(|e| Failure::input(e.to_string()))?;
    let shared = Arc::new(serve::Shared::new(
        Arc::new(config),
        Timeouts {
            handshake: Duration::from_secs(args.handshake_timeout),
            idle: Duration::from_secs(args.idle_timeout),
        },
        Duration::from_secs(args.request_timeout),
    ));
    let limits = accept::Limits {
        max_concurrent: args.max_concurrent,
        max_connections: args.max_connections,
    };
    accept::serve(&listener, limits, move |tcp, peer| {
        serve::connection(&shared, tcp, peer);
    });
    Ok(())
}

/// What `teach` prints at start: where it listens, its certificate, how to trust it.
fn banner(creds: &ca::Credentials, local: std::net::SocketAddr) -> String {
    let host = if local.ip().is_loopback() && local.is_ipv4() {
        format!("localhost:{}", local.port())
    } else {
        local.to_string()
    };
    let mut s = format!("listening on {local}: open https://{host}/\n");
    s.push_str(&format!(
        "certificate: {}, {} key, valid until {}\n",
        creds.leaf.subject(),
        creds
            .leaf
            .public_key()
            .map(|k| k.algorithm_name())
            .unwrap_or_default(),
        pki::rfc3339(creds.leaf.not_after())
    ));
    if let Some(ca_file) = &creds.ca_file {
        s.push_str(&format!(
            "CA: {}{}{}\n",
            ca_file.display(),
            if creds.ca_created {
                " (created now)"
            } else {
                ""
            },
            if creds.leaf_issued {
                "; leaf issued now"
            } else {
                ""
            }
        ));
    }
    s.push_str(&format!(
        "spki: {}\n\
         to trust it for one Chromium session (the flag needs its own --user-data-dir):\n  \
         chromium --user-data-dir=$(mktemp -d) --ignore-certificate-errors-spki-list={} https://{host}/\n",
        creds.spki_hash(),
        creds.spki_hash()
    ));
    if let Some(ca_file) = &creds.ca_file {
        s.push_str(&format!(
            "to trust the CA in your browser profile (Debian: apt-get install libnss3-tools):\n  \
             certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n keylab-teach -i {}\n",
            ca_file.display()
        ));
    }
    s
}
