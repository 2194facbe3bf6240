//! The TLS settings of the commands that run or reach keylab's HTTPS services: a server's
//! configuration from `--cert`/`--key`, a client's from `--ca` (and optionally its own
//! `--cert`/`--key`), a server's that requires client certificates (`--client-ca`), the
//! rule that ties `--ca` to `https://` URLs, and the warning of a service run in the clear.

use std::path::Path;
use std::sync::Arc;

use handshake::{ClientAuth, ClientConfig, ServerConfig};

use crate::cmd::load::{read_certs, read_identity};
use crate::failure::Failure;

/// A server configuration with the certificate chain in `cert` (leaf first) and its
/// private key in `key`, as `keylab server` loads them; no client certificates asked for
/// (add them with [`ServerConfig::with_client_auth`]).
pub fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, Failure> {
    read_identity(cert, key).map(ServerConfig::new)
}

/// [`server_config`] that requires a client certificate issued under one of the
/// certificates in `client_ca` (RFC 8446 §4.3.2 CertificateRequest; a client without one
/// is refused with certificate_required, one from another CA with unknown_ca or
/// bad_certificate). Also returns the subjects of those CA certificates, for the log.
pub fn mutual_server_config(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
) -> Result<(ServerConfig, Vec<String>), Failure> {
    let anchors = read_certs(client_ca)?;
    let names = anchors.iter().map(|c| c.subject().to_string()).collect();
    let config = server_config(cert, key)?
        .with_client_auth(ClientAuth::Required, anchors)
        .map_err(|e| Failure::input(format!("{}: {e}", client_ca.display())))?;
    Ok((config, names))
}

/// The leaf subject of a server configuration's certificate (e.g. `CN=localhost`).
pub fn server_subject(config: &ServerConfig) -> String {
    config
        .identity
        .as_ref()
        .map(|id| id.leaf().subject().to_string())
        .unwrap_or_default()
}

/// A client configuration trusting the certificates in `ca`, presenting the chain and key
/// of `identity` (`--cert`, `--key`) if given, anonymous otherwise.
pub fn client_config(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
) -> Result<Arc<ClientConfig>, Failure> {
    let trust_anchors = read_certs(ca)?;
    if trust_anchors.is_empty() {
        return Err(Failure::input(format!(
            "{}: no certificate to trust",
            ca.display()
        )));
    }
    let identity = match identity {
        Some((cert, key)) => Some(Arc::new(read_identity(cert, key)?)),
        None => None,
    };
    Ok(Arc::new(ClientConfig {
        trust_anchors,
        identity,
        ..ClientConfig::default()
    }))
}

/// The client configuration for `url`: `Some` for an `https://` URL, which needs `ca`
/// (`--ca FILE`, named `ca_flag` in errors); `None` for an `http://` URL, which takes no
/// `--ca`, since nothing would be checked.
pub fn client_config_for(
    url: &str,
    ca: Option<&Path>,
    ca_flag: &str,
    identity: Option<(&Path, &Path)>,
) -> Result<Option<Arc<ClientConfig>>, Failure> {
    match (url.starts_with("https://"), ca) {
        (true, Some(ca)) => client_config(ca, identity).map(Some),
        (true, None) => Err(Failure::input(format!(
            "{url} is HTTPS: give {ca_flag} FILE, the CA certificate that issued the \
             server's certificate"
        ))),
        (false, Some(_)) => Err(Failure::input(format!(
            "{ca_flag} checks HTTPS servers, and {url} is not one: give its https:// URL"
        ))),
        (false, None) => Ok(None),
    }
}

/// Prints the warning of a service started with `--insecure-http` on stderr.
pub fn warn_insecure_http(service: &str) {
    crate::status!(
        "WARNING: {service} serves plain HTTP (--insecure-http): requests and answers \
         cross the network unencrypted and unauthenticated; serve HTTPS with --cert FILE \
         --key FILE"
    );
}
