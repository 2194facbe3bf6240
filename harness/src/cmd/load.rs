//! Reading what commands take from files: certificates, private keys, identities, PSK
//! files, session files and tokens. Every error names the file; secrets are read into
//! zeroized buffers and never echoed.

use std::io::Read as _;
use std::path::Path;

use handshake::{ConfigError, ExternalPsk, Identity, Session, psk::parse_psk_file};
use pki::{Certificate, PrivateKey};
use zeroize::Zeroizing;

use crate::cmd::output::{is_stdio, read_input};
use crate::failure::Failure;

/// The largest file holding a secret (a key, PSKs, a session, a token) that is read.
pub const MAX_SECRET_FILE: u64 = 1024 * 1024;

/// A file's text (public data, such as certificates).
pub fn read_text(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| reading(path, &e))
}

/// The text of `path`, `what` kind of file holding a secret: read into a zeroized buffer
/// sized up front (so reading leaves no copies behind), refused when over `limit` bytes.
pub fn read_secret_text(path: &Path, what: &str, limit: u64) -> Result<Zeroizing<String>, Failure> {
    let file = std::fs::File::open(path).map_err(|e| reading(path, &e))?;
    let size = file.metadata().map_err(|e| reading(path, &e))?.len();
    let too_big = || {
        Failure::input(format!(
            "{}: more than {what} holds (at most {limit} bytes)",
            path.display()
        ))
    };
    if size > limit {
        return Err(too_big());
    }
    let mut text = Zeroizing::new(String::with_capacity(
        usize::try_from(size).unwrap_or_default(),
    ));
    let read = file
        .take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| reading(path, &e))?;
    if read as u64 > limit {
        return Err(too_big());
    }
    Ok(text)
}

/// Certificates from a PEM bundle, or one DER certificate.
pub fn read_certs(path: &Path) -> Result<Vec<Certificate>, Failure> {
    let bytes = std::fs::read(path).map_err(|e| reading(path, &e))?;
    parse_certs(&bytes, &path.display().to_string())
}

/// Like [`read_certs`], but `-` reads standard input.
pub fn read_certs_or_stdin(path: &Path) -> Result<Vec<Certificate>, Failure> {
    let bytes = read_input(path, MAX_CERT_FILE)?;
    parse_certs(&bytes, &input_name(path))
}

/// The largest certificate file read (a bundle of a few hundred certificates).
pub const MAX_CERT_FILE: u64 = 16 * 1024 * 1024;

/// How errors name `path`: the file, or "standard input" for `-`.
pub fn input_name(path: &Path) -> String {
    if is_stdio(path) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

fn parse_certs(bytes: &[u8], name: &str) -> Result<Vec<Certificate>, Failure> {
    // DER is never valid UTF-8 (its length bytes are continuation bytes), PEM always is.
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => Certificate::from_pem_bundle(text),
        Err(_) => Certificate::from_der(bytes).map(|c| vec![c]),
    };
    parsed.map_err(|e| Failure::input(format!("{name}: {e}")))
}

/// A PKCS#8 PEM private key.
pub fn read_private_key(path: &Path) -> Result<PrivateKey, Failure> {
    let text = read_secret_text(path, "a key file", MAX_SECRET_FILE)?;
    PrivateKey::from_pem(&text).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

/// A certificate chain (leaf first) with its private key. Each error names the file at
/// fault: the certificate file, the key file, or both when they do not belong together.
pub fn read_identity(cert: &Path, key: &Path) -> Result<Identity, Failure> {
    let chain = read_certs(cert)?;
    let private = read_private_key(key)?;
    Identity::new(chain, private).map_err(|e| match e {
        ConfigError::KeyMismatch {
            subject,
            cert: cert_key,
            key: key_fpr,
        } => Failure::input(format!(
            "the private key in {} (sha256:{key_fpr}) does not belong to the certificate \
                 {subject} in {} (sha256:{cert_key})",
            key.display(),
            cert.display()
        )),
        other => Failure::input(format!("{}: {other}", cert.display())),
    })
}

/// The bearer token in the first line of `file`, when one is given.
pub fn read_token(file: Option<&Path>) -> Result<Option<Zeroizing<String>>, Failure> {
    let Some(file) = file else { return Ok(None) };
    let text = read_secret_text(file, "a token file", MAX_SECRET_FILE)?;
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        return Err(Failure::input(format!("{}: empty token", file.display())));
    }
    Ok(Some(Zeroizing::new(token.to_owned())))
}

/// A PSK file (`IDENTITY:HEXKEY` lines); errors name the file and line.
pub fn read_psk_file(path: &Path) -> Result<Vec<ExternalPsk>, Failure> {
    let text = read_secret_text(path, "a PSK file", MAX_SECRET_FILE)?;
    parse_psk_file(&text).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

/// A session file written by `keylab client --session-out`.
pub fn read_session(path: &Path) -> Result<Session, Failure> {
    let text = read_secret_text(path, "a session file", MAX_SECRET_FILE)?;
    Session::from_text(&text).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

fn reading(path: &Path, e: &std::io::Error) -> Failure {
    Failure::input(format!("reading {}: {e}", path.display()))
}
