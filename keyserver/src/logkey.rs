//! The log's Ed25519 signing key: a PKCS#8 PEM file beside the database, created with
//! mode 0600 (and fsynced, with its directory: [`pki::files::write_private_key`]) for a
//! new log, and never replaced.

use std::io;
use std::path::{Path, PathBuf};

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::keys::signing_key;
use crate::store::StoreError;

/// The log key's file for the database `db`: `DB.log-key.pem`.
pub fn log_key_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".log-key.pem");
    PathBuf::from(name)
}

/// Reads the log key, or creates it (mode 0600, fsynced) for a new log.
pub(crate) fn load_or_create_log_key<R: CryptoRng + ?Sized>(
    path: &Path,
    entries: u64,
    rng: &mut R,
) -> Result<ed25519_dalek::SigningKey, StoreError> {
    let bad = |reason: String| StoreError::LogKey {
        what: path.display().to_string(),
        reason,
    };
    match std::fs::read_to_string(path).map(Zeroizing::new) {
        Ok(text) => {
            let key = pki::PrivateKey::from_pem(&text).map_err(|e| bad(e.to_string()))?;
            signing_key(&key).map_err(bad)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && entries == 0 => {
            let key = pki::PrivateKey::generate(pki::KeyType::Ed25519, rng)
                .map_err(|e| bad(e.to_string()))?;
            pki::files::write_private_key(path, &key, false).map_err(|source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            signing_key(&key).map_err(bad)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(bad(format!(
            "missing, but the log has {entries} entries: restore the key file that signed it"
        ))),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads an existing log key file (a front end of a shared log never creates one).
pub(crate) fn read_log_key(path: &Path) -> Result<ed25519_dalek::SigningKey, StoreError> {
    let bad = |reason: String| StoreError::LogKey {
        what: path.display().to_string(),
        reason,
    };
    match std::fs::read_to_string(path).map(Zeroizing::new) {
        Ok(text) => {
            let key = pki::PrivateKey::from_pem(&text).map_err(|e| bad(e.to_string()))?;
            signing_key(&key).map_err(bad)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(bad(
            "no such file (a PostgreSQL log's key file is the one `keylab keyserver init` made)"
                .into(),
        )),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}
