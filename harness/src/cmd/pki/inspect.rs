//! `keylab pki verify` and `keylab pki show`: reading certificates and keys, as text or
//! as one JSON object.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use pki::{CertSignature, Certificate, PathRequest, PrivateKey, Purpose};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::cmd::args::parse_time;
use crate::cmd::load::{MAX_CERT_FILE, input_name, read_certs_or_stdin};
use crate::cmd::output::{is_stdio, read_input};
use crate::failure::Failure;

/// Certificate purposes on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PurposeArg {
    /// TLS server (serverAuth); the name given with --name is checked.
    Server,
    /// TLS client (clientAuth); no name is checked.
    Client,
}

/// `keylab pki verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Trust anchors (every certificate in the file; `-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub ca: PathBuf,
    /// Extra intermediate certificates (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub intermediates: Option<PathBuf>,
    /// The certificate to check; further certificates in the file count as intermediates
    /// (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// The DNS name or IP address the server certificate must be valid for; required
    /// with --purpose server unless --no-name-check is given.
    #[arg(long, value_name = "HOST")]
    pub name: Option<String>,
    /// Check a server certificate's chain without checking any name; the result says
    /// that no name was checked.
    #[arg(long, conflicts_with = "name")]
    pub no_name_check: bool,
    /// What the certificate is for.
    #[arg(long, value_enum, default_value = "server")]
    pub purpose: PurposeArg,
    /// Time to validate at, RFC 3339; default: now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub at: Option<time::OffsetDateTime>,
    /// Print the result as one JSON object on stdout.
    ///
    /// An accepted chain: {"ok": true, "chain": ["CN=leaf", ..., "CN=anchor"], "purpose":
    /// "server"|"client", "name": "HOST"|null, "name_checked": true|false, "at": "RFC3339"}.
    /// A rejected one exits 1 with {"error": {"kind": "check", "message": "..."}}.
    #[arg(long)]
    pub json: bool,
}

/// `keylab pki show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A PEM file (certificates, keys) or a DER certificate; `-` reads standard input.
    pub file: PathBuf,
    /// Print one JSON object on stdout instead of the summary.
    ///
    /// {"file": "NAME", "items": [ITEM, ...]}, one ITEM per PEM block (or the DER
    /// certificate), in order:
    /// {"type": "certificate", "subject", "issuer", "serial" (hex), "not_before",
    /// "not_after" (RFC 3339), "key": {"algorithm", "sha256"} or null when unusable,
    /// "signature", "ca": true|false, "path_len": N|null, "names": ["DNS:...", "IP:..."],
    /// "key_usage": [...]|null, "extended_key_usage": [...]|null};
    /// {"type": "private_key", "format": "pkcs8"|"pkcs1"|"rfc5915", "algorithm",
    /// "public_key_sha256"}; {"type": "public_key", "algorithm", "sha256"};
    /// {"type": "other", "label": "EC PARAMETERS"} for blocks that are neither.
    #[arg(long)]
    pub json: bool,
}

/// `keylab pki verify`: `ok: <chain>` (exit 0) or `error: <reason>` (exit 1).
pub fn verify(args: &VerifyArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let purpose = match args.purpose {
        PurposeArg::Server => Purpose::Server,
        PurposeArg::Client => Purpose::Client,
    };
    if purpose == Purpose::Client && args.name.is_some() {
        return Err(Failure::input(
            "--name applies to --purpose server only (client names are not checked)",
        ));
    }
    if purpose == Purpose::Server && args.name.is_none() && !args.no_name_check {
        return Err(Failure::input(
            "--purpose server checks the name the certificate is for: give --name HOST (a DNS \
             name or IP address), or --no-name-check to check the chain alone",
        ));
    }
    let inputs = [
        Some(&args.ca),
        Some(&args.cert),
        args.intermediates.as_ref(),
    ];
    if inputs.iter().flatten().filter(|p| is_stdio(p)).count() > 1 {
        return Err(Failure::input(
            "standard input (-) can stand for one of --ca, --cert and --intermediates only",
        ));
    }
    let anchors = read_certs_or_stdin(&args.ca)?;
    let mut chain = read_certs_or_stdin(&args.cert)?;
    let leaf = chain.remove(0);
    if let Some(path) = &args.intermediates {
        chain.extend(read_certs_or_stdin(path)?);
    }
    let time = args.at.unwrap_or_else(OffsetDateTime::now_utc);
    let path = pki::verify_path(&PathRequest {
        leaf: &leaf,
        intermediates: &chain,
        anchors: &anchors,
        time,
        purpose,
        name: args.name.as_deref(),
    })
    .map_err(|e| Failure::check(e.to_string()))?;
    let name_checked = purpose == Purpose::Server && args.name.is_some();
    let report = if args.json {
        json!({
            "ok": true,
            "chain": path.subjects(),
            "purpose": if purpose == Purpose::Server { "server" } else { "client" },
            "name": args.name,
            "name_checked": name_checked,
            "at": pki::rfc3339(time),
        })
        .to_string()
    } else {
        let unchecked = match purpose {
            Purpose::Server if !name_checked => "; no name checked (--no-name-check)",
            _ => "",
        };
        format!(
            "ok: {} (trust anchor){unchecked}",
            path.subjects().join(" -> ")
        )
    };
    writeln!(out, "{report}").map_err(write_failure)
}

