//! Where a server's CertificateVerify can come from besides its own key: M of N FROST
//! signers (`keylab server --threshold-signers`), coordinated per handshake.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use handshake::{SignatureRequest, Signer};
use threshold::client::SignerClient;
use threshold::coordinator::{Coordinator, Log};

use crate::cmd::tls_args;
use crate::failure::Failure;

/// The `keylab server` options that have threshold signers sign its CertificateVerify.
#[derive(Debug, Args)]
pub struct ThresholdSignersArgs {
    /// Have these FROST signers (`keylab threshold signer`) sign each handshake's
    /// CertificateVerify with the key of --cert, which no process holds (instead of --key).
    #[arg(
        long,
        value_name = "URL,...",
        value_delimiter = ',',
        requires = "threshold",
        conflicts_with_all = ["key", "key_shares"]
    )]
    pub threshold_signers: Vec<String>,
    /// M: how many of the signers sign together (as their key shares say).
    #[arg(long, value_name = "M", requires = "threshold_signers")]
    pub threshold: Option<u16>,
    /// Seconds one request to a signer may take; a signer slower than that is left out.
    #[arg(long, value_name = "SECS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub threshold_timeout: u64,
    /// The CA certificate(s) (PEM) to trust for https:// signers.
    #[arg(long, value_name = "FILE", requires = "threshold_signers")]
    pub threshold_signers_ca: Option<PathBuf>,
    /// The client certificate chain (PEM) shown to the signers, as `keylab pki issue
    /// --client` writes it.
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["threshold_signers_key", "threshold_signers_ca"]
    )]
    pub threshold_signers_cert: Option<PathBuf>,
    /// The private key of --threshold-signers-cert.
    #[arg(long, value_name = "FILE", requires = "threshold_signers_cert")]
    pub threshold_signers_key: Option<PathBuf>,
}

impl ThresholdSignersArgs {
    /// Whether signers were given.
    pub fn in_use(&self) -> bool {
        !self.threshold_signers.is_empty()
    }
}

/// The coordinator of `args`' signers, checked against the certificate's key `expected`.
pub fn coordinator(
    args: &ThresholdSignersArgs,
    expected: &pki::PublicKey,
) -> Result<Arc<Coordinator>, Failure> {
    let timeout = Duration::from_secs(args.threshold_timeout);
    let identity = args
        .threshold_signers_cert
        .as_deref()
        .zip(args.threshold_signers_key.as_deref());
    let mut clients = Vec::new();
    for url in &args.threshold_signers {
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return Err(Failure::input(format!(
                "signer {url:?}: expected https://HOST:PORT (or http://HOST:PORT)"
            )));
        }
        let ca = args.threshold_signers_ca.as_deref();
        let client = match tls_args::client_config_for(url, ca, "--threshold-signers-ca", identity)?
        {
            Some(config) => SignerClient::with_tls(url, timeout, config),
            None => SignerClient::new(url, timeout),
        };
        clients.push(client);
    }
    let m = args.threshold.unwrap_or_default();
    if usize::from(m) > clients.len() || m < 2 {
        return Err(Failure::input(format!(
            "--threshold {m} with {} signers: need 2 <= M <= the number of signers",
            clients.len()
        )));
    }
    let log: Log = Arc::new(|line: &str| crate::status!("threshold: {line}"));
    Coordinator::connect(clients, m, expected, log)
        .map(Arc::new)
        .map_err(|e| Failure::network(format!("threshold signers: {e}")))
}

/// A connection's signer: asks the coordinator for each CertificateVerify.
pub fn signer(coordinator: &Arc<Coordinator>) -> Signer {
    let coordinator = coordinator.clone();
    Box::new(move |request: &SignatureRequest| {
        let signed = coordinator
            .sign(request.message())
            .map_err(|e| format!("threshold signers: {e}"))?;
        crate::status!(
            "threshold: CertificateVerify signed by {}",
            signed.signers.join(", ")
        );
        Ok(signed.signature)
    })
}
