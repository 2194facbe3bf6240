//! `keylab pki init | issue | verify | show`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use pki::{Certificate, CertificateRequest, PathRequest, PrivateKey, Profile, Purpose};
use time::{Duration, OffsetDateTime};

use crate::cmd::args::parse_time;
use crate::cmd::load::{read_certs, read_private_key as read_key};
use crate::failure::{EXIT_CODES, Failure};
use crate::seed::rng_from;

/// `keylab pki ...`
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create a root CA: writes DIR/ca.pem and DIR/ca.key.
    #[command(after_help = EXIT_CODES)]
    Init(InitArgs),
    /// Issue a server, client or intermediate certificate under a CA.
    #[command(after_help = EXIT_CODES)]
    Issue(IssueArgs),
    /// Validate a certificate chain; prints `ok: ...` or `error: ...`.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Print a short summary of each certificate or key in a file.
    #[command(after_help = EXIT_CODES)]
    Show(ShowArgs),
}

/// Key algorithms on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyArg {
    /// Ed25519.
    Ed25519,
    /// RSA, 2048-bit modulus.
    Rsa2048,
    /// RSA, 3072-bit modulus.
    Rsa3072,
    /// ECDSA on NIST P-256 (secp256r1, prime256v1).
    P256,
}

impl From<KeyArg> for pki::KeyType {
    fn from(k: KeyArg) -> Self {
        match k {
            KeyArg::Ed25519 => Self::Ed25519,
            KeyArg::Rsa2048 => Self::Rsa2048,
            KeyArg::Rsa3072 => Self::Rsa3072,
            KeyArg::P256 => Self::P256,
        }
    }
}

/// Options shared by the commands that create keys and certificates.
#[derive(Debug, Args)]
pub struct IssueCommon {
    /// Key algorithm of the new key.
    #[arg(long, value_enum, default_value = "ed25519")]
    pub key: KeyArg,
    /// Days of validity (default: 3650 for CAs, 825 for leaves).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub days: Option<u32>,
    /// Start of validity, RFC 3339 (e.g. 2026-01-01T00:00:00Z); default: now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub not_before: Option<time::OffsetDateTime>,
    /// Seed for the key and serial number; with --not-before, output is byte-identical.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
}

/// `keylab pki init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to write ca.pem and ca.key into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Subject common name of the root.
    #[arg(long, default_value = "keylab Root CA")]
    pub name: String,
    /// Options for the key and certificate.
    #[command(flatten)]
    pub common: IssueCommon,
}

/// `keylab pki issue`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).args(["server", "client", "intermediate"])))]
pub struct IssueArgs {
    /// The CA certificate (a chain file is fine: its first certificate signs).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: PathBuf,
    /// The CA private key.
    #[arg(long, value_name = "FILE")]
    pub ca_key: PathBuf,
    /// A server certificate for these names (comma-separated; IP addresses become IP
    /// subjectAltNames, anything else DNS ones). The first name is the subject CN.
    #[arg(long, value_name = "NAME[,NAME...]", value_delimiter = ',')]
    pub server: Option<Vec<String>>,
    /// A client certificate with this subject CN.
    #[arg(long, value_name = "NAME")]
    pub client: Option<String>,
    /// An intermediate CA with this subject CN.
    #[arg(long, value_name = "NAME")]
    pub intermediate: Option<String>,
    /// E-mail subjectAltName of a client certificate.
    #[arg(long, requires = "client")]
    pub email: Option<String>,
    /// pathLenConstraint of an intermediate (default 0: it may only issue leaves).
    #[arg(long, requires = "intermediate", value_parser = clap::value_parser!(u8).range(0..=8))]
    pub path_len: Option<u8>,
    /// Output prefix: writes PREFIX.pem (certificate + CA chain) and PREFIX.key.
    #[arg(long, value_name = "PREFIX")]
    pub out: PathBuf,
    /// Options for the key and certificate.
    #[command(flatten)]
    pub common: IssueCommon,
}

/// Certificate purposes on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PurposeArg {
    /// TLS server (serverAuth); the name is checked.
    Server,
    /// TLS client (clientAuth).
    Client,
}

/// `keylab pki verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Trust anchors (every certificate in the file).
    #[arg(long, value_name = "FILE")]
    pub ca: PathBuf,
    /// Extra intermediate certificates.
    #[arg(long, value_name = "FILE")]
    pub intermediates: Option<PathBuf>,
    /// The certificate to check; further certificates in the file count as intermediates.
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// The DNS name or IP address the server certificate must be valid for.
    #[arg(long)]
    pub name: Option<String>,
    /// What the certificate is for.
    #[arg(long, value_enum, default_value = "server")]
    pub purpose: PurposeArg,
    /// Time to validate at, RFC 3339; default: now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub at: Option<time::OffsetDateTime>,
}

