//! The key server's storage: the transparency log, an index of keys by fingerprint and
//! name, every signed tree head and the outstanding challenge nonces, in SQLite (one
//! process, the default) or PostgreSQL (several front ends on one database); and the
//! log's Ed25519 signing key, which is never stored in the database.
//!
//! ```text
//! log   (idx, entry)                       the Merkle leaves, 0-based, append-only
//! keys  (fingerprint, name, spki, log_index, status, status_index, published)
//! heads (tree_size, timestamp_ms, root, signature)
//! ```
//!
//! Durability: every change — the log entry, the key index and the new signed tree head —
//! is one transaction, and a caller is answered only after it commits, so an acknowledged
//! key survives `kill -9` and a half-appended entry never exists. (The `sqlite` and `pg`
//! modules say how each database is set up for it.) schemas are versioned and migrated at start, and
//! a database newer than this program is refused.
//!
//! Several front ends, one log (PostgreSQL): an append takes the log's lock in its
//! transaction, catches this process's Merkle tree up with entries other front ends
//! committed, re-checks what the statement assumed (the name still free, the key still
//! current) and only then appends and signs; a statement overtaken by another front end
//! fails with [`StoreError::Conflict`] and the registry decides again. Before answering
//! a lookup the store reads the newest tree head, so an answer never goes back in time.
//!
//! On open the whole log is read back in batches and replayed ([`crate::replay`]: every
//! entry decoded, its signatures checked, the name policy applied), its root compared
//! with the latest signed tree head, and the key index compared with the one the log
//! implies: a database edited behind the server's back refuses to start.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::challenge::{NonceError, Now};
use crate::keys::signing_key;
pub use crate::logkey::log_key_path;
use crate::logkey::{load_or_create_log_key, read_log_key as read_log_key_file};
use crate::merkle::{Tree, leaf_hash};
use crate::replay::Replay;
use crate::wire::{LogEntry, Nonce, TreeHead};

mod db;
mod log;
pub mod migrate;
pub(crate) mod pg;
pub mod pgconf;
mod records;
pub(crate) mod sqlite;

use db::{Db, Rows};
use log::{Log, check_change, load_tree};
pub use pgconf::PgTarget;
pub use records::{Change, KeyRecord, Status};

/// Entries read from the database at a time (start-up replay, catching up).
const BATCH: u64 = 1024;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (not a lost connection: see [`StoreError::Unavailable`]).
    #[error("database: {0}")]
    Postgres(String),
    /// The database cannot be reached (down, restarting, connection lost, or refusing
    /// the login): the request may be retried.
    #[error("the database {db} is unavailable: {reason}")]
    Unavailable {
        /// The database.
        db: String,
        /// What failed.
        reason: String,
    },
    /// The log's lock was not free within the lock timeout (another front end's
    /// transaction is stuck or slow): answered 503 at once.
    #[error("the log is busy: {0}")]
    Busy(String),
    /// Another front end changed what a statement assumed, or the database reported a
    /// serialization conflict: decide again and retry.
    #[error("a concurrent change overtook this one")]
    Conflict,
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
    /// The database URL or settings are not usable.
    #[error("{0}")]
    Config(String),
    /// The database's schema is newer than this program.
    #[error(
        "{db}: the database schema is version {found}, newer than this keylab knows ({known}); \
         run a newer keylab"
    )]
    SchemaTooNew {
        /// The database.
        db: String,
        /// The version found.
        found: i64,
        /// The newest version this program knows.
        known: i64,
    },
    /// The log key is missing, unreadable or not the one that signed the log.
    #[error("log key {what}: {reason}")]
    LogKey {
        /// Where the key came from (a file, or the share servers).
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The stored log does not match its signed tree head.
    #[error("{db}: the log was altered: {reason}")]
    Tampered {
        /// The database.
        db: String,
        /// What does not match.
        reason: String,
    },
}

/// Where the log lives: a SQLite file or a PostgreSQL database.
#[derive(Clone, Debug)]
pub enum Location {
    /// A SQLite database file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PgTarget),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is PostgreSQL ([`PgTarget::parse`]); anything
    /// else is a SQLite file.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        if PgTarget::is_url(text) {
            Ok(Self::Postgres(PgTarget::parse(text)?))
        } else {
            Ok(Self::Sqlite(PathBuf::from(text)))
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(target) => write!(f, "{target}"),
        }
    }
}

