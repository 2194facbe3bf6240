//! A directory of shares, written crash-safely and never overwritten.
//!
//! Layout: `DIR/<split id>/<x>.share`, each file one share in its text form plus a newline.
//! A share is written with [`pki::files::create_new`]: a fresh temporary file in the same
//! directory, flushed to disk (`fsync`), then hard-linked to its final name — which fails
//! if the name exists, so two writers cannot both win and nothing is replaced — and the
//! directory flushed so the new name survives a crash. A crash leaves at worst a
//! `.<x>.share.tmp-*` file behind, never a half-written share.

use std::fs::{self, File};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use pki::files::{Access, sync_dir};
use zeroize::Zeroizing;

use crate::share::{Share, SplitId};

/// Largest share file read back (a 65536-byte share in base64 plus the header).
const MAX_FILE: u64 = 90_000;

/// What [`Store::put`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The share was new and is now on disk.
    Created,
    /// The identical share was already there (a retried upload); nothing changed.
    AlreadyPresent,
}

/// Why [`Store::put`] refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A different share is stored under the same split id and x.
    #[error("a different share is already stored for split {id}, x = {x}")]
    Conflict {
        /// The split id.
        id: SplitId,
        /// The x-coordinate.
        x: u8,
    },
    /// The file system failed.
    #[error("storage failed: {0}")]
    Io(#[from] io::Error),
}

/// A share directory.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the share directory `dir`.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `share` unless a different one has its split id and x.
    pub fn put(&self, share: &Share) -> Result<Stored, StoreError> {
        let split_dir = self.dir.join(share.split_id().to_string());
        match fs::create_dir(&split_dir) {
            // The split directory's own entry is flushed below, with the share's.
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        let text = share.to_text();
        let mut content = Zeroizing::new(Vec::with_capacity(text.len() + 1));
        content.extend_from_slice(text.as_bytes());
        content.push(b'\n');

        let path = file_name(&split_dir, share.x());
        let stored = match pki::files::create_new(&path, &content, Access::OwnerOnly) {
            Ok(()) => Stored::Created,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                match self.get(share.split_id(), share.x())? {
                    Some(existing) if same(&existing, share) => {
                        // An earlier writer may have crashed before flushing the name.
                        sync_dir(&split_dir)?;
                        Stored::AlreadyPresent
                    }
                    _ => {
                        return Err(StoreError::Conflict {
                            id: share.split_id(),
                            x: share.x(),
                        });
                    }
                }
            }
            Err(e) => return Err(e.into()),
        };
        // Acknowledge only what survives power loss: `create_new` flushed the share's
        // name; the split directory's name in the base directory remains.
        sync_dir(&self.dir)?;
        Ok(stored)
    }

    /// The share stored for `id` and `x`, if any. A file that does not parse is an error
    /// of kind `InvalidData`.
    pub fn get(&self, id: SplitId, x: u8) -> io::Result<Option<Share>> {
        let path = file_name(&self.dir.join(id.to_string()), x);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // Sized up front so reading never reallocates and leaves a copy behind.
        let size = file.metadata()?.len().min(MAX_FILE);
        let mut text = Zeroizing::new(String::with_capacity(
            usize::try_from(size).unwrap_or_default(),
        ));
        file.take(MAX_FILE).read_to_string(&mut text)?;
        let share = Share::from_text(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        if share.split_id() != id || share.x() != x {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} holds a share of another split or x", path.display()),
            ));
        }
        Ok(Some(share))
    }

    /// The x-coordinates stored for `id`, ascending (empty when there are none).
    pub fn list(&self, id: SplitId) -> io::Result<Vec<u8>> {
        let entries = match fs::read_dir(self.dir.join(id.to_string())) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut xs = Vec::new();
        for entry in entries {
            let name = entry?.file_name();
            let x = name
                .to_str()
                .and_then(|n| n.strip_suffix(".share"))
                .and_then(|n| n.parse::<u8>().ok());
            if let Some(x) = x {
                xs.push(x);
            }
        }
        xs.sort_unstable();
        Ok(xs)
    }
}

/// Equality without a timing side channel on the share value: a client must not learn
/// a stored share byte by byte by timing uploads.
fn same(a: &Share, b: &Share) -> bool {
    a.split_id() == b.split_id()
        && a.threshold() == b.threshold()
        && a.x() == b.x()
        && bool::from(subtle::ConstantTimeEq::ct_eq(a.y(), b.y()))
}

fn file_name(split_dir: &Path, x: u8) -> PathBuf {
    split_dir.join(format!("{x}.share"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(x: u8, fill: u8) -> Share {
        Share::from_parts(SplitId([7; 8]), 2, x, vec![fill; 16])
    }

    #[test]
    fn put_get_list_and_no_overwrite() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        assert_eq!(store.list(SplitId([7; 8]))?, Vec::<u8>::new());
        assert_eq!(store.put(&share(9, 1))?, Stored::Created);
        assert_eq!(store.put(&share(3, 2))?, Stored::Created);
        assert_eq!(store.put(&share(9, 1))?, Stored::AlreadyPresent);
        assert!(matches!(
            store.put(&share(9, 5)),
            Err(StoreError::Conflict { x: 9, .. })
        ));
        assert_eq!(store.get(SplitId([7; 8]), 9)?, Some(share(9, 1)));
        assert_eq!(store.get(SplitId([7; 8]), 4)?, None);
        assert_eq!(store.get(SplitId([8; 8]), 9)?, None);
        assert_eq!(store.list(SplitId([7; 8]))?, vec![3, 9]);
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(dir.path().join("0707070707070707"))?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        Ok(())
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_share() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        store.put(&share(9, 1))?;
        fs::write(dir.path().join("0707070707070707/9.share"), "garbage")?;
        let err = store.get(SplitId([7; 8]), 9).err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::InvalidData));
        Ok(())
    }
}
