//! The key server's storage: one SQLite database (WAL mode) holding the transparency log,
//! an index of keys by fingerprint and name, and every signed tree head; and the log's
//! Ed25519 signing key in a PEM file beside it.
//!
//! ```text
//! log   (idx, entry)                       the Merkle leaves, 0-based, append-only
//! keys  (fingerprint, name, spki, log_index, status, status_index)
//! heads (tree_size, timestamp_ms, root, signature)
//! ```
//!
//! Durability: every change — the log entry, the key index and the new signed tree head —
//! is one transaction, and a caller is answered only after it commits. The journal is
//! WAL with `synchronous = FULL`: a commit is on disk (the WAL is fsynced) before
//! `COMMIT` returns, so an acknowledged key survives `kill -9` and power loss alike.
//! (`NORMAL` would survive a crash of the process but could lose the last commits on
//! power loss.) The database is opened in exclusive locking mode, so a second server on
//! the same file fails at start instead of forking the log.
//!
//! On open the whole log is read back and replayed ([`crate::replay`]: every entry
//! decoded, its signatures checked, the name policy applied), its root compared with the
//! latest signed tree head, and the key index compared with the one the log implies: a
//! database edited behind the server's back refuses to start.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::Signer as _;
use rand_core::CryptoRng;
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::logkey::load_or_create_log_key;
pub use crate::logkey::log_key_path;
use crate::merkle::{Tree, leaf_hash};
use crate::replay::Replay;
use crate::wire::{self, LogEntry, TreeHead};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// Another process holds the database.
    #[error("{0}: the database is in use by another key server")]
    InUse(PathBuf),
    /// The log key is missing, unreadable or not the one that signed the log.
    #[error("log key {path}: {reason}")]
    LogKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The stored log does not match its signed tree head.
    #[error("{path}: the log was altered: {reason}")]
    Tampered {
        /// The database file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
}

/// Where a key stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The key of its name.
    Current,
    /// Handed over to a newer key of the same name.
    Superseded,
    /// Revoked by itself.
    Revoked,
}

impl Status {
    /// `current`, `superseded` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Superseded => "superseded",
            Self::Revoked => "revoked",
        }
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Current, Self::Superseded, Self::Revoked]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A key as the index holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// SHA-256 of the SPKI, lowercase hex.
    pub fingerprint: String,
    /// The (normalised) name.
    pub name: String,
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    /// The log entry that published it (a publish or rotate entry).
    pub log_index: u64,
    /// Where it stands.
    pub status: Status,
    /// The entry that superseded (rotate) or revoked it.
    pub status_index: Option<u64>,
    /// When it was published, seconds since the Unix epoch.
    pub published: u64,
}

/// What an accepted statement changes in the key index besides appending its entry.
#[derive(Clone, Debug)]
pub enum Change {
    /// A new key for a free name.
    Publish,
    /// A new key replacing `previous` (its fingerprint) for the same name.
    Rotate {
        /// The fingerprint of the key handed over from.
        previous: String,
    },
    /// The key `fingerprint` is revoked.
    Revoke {
        /// The fingerprint of the key revoked.
        fingerprint: String,
    },
}

/// The database, the log's Merkle tree, the log key and the latest signed tree head.
pub struct Store {
    path: PathBuf,
    conn: Connection,
    tree: Tree,
    log_key: ed25519_dalek::SigningKey,
    log_public: pki::PublicKey,
    head: TreeHead,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("size", &self.tree.size())
            .finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (
    idx INTEGER PRIMARY KEY,
    entry BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    fingerprint TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    spki BLOB NOT NULL,
    log_index INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('current', 'superseded', 'revoked')),
    status_index INTEGER,
    published INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_by_name ON keys (name, log_index);
CREATE UNIQUE INDEX IF NOT EXISTS one_current_key ON keys (name) WHERE status = 'current';
CREATE TABLE IF NOT EXISTS heads (
    tree_size INTEGER PRIMARY KEY,
    timestamp_ms INTEGER NOT NULL,
    root BLOB NOT NULL,
    signature BLOB NOT NULL
);
";

impl Store {
    /// Opens (creating if needed) the database `db` and its log key (generated with `rng`
    /// for a new, empty log), and checks the log against its latest signed tree head.
    pub fn open<R: CryptoRng + ?Sized>(
        db: &Path,
        rng: &mut R,
        now: SystemTime,
    ) -> Result<Self, StoreError> {
        let conn = Connection::open(db)?;
        conn.busy_timeout(Duration::from_millis(200))?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| busy(e, db))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Take the write lock now: a second server on this file fails here.
        conn.execute_batch("BEGIN IMMEDIATE; COMMIT;")
            .map_err(|e| busy(e, db))?;
        conn.execute_batch(SCHEMA)?;

