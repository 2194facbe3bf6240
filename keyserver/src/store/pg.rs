//! The PostgreSQL database: one log shared by several front ends.
//!
//! - **The log's lock** is the row of `log_meta` (which records the log's public key),
//!   taken `FOR UPDATE` by every append: appends are serialized in the database, so the
//!   Merkle tree never forks, while lookups read without waiting.
//! - **Challenges** are rows, redeemed with one `UPDATE … WHERE NOT used`, so a nonce
//!   issued by one front end is good at any other, once. Lifetimes use the database's
//!   clock, the same for every front end.
//!   The table is `UNLOGGED`: issuing and redeeming a nonce writes no WAL and waits for
//!   no disk, and a database crash empties it — every nonce is then unknown and refused,
//!   as after a SQLite server's restart, which costs a client a new challenge.
//! - **Failures**: a lost connection (the database down or restarting) is
//!   [`StoreError::Unavailable`] (answered 503); the next request connects again. A
//!   serialization failure or deadlock is [`StoreError::Conflict`] (decided again and
//!   retried by the registry); waiting more than 5 s for the log's lock (another front
//!   end's transaction stuck) is [`StoreError::Busy`], answered 503 at once. Sessions
//!   idle in a transaction for 30 s are ended by the database, so a front end that
//!   vanishes mid-append holds the lock that long at most. A front end killed mid-append leaves an
//!   open transaction that the database rolls back when the connection drops.
//! - **Schema**: versions in `keylab_schema`, applied at connect under an advisory lock
//!   (front ends starting together migrate once); a newer version is refused.

use postgres::error::SqlState;
use postgres::{Client, GenericClient, Row};

use super::db::{Db, Reader, Rows};
use super::{Change, KeyRecord, PgTarget, Status, StoreError, from_i64, to_i64};
use crate::challenge::{MAX_OUTSTANDING, NONCE_LIFETIME, NonceError, Now};
use crate::wire::{Nonce, TreeHead};