/// Where the log's signing key comes from.
pub enum LogKey {
    /// The file beside a SQLite database ([`log_key_path`]), created for a new log.
    Beside,
    /// A PKCS#8 PEM file.
    File(PathBuf),
    /// PEM text rebuilt elsewhere (from share servers); `what` says from where.
    Pem {
        /// The key.
        pem: Zeroizing<String>,
        /// Where it came from, for errors.
        what: String,
    },
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Beside => f.write_str("Beside"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Pem { what, .. } => f.debug_struct("Pem").field("what", what).finish(),
        }
    }
}

/// The database, the log's Merkle tree, the log key and the latest signed tree head.
pub struct Store {
    db: Box<dyn Db>,
    log: Log,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("db", &self.log.name)
            .field("size", &self.log.tree.size())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database `db` and its log key beside it
    /// (generated with `rng` for a new, empty log), and checks the log against its latest
    /// signed tree head.
    pub fn open<R: CryptoRng + ?Sized>(
        db: &Path,
        rng: &mut R,
        now: SystemTime,
    ) -> Result<Self, StoreError> {
        Self::connect(
            &Location::Sqlite(db.to_path_buf()),
            LogKey::Beside,
            rng,
            now,
        )
    }

    /// Opens the log at `location` with its key from `key`, and checks it. A SQLite log
    /// is created on first use; a PostgreSQL one must have been made with
    /// [`Store::init`], and `key` must match the public key recorded there.
    pub fn connect<R: CryptoRng + ?Sized>(
        location: &Location,
        key: LogKey,
        rng: &mut R,
        now: SystemTime,
    ) -> Result<Self, StoreError> {
        let (db, create): (Box<dyn Db>, bool) = match location {
            Location::Sqlite(path) => (Box::new(sqlite::SqliteDb::open(path)?), true),
            Location::Postgres(target) => (Box::new(pg::PgDb::connect(target, false)?), false),
        };
        Self::load(db, location.to_string(), key, rng, now, create)
    }

    /// Opens an existing SQLite log to copy it: nothing is created or changed in it
    /// (no schema migration, no new key), and it stays locked against key servers
    /// until the store is dropped. Its key is the file beside it.
    pub(crate) fn open_source<R: CryptoRng + ?Sized>(
        path: &Path,
        rng: &mut R,
        now: SystemTime,
    ) -> Result<Self, StoreError> {
        let db = Box::new(sqlite::SqliteDb::open_existing(path, true)?);
        let key = LogKey::File(log_key_path(path));
        Self::load(db, path.display().to_string(), key, rng, now, false)
    }

    /// Creates the PostgreSQL log at `target`: the log key file `key_file` (mode 0600;
    /// an existing one is used as it is), its public key recorded in the database and the
    /// signed head of the empty log. An initialised log with the same key is opened as
    /// it is; with another key it is refused.
    pub fn init<R: CryptoRng + ?Sized>(
        target: &PgTarget,
        key_file: &Path,
        rng: &mut R,
        now: SystemTime,
    ) -> Result<Self, StoreError> {
        let mut db = Box::new(pg::PgDb::connect(target, true)?);
        if !key_file.exists() {
            // Made only for a log that has no key yet: never an orphan key file.
            if let Some(recorded) = db.recorded_log_key()? {
                return Err(StoreError::LogKey {
                    what: key_file.display().to_string(),
                    reason: format!(
                        "no such file, and the log exists already with key {}: give its \
                         key file",
                        pki::fingerprint(&recorded)
                    ),
                });
            }
            load_or_create_log_key(key_file, 0, rng)?;
        }
        let key = LogKey::File(key_file.to_path_buf());
        Self::load(db, target.to_string(), key, rng, now, true).map_err(|e| match e {
            StoreError::LogKey { reason, .. } => StoreError::LogKey {
                what: key_file.display().to_string(),
                reason,
            },
            e => e,
        })
    }

