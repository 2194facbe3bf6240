//! Writing a key and its certificate as a pair: both files or neither, so a failure never
//! leaves a key without its certificate (or a new key beside an old certificate).
//!
//! Both are first written in full under temporary names beside their targets
//! ([`pki::files::create_new`] flushes them to disk), then take their names, the key
//! first. Should the certificate fail to take its name, the key is taken back: removed
//! when it was new, or the old key put back when `--force` replaced one.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use pki::PrivateKey;
use pki::files::{Access, create_new, sync_dir};

use crate::failure::Failure;

/// Writes `key` to `key_path` (mode 0600) and `cert_pem` to `cert_path`, both or neither.
/// Without `force` an existing file is never replaced.
pub fn write_pair(
    cert_path: &Path,
    cert_pem: &str,
    key_path: &Path,
    key: &PrivateKey,
    force: bool,
) -> Result<(), Failure> {
    let key_pem = key
        .to_pem()
        .map_err(|e| Failure::output(format!("{}: {e}", key_path.display())))?;
    let staged_key = Staged::write(key_path, key_pem.as_bytes(), Access::OwnerOnly)?;
    let staged_cert = Staged::write(cert_path, cert_pem.as_bytes(), Access::Default)?;
    let backup = match force {
        true => Staged::backup(key_path)?,
        false => None,
    };
    staged_key.commit(force)?;
    if let Err(e) = staged_cert.commit(force) {
        match &backup {
            Some(old) => {
                let _ = fs::rename(&old.path, key_path);
            }
            None => {
                let _ = fs::remove_file(key_path);
            }
        }
        return Err(e);
    }
    Ok(())
}

/// A file written under a temporary name beside its target; removed when dropped unless
/// it took the target's name.
struct Staged {
    path: PathBuf,
    target: PathBuf,
}

impl Staged {
    fn write(target: &Path, contents: &[u8], access: Access) -> Result<Self, Failure> {
        let path = beside(target, "new");
        create_new(&path, contents, access).map_err(|e| writing(target, &e))?;
        Ok(Self {
            path,
            target: target.to_owned(),
        })
    }

    /// A second name for the existing file `target`, to put it back with.
    fn backup(target: &Path) -> Result<Option<Self>, Failure> {
        let path = beside(target, "old");
        match fs::hard_link(target, &path) {
            Ok(()) => Ok(Some(Self {
                path,
                target: target.to_owned(),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(writing(target, &e)),
        }
    }

    /// Gives the file its target's name: replacing what is there when `force`, else
    /// failing when the name is taken.
    fn commit(&self, force: bool) -> Result<(), Failure> {
        let done = if force {
            fs::rename(&self.path, &self.target)
        } else {
            fs::hard_link(&self.path, &self.target)
        };
        done.and_then(|()| sync_dir(parent(&self.target)))
            .map_err(|e| writing(&self.target, &e))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// `DIR/.NAME.WHAT-PID`, beside `target`.
fn beside(target: &Path, what: &str) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(format!(".{what}-{}", std::process::id()));
    parent(target).join(name)
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn writing(path: &Path, e: &io::Error) -> Failure {
    Failure::output(format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u64) -> PrivateKey {
        let mut rng = crate::seed::rng_from(Some(seed));
        PrivateKey::generate(pki::KeyType::Ed25519, &mut rng).expect("key")
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_certificate_that_cannot_be_written_leaves_no_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key_path) = (dir.path().join("w.pem"), dir.path().join("w.key"));
        fs::create_dir(&cert).expect("mkdir");
        for force in [false, true] {
            let e = write_pair(&cert, "PEM", &key_path, &key(1), force).expect_err("a dir");
            assert!(e.message.contains("w.pem"), "{}", e.message);
            assert_eq!(names(dir.path()), ["w.pem"], "force {force}");
        }
    }

    #[test]
    fn a_replaced_key_is_put_back_when_its_certificate_fails() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key_path) = (dir.path().join("w.pem"), dir.path().join("w.key"));
        fs::write(&key_path, "old key").expect("write");
        fs::create_dir(&cert).expect("mkdir");
        write_pair(&cert, "PEM", &key_path, &key(2), true).expect_err("a dir");
        assert_eq!(fs::read_to_string(&key_path).expect("read"), "old key");
        assert_eq!(names(dir.path()), ["w.key", "w.pem"]);
    }

    #[test]
    fn a_pair_is_written_and_not_overwritten_without_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key_path) = (dir.path().join("w.pem"), dir.path().join("w.key"));
        write_pair(&cert, "PEM", &key_path, &key(3), false).expect("write");
        assert_eq!(fs::read_to_string(&cert).expect("read"), "PEM");
        let e = write_pair(&cert, "NEW", &key_path, &key(4), false).expect_err("exists");
        assert!(e.message.contains("w.key"), "{}", e.message);
        assert_eq!(fs::read_to_string(&cert).expect("read"), "PEM");
        write_pair(&cert, "NEW", &key_path, &key(4), true).expect("force");
        assert_eq!(fs::read_to_string(&cert).expect("read"), "NEW");
        assert_eq!(names(dir.path()), ["w.key", "w.pem"]);
    }
}
