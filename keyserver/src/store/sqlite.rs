//! The SQLite database: one file, one process. WAL journal with `synchronous = FULL`: a
//! commit is on disk (the WAL is fsynced) before `COMMIT` returns, so an acknowledged key
//! survives `kill -9` and power loss alike. (`NORMAL` would survive a crash of the process
//! but could lose the last commits on power loss.) The database is opened in exclusive
//! locking mode, so a second server on the same file fails at start instead of forking
//! the log. Challenge nonces live in this process's memory ([`Challenges`]).
//!
//! The schema version is SQLite's `user_version`; a file from before versioning (version
//! 0) is brought to version 1 by the same `CREATE … IF NOT EXISTS` statements.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};

use super::db::{Db, Reader, Rows};
use super::{Change, KeyRecord, Status, StoreError, from_i64, to_i64};
use crate::challenge::{Challenges, NonceError, Now};
use crate::wire::{Nonce, TreeHead};

/// Schema migrations, applied in order; version N is `MIGRATIONS[N - 1]`.
const MIGRATIONS: &[&str] = &["
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
"];

/// A SQLite log and this process's challenge nonces.
pub(crate) struct SqliteDb {
    path: PathBuf,
    conn: Connection,
    challenges: Challenges,
}

impl SqliteDb {
    /// Opens (creating if needed) `path`, takes it for this process and migrates it.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_millis(200))?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| busy(e, path))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Take the write lock now: a second server on this file fails here.
        conn.execute_batch("BEGIN IMMEDIATE; COMMIT;")
            .map_err(|e| busy(e, path))?;
        migrate(&conn, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn,
            challenges: Challenges::new(),
        })
    }

    /// Opens an existing key server database to read it: no file, table or key is
    /// created and nothing is written. With `lock`, the write lock is taken (and held
    /// until drop) so that no key server appends meanwhile; without, the connection is
    /// read-only.
    pub(crate) fn open_existing(path: &Path, lock: bool) -> Result<Self, StoreError> {
        use rusqlite::OpenFlags;
        let flags = if lock {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } else {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        };
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(Duration::from_millis(200))?;
        if lock {
            conn.execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| busy(e, path))?;
        }
        schema_version(&conn, path)?;
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('log', 'keys', 'heads')",
            [],
            |row| row.get(0),
        )?;
        if tables != 3 {
            return Err(StoreError::Config(format!(
                "{}: not a keylab key server database (no log, keys and heads tables)",
                path.display()
            )));
        }
        Ok(Self {
            path: path.to_path_buf(),
            conn,
            challenges: Challenges::new(),
        })
    }

    /// Up to `limit` signed heads with tree sizes from `from`, in order (for copying the
    /// log elsewhere).
    pub(crate) fn heads_from(&self, from: u64, limit: usize) -> Result<Vec<TreeHead>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT tree_size, timestamp_ms, root, signature FROM heads \
             WHERE tree_size >= ?1 ORDER BY tree_size LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![to_i64(from), to_i64(limit as u64)], read_head)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The schema version (`user_version`), refused when newer than this program's.
fn schema_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::SchemaTooNew {
            db: path.display().to_string(),
            found,
            known,
        });
    }
    Ok(found)
}

/// Brings the schema to the newest version, refusing one newer than this program.
fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let found = schema_version(conn, path)?;
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Reads inside a transaction.
struct Reads<'a>(&'a Connection);

impl Reader for Reads<'_> {
    fn latest_head(&mut self) -> Result<Option<TreeHead>, StoreError> {
        latest_head(self.0)
    }

    fn entries(&mut self, start: u64, end: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        entries(self.0, start, end)
    }

    fn key_by_fingerprint(&mut self, fpr: &str) -> Result<Option<KeyRecord>, StoreError> {
        key_by_fingerprint(self.0, fpr)
    }

    fn key_by_name(&mut self, name: &str) -> Result<Option<KeyRecord>, StoreError> {
        key_by_name(self.0, name)
    }
}

impl Reader for SqliteDb {
    fn latest_head(&mut self) -> Result<Option<TreeHead>, StoreError> {
        latest_head(&self.conn)
    }

    fn entries(&mut self, start: u64, end: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        entries(&self.conn, start, end)
    }

    fn key_by_fingerprint(&mut self, fpr: &str) -> Result<Option<KeyRecord>, StoreError> {
        key_by_fingerprint(&self.conn, fpr)
    }

