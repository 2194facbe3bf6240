//! What the [`Store`](super::Store) needs from a database: the rows of the log, the key
//! index, the signed tree heads and the challenge nonces. [`super::sqlite`] and
//! [`super::pg`] implement it.

use super::{Change, KeyRecord, StoreError};
use crate::challenge::{NonceError, Now};
use crate::wire::{Nonce, TreeHead};

/// Reads that an append makes under the log's lock, and that lookups make outside it.
pub(crate) trait Reader {
    /// The signed tree head with the largest tree size.
    fn latest_head(&mut self) -> Result<Option<TreeHead>, StoreError>;
    /// The entries with indexes in `start..end`, in order, each with its index (fewer if
    /// the log is shorter).
    fn entries(&mut self, start: u64, end: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// The key with this fingerprint.
    fn key_by_fingerprint(&mut self, fingerprint: &str) -> Result<Option<KeyRecord>, StoreError>;
    /// The latest key of `name`.
    fn key_by_name(&mut self, name: &str) -> Result<Option<KeyRecord>, StoreError>;
}

/// The rows one accepted statement adds: its entry, its key-index change and the tree
/// head that covers it.
#[derive(Clone, Debug)]
pub(crate) struct Rows {
    /// The entry's index.
    pub index: u64,
    /// The entry's bytes.
    pub bytes: Vec<u8>,
    /// The key the entry names: fingerprint, name, SPKI, timestamp.
    pub fingerprint: String,
    pub name: String,
    pub spki: Vec<u8>,
    pub timestamp: u64,
    /// What changes in the key index.
    pub change: Change,
    /// The new signed tree head (size `index + 1`).
    pub head: TreeHead,
}

/// A database holding one log.
pub(crate) trait Db: Reader + Send {
    /// Whether other processes may append to the same log (so that the newest head must
    /// be read before answering).
    fn shared(&self) -> bool;
    /// The bytes of entry `index`.
    fn entry(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every key of `name`, oldest first, at most `limit`.
    fn history(&mut self, name: &str, limit: usize) -> Result<Vec<KeyRecord>, StoreError>;
    /// Up to `limit` keys with fingerprints after `after`, in fingerprint order.
    fn keys_after(&mut self, after: &str, limit: usize) -> Result<Vec<KeyRecord>, StoreError>;
    /// The log's public key (SPKI DER) as recorded in the database, if it records one.
    fn recorded_log_key(&mut self) -> Result<Option<Vec<u8>>, StoreError>;
    /// Records the first tree head (of the empty log) and the log's public key.
    fn start_log(&mut self, head: &TreeHead, log_key_spki: &[u8]) -> Result<(), StoreError>;
    /// One transaction: takes the log's lock, calls `plan` (which may read, catch up
    /// and refuse with [`StoreError::Conflict`]), writes the rows it returns and commits.
    fn append(
        &mut self,
        plan: &mut dyn FnMut(&mut dyn Reader) -> Result<Rows, StoreError>,
    ) -> Result<(), StoreError>;
    /// Starts one consistent read-only view for the start-up checks (a no-op where no
    /// other process writes).
    fn begin_snapshot(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Ends [`Db::begin_snapshot`]'s view.
    fn end_snapshot(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Records a freshly drawn challenge nonce.
    fn issue_challenge(&mut self, nonce: &Nonce, now: Now) -> Result<(), StoreError>;
    /// Uses a challenge nonce up (once, before it expires).
    fn redeem_challenge(
        &mut self,
        nonce: &Nonce,
        now: Now,
    ) -> Result<Result<(), NonceError>, StoreError>;
}