        let (tree, replay) = load_tree(&conn, db)?;
        let key_path = log_key_path(db);
        let log_key = load_or_create_log_key(&key_path, tree.size(), rng)?;
        let log_public = pki::PublicKey::ed25519_from_raw(log_key.verifying_key().as_bytes())
            .map_err(|e| StoreError::LogKey {
                path: key_path.clone(),
                reason: e.to_string(),
            })?;
        let mut store = Self {
            path: db.to_path_buf(),
            conn,
            tree,
            log_key,
            log_public,
            head: TreeHead::default(),
        };
        match store.latest_head()? {
            Some(head) => store.check_head(head, &key_path)?,
            None if store.tree.size() == 0 => {
                // A new log: sign the empty tree.
                let head = store.sign_head(0, now);
                store.conn.execute(
                    "INSERT INTO heads VALUES (?1, ?2, ?3, ?4)",
                    head_params(&head),
                )?;
                store.head = head;
            }
            None => return Err(store.tampered("entries without a signed tree head")),
        }
        store.check_index(&replay)?;
        Ok(store)
    }

    /// Whether the key index (what lookups are answered from) is what the log implies:
    /// an edited status, key or name would otherwise be served as if logged.
    fn check_index(&self, replay: &Replay) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT_KEY} ORDER BY fingerprint"))?;
        let stored = stmt
            .query_map([], read_key)?
            .collect::<Result<Vec<_>, _>>()?;
        let implied = replay.records();
        if stored.len() != implied.len() {
            return Err(self.tampered(&format!(
                "the key index holds {} keys, the log {}",
                stored.len(),
                implied.len()
            )));
        }
        match stored.iter().zip(&implied).find(|(s, i)| s != i) {
            Some((s, _)) => Err(self.tampered(&format!(
                "the key index disagrees with the log about key {}",
                s.fingerprint
            ))),
            None => Ok(()),
        }
    }

    fn check_head(&mut self, head: TreeHead, key_path: &Path) -> Result<(), StoreError> {
        if !head.verify(&self.log_public) {
            return Err(StoreError::LogKey {
                path: key_path.to_path_buf(),
                reason: "it did not sign the latest tree head (wrong or replaced key file)".into(),
            });
        }
        if head.tree_size != self.tree.size() {
            return Err(self.tampered(&format!(
                "{} entries, but the latest signed tree head is for {}",
                self.tree.size(),
                head.tree_size
            )));
        }
        if self.tree.root(head.tree_size).ok() != Some(head.root) {
            return Err(self.tampered("the entries do not hash to the signed root"));
        }
        self.head = head;
        Ok(())
    }

    fn tampered(&self, reason: &str) -> StoreError {
        StoreError::Tampered {
            path: self.path.clone(),
            reason: reason.to_owned(),
        }
    }

    /// The latest signed tree head.
    pub fn head(&self) -> &TreeHead {
        &self.head
    }

    /// The log's public key.
    pub fn log_public_key(&self) -> &pki::PublicKey {
        &self.log_public
    }

    /// The Merkle tree of the log.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    fn latest_head(&self) -> Result<Option<TreeHead>, StoreError> {
        let head = self
            .conn
            .query_row(
                "SELECT tree_size, timestamp_ms, root, signature FROM heads \
                 ORDER BY tree_size DESC LIMIT 1",
                [],
                read_head,
            )
            .optional()?;
        Ok(head)
    }

    /// The bytes of log entry `index`.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let entry = self
            .conn
            .query_row(
                "SELECT entry FROM log WHERE idx = ?1",
                [to_i64(index)],
                |row| row.get(0),
            )
            .optional()?;
        Ok(entry)
    }

    /// The bytes of log entries `start..end` (`end` exclusive; fewer if the log is
    /// shorter).
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT entry FROM log WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")?;
        let rows = stmt.query_map([to_i64(start), to_i64(end)], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The key with this fingerprint.
    pub fn key_by_fingerprint(&self, fingerprint: &str) -> Result<Option<KeyRecord>, StoreError> {
        let key = self
            .conn
            .query_row(
                &format!("{SELECT_KEY} WHERE fingerprint = ?1"),
                [fingerprint],
                read_key,
            )
            .optional()?;
        Ok(key)
    }

    /// The latest key published for `name` (current, or revoked when the name's last key
    /// was revoked).
    pub fn key_by_name(&self, name: &str) -> Result<Option<KeyRecord>, StoreError> {
        let key = self
            .conn
            .query_row(
                &format!("{SELECT_KEY} WHERE name = ?1 ORDER BY log_index DESC LIMIT 1"),
                [name],
                read_key,
            )
            .optional()?;
        Ok(key)
    }

    /// Every key ever published for `name`, oldest first (at most `limit`).
    pub fn history(&self, name: &str, limit: usize) -> Result<Vec<KeyRecord>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_KEY} WHERE name = ?1 ORDER BY log_index LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![name, to_i64(limit as u64)], read_key)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Appends `entry` to the log, applies `change` to the key index and signs the new
    /// tree head, all in one transaction; returns the entry's index once committed.
    pub fn append(
        &mut self,
        entry: &LogEntry,
        change: &Change,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        let index = self.tree.size();
        let bytes = entry.encode();
        self.tree.push(leaf_hash(&bytes));
        let head = self.sign_head(index + 1, now);
        match self.commit(index, &bytes, entry, change, &head) {
            Ok(()) => {
                self.head = head;
                Ok(index)
            }
            Err(e) => {
                self.tree.truncate(index);
                Err(e)
            }
        }
    }

    fn commit(
        &mut self,
        index: u64,
        bytes: &[u8],
        entry: &LogEntry,
        change: &Change,
        head: &TreeHead,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let at = to_i64(index);
        tx.execute("INSERT INTO log VALUES (?1, ?2)", params![at, bytes])?;
        match change {
            Change::Publish | Change::Rotate { .. } => {
                if let Change::Rotate { previous } = change {
                    tx.execute(
                        "UPDATE keys SET status = 'superseded', status_index = ?1 \
                         WHERE fingerprint = ?2",
                        params![at, previous],
                    )?;
                }
                let fingerprint = pki::fingerprint(&entry.spki);
                tx.execute(
                    "INSERT INTO keys VALUES (?1, ?2, ?3, ?4, 'current', NULL, ?5)",
                    params![
                        fingerprint,
                        entry.name,
                        entry.spki,
                        at,
                        to_i64(entry.timestamp)
                    ],
                )?;
            }
            Change::Revoke { fingerprint } => {
                tx.execute(
                    "UPDATE keys SET status = 'revoked', status_index = ?1 WHERE fingerprint = ?2",
                    params![at, fingerprint],
                )?;
            }
        }
        tx.execute(
            "INSERT INTO heads VALUES (?1, ?2, ?3, ?4)",
            head_params(head),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn sign_head(&self, tree_size: u64, now: SystemTime) -> TreeHead {
        let root = self.tree.root(tree_size).unwrap_or_default();
        // Never earlier than the previous head, whatever the clock does.
        let timestamp_ms = unix_ms(now).max(self.head.timestamp_ms);
        let message = wire::tree_head_message(tree_size, timestamp_ms, &root);
        TreeHead {
            tree_size,
            timestamp_ms,
            root,
            signature: self.log_key.sign(&message).to_bytes(),
        }
    }
}

const SELECT_KEY: &str =
    "SELECT fingerprint, name, spki, log_index, status, status_index, published FROM keys";

fn read_key(row: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    let status: String = row.get(4)?;
    Ok(KeyRecord {
        fingerprint: row.get(0)?,
        name: row.get(1)?,
        spki: row.get(2)?,
        log_index: from_i64(row.get(3)?),
        status: Status::parse(&status).unwrap_or(Status::Revoked),
        status_index: row.get::<_, Option<i64>>(5)?.map(from_i64),
        published: from_i64(row.get(6)?),
    })
}

fn read_head(row: &rusqlite::Row<'_>) -> rusqlite::Result<TreeHead> {
    let root: Vec<u8> = row.get(2)?;
    let signature: Vec<u8> = row.get(3)?;
    Ok(TreeHead {
        tree_size: from_i64(row.get(0)?),
        timestamp_ms: from_i64(row.get(1)?),
        // A damaged row fails the signature check on open.
        root: root.try_into().unwrap_or_default(),
        signature: signature.try_into().unwrap_or([0; 64]),
    })
}

fn head_params(head: &TreeHead) -> (i64, i64, Vec<u8>, Vec<u8>) {
    (
        to_i64(head.tree_size),
        to_i64(head.timestamp_ms),
        head.root.to_vec(),
        head.signature.to_vec(),
    )
}

/// Reads every entry in order into a Merkle tree and a replay, checking that indexes are
/// dense and that every entry keeps the log's rules.
fn load_tree(conn: &Connection, db: &Path) -> Result<(Tree, Replay), StoreError> {
    let tampered = |reason: String| StoreError::Tampered {
        path: db.to_path_buf(),
        reason,
    };
    let mut tree = Tree::new();
    let mut replay = Replay::new();
    let mut stmt = conn.prepare("SELECT idx, entry FROM log ORDER BY idx")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let idx = from_i64(row.get(0)?);
        let entry: Vec<u8> = row.get(1)?;
        if idx != tree.size() {
            return Err(tampered(format!("entry {} is missing", tree.size())));
        }
        replay.apply(&entry).map_err(|e| tampered(e.to_string()))?;
        tree.push(leaf_hash(&entry));
    }
    Ok((tree, replay))
}

fn busy(e: rusqlite::Error, db: &Path) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::InUse(db.to_path_buf())
        }
        _ => StoreError::Sqlite(e),
    }
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

/// Seconds since the Unix epoch.
pub fn unix_seconds(t: SystemTime) -> u64 {
    unix_ms(t) / 1000
}
