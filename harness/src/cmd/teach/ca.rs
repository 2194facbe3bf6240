//! `keylab teach`'s credentials: a per-user CA, made on first run and name-constrained to
//! the loopback names, and a short-lived P-256 leaf it issues for `localhost`,
//! `127.0.0.1` and `::1`.
//!
//! Why not a fixture root: their private keys are in the repository, so a browser that
//! trusted one would accept anyone's certificate for any site. Why a CA at all, and not a
//! self-signed leaf: the CA is trusted once (`certutil`), the leaf is re-issued every
//! few days. Why name constraints (RFC 5280 §4.2.1.10): even if the CA key leaked, the
//! certificates it could make are valid for the local machine only. Why P-256: browsers
//! refuse Ed25519 server certificates.

use std::path::{Path, PathBuf};

use pki::{Certificate, CertificateRequest, KeyType, NameConstraints, PrivateKey, Profile};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::failure::Failure;

/// How long the CA is valid.
pub const CA_VALIDITY: Duration = Duration::days(5 * 365);
/// How long a leaf is valid; it is re-issued when less than [`LEAF_RENEW_BEFORE`] is left.
pub const LEAF_VALIDITY: Duration = Duration::days(7);
/// A leaf expiring sooner than this is replaced at start.
pub const LEAF_RENEW_BEFORE: Duration = Duration::hours(12);
/// The leaf's names.
pub const LEAF_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The files under the teach directory.
const CA_KEY: &str = "ca.key";
const CA_CERT: &str = "ca.pem";
const LEAF_KEY: &str = "leaf.key";
const LEAF_CERT: &str = "leaf.pem";

/// The server's credentials and how a browser can be told to trust them.
pub struct Credentials {
    /// The leaf first, then the CA (when `teach` made them).
    pub chain_pem: String,
    /// The leaf's private key (PEM).
    pub key_pem: zeroize::Zeroizing<String>,
    /// The leaf.
    pub leaf: Certificate,
    /// The CA certificate file, when `teach` made the credentials.
    pub ca_file: Option<PathBuf>,
    /// Whether the CA was created by this run.
    pub ca_created: bool,
    /// Whether the leaf was (re-)issued by this run.
    pub leaf_issued: bool,
}

impl Credentials {
    /// The value of Chromium's `--ignore-certificate-errors-spki-list`: base64 of SHA-256
    /// over the leaf's SubjectPublicKeyInfo.
    pub fn spki_hash(&self) -> String {
        match self.leaf.public_key() {
            Ok(key) => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(key.spki_der()))
            }
            Err(_) => String::new(),
        }
    }
}

/// `$XDG_DATA_HOME/keylab/teach`, else `~/.local/share/keylab/teach`.
pub fn default_dir() -> Result<PathBuf, Failure> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute("XDG_DATA_HOME")
        .or_else(|| absolute("HOME").map(|h| h.join(".local").join("share")))
        .map(|base| base.join("keylab").join("teach"))
        .ok_or_else(|| {
            Failure::input("no $XDG_DATA_HOME or $HOME to keep the CA in: give --cert and --key")
        })
}