    /// Reads the log back and checks it (module docs); `create` lets it start a new, empty
    /// log (a SQLite file opened by `serve`, `keyserver init`), where a front end of a
    /// shared log or the source of a migration must find one.
    fn load<R: CryptoRng + ?Sized>(
        mut db: Box<dyn Db>,
        name: String,
        key: LogKey,
        rng: &mut R,
        now: SystemTime,
        create: bool,
    ) -> Result<Self, StoreError> {
        // One consistent view for the start-up checks: other front ends may append
        // meanwhile (PostgreSQL: one REPEATABLE READ transaction).
        db.begin_snapshot()?;
        let read = read_start(&mut *db, &name);
        db.end_snapshot()?;
        let start = read?;
        if db.shared() && !create && start.recorded.is_none() {
            return Err(not_created(&name));
        }
        let (key, what) = read_log_key(key, &name, start.tree.size(), rng)?;
        let public =
            pki::PublicKey::ed25519_from_raw(key.verifying_key().as_bytes()).map_err(|e| {
                StoreError::LogKey {
                    what: what.clone(),
                    reason: e.to_string(),
                }
            })?;
        if let Some(spki) = start.recorded.filter(|spki| spki != public.spki_der()) {
            return Err(not_the_log_key(&what, &spki));
        }
        let log = Log {
            name,
            tree: start.tree,
            key,
            public,
            head: TreeHead::default(),
        };
        let mut store = Self { db, log };
        match start.head {
            Some(head) => store.log.check_head(head, &what)?,
            None if store.log.tree.size() == 0 && create => {
                // A new log: sign the empty tree.
                let head = store.log.sign_head(0, now);
                let spki = store.log.public.spki_der().to_vec();
                store.db.start_log(&head, &spki)?;
                store.log.head = head;
            }
            None if store.log.tree.size() == 0 && store.db.shared() => {
                return Err(not_created(&store.log.name));
            }
            None if store.log.tree.size() == 0 => {
                return Err(StoreError::Config(format!(
                    "{}: no signed tree head: not a key server's log",
                    store.log.name
                )));
            }
            None => return Err(store.log.tampered("entries without a signed tree head")),
        }
        match start.index_mismatch {
            Some(reason) => Err(store.log.tampered(&reason)),
            None => Ok(store),
        }
    }

    /// The latest signed tree head this process has seen (see [`Store::refresh`]).
    pub fn head(&self) -> &TreeHead {
        &self.log.head
    }

    /// The log's public key.
    pub fn log_public_key(&self) -> &pki::PublicKey {
        &self.log.public
    }

    /// The Merkle tree of the log, up to [`Store::head`].
    pub fn tree(&self) -> &Tree {
        &self.log.tree
    }

    /// Where the log lives, for messages.
    pub fn name(&self) -> &str {
        &self.log.name
    }

    /// Catches up with entries other front ends appended to a shared database and takes
    /// its newest signed head (a no-op for SQLite, which one process holds).
    pub fn refresh(&mut self) -> Result<(), StoreError> {
        if !self.db.shared() {
            return Ok(());
        }
        match self.db.latest_head()? {
            Some(head) => self.log.catch_up(head, &mut *self.db),
            None => Err(self.log.tampered("the signed tree heads are gone")),
        }
    }

    /// The bytes of log entry `index`.
    pub fn entry(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.entry(index)
    }

    /// The bytes of log entries `start..end` (`end` exclusive; fewer if the log is
    /// shorter).
    pub fn entries(&mut self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows = self.db.entries(start, end)?;
        Ok(rows.into_iter().map(|(_, entry)| entry).collect())
    }

    /// The key with this fingerprint.
    pub fn key_by_fingerprint(&mut self, fpr: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.db.key_by_fingerprint(fpr)
    }

    /// The latest key published for `name` (current, or revoked when the name's last key
    /// was revoked).
    pub fn key_by_name(&mut self, name: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.db.key_by_name(name)
    }

    /// Every key ever published for `name`, oldest first (at most `limit`).
    pub fn history(&mut self, name: &str, limit: usize) -> Result<Vec<KeyRecord>, StoreError> {
        self.db.history(name, limit)
    }

    /// Records a fresh challenge nonce.
    pub fn issue_challenge(&mut self, nonce: &Nonce, now: Now) -> Result<(), StoreError> {
        self.db.issue_challenge(nonce, now)
    }

    /// Uses a challenge nonce up: once, before it expires, whichever front end issued it.
    pub fn redeem_challenge(
        &mut self,
        nonce: &Nonce,
        now: Now,
    ) -> Result<Result<(), NonceError>, StoreError> {
        self.db.redeem_challenge(nonce, now)
    }

