//! `keylab threshold signer`: one key share's signing rounds as a service.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use threshold::keys::KeyShare;
use threshold::signer::{Faults, Signer};

use crate::cmd::load::read_secret_text;
use crate::cmd::tls_args;
use crate::failure::Failure;

/// The largest key share file read.
const MAX_SHARE_FILE: u64 = 64 * 1024;

/// `keylab threshold signer`
#[derive(Debug, Args)]
pub struct SignerArgs {
    /// Address to listen on; port 0 picks a free port (printed).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// This signer's key share (from `keylab threshold keygen`).
    #[arg(long, value_name = "FILE")]
    pub key_share: PathBuf,
    /// Serve HTTPS with this certificate chain (PEM, leaf first, as `keylab pki issue
    /// --server` writes it).
    #[arg(long, value_name = "FILE", requires_all = ["key", "client_ca"])]
    pub cert: Option<PathBuf>,
    /// The private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Require a client certificate (the coordinator's) issued under this CA (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub client_ca: Option<PathBuf>,
    /// Serve plain HTTP instead (warns at start): anyone who reaches the port may ask for
    /// signatures of CertificateVerify content.
    #[arg(long, conflicts_with_all = ["cert", "key", "client_ca"])]
    pub insecure_http: bool,
    /// Wait this many milliseconds before each answer (fault tests).
    #[arg(long, value_name = "MS", hide = true, default_value_t = 0)]
    pub delay_for_testing_ms: u64,
    /// Send wrong signature shares (fault tests).
    #[arg(long, hide = true)]
    pub corrupt_shares_for_testing: bool,
}

/// Runs the signer until it fails; prints `listening on ADDR` first.
pub fn run(args: &SignerArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let text = read_secret_text(&args.key_share, "key share", MAX_SHARE_FILE)?;
    let share = KeyShare::from_json(&text)
        .map_err(|e| Failure::input(format!("{}: {e}", args.key_share.display())))?;
    let faults = Faults {
        delay_for_testing: Duration::from_millis(args.delay_for_testing_ms),
        corrupt_shares_for_testing: args.corrupt_shares_for_testing,
    };
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let what = format!(
        "participant {} of {} ({} sign together)",
        share.participant(),
        share.signers(),
        share.threshold()
    );
    let (signer, scheme) = match (&args.cert, &args.key, &args.client_ca, args.insecure_http) {
        (Some(cert), Some(key), Some(client_ca), false) => {
            let (config, cas) = tls_args::mutual_server_config(cert, key, client_ca)?;
            let subject = tls_args::server_subject(&config);
            let scheme = format!("HTTPS as {subject}, to clients from {}", cas.join(" or "));
            (
                Signer::start_tls(listener, share, Arc::new(config), faults),
                scheme,
            )
        }
        (None, None, None, true) => {
            tls_args::warn_insecure_http("the threshold signer");
            (
                Signer::start(listener, share, faults),
                "plain HTTP".to_owned(),
            )
        }
        _ => {
            return Err(Failure::input(
                "give --cert FILE --key FILE --client-ca FILE to serve HTTPS with client \
                 certificates, or --insecure-http to serve plain HTTP",
            ));
        }
    };
    let signer = signer.map_err(|e| Failure::input(format!("cannot start the signer: {e}")))?;
    writeln!(
        out,
        "listening on {}\nserving {what} over {scheme}",
        signer.addr()
    )
    .and_then(|()| out.flush())
    .map_err(|e| Failure::output(e.to_string()))?;
    signer
        .wait()
        .map_err(|e| Failure::check(format!("signer on {}: {e}", args.listen)))
}
