//! `keylab seal` and `keylab open`: a message sealed to an Ed25519 public key (HPKE,
//! RFC 9180, in the format of [`keyserver::seal`]) and opened with its private key. The
//! recipient's key comes from a key server (`--to NAME --server URL`, its log proofs
//! checked) or from a local file (`--to-key FILE`).

use std::io::Write;
use std::path::PathBuf;

use clap::{ArgGroup, Args};
use keyserver::seal;

use super::ServerArgs;
use super::session::{Session, io_failure, read_key};
use crate::cmd::load::input_name;
use crate::cmd::output::read_input;
use crate::failure::Failure;

/// `keylab seal`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("recipient").required(true).args(["to", "to_key"])))]
pub struct SealArgs {
    /// The message to seal; `-` (the default) reads standard input. The sealed message
    /// goes to standard output.
    #[arg(value_name = "FILE", default_value = "-")]
    pub file: PathBuf,
    /// The recipient: a name or fingerprint on the key server given with --server.
    #[arg(long, value_name = "NAME", requires = "server")]
    pub to: Option<String>,
    /// The recipient's Ed25519 public key, a PEM PUBLIC KEY file (as `keylab keyserver
    /// fetch` prints it); no key server is asked.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["to", "server", "state", "ca"])]
    pub to_key: Option<PathBuf>,
    /// The key server holding --to, https://HOST:PORT (or http://HOST:PORT).
    #[arg(long, value_name = "URL", requires = "to")]
    pub server: Option<String>,
    /// The CA certificate(s) (PEM) to trust for an https:// --server; its certificate must
    /// also name the URL's host.
    #[arg(long, value_name = "FILE", requires = "server")]
    pub ca: Option<PathBuf>,
    /// The pinned log key and last tree head of --server
    /// [default: $XDG_CONFIG_HOME/keylab/keyserver/HOST_PORT.state, or under ~/.config].
    #[arg(long, value_name = "FILE", requires = "to")]
    pub state: Option<PathBuf>,
}

/// `keylab open`
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The sealed message; `-` (the default) reads standard input. The message goes to
    /// standard output.
    #[arg(value_name = "FILE", default_value = "-")]
    pub file: PathBuf,
    /// The recipient's Ed25519 private key.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
}

/// The largest public key file read.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// `keylab seal (--to NAME --server URL [--ca F] | --to-key FILE) [FILE] > MSG.sealed`
pub fn seal(args: &SealArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let recipient = match (&args.to_key, &args.to, &args.server) {
        (Some(file), _, _) => read_public_key(file)?,
        (None, Some(to), Some(server)) => {
            let server = ServerArgs {
                server: server.clone(),
                ca: args.ca.clone(),
                state: args.state.clone(),
            };
            Session::open(&server)?.current_key(to)?.key
        }
        _ => {
            return Err(Failure::input(
                "give --to NAME --server URL, or --to-key FILE",
            ));
        }
    };
    let message = read_input(&args.file, seal::MAX_MESSAGE as u64)?;
    let sealed = seal::seal(&recipient, &message, &mut crate::seed::os_rng())
        .map_err(|e| Failure::input(e.to_string()))?;
    out.write_all(&sealed)
        .and_then(|()| out.flush())
        .map_err(io_failure)
}

/// `keylab open --key F [MSG.sealed] > MSG`
pub fn open(args: &OpenArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let key = read_key(&args.key)?;
    let limit = seal::HEADER_LEN + seal::MAX_MESSAGE + keyserver::hpke::TAG_LEN;
    let sealed = read_input(&args.file, limit as u64)?;
    let message = seal::open(&key, &sealed).map_err(|e| match e {
        seal::SealError::Malformed(_) | seal::SealError::Version(_) => {
            Failure::input(format!("{}: {e}", input_name(&args.file)))
        }
        other => Failure::check(other.to_string()),
    })?;
    out.write_all(&message)
        .and_then(|()| out.flush())
        .map_err(io_failure)
}

/// An Ed25519 public key from a PEM file (`-` for standard input).
fn read_public_key(path: &std::path::Path) -> Result<pki::PublicKey, Failure> {
    let name = input_name(path);
    let bytes = read_input(path, MAX_KEY_FILE)?;
    let text = String::from_utf8_lossy(&bytes);
    let key = pki::PublicKey::from_pem(&text).map_err(|e| {
        if text.contains("PRIVATE KEY-----") {
            Failure::input(format!(
                "{name} holds a private key; seal to its public key (`keylab keyserver fetch`, \
                 or `openssl pkey -in KEY -pubout`)"
            ))
        } else {
            Failure::input(format!("{name}: {e}"))
        }
    })?;
    if !key.is_ed25519() {
        return Err(Failure::input(format!(
            "{name}: a {} key; sealing takes Ed25519 keys only (the kind the key server \
             publishes)",
            key.algorithm_name()
        )));
    }
    Ok(key)
}