    /// Appends `entry` to the log, applies `change` to the key index and signs the new
    /// tree head, all in one transaction under the log's lock; returns the entry's index
    /// once committed. [`StoreError::Conflict`] if another front end got there first and
    /// `change` no longer applies (nothing was written: decide again).
    pub fn append(
        &mut self,
        entry: &LogEntry,
        change: &Change,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        let bytes = entry.encode();
        let log = &mut self.log;
        let mut planned: Option<(u64, TreeHead)> = None;
        let result = self.db.append(&mut |tx| {
            if let Some((index, _)) = planned.take() {
                log.tree.truncate(index);
            }
            if let Some(head) = tx.latest_head()? {
                log.catch_up(head, tx)?;
            }
            check_change(tx, entry, change)?;
            let index = log.tree.size();
            log.tree.push(leaf_hash(&bytes));
            let head = log.sign_head(index + 1, now);
            planned = Some((index, head.clone()));
            Ok(Rows {
                index,
                bytes: bytes.clone(),
                fingerprint: pki::fingerprint(&entry.spki),
                name: entry.name.clone(),
                spki: entry.spki.clone(),
                timestamp: entry.timestamp,
                change: change.clone(),
                head,
            })
        });
        match (result, planned) {
            (Ok(()), Some((index, head))) => {
                self.log.head = head;
                Ok(index)
            }
            (Ok(()), None) => Err(StoreError::Conflict),
            (Err(e), planned) => {
                if let Some((index, _)) = planned {
                    self.log.tree.truncate(index);
                }
                Err(e)
            }
        }
    }
}

/// What the start-up checks read, in one snapshot.
struct Start {
    tree: Tree,
    recorded: Option<Vec<u8>>,
    head: Option<TreeHead>,
    /// Why the key index is not what the log implies, if it is not.
    index_mismatch: Option<String>,
}

fn read_start(db: &mut dyn Db, name: &str) -> Result<Start, StoreError> {
    let (tree, replay) = load_tree(db, name)?;
    Ok(Start {
        recorded: db.recorded_log_key()?,
        head: db.latest_head()?,
        index_mismatch: index_mismatch(db, &replay)?,
        tree,
    })
}

/// Whether the key index (what lookups are answered from) differs from what the log
/// implies — an edited status, key or name would otherwise be served as if logged — and
/// how. Reads the index in batches.
fn index_mismatch(db: &mut dyn Db, replay: &Replay) -> Result<Option<String>, StoreError> {
    let implied = replay.records();
    let mut expected = implied.iter();
    let mut after = String::new();
    let (mut seen, mut first_wrong) = (0usize, None);
    loop {
        let batch = db.keys_after(&after, BATCH as usize)?;
        let Some(last) = batch.last() else { break };
        after.clone_from(&last.fingerprint);
        for stored in &batch {
            seen += 1;
            if first_wrong.is_none() && expected.next() != Some(stored) {
                first_wrong = Some(stored.fingerprint.clone());
            }
        }
    }
    if seen != implied.len() {
        return Ok(Some(format!(
            "the key index holds {seen} keys, the log {}",
            implied.len()
        )));
    }
    Ok(first_wrong.map(|fpr| format!("the key index disagrees with the log about key {fpr}")))
}

fn not_the_log_key(what: &str, recorded: &[u8]) -> StoreError {
    StoreError::LogKey {
        what: what.to_owned(),
        reason: format!(
            "it is not the log's key: the database records key {} (a wrong or replaced key \
             file?)",
            pki::fingerprint(recorded)
        ),
    }
}

pub(crate) fn not_created(db: &str) -> StoreError {
    StoreError::Config(format!(
        "{db}: no log here yet: create it with `keylab keyserver init`"
    ))
}

/// The signing key from `key`, and what to call it in errors.
fn read_log_key<R: CryptoRng + ?Sized>(
    key: LogKey,
    db: &str,
    entries: u64,
    rng: &mut R,
) -> Result<(ed25519_dalek::SigningKey, String), StoreError> {
    match key {
        LogKey::Beside => {
            let path = log_key_path(Path::new(db));
            let key = load_or_create_log_key(&path, entries, rng)?;
            Ok((key, path.display().to_string()))
        }
        LogKey::File(path) => Ok((read_log_key_file(&path)?, path.display().to_string())),
        LogKey::Pem { pem, what } => {
            let bad = |reason: String| StoreError::LogKey {
                what: what.clone(),
                reason,
            };
            let key = pki::PrivateKey::from_pem(&pem).map_err(|e| bad(e.to_string()))?;
            Ok((signing_key(&key).map_err(bad)?, what.clone()))
        }
    }
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seconds since the Unix epoch.
pub fn unix_seconds(t: SystemTime) -> u64 {
    unix_ms(t) / 1000
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}
