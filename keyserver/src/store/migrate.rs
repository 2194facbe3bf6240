//! Moving a SQLite log to PostgreSQL: the same entries, key index and signed heads, so
//! the same log key, tree and heads — clients that pinned the log notice nothing.
//!
//! The source is only read: opened without creating or changing anything, checked as a
//! server would (replay, root, index) and locked against key servers until the copy is
//! done. The target must be empty; everything is copied in one transaction, compared
//! with the source before it commits, and the target is then opened with the source's
//! key and checked as a front end would before the move counts as done.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rand_core::CryptoRng;

use super::pg::PgDb;
use super::sqlite::SqliteDb;
use super::{BATCH, Location, LogKey, PgTarget, Store, StoreError, log_key_path};
use crate::wire::TreeHead;

/// What a migration moved.
#[derive(Clone, Debug)]
pub struct Migrated {
    /// Log entries copied.
    pub entries: u64,
    /// Key-index rows copied.
    pub keys: u64,
    /// Signed tree heads copied.
    pub heads: u64,
    /// The latest head, the same on both sides.
    pub head: TreeHead,
    /// The log key file the PostgreSQL front ends need (`--log-key`).
    pub log_key: PathBuf,
}

/// Copies the SQLite log `from` (with its key beside it) into the empty PostgreSQL
/// database `to`, and checks the copy.
pub fn migrate<R: CryptoRng + ?Sized>(
    from: &Path,
    to: &PgTarget,
    rng: &mut R,
    now: SystemTime,
) -> Result<Migrated, StoreError> {
    if !from.is_file() {
        return Err(StoreError::Config(format!(
            "{}: no such SQLite database",
            from.display()
        )));
    }
    // Checked as a server would, and locked against key servers until the copy is done.
    let source = Store::open_source(from, rng, now)?;
    let head = source.head().clone();
    let spki = source.log_public_key().spki_der().to_vec();
    let mut target = PgDb::connect(to, true)?;
    if !target.is_empty()? {
        return Err(StoreError::Config(format!(
            "{to}: the database already holds a log: migrate into an empty database"
        )));
    }
    let mut src = SqliteDb::open_existing(from, false)?;
    let mut counts = (0u64, 0u64, 0u64);
    target.copy_in(&spki, &mut |copy| {
        counts = copy_rows(&mut src, copy)?;
        // Checked before COMMIT: a copy that differs leaves the target empty.
        if copy.latest_head()?.as_ref() != Some(&head) || counts.0 != head.tree_size {
            return Err(StoreError::Tampered {
                db: to.to_string(),
                reason: "the copy's latest head differs from the source's".into(),
            });
        }
        Ok(())
    })?;
    drop(src);
    let log_key = log_key_path(from);
    // Opened as a front end would: replay, root, key index, the recorded key.
    let check = Store::connect(
        &Location::Postgres(to.clone()),
        LogKey::File(log_key.clone()),
        rng,
        now,
    )?;
    drop(source);
    if check.head() != &head {
        return Err(StoreError::Tampered {
            db: to.to_string(),
            reason: "the copied log's latest head differs from the source's".into(),
        });
    }
    let (entries, keys, heads) = counts;
    Ok(Migrated {
        entries,
        keys,
        heads,
        head,
        log_key,
    })
}

/// Copies entries, keys and heads in batches; returns how many of each.
fn copy_rows(
    src: &mut SqliteDb,
    copy: &mut dyn super::pg::Copier,
) -> Result<(u64, u64, u64), StoreError> {
    use super::db::{Db as _, Reader as _};
    let mut entries = 0u64;
    loop {
        let batch = src.entries(entries, entries + BATCH)?;
        if batch.is_empty() {
            break;
        }
        for (index, bytes) in &batch {
            copy.entry(*index, bytes)?;
            entries += 1;
        }
    }
    let mut keys = 0u64;
    let mut after = String::new();
    loop {
        let batch = src.keys_after(&after, BATCH as usize)?;
        let Some(last) = batch.last() else { break };
        after.clone_from(&last.fingerprint);
        for key in &batch {
            copy.key(key)?;
            keys += 1;
        }
    }
    let mut heads = 0u64;
    let mut from = 0u64;
    loop {
        let batch = src.heads_from(from, BATCH as usize)?;
        let Some(last) = batch.last() else { break };
        from = last.tree_size + 1;
        for head in &batch {
            copy.head(head)?;
            heads += 1;
        }
    }
    Ok((entries, keys, heads))
}