/// `keylab pki show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A PEM file (certificates, keys) or a DER certificate.
    pub file: PathBuf,
}

/// Runs a `keylab pki` command.
pub fn run(command: &PkiCommand, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        PkiCommand::Init(args) => init(args, out),
        PkiCommand::Issue(args) => issue(args, out),
        PkiCommand::Verify(args) => verify(args, out),
        PkiCommand::Show(args) => show(args, out),
    }
}

const CA_DAYS: u32 = 3650;
const LEAF_DAYS: u32 = 825;

/// `keylab pki init`: a self-signed root in DIR/ca.pem and DIR/ca.key.
fn init(args: &InitArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let cert_path = args.out.join("ca.pem");
    let key_path = args.out.join("ca.key");
    refuse_overwrite(&[&cert_path, &key_path], args.common.force)?;
    let mut rng = rng_from(args.common.seed);
    let key = PrivateKey::generate(args.common.key.into(), &mut rng)
        .map_err(|e| Failure::input(e.to_string()))?;
    let request = request(
        &args.name,
        Profile::Root { path_len: None },
        &args.common,
        CA_DAYS,
    )?;
    let cert = pki::issue::self_signed(&request, &key, &mut rng)
        .map_err(|e| Failure::input(e.to_string()))?;
    fs::create_dir_all(&args.out).map_err(|e| io_failure("creating", &args.out, &e))?;
    write_pair(
        &cert_path,
        &cert.to_pem(),
        &key_path,
        &key,
        args.common.force,
    )?;
    report_written(out, &cert_path, &key_path, &cert)
}

/// `keylab pki issue`: a leaf or intermediate under a CA.
fn issue(args: &IssueArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let cert_path = with_suffix(&args.out, "pem");
    let key_path = with_suffix(&args.out, "key");
    refuse_overwrite(&[&cert_path, &key_path], args.common.force)?;

    let ca_chain = read_certs(&args.ca_cert)?;
    let ca_key = read_key(&args.ca_key)?;
    let ca = &ca_chain[0];
    let (cn, profile, days) = if let Some(names) = &args.server {
        let names: Vec<String> = names
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        let Some(first) = names.first().cloned() else {
            return Err(Failure::input("--server needs at least one name"));
        };
        (first, Profile::Server { names }, LEAF_DAYS)
    } else if let Some(name) = &args.client {
        (
            name.clone(),
            Profile::Client {
                email: args.email.clone(),
            },
            LEAF_DAYS,
        )
    } else if let Some(name) = &args.intermediate {
        (
            name.clone(),
            Profile::Intermediate {
                path_len: Some(args.path_len.unwrap_or(0)),
            },
            CA_DAYS,
        )
    } else {
        return Err(Failure::input(
            "one of --server, --client or --intermediate is required",
        ));
    };
    let request = request(&cn, profile, &args.common, days)?;

    let mut rng = rng_from(args.common.seed);
    let key = PrivateKey::generate(args.common.key.into(), &mut rng)
        .map_err(|e| Failure::input(e.to_string()))?;
    let cert = pki::issue::issue(&request, key.public_key(), ca, &ca_key, &mut rng)
        .map_err(|e| Failure::input(format!("{}: {e}", args.ca_cert.display())))?;

    // The new certificate, then the CA's chain without its root: a ready-to-serve chain.
    let mut pem = cert.to_pem();
    for c in ca_chain.iter().filter(|c| !c.is_self_issued()) {
        pem.push_str(&c.to_pem());
    }
    write_pair(&cert_path, &pem, &key_path, &key, args.common.force)?;
    report_written(out, &cert_path, &key_path, &cert)
}

/// `keylab pki verify`: `ok: <chain>` (exit 0) or `error: <reason>` (exit 1).
fn verify(args: &VerifyArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let purpose = match args.purpose {
        PurposeArg::Server => Purpose::Server,
        PurposeArg::Client => Purpose::Client,
    };
    if purpose == Purpose::Client && args.name.is_some() {
        return Err(Failure::input(
            "--name applies to --purpose server only (client names are not checked)",
        ));
    }
    let anchors = read_certs(&args.ca)?;
    let mut chain = read_certs(&args.cert)?;
    let leaf = chain.remove(0);
    if let Some(path) = &args.intermediates {
        chain.extend(read_certs(path)?);
    }
    let time = args.at.unwrap_or_else(OffsetDateTime::now_utc);
    let result = pki::verify_path(&PathRequest {
        leaf: &leaf,
        intermediates: &chain,
        anchors: &anchors,
        time,
        purpose,
        name: args.name.as_deref(),
    });
    match result {
        Ok(path) => writeln!(out, "ok: {} (trust anchor)", path.subjects().join(" -> "))
            .map_err(|e| Failure::input(e.to_string())),
        Err(e) => Err(Failure::check(e.to_string())),
    }
}