/// `keylab pki show`: one summary per certificate or key in the file.
pub fn show(args: &ShowArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let bytes = read_input(&args.file, MAX_CERT_FILE)?;
    let name = input_name(&args.file);
    let items = items(&bytes, &name)?;
    if items.iter().all(|i| matches!(i, Item::Other(_))) {
        return Err(Failure::input(format!(
            "{name}: no certificates or keys found"
        )));
    }
    let report = if args.json {
        let items: Vec<Value> = items.iter().map(Item::to_json).collect();
        format!("{}\n", json!({ "file": name, "items": items }))
    } else {
        items.iter().map(Item::to_text).collect()
    };
    out.write_all(report.as_bytes()).map_err(write_failure)
}

/// One thing found in a file.
enum Item {
    Certificate(Box<Certificate>),
    PrivateKey(&'static str, PrivateKey),
    PublicKey(pki::PublicKey),
    /// A PEM block that is neither, by its label.
    Other(String),
}

/// The items of a PEM text, or the one DER certificate; errors name `name`.
fn items(bytes: &[u8], name: &str) -> Result<Vec<Item>, Failure> {
    let Some(text) = std::str::from_utf8(bytes)
        .ok()
        .filter(|t| t.contains("-----BEGIN "))
    else {
        let cert = Certificate::from_der(bytes).map_err(|e| {
            Failure::input(format!("{name}: neither PEM nor a DER certificate ({e})"))
        })?;
        return Ok(vec![Item::Certificate(Box::new(cert))]);
    };
    let blocks =
        pem::parse_many(text).map_err(|e| Failure::input(format!("{name}: malformed PEM: {e}")))?;
    blocks
        .iter()
        .map(|block| {
            item(block.tag(), text, block.contents())
                .map_err(|e| Failure::input(format!("{name}: {} block: {e}", block.tag())))
        })
        .collect()
}

fn item(tag: &str, whole: &str, der: &[u8]) -> Result<Item, String> {
    let text = |e: pki::KeyError| e.to_string();
    Ok(match tag {
        "CERTIFICATE" => Item::Certificate(Box::new(
            Certificate::from_der(der).map_err(|e| e.to_string())?,
        )),
        "PRIVATE KEY" => Item::PrivateKey("pkcs8", PrivateKey::from_pkcs8_der(der).map_err(text)?),
        "RSA PRIVATE KEY" => Item::PrivateKey("pkcs1", PrivateKey::from_pem(whole).map_err(text)?),
        "EC PRIVATE KEY" => {
            Item::PrivateKey("rfc5915", PrivateKey::from_sec1_der(der).map_err(text)?)
        }
        "PUBLIC KEY" => Item::PublicKey(pki::PublicKey::from_spki_der(der).map_err(text)?),
        other => Item::Other(other.to_owned()),
    })
}

impl Item {
    fn to_text(&self) -> String {
        match self {
            Self::Certificate(cert) => cert.summary(),
            Self::PrivateKey(format, key) => {
                let what = match *format {
                    "pkcs1" => "private key (PKCS#1)",
                    "rfc5915" => "private key (RFC 5915)",
                    _ => "private key",
                };
                key_line(what, key.public_key())
            }
            Self::PublicKey(key) => key_line("public key", key),
            Self::Other(label) => format!("{label}: not a certificate or key, skipped\n"),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Certificate(cert) => certificate_json(cert),
            Self::PrivateKey(format, key) => json!({
                "type": "private_key",
                "format": format,
                "algorithm": key.public_key().algorithm_name(),
                "public_key_sha256": key.public_key().fingerprint(),
            }),
            Self::PublicKey(key) => json!({
                "type": "public_key",
                "algorithm": key.algorithm_name(),
                "sha256": key.fingerprint(),
            }),
            Self::Other(label) => json!({ "type": "other", "label": label }),
        }
    }
}

fn certificate_json(cert: &Certificate) -> Value {
    let key = cert
        .public_key()
        .ok()
        .map(|k| json!({ "algorithm": k.algorithm_name(), "sha256": k.fingerprint() }));
    let signature = match cert.signature_algorithm() {
        CertSignature::Supported(alg) => alg.to_string(),
        CertSignature::Unsupported(what) => what.clone(),
    };
    let constraints = cert.basic_constraints().filter(|b| b.ca);
    let names: Vec<String> = cert
        .subject_alt_names()
        .iter()
        .map(ToString::to_string)
        .collect();
    let ext_usage = cert
        .extended_key_usage()
        .map(|list| list.iter().map(ToString::to_string).collect::<Vec<_>>());
    json!({
        "type": "certificate",
        "subject": cert.subject().to_string(),
        "issuer": cert.issuer().to_string(),
        "serial": hex::encode(cert.serial()),
        "not_before": pki::rfc3339(cert.not_before()),
        "not_after": pki::rfc3339(cert.not_after()),
        "key": key,
        "signature": signature,
        "ca": constraints.is_some(),
        "path_len": constraints.and_then(|b| b.path_len),
        "names": names,
        "key_usage": cert.key_usage().map(|k| k.names()),
        "extended_key_usage": ext_usage,
    })
}

fn key_line(what: &str, key: &pki::PublicKey) -> String {
    format!(
        "{what} {}\n  public key sha256: {}\n",
        key.algorithm_name(),
        key.fingerprint()
    )
}

fn write_failure(e: std::io::Error) -> Failure {
    Failure::output(format!("writing to standard output: {e}"))
}
