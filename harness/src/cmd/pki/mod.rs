//! `keylab pki init | issue | verify | show`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use pki::{Certificate, CertificateRequest, IssueError, PrivateKey, Profile};
use time::{Duration, OffsetDateTime};

use crate::cmd::args::parse_time;
use crate::cmd::load::{read_certs, read_private_key as read_key};
use crate::cmd::output::check_output;
use crate::failure::{EXIT_CODES, Failure};
use crate::seed::rng_from;

mod inspect;
mod pair;

pub use inspect::{PurposeArg, ShowArgs, VerifyArgs};

/// `keylab pki ...`
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create a root CA: writes DIR/ca.pem and DIR/ca.key.
    #[command(after_help = EXIT_CODES)]
    Init(InitArgs),
    /// Issue a server, client or intermediate certificate under a CA.
    #[command(after_help = EXIT_CODES)]
    Issue(IssueArgs),
    /// Validate a certificate chain and, for a server, its name; prints `ok: ...` or
    /// `error: ...`.
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
    /// Certify this public key (PEM SPKI, e.g. a threshold group's key from `keylab
    /// threshold keygen`) instead of generating a key pair: writes PREFIX.pem only.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// Options for the key and certificate.
    #[command(flatten)]
    pub common: IssueCommon,
}

/// Runs a `keylab pki` command.
pub fn run(command: &PkiCommand, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        PkiCommand::Init(args) => init(args),
        PkiCommand::Issue(args) => issue(args),
        PkiCommand::Verify(args) => inspect::verify(args, out),
        PkiCommand::Show(args) => inspect::show(args, out),
    }
}

const CA_DAYS: u32 = 3650;
const LEAF_DAYS: u32 = 825;

/// `keylab pki init`: a self-signed root in DIR/ca.pem and DIR/ca.key.
fn init(args: &InitArgs) -> Result<(), Failure> {
    let cert_path = args.out.join("ca.pem");
    let key_path = args.out.join("ca.key");
    check_out_dir(&args.out)?;
    // A directory still to be created holds no files to overwrite.
    if args.out.is_dir() {
        refuse_overwrite(&[&cert_path, &key_path], args.common.force)?;
    }
    let request = request(
        &args.name,
        Profile::Root { path_len: None },
        &args.common,
        CA_DAYS,
    )?;
    let blame = Blame::init();
    // A bad --name is found before the (for RSA, slow) key generation.
    let trial = trial_key()?;
    pki::issue::self_signed(&request, &trial, &mut rng_from(Some(0)))
        .map_err(|e| blame.failure(e))?;

    let mut rng = rng_from(args.common.seed);
    let key = PrivateKey::generate(args.common.key.into(), &mut rng)
        .map_err(|e| Failure::input(e.to_string()))?;
    let cert = pki::issue::self_signed(&request, &key, &mut rng).map_err(|e| blame.failure(e))?;
    fs::create_dir_all(&args.out).map_err(|e| {
        Failure::output(format!(
            "creating the directory {}: {e}",
            args.out.display()
        ))
    })?;
    pair::write_pair(
        &cert_path,
        &cert.to_pem(),
        &key_path,
        &key,
        args.common.force,
    )?;
    report_written(&cert_path, &key_path, &cert);
    Ok(())
}

/// `keylab pki issue`: a leaf or intermediate under a CA.
fn issue(args: &IssueArgs) -> Result<(), Failure> {
    if super::output::is_stdio(&args.out) {
        return Err(Failure::usage(
            "--out names the files to write (PREFIX.pem and PREFIX.key), not stdout: give a \
             prefix such as server",
        ));
    }
    let cert_path = with_suffix(&args.out, "pem");
    let key_path = with_suffix(&args.out, "key");
    if args.public_key.is_some() {
        refuse_overwrite(&[&cert_path], args.common.force)?;
    } else {
        refuse_overwrite(&[&cert_path, &key_path], args.common.force)?;
    }

    let ca_chain = read_certs(&args.ca_cert)?;
    let ca_key = read_key(&args.ca_key)?;
    let ca = &ca_chain[0];
    let (flag, cn, profile, days) = issue_profile(args)?;
    let request = request(&cn, profile, &args.common, days)?;
    let blame = Blame {
        flag,
        email: args.email.as_deref(),
        ca: Some((&args.ca_cert, &args.ca_key)),
    };
    // The request and the CA are checked by issuing to the CA's own key first: a bad
    // name or a CA key that does not fit is found before the new key is generated.
    pki::issue::issue(
        &request,
        ca_key.public_key(),
        ca,
        &ca_key,
        &mut rng_from(Some(0)),
    )
    .map_err(|e| blame.failure(e))?;

    let mut rng = rng_from(args.common.seed);
    if let Some(path) = &args.public_key {
        let subject = read_public_key(path)?;
        let cert = pki::issue::issue(&request, &subject, ca, &ca_key, &mut rng)
            .map_err(|e| blame.failure(e))?;
        let pem = served_chain(&cert, &ca_chain);
        pki::files::write_file(&cert_path, pem.as_bytes(), args.common.force, false)
            .map_err(|e| Failure::output(format!("{}: {e}", cert_path.display())))?;
        crate::status!(
            "wrote {} ({}, {} key from {}, valid until {})",
            cert_path.display(),
            cert.subject(),
            subject.algorithm_name(),
            path.display(),
            pki::rfc3339(cert.not_after())
        );
        return Ok(());
    }
    let key = PrivateKey::generate(args.common.key.into(), &mut rng)
        .map_err(|e| Failure::input(e.to_string()))?;
    let cert = pki::issue::issue(&request, key.public_key(), ca, &ca_key, &mut rng)
        .map_err(|e| blame.failure(e))?;
    let pem = served_chain(&cert, &ca_chain);
    pair::write_pair(&cert_path, &pem, &key_path, &key, args.common.force)?;
    report_written(&cert_path, &key_path, &cert);
    Ok(())
}