/// `keylab pki show`: one summary per certificate or key in the file.
fn show(args: &ShowArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let bytes = fs::read(&args.file).map_err(|e| io_failure("reading", &args.file, &e))?;
    let mut report = String::new();
    match std::str::from_utf8(&bytes)
        .ok()
        .filter(|t| t.contains("-----BEGIN "))
    {
        Some(text) => {
            let blocks = pem::parse_many(text).map_err(|e| {
                Failure::input(format!("{}: malformed PEM: {e}", args.file.display()))
            })?;
            for block in &blocks {
                report.push_str(&describe(block.tag(), text, block.contents()).map_err(|e| {
                    Failure::input(format!(
                        "{}: {} block: {e}",
                        args.file.display(),
                        block.tag()
                    ))
                })?);
            }
        }
        None => {
            let cert = Certificate::from_der(&bytes).map_err(|e| {
                Failure::input(format!(
                    "{}: neither PEM nor a DER certificate ({e})",
                    args.file.display()
                ))
            })?;
            report.push_str(&cert.summary());
        }
    }
    if report.is_empty() {
        return Err(Failure::input(format!(
            "{}: no certificates or keys found",
            args.file.display()
        )));
    }
    out.write_all(report.as_bytes())
        .map_err(|e| Failure::input(e.to_string()))
}

fn describe(tag: &str, whole: &str, der: &[u8]) -> Result<String, String> {
    match tag {
        "CERTIFICATE" => Ok(Certificate::from_der(der)
            .map_err(|e| e.to_string())?
            .summary()),
        "PRIVATE KEY" => {
            let key = PrivateKey::from_pkcs8_der(der).map_err(|e| e.to_string())?;
            Ok(key_line("private key", key.public_key()))
        }
        "RSA PRIVATE KEY" => {
            let key = PrivateKey::from_pem(whole).map_err(|e| e.to_string())?;
            Ok(key_line("private key (PKCS#1)", key.public_key()))
        }
        "EC PRIVATE KEY" => {
            let key = PrivateKey::from_sec1_der(der).map_err(|e| e.to_string())?;
            Ok(key_line("private key (RFC 5915)", key.public_key()))
        }
        "PUBLIC KEY" => {
            let key = pki::PublicKey::from_spki_der(der).map_err(|e| e.to_string())?;
            Ok(key_line("public key", &key))
        }
        other => Ok(format!("{other}: not a certificate or key, skipped\n")),
    }
}

fn key_line(what: &str, key: &pki::PublicKey) -> String {
    format!(
        "{what} {}\n  public key sha256: {}\n",
        key.algorithm_name(),
        key.fingerprint()
    )
}

fn request(
    cn: &str,
    profile: Profile,
    common: &IssueCommon,
    default_days: u32,
) -> Result<CertificateRequest, Failure> {
    let not_before = common.not_before.unwrap_or_else(OffsetDateTime::now_utc);
    let not_before = not_before.replace_nanosecond(0).unwrap_or(not_before);
    let days = common.days.unwrap_or(default_days);
    let not_after = not_before
        .checked_add(Duration::days(i64::from(days)))
        .ok_or_else(|| Failure::input("--not-before plus --days is out of range"))?;
    Ok(CertificateRequest::new(cn, profile, not_before, not_after))
}

fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn refuse_overwrite(paths: &[&Path], force: bool) -> Result<(), Failure> {
    paths
        .iter()
        .try_for_each(|p| super::output::check_output(p, force))
}

fn write_pair(
    cert_path: &Path,
    pem: &str,
    key_path: &Path,
    key: &PrivateKey,
    force: bool,
) -> Result<(), Failure> {
    // Key first: a certificate without its key on disk is worse than the reverse.
    pki::files::write_private_key(key_path, key, force)
        .map_err(|e| io_failure("writing", key_path, &e))?;
    pki::files::write_file(cert_path, pem.as_bytes(), force, false)
        .map_err(|e| io_failure("writing", cert_path, &e))
}

fn report_written(
    out: &mut dyn Write,
    cert_path: &Path,
    key_path: &Path,
    cert: &Certificate,
) -> Result<(), Failure> {
    let key = cert
        .public_key()
        .map(|k| k.algorithm_name())
        .unwrap_or_default();
    writeln!(
        out,
        "wrote {} ({}, {key}, valid until {})\nwrote {} (mode 0600)",
        cert_path.display(),
        cert.subject(),
        pki::rfc3339(cert.not_after()),
        key_path.display()
    )
    .map_err(|e| Failure::input(e.to_string()))
}

fn io_failure(what: &str, path: &Path, e: &std::io::Error) -> Failure {
    Failure::input(format!("{what} {}: {e}", path.display()))
}
