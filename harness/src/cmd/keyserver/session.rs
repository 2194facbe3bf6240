//! What the key server's client commands share: the server and its pinned state, the
//! checks on every answer, and which kind of failure each error is.

use std::path::{Path, PathBuf};

use keyserver::client::{self, Client, ClientError};
use keyserver::trust::{Trust, TrustError};
use keyserver::{KeyAnswer, Status, VerifiedKey};
use pki::PrivateKey;

use super::ServerArgs;
use crate::cmd::load::read_private_key;
use crate::cmd::tls_args;
use crate::failure::Failure;

/// A client, the state file and the log key it trusts.
pub struct Session {
    pub client: Client,
    pub trust: Trust,
    pub state_path: PathBuf,
    pub log_key: pki::PublicKey,
    pub first_use: bool,
}

impl Session {
    pub fn open(args: &ServerArgs) -> Result<Self, Failure> {
        let url = args.server.trim_end_matches('/');
        let host = ["https://", "http://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                Failure::input(format!(
                    "key server {:?}: expected https://HOST:PORT (or http://HOST:PORT)",
                    args.server
                ))
            })?;
        let tls = tls_args::client_config_for(url, args.ca.as_deref(), "--ca", None)?;
        let state_path = match &args.state {
            Some(path) => path.clone(),
            None => default_state(host)?,
        };
        let trust = Trust::load(&state_path, url).map_err(|e| Failure::input(e.to_string()))?;
        let client = match tls {
            Some(tls) => Client::with_tls(url, client::DEFAULT_TIMEOUT, tls),
            None => Client::new(url, client::DEFAULT_TIMEOUT),
        };
        let (log_key, first_use) = trust.log_key(&client).map_err(trust_failure)?;
        if first_use {
            crate::status!(
                "trusting the log key {} of {url} on first use (pinned in {})",
                log_key.fingerprint(),
                state_path.display()
            );
        }
        Ok(Self {
            client,
            trust,
            state_path,
            log_key,
            first_use,
        })
    }

    /// Checks an answer's proofs and its tree head against the state.
    pub fn verify(&mut self, answer: &KeyAnswer) -> Result<VerifiedKey, Failure> {
        let v = keyserver::verify_answer(answer, &self.log_key)
            .map_err(|e| Failure::check(e.to_string()))?;
        self.trust
            .accept(&self.client, &self.log_key, &v.head)
            .map_err(trust_failure)?;
        Ok(v)
    }

    /// The verified current key for a name or fingerprint.
    pub fn current_key(&mut self, search: &str) -> Result<VerifiedKey, Failure> {
        let answer = self.client.lookup(search).map_err(client_failure)?;
        // The answer must be for what was asked, not another validly logged key.
        keyserver::verify_lookup(&answer, &self.log_key, search)
            .map_err(|e| Failure::check(e.to_string()))?;
        let v = self.verify(&answer)?;
        match (v.status, &v.status_entry) {
            (Status::Current, _) => Ok(v),
            (status, entry) => Err(Failure::check(format!(
                "key {} of {} is {} (log entry {})",
                v.key.fingerprint(),
                v.name,
                status.as_str(),
                entry.as_ref().map(|(i, _)| *i).unwrap_or_default()
            ))),
        }
    }
}

/// Checks that the server's answer to a publish, rotate or revoke is about `key` and the
/// name asked for, not some other logged key.
pub fn expect_key(v: &VerifiedKey, key: &PrivateKey, name: &str) -> Result<(), Failure> {
    let normalised = keyserver::name::normalize(name).unwrap_or_default();
    if v.key != *key.public_key() || v.name != normalised {
        return Err(Failure::check(format!(
            "the server answered with key {} of {:?}, not key {} of {normalised:?}",
            v.key.fingerprint(),
            v.name,
            key.public_key().fingerprint()
        )));
    }
    Ok(())
}

/// `$XDG_CONFIG_HOME/keylab/keyserver/HOST_PORT.state`, else under `$HOME/.config`.
fn default_state(host: &str) -> Result<PathBuf, Failure> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = absolute("XDG_CONFIG_HOME")
        .or_else(|| absolute("HOME").map(|h| h.join(".config")))
        .ok_or_else(|| {
            Failure::input("no $XDG_CONFIG_HOME or $HOME to keep the state in: give --state FILE")
        })?;
    let file: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(base
        .join("keylab")
        .join("keyserver")
        .join(format!("{file}.state")))
}

/// An Ed25519 private key: the only kind the key server takes.
pub fn read_key(path: &Path) -> Result<PrivateKey, Failure> {
    let key = read_private_key(path)?;
    if !key.public_key().is_ed25519() {
        return Err(Failure::input(format!(
            "{}: a {} key; the key server takes Ed25519 keys only",
            path.display(),
            key.public_key().algorithm_name()
        )));
    }
    Ok(key)
}

/// Bad input found here; a server that cannot be reached (network); a TLS handshake that
/// failed, e.g. a certificate from another CA or for another name (tls); a server that
/// answers with an error or with something else than asked (service).
pub fn client_failure(e: ClientError) -> Failure {
    match e {
        ClientError::Input(message) => Failure::input(message),
        ClientError::Tls { .. } => Failure::tls(e.to_string()),
        ClientError::Unreachable { .. } => Failure::network(e.to_string()),
        ClientError::Status { .. } | ClientError::BadAnswer { .. } => {
            Failure::service(e.to_string())
        }
    }
}

/// A state file that cannot be used (input); a log that does not check out (check).
pub fn trust_failure(e: TrustError) -> Failure {
    match e {
        TrustError::Io { .. } | TrustError::Malformed { .. } | TrustError::OtherServer { .. } => {
            Failure::input(e.to_string())
        }
        TrustError::Client(e) => client_failure(e),
        other => Failure::check(other.to_string()),
    }
}

pub fn io_failure(e: std::io::Error) -> Failure {
    Failure::output(format!("writing to standard output: {e}"))
}
