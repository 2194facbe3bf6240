//! Writing files durably: the one place in keylab that creates key, share, state and
//! certificate files.
//!
//! Every write goes to a temporary file beside the target (mode 0600 for
//! [`Access::OwnerOnly`]), is flushed to disk (`fsync`), and only then takes the target's
//! name; the directory is flushed too, so the name survives a crash. A crash therefore
//! leaves the old file or the complete new one, never a half-written file, and at worst a
//! `.NAME.tmp-*` file behind.
//!
//! - [`create_new`]: the name is taken with a hard link, which fails with `AlreadyExists`
//!   when the name exists: nothing is ever replaced, and of two writers only one wins.
//! - [`replace`]: the name is taken with a rename, which replaces an existing file
//!   atomically.
//!
//! [`open_append`] is the exception: a file appended to line by line (a key log), created
//! with the same modes but not flushed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use zeroize::Zeroizing;

use crate::key::PrivateKey;

/// Who may read a file written here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Only its owner (mode 0600 on Unix): private keys, shares, secrets.
    OwnerOnly,
    /// The process's default (0666 less the umask on Unix): certificates, public keys.
    Default,
}

/// Writes a new file `path` holding `contents`, completely or not at all, failing with
/// `AlreadyExists` when the name is taken (nothing is replaced). Flushes the file and
/// its directory before returning.
pub fn create_new(path: &Path, contents: &[u8], access: Access) -> io::Result<()> {
    let tmp = write_temporary(path, contents, access)?;
    // A hard link fails instead of replacing: the check and the write are one step.
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    linked?;
    sync_dir(parent(path))
}

/// Replaces `path` (or creates it) with `contents` atomically: readers see the old file
/// or the new one. Flushes the file and its directory before returning.
pub fn replace(path: &Path, contents: &[u8], access: Access) -> io::Result<()> {
    let tmp = write_temporary(path, contents, access)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent(path))
}

/// Flushes a directory's entries to disk, so that names created in it survive a crash
/// (a no-op where directories cannot be opened as files).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Opens `path` for appending, creating it with `access` if missing. An existing file
/// with [`Access::OwnerOnly`] is made readable by its owner only where the process may
/// change its mode (otherwise it is left as it is). Nothing is flushed: for logs written
/// line by line, such as an NSS key log.
pub fn open_append(path: &Path, access: Access) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    if access == Access::OwnerOnly {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let file = options.open(path)?;
    // The mode given above applies only to a new file.
    #[cfg(unix)]
    if access == Access::OwnerOnly {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = file.set_permissions(fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = access;
    Ok(file)
}

/// Writes `contents` to `path`: [`replace`] when `overwrite`, else [`create_new`]
/// (failing with `AlreadyExists`). `private` files are readable by their owner only.
pub fn write_file(path: &Path, contents: &[u8], overwrite: bool, private: bool) -> io::Result<()> {
    let access = if private {
        Access::OwnerOnly
    } else {
        Access::Default
    };
    if overwrite {
        replace(path, contents, access)
    } else {
        create_new(path, contents, access)
    }
}

/// Writes `key` as PKCS#8 PEM, readable by its owner only.
pub fn write_private_key(path: &Path, key: &PrivateKey, overwrite: bool) -> io::Result<()> {
    let pem: Zeroizing<String> = key
        .to_pem()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    write_file(path, pem.as_bytes(), overwrite, true)
}

/// Makes temporary names unique within the process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many temporary names are tried before giving up (a name is taken only when a
/// crashed process with the same id left its file behind).
const TEMPORARY_TRIES: u32 = 8;

/// Writes `contents` to a new temporary file beside `path` and flushes it; returns its
/// name.
fn write_temporary(path: &Path, contents: &[u8], access: Access) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tries = 0;
    loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = parent(path).join(tmp_name);
        match write_and_sync(&tmp, contents, access) {
            Ok(()) => return Ok(tmp),
            // Someone else's file: try another name, and never report `AlreadyExists`,
            // which callers of `create_new` read as "the target exists".
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                tries += 1;
                if tries == TEMPORARY_TRIES {
                    return Err(io::Error::other(format!(
                        "no free temporary name beside {}",
                        path.display()
                    )));
                }
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        }
    }
}

/// Creates `path` (never an existing file), writes `contents` and flushes them to disk.
fn write_and_sync(path: &Path, contents: &[u8], access: Access) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if access == Access::OwnerOnly {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = access;
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// The directory `path` is in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Asserts that `path` holds `contents`, is alone in its directory (no temporary file
    /// left behind) and, on Unix, readable by its owner only.
    fn holds_alone_and_private(path: &Path, contents: &[u8]) {
        assert_eq!(fs::read(path).expect("read"), contents);
        let name = path.file_name().expect("name").to_string_lossy();
        assert_eq!(names(parent(path)), [name]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    /// Writes `path` readable by everyone (mode 0644 on Unix).
    fn world_readable(path: &Path, contents: &[u8]) -> io::Result<()> {
        replace(path, contents, Access::Default)?;
        #[cfg(unix)]
        fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
        Ok(())
    }

    #[test]
    fn a_new_file_is_never_replaced_unless_asked() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("share-1.txt");
        create_new(&path, b"first", Access::OwnerOnly)?;
        for again in [
            create_new(&path, b"second", Access::OwnerOnly),
            write_file(&path, b"second", false, true),
        ] {
            assert_eq!(
                again.map_err(|e| e.kind()),
                Err(io::ErrorKind::AlreadyExists)
            );
        }
        holds_alone_and_private(&path, b"first");
        write_file(&path, b"third", true, true)?;
        holds_alone_and_private(&path, b"third");
        Ok(())
    }

    #[test]
    fn replacing_or_appending_makes_an_existing_file_private() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let state = dir.path().join("state");
        world_readable(&state, b"old")?;
        replace(&state, b"new", Access::OwnerOnly)?;
        holds_alone_and_private(&state, b"new");

        let dir = tempfile::tempdir()?;
        let log = dir.path().join("keylog.txt");
        world_readable(&log, b"one\n")?;
        open_append(&log, Access::OwnerOnly)?.write_all(b"two\n")?;
        holds_alone_and_private(&log, b"one\ntwo\n");
        Ok(())
    }

    #[test]
    fn a_missing_directory_is_an_error_and_nothing_is_left() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("missing").join("key.pem");
        let err = create_new(&path, b"x", Access::OwnerOnly).map_err(|e| e.kind());
        assert_eq!(err, Err(io::ErrorKind::NotFound));
        assert_eq!(names(dir.path()), Vec::<String>::new());
        Ok(())
    }
}
