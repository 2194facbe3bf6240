//! Replaying the transparency log: every entry decoded, its own signatures checked, and
//! the name policy of [`crate::registry`] applied in log order, giving the key index the
//! log implies.
//!
//! The server replays its log at start and refuses to run if its key index (the table
//! lookups are answered from) says anything else; an auditor replays the entries a server
//! serves (`GET /log/entries`) to check that the log itself keeps the rules:
//!
//! - a name is published once; afterwards only its current key hands it over (rotate);
//! - a key appears in one publish or rotate entry, so it carries one name and a
//!   superseded or revoked key never returns;
//! - a key is revoked once, by itself, under its own name; a name whose current key is
//!   revoked is retired.
//!
//! An inclusion proof shows that a binding was logged, not that it is the only one: a
//! server that logged a second `publish` of a taken name (to show some clients another
//! key) or hid a revocation from a client is caught here, by anyone reading the log.

use std::collections::HashMap;

use crate::name::normalize;
use crate::store::{KeyRecord, Status};
use crate::wire::{EntryKind, LogEntry};
use pki::fingerprint;

/// An entry that breaks the log's rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("log entry {index}: {reason}")]
pub struct ReplayError {
    /// The entry's index.
    pub index: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// The key index implied by the entries replayed so far.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    /// Every key, by fingerprint.
    keys: HashMap<String, KeyRecord>,
    /// Every name, with the fingerprint of its latest key (current, or revoked).
    names: HashMap<String, String>,
    /// Entries replayed.
    size: u64,
}

impl Replay {
    /// Nothing replayed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries replayed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Names seen.
    pub fn names(&self) -> usize {
        self.names.len()
    }

    /// Every key, ordered by fingerprint.
    pub fn records(&self) -> Vec<KeyRecord> {
        let mut records: Vec<KeyRecord> = self.keys.values().cloned().collect();
        records.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        records
    }

    /// Applies the next entry (index [`size`](Self::size)), given as its log bytes.
    pub fn apply(&mut self, bytes: &[u8]) -> Result<LogEntry, ReplayError> {
        let index = self.size;
        let fail = |reason: String| ReplayError { index, reason };
        let entry = LogEntry::decode(bytes).map_err(|e| fail(e.to_string()))?;
        entry.verify_signatures().map_err(|e| fail(e.to_string()))?;
        if normalize(&entry.name).as_deref() != Ok(entry.name.as_str()) {
            return Err(fail(format!("the name {:?} is not normalised", entry.name)));
        }
        let fpr = fingerprint(&entry.spki);
        match entry.kind {
            EntryKind::Publish | EntryKind::Rotate => self.introduce(index, &entry, fpr),
            EntryKind::Revoke => self.revoke(index, &entry, &fpr),
        }
        .map_err(fail)?;
        self.size += 1;
        Ok(entry)
    }

    /// A publish or rotate entry: a new key for a name.
    fn introduce(&mut self, index: u64, entry: &LogEntry, fpr: String) -> Result<(), String> {
        if let Some(earlier) = self.keys.get(&fpr) {
            return Err(format!(
                "key {fpr} was already published (entry {}): a key appears once",
                earlier.log_index
            ));
        }
        let name = &entry.name;
        let latest = self.names.get(name).and_then(|f| self.keys.get_mut(f));
        match (entry.kind, latest) {
            (EntryKind::Publish, None) => {}
            (EntryKind::Publish, Some(held)) => {
                return Err(format!(
                    "a second publish of {name:?}, which key {} took in entry {}",
                    held.fingerprint, held.log_index
                ));
            }
            (_, None) => return Err(format!("a rotation of {name:?}, which has no key")),
            (_, Some(held)) if held.status != Status::Current => {
                return Err(format!(
                    "a rotation of {name:?}, whose key {} is {}",
                    held.fingerprint,
                    held.status.as_str()
                ));
            }
            (_, Some(held)) if held.spki != entry.previous => {
                return Err(format!(
                    "a rotation of {name:?} from a key that is not its current key {}",
                    held.fingerprint
                ));
            }
            (_, Some(held)) => {
                held.status = Status::Superseded;
                held.status_index = Some(index);
            }
        }
        self.names.insert(name.clone(), fpr.clone());
        self.keys.insert(
            fpr.clone(),
            KeyRecord {
                fingerprint: fpr,
                name: name.clone(),
                spki: entry.spki.clone(),
                log_index: index,
                status: Status::Current,
                status_index: None,
                published: entry.timestamp,
            },
        );
        Ok(())
    }