/// The new certificate, then the CA's chain without its root: a ready-to-serve chain.
fn served_chain(cert: &Certificate, ca_chain: &[Certificate]) -> String {
    let mut pem = cert.to_pem();
    for c in ca_chain.iter().filter(|c| !c.is_self_issued()) {
        pem.push_str(&c.to_pem());
    }
    pem
}

/// A PEM SubjectPublicKeyInfo from `path`.
fn read_public_key(path: &Path) -> Result<pki::PublicKey, Failure> {
    let text = crate::cmd::load::read_text(path)?;
    pki::PublicKey::from_pem(&text).map_err(|e| {
        Failure::input(format!(
            "--public-key {}: not a PEM public key (\"BEGIN PUBLIC KEY\"): {e}",
            path.display()
        ))
    })
}

/// The option naming the certificate, its subject CN, profile and default lifetime.
fn issue_profile(args: &IssueArgs) -> Result<(&'static str, String, Profile, u32), Failure> {
    if let Some(names) = &args.server {
        let names: Vec<String> = names
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        let Some(first) = names.first().cloned() else {
            return Err(Failure::input("--server needs at least one name"));
        };
        return Ok(("--server", first, Profile::Server { names }, LEAF_DAYS));
    }
    if let Some(name) = &args.client {
        let email = args.email.clone();
        return Ok((
            "--client",
            name.clone(),
            Profile::Client { email },
            LEAF_DAYS,
        ));
    }
    if let Some(name) = &args.intermediate {
        let path_len = Some(args.path_len.unwrap_or(0));
        let profile = Profile::Intermediate { path_len };
        return Ok(("--intermediate", name.clone(), profile, CA_DAYS));
    }
    Err(Failure::input(
        "one of --server, --client or --intermediate is required",
    ))
}

/// Which argument an issuing error is about.
struct Blame<'a> {
    /// The option that named the certificate (`--server`, `--name`, ...).
    flag: &'static str,
    /// `--email`, when given.
    email: Option<&'a str>,
    /// `--ca-cert` and `--ca-key`, when issuing under a CA.
    ca: Option<(&'a Path, &'a Path)>,
}

impl Blame<'_> {
    fn init() -> Self {
        Self {
            flag: "--name",
            email: None,
            ca: None,
        }
    }

    fn failure(&self, e: IssueError) -> Failure {
        let ca = self.ca.map(|(cert, key)| (cert.display(), key.display()));
        Failure::input(match (&e, ca) {
            (IssueError::InvalidName { name, .. }, _) if Some(name.as_str()) == self.email => {
                format!("--email: {e}")
            }
            (IssueError::InvalidName { .. }, _) => format!("{}: {e}", self.flag),
            (IssueError::EmptyValidity { .. }, _) => format!("--not-before and --days: {e}"),
            (IssueError::KeyMismatch { .. }, Some((cert, key))) => {
                format!("{key} is not the key of {cert}: {e}")
            }
            (_, Some((cert, _))) => format!("{cert}: {e}"),
            (_, None) => e.to_string(),
        })
    }
}

/// A throwaway key for checking a self-signed request before the real key exists.
fn trial_key() -> Result<PrivateKey, Failure> {
    PrivateKey::generate(pki::KeyType::Ed25519, &mut rng_from(Some(0)))
        .map_err(|e| Failure::input(e.to_string()))
}

/// `pki init --out DIR`: DIR is a directory or can be made one (what exists of its path
/// is directories).
fn check_out_dir(dir: &Path) -> Result<(), Failure> {
    let existing = dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.exists());
    match existing {
        Some(a) if !a.as_os_str().is_empty() && !a.is_dir() => {
            let what = if a == dir {
                format!("--out {}", dir.display())
            } else {
                format!("--out {}: {}", dir.display(), a.display())
            };
            Err(Failure::output(format!(
                "{what} is a file, not a directory (pki init writes ca.pem and ca.key into a \
                 directory, creating it if missing)"
            )))
        }
        _ => Ok(()),
    }
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

/// Every output is checked before the work: a directory in the way, a missing
/// directory, or an existing file without `--force`.
fn refuse_overwrite(paths: &[&Path], force: bool) -> Result<(), Failure> {
    paths.iter().try_for_each(|p| check_output(p, force))
}

/// "wrote ..." on stderr: a status line, not data.
fn report_written(cert_path: &Path, key_path: &Path, cert: &Certificate) {
    let key = cert
        .public_key()
        .map(|k| k.algorithm_name())
        .unwrap_or_default();
    crate::status!(
        "wrote {} ({}, {key}, valid until {})\nwrote {} (mode 0600)",
        cert_path.display(),
        cert.subject(),
        pki::rfc3339(cert.not_after()),
        key_path.display()
    );
}