/// Schema migrations, applied in order; version N is `MIGRATIONS[N - 1]`.
const MIGRATIONS: &[&str] = &["
CREATE TABLE log (
    idx bigint PRIMARY KEY,
    entry bytea NOT NULL
);
CREATE TABLE keys (
    fingerprint text COLLATE \"C\" PRIMARY KEY,
    name text NOT NULL,
    spki bytea NOT NULL,
    log_index bigint NOT NULL,
    status text NOT NULL CHECK (status IN ('current', 'superseded', 'revoked')),
    status_index bigint,
    published bigint NOT NULL
);
CREATE INDEX keys_by_name ON keys (name, log_index);
CREATE UNIQUE INDEX one_current_key ON keys (name) WHERE status = 'current';
CREATE TABLE heads (
    tree_size bigint PRIMARY KEY,
    timestamp_ms bigint NOT NULL,
    root bytea NOT NULL,
    signature bytea NOT NULL
);
CREATE TABLE log_meta (
    id integer PRIMARY KEY CHECK (id = 1),
    log_key bytea NOT NULL
);
CREATE UNLOGGED TABLE challenges (
    nonce bytea PRIMARY KEY,
    issued_ms bigint NOT NULL,
    used boolean NOT NULL DEFAULT false
);
CREATE INDEX challenges_by_age ON challenges (issued_ms);
"];

/// Any number below 2^63: the advisory lock taken while migrating.
const MIGRATION_LOCK: i64 = 0x6b65_796c_6162; // "keylab"

/// Challenges issued between two purges of old ones.
const PURGE_EVERY: u32 = 256;

/// A PostgreSQL log, connected on demand.
pub struct PgDb {
    target: PgTarget,
    client: Option<Client>,
    issued: u32,
}

impl PgDb {
    /// Connects to `target` and brings its schema up to date; `create` lets it create
    /// the schema in a database that has none (`init`, `migrate`), where a front end
    /// finds none and says so, without creating anything.
    pub(crate) fn connect(target: &PgTarget, create: bool) -> Result<Self, StoreError> {
        let mut db = Self {
            target: target.clone(),
            client: None,
            issued: 0,
        };
        let shown = target.to_string();
        db.run(|c| migrate(c, &shown, create))?;
        Ok(db)
    }

    /// Runs `f` on a connection (made now if there is none); a lost connection is
    /// dropped and reported as [`StoreError::Unavailable`].
    fn run<T>(
        &mut self,
        f: impl FnOnce(&mut Client) -> Result<T, Failed>,
    ) -> Result<T, StoreError> {
        let shown = self.target.to_string();
        let client = match self.client.take() {
            Some(c) if !c.is_closed() => self.client.insert(c),
            _ => {
                let c = self.target.connect().map_err(|e| unavailable(&e, &shown))?;
                self.client.insert(c)
            }
        };
        let result = f(client).map_err(|failed| match failed {
            Failed::Pg(e) => classify(&e, &shown),
            Failed::Store(e) => e,
        });
        if client.is_closed() || matches!(result, Err(StoreError::Unavailable { .. })) {
            self.client = None;
        }
        result
    }

    /// Copies rows into an empty database in one transaction: the log's public key, the
    /// entries (with their key-index rows) and the heads.
    pub(crate) fn copy_in(
        &mut self,
        log_key_spki: &[u8],
        fill: &mut dyn FnMut(&mut dyn Copier) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute("INSERT INTO log_meta VALUES (1, $1)", &[&log_key_spki])?;
            fill(&mut PgCopier(&mut tx))?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Whether the database holds no log: no entries and no recorded log key.
    pub(crate) fn is_empty(&mut self) -> Result<bool, StoreError> {
        self.run(|c| {
            let meta = c.query_opt("SELECT 1 FROM log_meta", &[])?;
            let entry = c.query_opt("SELECT 1 FROM log LIMIT 1", &[])?;
            Ok(meta.is_none() && entry.is_none())
        })
    }
}

/// A failure inside [`PgDb::run`]: the database's, or the store's own.
enum Failed {
    Pg(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for Failed {
    fn from(e: postgres::Error) -> Self {
        Self::Pg(e)
    }
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

fn unavailable(e: &postgres::Error, shown: &str) -> StoreError {
    tracing::warn!("database {shown}: {e}");
    StoreError::Unavailable {
        db: shown.to_owned(),
        reason: describe(e),
    }
}

/// The server's own message for a database error (`postgres::Error` shows only "db
/// error"), or the error and its cause.
fn describe(e: &postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => db.message().to_owned(),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

/// What a failed statement means for the caller: the connection lost (retry later), a
/// conflict (decide again), or a plain error.
fn classify(e: &postgres::Error, shown: &str) -> StoreError {
    let code = e.code();
    let lost = e.is_closed()
        || code.is_some_and(|c| {
            [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(c)
                || c.code().starts_with("08")
        })
        || (code.is_none() && is_io(e));
    if lost {
        return unavailable(e, shown);
    }
    match code {
        Some(c)
            if [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
            ]
            .contains(c) =>
        {
            StoreError::Conflict
        }
        Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE || *c == SqlState::QUERY_CANCELED => {
            StoreError::Busy(describe(e))
        }
        Some(c)
            if [
                SqlState::INVALID_CATALOG_NAME,
                SqlState::INVALID_PASSWORD,
                SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                SqlState::INSUFFICIENT_PRIVILEGE,
            ]
            .contains(c) =>
        {
            StoreError::Config(format!("{shown}: {}", describe(e)))
        }
        _ => StoreError::Postgres(describe(e)),
    }
}

fn is_io(e: &postgres::Error) -> bool {
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// Inserting copied rows (see [`PgDb::copy_in`]).
pub(crate) trait Copier {
    /// One entry and, when it publishes or changes a key, the index rows as they stand.
    fn entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), StoreError>;
    /// One key-index row.
    fn key(&mut self, key: &KeyRecord) -> Result<(), StoreError>;
    /// One signed head.
    fn head(&mut self, head: &TreeHead) -> Result<(), StoreError>;
    /// The latest signed head copied so far.
    fn latest_head(&mut self) -> Result<Option<TreeHead>, StoreError>;
}

struct PgCopier<'a, 'b>(&'a mut postgres::Transaction<'b>);

impl Copier for PgCopier<'_, '_> {
    fn entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.0
            .execute("INSERT INTO log VALUES ($1, $2)", &[&to_i64(index), &bytes])
            .map_err(pg_error)?;
        Ok(())
    }

    fn key(&mut self, key: &KeyRecord) -> Result<(), StoreError> {
        self.0
            .execute(
                "INSERT INTO keys VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &key.fingerprint,
                    &key.name,
                    &key.spki,
                    &to_i64(key.log_index),
                    &key.status.as_str(),
                    &key.status_index.map(to_i64),
                    &to_i64(key.published),
                ],
            )
            .map_err(pg_error)?;
        Ok(())
    }

    fn head(&mut self, head: &TreeHead) -> Result<(), StoreError> {
        insert_head(self.0, head).map_err(pg_error)
    }

    fn latest_head(&mut self) -> Result<Option<TreeHead>, StoreError> {
        latest_head(self.0).map_err(pg_error)
    }
}

/// Brings the schema to the newest version under an advisory lock, refusing one newer
/// than this program.
fn migrate(c: &mut Client, shown: &str, create: bool) -> Result<(), Failed> {
    let known = MIGRATIONS.len() as i64;
    // Up to date: no DDL, so a front end needs no right to create anything.
    if let Some(found) = schema_version(c)? {
        if found > known {
            return Err(Failed::Store(StoreError::SchemaTooNew {
                db: shown.to_owned(),
                found,
                known,
            }));
        }
        if found == known {
            return Ok(());
        }
    } else if !create {
        return Err(Failed::Store(super::not_created(shown)));
    }
    let mut tx = c.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS keylab_schema (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0)::bigint FROM keylab_schema",
            &[],
        )?
        .try_get(0)?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(Failed::Store(StoreError::SchemaTooNew {
            db: shown.to_owned(),
            found,
            known,
        }));
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(sql)?;
        let version = i32::try_from(version + 1).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO keylab_schema (version) VALUES ($1)",
            &[&version],
        )?;
        tracing::info!("database {shown}: schema version {version} applied");
    }
    tx.commit()?;
    Ok(())
}

/// The schema version recorded, or `None` when there is no keylab schema here.
fn schema_version(c: &mut Client) -> Result<Option<i64>, postgres::Error> {
    let exists: bool = c
        .query_one("SELECT to_regclass('keylab_schema') IS NOT NULL", &[])?
        .try_get(0)?;
    if !exists {
        return Ok(None);
    }
    let found: i64 = c
        .query_one(
            "SELECT COALESCE(max(version), 0)::bigint FROM keylab_schema",
            &[],
        )?
        .try_get(0)?;
    Ok(Some(found))
}

/// Reads through any client or transaction.
struct Reads<'a, C: GenericClient>(&'a mut C);

impl<C: GenericClient> Reader for Reads<'_, C> {
    fn latest_head(&mut self) -> Result<Option<TreeHead>, StoreError> {
        latest_head(self.0).map_err(pg_error)
    }

    fn entries(&mut self, start: u64, end: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        entries(self.0, start, end).map_err(pg_error)
    }

    fn key_by_fingerprint(&mut self, fpr: &str) -> Result<Option<KeyRecord>, StoreError> {
        key_by_fingerprint(self.0, fpr).map_err(pg_error)
    }

    fn key_by_name(&mut self, name: &str) -> Result<Option<KeyRecord>, StoreError> {
        key_by_name(self.0, name).map_err(pg_error)
    }
}

