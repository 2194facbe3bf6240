//! What one process knows of the log — its Merkle tree, key and latest signed head — and
//! the checks that keep it honest: the start-up replay, catching up with other front
//! ends' entries, and re-checking a statement under the log's lock.

use std::time::SystemTime;

use ed25519_dalek::Signer as _;

use super::db::{Db, Reader};
use super::{BATCH, Change, Status, StoreError, unix_ms};
use crate::merkle::{Tree, leaf_hash};
use crate::replay::Replay;
use crate::wire::{self, LogEntry, TreeHead};

/// What this process knows of the log: its Merkle tree, key and latest signed head.
pub(super) struct Log {
    pub(super) name: String,
    pub(super) tree: Tree,
    pub(super) key: ed25519_dalek::SigningKey,
    pub(super) public: pki::PublicKey,
    pub(super) head: TreeHead,
}

impl Log {
    pub(super) fn check_head(&mut self, head: TreeHead, what: &str) -> Result<(), StoreError> {
        if !head.verify(&self.public) {
            return Err(StoreError::LogKey {
                what: what.to_owned(),
                reason: "it did not sign the latest tree head (wrong or replaced key file)".into(),
            });
        }
        self.accept_head(head)
    }

    /// Takes `head` as the latest if the tree (caught up to it) hashes to its root.
    fn accept_head(&mut self, head: TreeHead) -> Result<(), StoreError> {
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

    /// Brings the tree up to `head` with entries read through `reader` (appended by other
    /// front ends), checking the head's signature and root.
    pub(super) fn catch_up(
        &mut self,
        head: TreeHead,
        reader: &mut dyn Reader,
    ) -> Result<(), StoreError> {
        if head == self.head {
            return Ok(());
        }
        if head.tree_size < self.tree.size() {
            return Err(self.tampered(&format!(
                "the log shrank from {} to {} entries",
                self.tree.size(),
                head.tree_size
            )));
        }
        if !head.verify(&self.public) {
            return Err(self.tampered("a tree head is not signed by the log key"));
        }
        let base = self.tree.size();
        while self.tree.size() < head.tree_size {
            let start = self.tree.size();
            let batch = reader.entries(start, head.tree_size.min(start + BATCH))?;
            if batch.is_empty() {
                break;
            }
            for (index, entry) in &batch {
                if *index != self.tree.size() {
                    let missing = self.tree.size();
                    self.tree.truncate(base);
                    return Err(self.tampered(&format!("entry {missing} is missing")));
                }
                self.tree.push(leaf_hash(entry));
            }
        }
        let accepted = self.accept_head(head);
        if accepted.is_err() {
            self.tree.truncate(base);
        }
        accepted
    }

    pub(super) fn tampered(&self, reason: &str) -> StoreError {
        StoreError::Tampered {
            db: self.name.clone(),
            reason: reason.to_owned(),
        }
    }

    pub(super) fn sign_head(&self, tree_size: u64, now: SystemTime) -> TreeHead {
        let root = self.tree.root(tree_size).unwrap_or_default();
        // Never earlier than the previous head, whatever the clock does.
        let timestamp_ms = unix_ms(now).max(self.head.timestamp_ms);
        let message = wire::tree_head_message(tree_size, timestamp_ms, &root);
        TreeHead {
            tree_size,
            timestamp_ms,
            root,
            signature: self.key.sign(&message).to_bytes(),
        }
    }
}

/// Whether `change` still applies, read under the log's lock: the name still free for a
/// publish, the previous key still current for a rotation, the key not yet revoked.
pub(super) fn check_change(
    tx: &mut dyn Reader,
    entry: &LogEntry,
    change: &Change,
) -> Result<(), StoreError> {
    let holds = match change {
        Change::Publish => {
            tx.key_by_fingerprint(&pki::fingerprint(&entry.spki))?
                .is_none()
                && tx.key_by_name(&entry.name)?.is_none()
        }
        Change::Rotate { previous } => {
            tx.key_by_fingerprint(&pki::fingerprint(&entry.spki))?
                .is_none()
                && tx
                    .key_by_name(&entry.name)?
                    .is_some_and(|k| &k.fingerprint == previous && k.status == Status::Current)
        }
        Change::Revoke { fingerprint } => tx
            .key_by_fingerprint(fingerprint)?
            .is_some_and(|k| k.status != Status::Revoked),
    };
    if holds {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// Reads every entry in order, in batches, into a Merkle tree and a replay, checking that
/// every entry keeps the log's rules.
pub(super) fn load_tree(db: &mut dyn Db, name: &str) -> Result<(Tree, Replay), StoreError> {
    let tampered = |reason: String| StoreError::Tampered {
        db: name.to_owned(),
        reason,
    };
    let mut tree = Tree::new();
    let mut replay = Replay::new();
    loop {
        let batch = db.entries(tree.size(), tree.size() + BATCH)?;
        if batch.is_empty() {
            break;
        }
        for (index, entry) in &batch {
            if *index != tree.size() {
                return Err(tampered(format!("entry {} is missing", tree.size())));
            }
            replay.apply(entry).map_err(|e| tampered(e.to_string()))?;
            tree.push(leaf_hash(entry));
        }
    }
    Ok((tree, replay))
}