/// The CA and a current leaf under `dir`, made or renewed as needed at time `now`.
pub fn ensure(dir: &Path, now: OffsetDateTime) -> Result<Credentials, Failure> {
    make_private_dir(dir)?;
    let mut rng = crate::seed::os_rng();
    let io = |what: &Path, e: std::io::Error| Failure::input(format!("{}: {e}", what.display()));
    let (ca_key_path, ca_path) = (dir.join(CA_KEY), dir.join(CA_CERT));
    let ca_created = !ca_path.exists();
    if ca_created {
        let key = PrivateKey::generate(KeyType::P256, &mut rng)
            .map_err(|e| Failure::input(e.to_string()))?;
        let mut request = CertificateRequest::new(
            "keylab teach local CA",
            Profile::Root { path_len: Some(0) },
            now - Duration::minutes(5),
            now + CA_VALIDITY,
        );
        request.name_constraints = Some(NameConstraints::loopback_only());
        let cert = pki::issue::self_signed(&request, &key, &mut rng)
            .map_err(|e| Failure::input(e.to_string()))?;
        // The key first: a certificate without its key would be useless.
        pki::files::write_private_key(&ca_key_path, &key, true).map_err(|e| io(&ca_key_path, e))?;
        pki::files::replace(
            &ca_path,
            cert.to_pem().as_bytes(),
            pki::files::Access::Default,
        )
        .map_err(|e| io(&ca_path, e))?;
    }
    let ca = read_cert(&ca_path)?;
    let ca_key = read_key(&ca_key_path)?;
    if ca.name_constraints() != Some(&NameConstraints::loopback_only()) {
        return Err(Failure::input(format!(
            "{}: not a CA made by keylab teach (no loopback name constraints); move it away",
            ca_path.display()
        )));
    }
    if now > ca.not_after() {
        return Err(Failure::input(format!(
            "{}: the teach CA expired on {}; remove {} to make a new one (and trust it again)",
            ca_path.display(),
            pki::rfc3339(ca.not_after()),
            dir.display()
        )));
    }
    let (leaf_key_path, leaf_path) = (dir.join(LEAF_KEY), dir.join(LEAF_CERT));
    let current = read_cert(&leaf_path).ok().filter(|leaf| {
        leaf.issuer() == ca.subject()
            && leaf.authority_key_id() == ca.subject_key_id()
            && leaf.not_before() <= now
            && now + LEAF_RENEW_BEFORE < leaf.not_after()
    });
    let leaf_issued = current.is_none() || read_key(&leaf_key_path).is_err();
    if leaf_issued {
        let key = PrivateKey::generate(KeyType::P256, &mut rng)
            .map_err(|e| Failure::input(e.to_string()))?;
        let request = CertificateRequest::new(
            "localhost",
            Profile::Server {
                names: LEAF_NAMES.iter().map(|n| (*n).to_owned()).collect(),
            },
            now - Duration::minutes(5),
            (now + LEAF_VALIDITY).min(ca.not_after()),
        );
        let cert = pki::issue::issue(&request, key.public_key(), &ca, &ca_key, &mut rng)
            .map_err(|e| Failure::input(e.to_string()))?;
        pki::files::write_private_key(&leaf_key_path, &key, true)
            .map_err(|e| io(&leaf_key_path, e))?;
        pki::files::replace(
            &leaf_path,
            cert.to_pem().as_bytes(),
            pki::files::Access::Default,
        )
        .map_err(|e| io(&leaf_path, e))?;
    }
    let leaf = read_cert(&leaf_path)?;
    let key_pem = crate::cmd::load::read_secret_text(
        &leaf_key_path,
        "a private key file",
        crate::cmd::load::MAX_SECRET_FILE,
    )?;
    Ok(Credentials {
        chain_pem: format!("{}{}", leaf.to_pem(), ca.to_pem()),
        key_pem,
        leaf,
        ca_file: Some(ca_path),
        ca_created,
        leaf_issued,
    })
}

/// Credentials from `--cert` and `--key`.
pub fn from_files(cert: &Path, key: &Path) -> Result<Credentials, Failure> {
    let chain_pem = crate::cmd::load::read_text(cert)?;
    let leaf = crate::cmd::load::read_certs(cert)?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::input(format!("{}: no certificate", cert.display())))?;
    let key_pem = crate::cmd::load::read_secret_text(
        key,
        "a private key file",
        crate::cmd::load::MAX_SECRET_FILE,
    )?;
    Ok(Credentials {
        chain_pem,
        key_pem,
        leaf,
        ca_file: None,
        ca_created: false,
        leaf_issued: false,
    })
}

fn read_cert(path: &Path) -> Result<Certificate, Failure> {
    crate::cmd::load::read_certs(path)?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::input(format!("{}: no certificate", path.display())))
}

fn read_key(path: &Path) -> Result<PrivateKey, Failure> {
    crate::cmd::load::read_private_key(path)
}

/// Creates `dir` (and its parents) and makes it readable by its owner only.
fn make_private_dir(dir: &Path) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::input(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_made_once_constrained_and_private_and_the_leaf_renewed_when_old() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("teach");
        let now = OffsetDateTime::now_utc();
        let first = ensure(&dir, now).expect("first run");
        assert!(first.ca_created && first.leaf_issued);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode =
                |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&dir.join(CA_KEY)), 0o600);
            assert_eq!(mode(&dir.join(LEAF_KEY)), 0o600);
        }
        let ca = read_cert(&dir.join(CA_CERT)).expect("ca");
        assert_eq!(
            ca.name_constraints(),
            Some(&NameConstraints::loopback_only())
        );
        assert!(first.leaf.public_key().expect("key").is_p256());
        let anchors = [ca.clone()];
        for name in LEAF_NAMES {
            pki::verify_path(&pki::PathRequest {
                leaf: &first.leaf,
                intermediates: &[],
                anchors: &anchors,
                time: now,
                purpose: pki::Purpose::Server,
                name: Some(name),
            })
            .expect(name);
        }
        assert!(
            fixtures::ED25519.root != ca.to_pem() && !first.chain_pem.contains(fixtures::RSA.root)
        );

        let second = ensure(&dir, now + Duration::hours(1)).expect("second run");
        assert!(!second.ca_created && !second.leaf_issued, "both reused");
        assert_eq!(second.leaf.der(), first.leaf.der());
        assert_eq!(second.spki_hash(), first.spki_hash());

        let later = ensure(&dir, now + LEAF_VALIDITY).expect("a week later");
        assert!(
            !later.ca_created && later.leaf_issued,
            "the leaf is renewed"
        );
        assert_eq!(read_cert(&dir.join(CA_CERT)).expect("ca").der(), ca.der());
        assert_ne!(later.spki_hash(), first.spki_hash());
    }
}