/// A failure of a read inside a transaction's callback.
fn pg_error(e: postgres::Error) -> StoreError {
    classify(&e, "PostgreSQL")
}

impl Reader for PgDb {
    fn latest_head(&mut self) -> Result<Option<TreeHead>, StoreError> {
        self.run(|c| Ok(latest_head(c)?))
    }

    fn entries(&mut self, start: u64, end: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.run(|c| Ok(entries(c, start, end)?))
    }

    fn key_by_fingerprint(&mut self, fpr: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.run(|c| Ok(key_by_fingerprint(c, fpr)?))
    }

    fn key_by_name(&mut self, name: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.run(|c| Ok(key_by_name(c, name)?))
    }
}

impl Db for PgDb {
    fn shared(&self) -> bool {
        true
    }

    fn entry(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(|c| {
            let row = c.query_opt("SELECT entry FROM log WHERE idx = $1", &[&to_i64(index)])?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn history(&mut self, name: &str, limit: usize) -> Result<Vec<KeyRecord>, StoreError> {
        self.run(|c| {
            let rows = c.query(
                &format!("{SELECT_KEY} WHERE name = $1 ORDER BY log_index LIMIT $2"),
                &[&name, &to_i64(limit as u64)],
            )?;
            Ok(rows.iter().map(read_key).collect::<Result<_, _>>()?)
        })
    }

    fn keys_after(&mut self, after: &str, limit: usize) -> Result<Vec<KeyRecord>, StoreError> {
        self.run(|c| {
            // The column is COLLATE "C": byte order, as SQLite and Rust sort the
            // fingerprints, and the primary key's index serves the range.
            let rows = c.query(
                &format!("{SELECT_KEY} WHERE fingerprint > $1 ORDER BY fingerprint LIMIT $2"),
                &[&after, &to_i64(limit as u64)],
            )?;
            Ok(rows.iter().map(read_key).collect::<Result<_, _>>()?)
        })
    }

    fn recorded_log_key(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(|c| {
            let row = c.query_opt("SELECT log_key FROM log_meta WHERE id = 1", &[])?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn start_log(&mut self, head: &TreeHead, log_key_spki: &[u8]) -> Result<(), StoreError> {
        self.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO log_meta VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                &[&log_key_spki],
            )?;
            // Another init may have got there first, with another key.
            let recorded: Vec<u8> = tx
                .query_one("SELECT log_key FROM log_meta WHERE id = 1 FOR UPDATE", &[])?
                .try_get(0)?;
            if recorded != log_key_spki {
                return Err(Failed::Store(StoreError::LogKey {
                    what: "given".into(),
                    reason: "another key was recorded for this log at the same time".into(),
                }));
            }
            if latest_head(&mut tx)?.is_none() {
                insert_head(&mut tx, head)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn append(
        &mut self,
        plan: &mut dyn FnMut(&mut dyn Reader) -> Result<Rows, StoreError>,
    ) -> Result<(), StoreError> {
        self.run(|c| {
            let mut tx = c.transaction()?;
            // The log's lock: held until COMMIT or ROLLBACK, by one append at a time.
            let meta = tx.query_opt("SELECT 1 FROM log_meta WHERE id = 1 FOR UPDATE", &[])?;
            if meta.is_none() {
                return Err(Failed::Store(StoreError::Config(
                    "no log here yet: create it with `keylab keyserver init`".into(),
                )));
            }
            let rows = plan(&mut Reads(&mut tx))?;
            write_rows(&mut tx, &rows)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn begin_snapshot(&mut self) -> Result<(), StoreError> {
        self.run(|c| Ok(c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?))
    }

    fn end_snapshot(&mut self) -> Result<(), StoreError> {
        self.run(|c| Ok(c.batch_execute("COMMIT")?))
    }

    fn issue_challenge(&mut self, nonce: &Nonce, _now: Now) -> Result<(), StoreError> {
        self.issued = self.issued.wrapping_add(1);
        let purge = self.issued % PURGE_EVERY == 1;
        self.run(|c| {
            if purge {
                purge_challenges(c)?;
            }
            c.execute(
                &format!("INSERT INTO challenges (nonce, issued_ms) VALUES ($1, {DB_NOW_MS})"),
                &[&nonce.as_slice()],
            )?;
            Ok(())
        })
    }

    fn redeem_challenge(
        &mut self,
        nonce: &Nonce,
        _now: Now,
    ) -> Result<Result<(), NonceError>, StoreError> {
        self.run(|c| {
            let used = c.execute(
                &format!(
                    "UPDATE challenges SET used = true \
                     WHERE nonce = $1 AND NOT used AND issued_ms > {DB_NOW_MS} - $2"
                ),
                &[&nonce.as_slice(), &lifetime_ms()],
            )?;
            if used == 1 {
                return Ok(Ok(()));
            }
            let row = c.query_opt(
                "SELECT used FROM challenges WHERE nonce = $1",
                &[&nonce.as_slice()],
            )?;
            Ok(Err(
                match row.map(|r| r.try_get::<_, bool>(0)).transpose()? {
                    None => NonceError::Unknown,
                    Some(true) => NonceError::AlreadyUsed,
                    Some(false) => NonceError::Expired,
                },
            ))
        })
    }
}

/// The database's clock in milliseconds since the Unix epoch: every front end measures
/// a nonce's lifetime by the same clock, whatever its own says.
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

fn lifetime_ms() -> i64 {
    i64::try_from(NONCE_LIFETIME.as_millis()).unwrap_or(i64::MAX)
}

/// Forgets nonces issued two lifetimes ago (a used one is remembered that long, for a
/// precise refusal), and the oldest beyond [`MAX_OUTSTANDING`], as
/// [`crate::challenge::Challenges`] does in memory.
fn purge_challenges(c: &mut Client) -> Result<(), postgres::Error> {
    c.execute(
        &format!("DELETE FROM challenges WHERE issued_ms <= {DB_NOW_MS} - $1"),
        &[&(2 * lifetime_ms())],
    )?;
    c.execute(
        "DELETE FROM challenges WHERE nonce IN \
         (SELECT nonce FROM challenges ORDER BY issued_ms DESC OFFSET $1)",
        &[&to_i64(MAX_OUTSTANDING as u64)],
    )?;
    Ok(())
}

/// Inserts the entry, its key-index change and its tree head.
fn write_rows(tx: &mut impl GenericClient, rows: &Rows) -> Result<(), postgres::Error> {
    let at = to_i64(rows.index);
    tx.execute("INSERT INTO log VALUES ($1, $2)", &[&at, &rows.bytes])?;
    match &rows.change {
        Change::Publish | Change::Rotate { .. } => {
            if let Change::Rotate { previous } = &rows.change {
                tx.execute(
                    "UPDATE keys SET status = 'superseded', status_index = $1 \
                     WHERE fingerprint = $2",
                    &[&at, previous],
                )?;
            }
            tx.execute(
                "INSERT INTO keys VALUES ($1, $2, $3, $4, 'current', NULL, $5)",
                &[
                    &rows.fingerprint,
                    &rows.name,
                    &rows.spki,
                    &at,
                    &to_i64(rows.timestamp),
                ],
            )?;
        }
        Change::Revoke { fingerprint } => {
            tx.execute(
                "UPDATE keys SET status = 'revoked', status_index = $1 WHERE fingerprint = $2",
                &[&at, fingerprint],
            )?;
        }
    }
    insert_head(tx, &rows.head)
}

fn insert_head(c: &mut impl GenericClient, head: &TreeHead) -> Result<(), postgres::Error> {
    c.execute(
        "INSERT INTO heads VALUES ($1, $2, $3, $4)",
        &[
            &to_i64(head.tree_size),
            &to_i64(head.timestamp_ms),
            &head.root.as_slice(),
            &head.signature.as_slice(),
        ],
    )?;
    Ok(())
}

fn latest_head(c: &mut impl GenericClient) -> Result<Option<TreeHead>, postgres::Error> {
    let row = c.query_opt(
        "SELECT tree_size, timestamp_ms, root, signature FROM heads \
         ORDER BY tree_size DESC LIMIT 1",
        &[],
    )?;
    row.as_ref().map(read_head).transpose()
}

fn entries(
    c: &mut impl GenericClient,
    start: u64,
    end: u64,
) -> Result<Vec<(u64, Vec<u8>)>, postgres::Error> {
    let rows = c.query(
        "SELECT idx, entry FROM log WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        &[&to_i64(start), &to_i64(end)],
    )?;
    rows.iter()
        .map(|r| Ok((from_i64(r.try_get(0)?), r.try_get(1)?)))
        .collect()
}

fn key_by_fingerprint(
    c: &mut impl GenericClient,
    fpr: &str,
) -> Result<Option<KeyRecord>, postgres::Error> {
    let row = c.query_opt(&format!("{SELECT_KEY} WHERE fingerprint = $1"), &[&fpr])?;
    row.as_ref().map(read_key).transpose()
}

fn key_by_name(
    c: &mut impl GenericClient,
    name: &str,
) -> Result<Option<KeyRecord>, postgres::Error> {
    let row = c.query_opt(
        &format!("{SELECT_KEY} WHERE name = $1 ORDER BY log_index DESC LIMIT 1"),
        &[&name],
    )?;
    row.as_ref().map(read_key).transpose()
}

const SELECT_KEY: &str =
    "SELECT fingerprint, name, spki, log_index, status, status_index, published FROM keys";

fn read_key(row: &Row) -> Result<KeyRecord, postgres::Error> {
    let status: String = row.try_get(4)?;
    Ok(KeyRecord {
        fingerprint: row.try_get(0)?,
        name: row.try_get(1)?,
        spki: row.try_get(2)?,
        log_index: from_i64(row.try_get(3)?),
        status: Status::parse(&status).unwrap_or(Status::Revoked),
        status_index: row.try_get::<_, Option<i64>>(5)?.map(from_i64),
        published: from_i64(row.try_get(6)?),
    })
}

fn read_head(row: &Row) -> Result<TreeHead, postgres::Error> {
    let root: Vec<u8> = row.try_get(2)?;
    let signature: Vec<u8> = row.try_get(3)?;
    Ok(TreeHead {
        tree_size: from_i64(row.try_get(0)?),
        timestamp_ms: from_i64(row.try_get(1)?),
        // A damaged row fails the signature check.
        root: root.try_into().unwrap_or_default(),
        signature: signature.try_into().unwrap_or([0; 64]),
    })
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}
