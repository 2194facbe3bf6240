//! Where a server's private key can come from besides a key file: M of N share servers
//! (`keylab server --key-shares`), and the share-server clients `keylab share` uses too.

use std::path::{Path, PathBuf};

use clap::Args;
use sharing::SplitId;
use sharing::client::{self, Client};
use zeroize::Zeroizing;

use crate::cmd::load::read_token;
use crate::cmd::tls_args;
use crate::failure::Failure;

/// The `keylab server` options that rebuild its private key from share servers.
#[derive(Debug, Args)]
pub struct KeySharesArgs {
    /// Rebuild the private key from these share servers at start-up (instead of --key).
    #[arg(
        long,
        value_name = "URL,...",
        value_delimiter = ',',
        requires = "key_split_id",
        conflicts_with = "key"
    )]
    pub key_shares: Vec<String>,
    /// The split id of the key on the share servers.
    #[arg(long, value_name = "SPLIT_ID", requires = "key_shares")]
    pub key_split_id: Option<String>,
    /// Bearer token for the share servers (first line of FILE).
    #[arg(long, value_name = "FILE", requires = "key_shares")]
    pub key_shares_token_file: Option<PathBuf>,
    /// The CA certificate(s) (PEM) to trust for https:// share servers.
    #[arg(long, value_name = "FILE", requires = "key_shares")]
    pub key_shares_ca: Option<PathBuf>,
    /// The client certificate chain (PEM) shown to the share servers, as `keylab pki
    /// issue --client` writes it.
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["key_shares_key", "key_shares_ca"]
    )]
    pub key_shares_cert: Option<PathBuf>,
    /// The private key of --key-shares-cert.
    #[arg(long, value_name = "FILE", requires = "key_shares_cert")]
    pub key_shares_key: Option<PathBuf>,
}

/// The TLS files a share-server client was given: the CA to trust (`ca_flag` names its
/// option in errors) and its own certificate and key.
#[derive(Clone, Copy, Debug)]
pub struct ShareTls<'a> {
    /// The CA certificate(s) to trust for `https://` servers.
    pub ca: Option<&'a Path>,
    /// The option that gave `ca`.
    pub ca_flag: &'static str,
    /// The client certificate chain and its key.
    pub identity: Option<(&'a Path, &'a Path)>,
}

impl<'a> ShareTls<'a> {
    /// The files of `ca`, `cert` and `key` (both or neither).
    pub fn new(
        ca: Option<&'a Path>,
        ca_flag: &'static str,
        cert: Option<&'a Path>,
        key: Option<&'a Path>,
    ) -> Self {
        Self {
            ca,
            ca_flag,
            identity: cert.zip(key),
        }
    }
}

/// The PEM private key rebuilt from `args`' share servers.
pub fn key_from_shares(args: &KeySharesArgs) -> Result<Zeroizing<String>, Failure> {
    let tls = ShareTls::new(
        args.key_shares_ca.as_deref(),
        "--key-shares-ca",
        args.key_shares_cert.as_deref(),
        args.key_shares_key.as_deref(),
    );
    pem_from_shares(
        &args.key_shares,
        args.key_split_id.as_deref().unwrap_or_default(),
        args.key_shares_token_file.as_deref(),
        tls,
    )
}

/// The PEM private key that split `split_id` holds, rebuilt from M of the share servers
/// at `urls`.
pub fn pem_from_shares(
    urls: &[String],
    split_id: &str,
    token_file: Option<&Path>,
    tls: ShareTls<'_>,
) -> Result<Zeroizing<String>, Failure> {
    let id = parse_split_id(split_id)?;
    let servers = share_clients(urls, token_file, tls)?;
    let secret = client::recover(&servers, id).map_err(|e| Failure::check(e.to_string()))?;
    let text = std::str::from_utf8(&secret)
        .map_err(|_| Failure::input(format!("the secret of split {id} is not a PEM key")))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// A client per share server URL (each given once), with the bearer token of
/// `token_file` when there is one; `https://` servers are reached over keylab's TLS with
/// `tls` (whose CA they need), `http://` ones in the clear.
pub fn share_clients(
    urls: &[String],
    token_file: Option<&Path>,
    tls: ShareTls<'_>,
) -> Result<Vec<Client>, Failure> {
    for (i, url) in urls.iter().enumerate() {
        let same = |other: &String| {
            other
                .trim_end_matches('/')
                .eq_ignore_ascii_case(url.trim_end_matches('/'))
        };
        if urls[..i].iter().any(same) {
            return Err(Failure::input(format!(
                "share server {url:?} is given twice: each server holds one share"
            )));
        }
    }
    let token = read_token(token_file)?;
    urls.iter()
        .map(|url| {
            if !url.starts_with("https://") && !url.starts_with("http://") {
                return Err(Failure::input(format!(
                    "share server {url:?}: expected https://HOST:PORT (or http://HOST:PORT)"
                )));
            }
            let timeout = client::DEFAULT_TIMEOUT;
            Ok(
                match tls_args::client_config_for(url, tls.ca, tls.ca_flag, tls.identity)? {
                    Some(config) => Client::with_tls(url, token.clone(), timeout, config),
                    None => Client::new(url, token.clone(), timeout),
                },
            )
        })
        .collect()
}

/// A split id as `split --servers` prints it.
pub fn parse_split_id(id: &str) -> Result<SplitId, Failure> {
    id.parse()
        .map_err(|e: sharing::Error| Failure::input(e.to_string()))
}
