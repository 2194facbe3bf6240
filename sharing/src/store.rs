//! A directory of shares, written crash-safely and never overwritten.
//!
//! Layout: `DIR/<split id>/<x>.share`, each file one share in its text form plus a newline,
//! then who may read it ([`Access`]): a `stored-by: SUBJECT` line naming the client
//! certificate's subject that stored it and a `reader: CN` line per reader named at split
//! time. A file with the share line alone (written before owners were recorded, or by a
//! client without a certificate) has no owner and is readable by every client the server
//! lets in.
//! A share is written with [`pki::files::create_new`]: a fresh temporary file in the same
//! directory, flushed to disk (`fsync`), then hard-linked to its final name — which fails
//! if the name exists, so two writers cannot both win and nothing is replaced — and the
//! directory flushed so the new name survives a crash. A crash leaves at worst a
//! `.<x>.share.tmp-*` file behind, never a half-written share.

use std::fs::{self, File};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use pki::files::sync_dir;
use zeroize::Zeroizing;

use crate::share::{Share, SplitId};

/// Largest share file read back (a 65536-byte share in base64 plus the header, and room
/// for an owner and the readers the server accepts).
const MAX_FILE: u64 = 96_000;

/// Who may read a stored share: the client that stored it (its certificate subject) and
/// the readers it named (certificate common names). Both empty: anyone the server lets in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// The subject of the client certificate that stored the share (e.g. `CN=alice`).
    pub owner: Option<String>,
    /// The common names of the other clients that may read it.
    pub readers: Vec<String>,
}

impl Access {
    /// Whether the client with certificate `subject` (`None`: no certificate) may read.
    pub fn allows(&self, subject: Option<&str>) -> bool {
        if self.owner.is_none() && self.readers.is_empty() {
            return true;
        }
        let Some(subject) = subject else {
            return false;
        };
        self.owner.as_deref() == Some(subject)
            || common_name(subject).is_some_and(|cn| self.readers.iter().any(|r| r == cn))
    }

    /// The metadata lines after the share line, each ending in a newline.
    fn to_lines(&self) -> String {
        let mut text = String::new();
        if let Some(owner) = &self.owner {
            text.push_str(&format!("{OWNER}{owner}\n"));
        }
        for reader in &self.readers {
            text.push_str(&format!("{READER}{reader}\n"));
        }
        text
    }

    /// The access the metadata lines `lines` record.
    fn from_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Result<Self, String> {
        let mut access = Self::default();
        for line in lines.filter(|l| !l.is_empty()) {
            if let Some(owner) = line.strip_prefix(OWNER) {
                if access.owner.replace(owner.to_owned()).is_some() {
                    return Err("two stored-by lines".into());
                }
            } else if let Some(reader) = line.strip_prefix(READER) {
                access.readers.push(reader.to_owned());
            } else {
                return Err(format!("unexpected line {line:?}"));
            }
        }
        Ok(access)
    }
}

/// Whether `text` can be recorded as an owner or reader: one line of printable text.
pub fn recordable(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(char::is_control)
}

/// The commonName of a subject as keylab prints it (`O=Example, CN=alice`).
pub fn common_name(subject: &str) -> Option<&str> {
    subject
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
}