    /// A revoke entry: a published key revokes itself.
    fn revoke(&mut self, index: u64, entry: &LogEntry, fpr: &str) -> Result<(), String> {
        let Some(record) = self.keys.get_mut(fpr) else {
            return Err(format!(
                "a revocation of key {fpr}, which was never published"
            ));
        };
        if record.name != entry.name {
            return Err(format!(
                "a revocation of key {fpr} under {:?}; it was published under {:?}",
                entry.name, record.name
            ));
        }
        if record.status == Status::Revoked {
            return Err(format!("key {fpr} was already revoked"));
        }
        record.status = Status::Revoked;
        record.status_index = Some(index);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::sign;
    use crate::wire::{Nonce, handover_message, publish_message, revoke_message};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng as _;

    fn key(seed: u64) -> pki::PrivateKey {
        pki::PrivateKey::generate(pki::KeyType::Ed25519, &mut ChaCha20Rng::seed_from_u64(seed))
            .expect("key")
    }

    fn spki(k: &pki::PrivateKey) -> Vec<u8> {
        k.public_key().spki_der().to_vec()
    }

    /// A correctly signed entry: `k` publishes `name`, or takes it over from `from`.
    fn publish(k: &pki::PrivateKey, name: &str, from: Option<&pki::PrivateKey>) -> Vec<u8> {
        let nonce: Nonce = [name.len() as u8; 32];
        let handover = from.map(|old| {
            let msg = handover_message(name, &spki(old), &spki(k), &nonce);
            sign(old, &msg).expect("sign")
        });
        LogEntry {
            kind: if from.is_some() {
                EntryKind::Rotate
            } else {
                EntryKind::Publish
            },
            timestamp: 1,
            name: name.into(),
            spki: spki(k),
            previous: from.map(spki).unwrap_or_default(),
            nonce,
            signature: sign(k, &publish_message(name, &spki(k), &nonce)).expect("sign"),
            handover,
        }
        .encode()
    }

    fn revoke(k: &pki::PrivateKey, name: &str) -> Vec<u8> {
        let nonce = [9; 32];
        LogEntry {
            kind: EntryKind::Revoke,
            timestamp: 2,
            name: name.into(),
            spki: spki(k),
            previous: Vec::new(),
            nonce,
            signature: sign(k, &revoke_message(name, &spki(k), &nonce)).expect("sign"),
            handover: None,
        }
        .encode()
    }

    #[track_caller]
    fn refused(replay: &mut Replay, entry: &[u8], reason: &str) {
        let size = replay.size();
        let err = replay.apply(entry).expect_err("breaks the rules");
        assert_eq!(err.index, size);
        assert!(err.reason.contains(reason), "{err}");
        assert_eq!(replay.size(), size, "a refused entry is not counted");
    }

    #[test]
    fn an_honest_history_replays_to_its_index() {
        let (a, b, c) = (key(1), key(2), key(3));
        let mut r = Replay::new();
        for entry in [
            publish(&a, "alice", None),
            publish(&b, "alice", Some(&a)),
            publish(&c, "carol", None),
            revoke(&a, "alice"),
            revoke(&b, "alice"),
        ] {
            r.apply(&entry).expect("honest");
        }
        let status = |k: &pki::PrivateKey| {
            let fpr = k.public_key().fingerprint();
            let rec = r.records().into_iter().find(|x| x.fingerprint == fpr);
            rec.map(|x| (x.status, x.status_index))
        };
        assert_eq!(status(&a), Some((Status::Revoked, Some(3))));
        assert_eq!(status(&b), Some((Status::Revoked, Some(4))));
        assert_eq!(status(&c), Some((Status::Current, None)));
        assert_eq!((r.size(), r.names()), (5, 2));
    }

    #[test]
    fn a_log_that_breaks_the_name_policy_is_caught() {
        let (a, b, m) = (key(1), key(2), key(9));
        let mut r = Replay::new();
        r.apply(&publish(&a, "alice", None)).expect("first");
        // The split-view attack: a second publish of a taken name, validly self-signed.
        refused(&mut r, &publish(&m, "alice", None), "a second publish");
        // A rotation not handed over by the current key.
        refused(
            &mut r,
            &publish(&b, "alice", Some(&m)),
            "not its current key",
        );
        refused(&mut r, &publish(&b, "bob", Some(&a)), "which has no key");
        // One key, two names; a key revoked by another; a revocation under another name.
        refused(&mut r, &publish(&a, "alice2", None), "already published");
        let mut forged = LogEntry::decode(&revoke(&m, "alice")).expect("entry");
        forged.spki = spki(&a);
        refused(&mut r, &forged.encode(), "signature does not verify");
        refused(&mut r, &revoke(&m, "alice"), "never published");
        r.apply(&publish(&b, "bob", None)).expect("bob");
        refused(&mut r, &revoke(&b, "alice"), "published under \"bob\"");
        // A revoked name stays retired; a revoked key stays revoked.
        r.apply(&revoke(&a, "alice")).expect("revoke");
        refused(&mut r, &revoke(&a, "alice"), "already revoked");
        refused(&mut r, &publish(&m, "alice", Some(&a)), "is revoked");
        refused(&mut r, &publish(&m, "alice", None), "a second publish");
        // Names must be normalised; entries must decode.
        refused(&mut r, &publish(&m, "Mallory", None), "not normalised");
        refused(&mut r, b"garbage", "malformed log entry");
        assert_eq!(r.size(), 3);
    }
}