    fn key_by_name(&mut self, name: &str) -> Result<Option<KeyRecord>, StoreError> {
        key_by_name(&self.conn, name)
    }
}

impl Db for SqliteDb {
    fn shared(&self) -> bool {
        false
    }

    fn entry(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
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

    fn history(&mut self, name: &str, limit: usize) -> Result<Vec<KeyRecord>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_KEY} WHERE name = ?1 ORDER BY log_index LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![name, to_i64(limit as u64)], read_key)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn keys_after(&mut self, after: &str, limit: usize) -> Result<Vec<KeyRecord>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_KEY} WHERE fingerprint > ?1 ORDER BY fingerprint LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after, to_i64(limit as u64)], read_key)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn recorded_log_key(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        // The key file beside the database is the record; its signature on the latest
        // head is what binds it.
        Ok(None)
    }

    fn start_log(&mut self, head: &TreeHead, _log_key_spki: &[u8]) -> Result<(), StoreError> {
        insert_head(&self.conn, head)
    }

    fn append(
        &mut self,
        plan: &mut dyn FnMut(&mut dyn Reader) -> Result<Rows, StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rows = plan(&mut Reads(&tx))?;
        write_rows(&tx, &rows)?;
        tx.commit()?;
        Ok(())
    }

    fn issue_challenge(&mut self, nonce: &Nonce, now: Now) -> Result<(), StoreError> {
        self.challenges.insert(*nonce, now.mono);
        Ok(())
    }

    fn redeem_challenge(
        &mut self,
        nonce: &Nonce,
        now: Now,
    ) -> Result<Result<(), NonceError>, StoreError> {
        Ok(self.challenges.redeem(nonce, now.mono))
    }
}

/// Inserts the entry, its key-index change and its tree head.
fn write_rows(tx: &Connection, rows: &Rows) -> Result<(), StoreError> {
    let at = to_i64(rows.index);
    tx.execute("INSERT INTO log VALUES (?1, ?2)", params![at, rows.bytes])?;
    match &rows.change {
        Change::Publish | Change::Rotate { .. } => {
            if let Change::Rotate { previous } = &rows.change {
                tx.execute(
                    "UPDATE keys SET status = 'superseded', status_index = ?1 \
                     WHERE fingerprint = ?2",
                    params![at, previous],
                )?;
            }
            tx.execute(
                "INSERT INTO keys VALUES (?1, ?2, ?3, ?4, 'current', NULL, ?5)",
                params![
                    rows.fingerprint,
                    rows.name,
                    rows.spki,
                    at,
                    to_i64(rows.timestamp)
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
    insert_head(tx, &rows.head)
}

fn insert_head(conn: &Connection, head: &TreeHead) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO heads VALUES (?1, ?2, ?3, ?4)",
        params![
            to_i64(head.tree_size),
            to_i64(head.timestamp_ms),
            head.root.to_vec(),
            head.signature.to_vec()
        ],
    )?;
    Ok(())
}

fn latest_head(conn: &Connection) -> Result<Option<TreeHead>, StoreError> {
    let head = conn
        .query_row(
            "SELECT tree_size, timestamp_ms, root, signature FROM heads \
             ORDER BY tree_size DESC LIMIT 1",
            [],
            read_head,
        )
        .optional()?;
    Ok(head)
}

fn entries(conn: &Connection, start: u64, end: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT idx, entry FROM log WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")?;
    let rows = stmt.query_map([to_i64(start), to_i64(end)], |row| {
        Ok((from_i64(row.get(0)?), row.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn key_by_fingerprint(conn: &Connection, fpr: &str) -> Result<Option<KeyRecord>, StoreError> {
    let key = conn
        .query_row(
            &format!("{SELECT_KEY} WHERE fingerprint = ?1"),
            [fpr],
            read_key,
        )
        .optional()?;
    Ok(key)
}

fn key_by_name(conn: &Connection, name: &str) -> Result<Option<KeyRecord>, StoreError> {
    let key = conn
        .query_row(
            &format!("{SELECT_KEY} WHERE name = ?1 ORDER BY log_index DESC LIMIT 1"),
            [name],
            read_key,
        )
        .optional()?;
    Ok(key)
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

fn busy(e: rusqlite::Error, db: &Path) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::InUse(db.to_path_buf())
        }
        _ => StoreError::Sqlite(e),
    }
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