const OWNER: &str = "stored-by: ";
const READER: &str = "reader: ";

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
    /// An owner or reader that cannot be recorded (empty, or with control characters).
    #[error("{0:?} cannot be recorded as an owner or reader")]
    Unrecordable(String),
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

    /// Stores `share`, readable as `access` says, unless a different share has its split
    /// id and x. The identical share stored again is [`Stored::AlreadyPresent`] and keeps
    /// the access it was first stored with.
    pub fn put(&self, share: &Share, access: &Access) -> Result<Stored, StoreError> {
        let names = access.owner.iter().chain(&access.readers);
        if let Some(bad) = names.into_iter().find(|n| !recordable(n)) {
            return Err(StoreError::Unrecordable(bad.clone()));
        }
        let split_dir = self.dir.join(share.split_id().to_string());
        match fs::create_dir(&split_dir) {
            // The split directory's own entry is flushed below, with the share's.
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        let text = share.to_text();
        let lines = access.to_lines();
        let mut content = Zeroizing::new(Vec::with_capacity(text.len() + 1 + lines.len()));
        content.extend_from_slice(text.as_bytes());
        content.push(b'\n');
        content.extend_from_slice(lines.as_bytes());

        let path = file_name(&split_dir, share.x());
        let stored = match pki::files::create_new(&path, &content, pki::files::Access::OwnerOnly) {
            Ok(()) => Stored::Created,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                match self.get(share.split_id(), share.x())? {
                    Some((existing, _)) if same(&existing, share) => {
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

    /// The share stored for `id` and `x`, if any, with who may read it. A file that does
    /// not parse is an error of kind `InvalidData`.
    pub fn get(&self, id: SplitId, x: u8) -> io::Result<Option<(Share, Access)>> {
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
        let invalid = |e: &dyn std::fmt::Display| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        };
        let mut lines = text.lines();
        let share = Share::from_text(lines.next().unwrap_or_default()).map_err(|e| invalid(&e))?;
        let access = Access::from_lines(lines).map_err(|e| invalid(&e))?;
        if share.split_id() != id || share.x() != x {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} holds a share of another split or x", path.display()),
            ));
        }
        Ok(Some((share, access)))
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
        assert_eq!(store.put_open(&share(9, 1))?, Stored::Created);
        assert_eq!(store.put_open(&share(3, 2))?, Stored::Created);
        assert_eq!(store.put_open(&share(9, 1))?, Stored::AlreadyPresent);
        assert!(matches!(
            store.put_open(&share(9, 5)),
            Err(StoreError::Conflict { x: 9, .. })
        ));
        assert_eq!(
            store.get(SplitId([7; 8]), 9)?,
            Some((share(9, 1), Access::default()))
        );
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

    impl Store {
        fn put_open(&self, share: &Share) -> Result<Stored, StoreError> {
            self.put(share, &Access::default())
        }
    }

    #[test]
    fn the_owner_and_readers_are_kept_with_the_share() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let access = Access {
            owner: Some("O=Example, CN=alice".into()),
            readers: vec!["bob".into(), "carol".into()],
        };
        assert_eq!(store.put(&share(2, 1), &access)?, Stored::Created);
        // Stored again by someone else: nothing changes, not even the access.
        assert_eq!(
            store.put(&share(2, 1), &Access::default())?,
            Stored::AlreadyPresent
        );
        let (got, kept) = store.get(SplitId([7; 8]), 2)?.ok_or("stored")?;
        assert_eq!((got, &kept), (share(2, 1), &access));
        assert!(kept.allows(Some("O=Example, CN=alice")));
        assert!(kept.allows(Some("CN=bob")));
        assert!(
            !kept.allows(Some("CN=alice")),
            "the owner is the whole subject"
        );
        assert!(!kept.allows(Some("CN=eve")));
        assert!(!kept.allows(None));
        let bad = Access {
            owner: Some("CN=a\nreader: eve".into()),
            readers: Vec::new(),
        };
        assert!(matches!(
            store.put(&share(3, 1), &bad),
            Err(StoreError::Unrecordable(_))
        ));
        Ok(())
    }

    #[test]
    fn a_share_file_without_an_owner_is_open_to_all() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let split = dir.path().join("0707070707070707");
        fs::create_dir(&split)?;
        fs::write(
            split.join("4.share"),
            format!("{}\n", share(4, 9).to_text().as_str()),
        )?;
        let (got, access) = store.get(SplitId([7; 8]), 4)?.ok_or("read")?;
        assert_eq!((got, &access), (share(4, 9), &Access::default()));
        assert!(access.allows(None) && access.allows(Some("CN=anyone")));
        Ok(())
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_share() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        store.put_open(&share(9, 1))?;
        fs::write(dir.path().join("0707070707070707/9.share"), "garbage")?;
        let err = store.get(SplitId([7; 8]), 9).err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::InvalidData));
        Ok(())
    }
}
