//! The key server's rules, without the network: proof of possession, the name policy,
//! lookups with their proofs, and log entries for auditors (the HKP-style answers are in
//! [`crate::hkp`]). [`crate::server`] puts HTTP in front of it; tests drive it directly;
//! [`crate::replay`] re-applies the same policy to the log.
//!
//! Name policy (first come, first served):
//!
//! - a free name goes to the first key that proves possession of itself;
//! - a taken name moves to a new key only with a hand-over signed by its current key, for
//!   the same nonce (rotation); the old key is then *superseded*;
//! - a key revokes itself with a signed statement; when the name's current key is
//!   revoked, the name is retired for good (nobody else can claim it and be believed to
//!   be its owner);
//! - a key carries one name, and a superseded or revoked key cannot be published again;
//! - publishing the key a name already has is answered with the existing record (a retry),
//!   without a new log entry.
//!
//! Nothing but the key itself and its previous key ever signs anything stored here: no
//! third-party signatures, so no certificate can be flooded with them.

use std::time::{Instant, SystemTime};

use rand_core::CryptoRng;

use crate::api::{
    self, ConsistencyJson, EntriesJson, KeyAnswer, ProofJson, PublishRequest, RevokeRequest,
    TreeHeadJson,
};
use crate::challenge::Challenges;
pub use crate::hkp::percent_encode;
use crate::name::{is_fingerprint, normalize};
use crate::store::{Change, KeyRecord, Status, Store, StoreError, unix_seconds};
use crate::wire::{self, EntryKind, LogEntry, Nonce};
use pki::fingerprint;

/// The most keys listed by one `op=index` answer.
pub const MAX_INDEX: usize = 100;
/// The most entries one `GET /log/entries` answer holds.
pub const MAX_ENTRIES: u64 = 128;

/// How a refusal is answered: the HTTP status follows from the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// 400: malformed input.
    BadRequest,
    /// 403: a proof failed (signature, nonce).
    Forbidden,
    /// 404: no such key or name.
    NotFound,
    /// 409: the name policy says no.
    Conflict,
    /// 410: revoked or retired.
    Gone,
    /// 413: the request body is too large.
    TooLarge,
    /// 501: an HKP operation not offered.
    NotImplemented,
    /// 500: storage failed (the detail is logged, not sent).
    Internal,
}

impl RefusalKind {
    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::Gone => 410,
            Self::TooLarge => 413,
            Self::NotImplemented => 501,
            Self::Internal => 500,
        }
    }
}

/// A refused request: its kind and a one-line reason for the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// What kind of refusal.
    pub kind: RefusalKind,
    /// Why, for the client.
    pub message: String,
}

pub(crate) fn refuse(kind: RefusalKind, message: impl Into<String>) -> Refusal {
    Refusal {
        kind,
        message: message.into(),
    }
}

pub(crate) fn bad(message: impl Into<String>) -> Refusal {
    refuse(RefusalKind::BadRequest, message)
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        tracing::error!("storage: {e}");
        refuse(RefusalKind::Internal, "storage failed")
    }
}

impl From<api::FieldError> for Refusal {
    fn from(e: api::FieldError) -> Self {
        bad(e.0)
    }
}

/// What a successful `POST /keys` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new name and key (201).
    Published,
    /// The name moved to this key (201).
    Rotated,
    /// The name already had this key; nothing changed (200).
    AlreadyPublished,
}

/// The time, as the two clocks see it: monotonic for nonce lifetimes, wall-clock for
/// timestamps in the log.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// For nonce lifetimes.
    pub mono: Instant,
    /// For log timestamps.
    pub wall: SystemTime,
}

impl Now {
    /// The current time.
    pub fn current() -> Self {
        Self {
            mono: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// The store, the outstanding challenges and the randomness for them.
pub struct Registry {
    store: Store,
    challenges: Challenges,
    rng: Box<dyn CryptoRng + Send>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Over an open store; `rng` makes the challenge nonces.
    pub fn new(store: Store, rng: Box<dyn CryptoRng + Send>) -> Self {
        Self {
            store,
            challenges: Challenges::new(),
            rng,
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A fresh challenge nonce.
    pub fn challenge(&mut self, now: Now) -> Result<Nonce, Refusal> {
        Ok(self.challenges.issue(now.mono, &mut *self.rng))
    }

    /// `POST /keys`: publishes a key, or rotates its name to it (see the module docs).
    pub fn publish(
        &mut self,
        req: &PublishRequest,
        now: Now,
    ) -> Result<(Outcome, KeyAnswer), Refusal> {
        let name = canonical_name(&req.name)?;
        let spki = api::unb64(&req.spki, "spki")?;
        let key = wire::ed25519_key(&spki).map_err(bad)?;
        let nonce = parse_nonce(&req.nonce)?;
        let signature = api::signature(&req.signature, "signature")?;
        let handover = match &req.handover {
            Some(h) => Some(api::signature(h, "handover")?),
            None => None,
        };
        self.redeem(&nonce, now)?;
        let fpr = fingerprint(&spki);
        if !wire::verify(
            &key,
            &wire::publish_message(&name, &spki, &nonce),
            &signature,
        ) {
            return Err(refuse(
                RefusalKind::Forbidden,
                format!("proof of possession failed: the signature does not verify with key {fpr}"),
            ));
        }
        if let Some(existing) = self.store.key_by_fingerprint(&fpr)? {
            return self.republish(existing, &name, handover.is_some());
        }
        let (change, previous) = match self.store.key_by_name(&name)? {
            None if handover.is_some() => {
                return Err(bad(format!(
                    "{name:?} has no key to hand over from: publish without a hand-over"
                )));
            }
            None => (Change::Publish, Vec::new()),
            Some(current) if current.status != Status::Current => {
                return Err(refuse(
                    RefusalKind::Gone,
                    format!(
                        "the name {name:?} is retired: its key {} was revoked (log entry {}); \
                         revoked names are not given out again",
                        current.fingerprint,
                        current.status_index.unwrap_or(current.log_index)
                    ),
                ));
            }
            Some(current) => {
                let Some(handover) = handover else {
                    return Err(refuse(
                        RefusalKind::Conflict,
                        format!(
                            "the name {name:?} is taken by key {}; another key needs a \
                             hand-over signed by it (keylab keyserver rotate)",
                            current.fingerprint
                        ),
                    ));
                };
                let old = wire::ed25519_key(&current.spki).map_err(bad)?;
                let msg = wire::handover_message(&name, &current.spki, &spki, &nonce);
                if !wire::verify(&old, &msg, &handover) {
                    return Err(refuse(
                        RefusalKind::Forbidden,
                        format!(
                            "the hand-over signature does not verify with {name:?}'s current \
                             key {}",
                            current.fingerprint
                        ),
                    ));
                }
                let previous = Change::Rotate {
                    previous: current.fingerprint,
                };
                (previous, current.spki)
            }
        };
        let entry = LogEntry {
            kind: if previous.is_empty() {
                EntryKind::Publish
            } else {
                EntryKind::Rotate
            },
            timestamp: unix_seconds(now.wall),
            name: name.clone(),
            spki,
            previous,
            nonce,
            signature,
            handover,
        };
        let index = self.store.append(&entry, &change, now.wall)?;
        let outcome = if matches!(change, Change::Publish) {
            Outcome::Published
        } else {
            Outcome::Rotated
        };
        tracing::info!("{} {name} key {fpr} (log entry {index})", entry.kind.name());
        Ok((outcome, self.answer_for(&fpr)?))
    }

    /// A publish of a key that is already here.
    fn republish(
        &self,
        existing: KeyRecord,
        name: &str,
        with_handover: bool,
    ) -> Result<(Outcome, KeyAnswer), Refusal> {
        let fpr = &existing.fingerprint;
        if existing.name != name {
            return Err(refuse(
                RefusalKind::Conflict,
                format!(
                    "key {fpr} is already published under the name {:?}; a key carries one name",
                    existing.name
                ),
            ));
        }
        match existing.status {
            Status::Current if !with_handover => {
                Ok((Outcome::AlreadyPublished, self.answer(&existing)?))
            }
            Status::Current => Err(refuse(
                RefusalKind::Conflict,
                format!("key {fpr} is already the current key of {name:?}: nothing to hand over"),
            )),
            Status::Superseded => Err(refuse(
                RefusalKind::Conflict,
                format!("key {fpr} was handed over to a newer key of {name:?}; it cannot return"),
            )),
            Status::Revoked => Err(refuse(
                RefusalKind::Gone,
                format!("key {fpr} was revoked; it cannot be published again"),
            )),
        }
    }

    /// `POST /revocations`: a key revokes itself.
    pub fn revoke(&mut self, req: &RevokeRequest, now: Now) -> Result<KeyAnswer, Refusal> {
        let fpr = parse_fingerprint(&req.fingerprint)?;
        let nonce = parse_nonce(&req.nonce)?;
        let signature = api::signature(&req.signature, "signature")?;
        self.redeem(&nonce, now)?;
        let record = self.find(&fpr)?;
        if record.status == Status::Revoked {
            return Err(refuse(
                RefusalKind::Conflict,
                format!(
                    "key {fpr} is already revoked (log entry {})",
                    record.status_index.unwrap_or_default()
                ),
            ));
        }
        let key = wire::ed25519_key(&record.spki).map_err(bad)?;
        let msg = wire::revoke_message(&record.name, &record.spki, &nonce);
        if !wire::verify(&key, &msg, &signature) {
            return Err(refuse(
                RefusalKind::Forbidden,
                format!("the revocation is not signed by key {fpr} itself"),
            ));
        }
        let entry = LogEntry {
            kind: EntryKind::Revoke,
            timestamp: unix_seconds(now.wall),
            name: record.name.clone(),
            spki: record.spki.clone(),
            previous: Vec::new(),
            nonce,
            signature,
            handover: None,
        };
        let change = Change::Revoke {
            fingerprint: fpr.clone(),
        };
        let index = self.store.append(&entry, &change, now.wall)?;
        tracing::info!("revoked {} key {fpr} (log entry {index})", record.name);
        self.answer_for(&fpr)
    }

    fn redeem(&mut self, nonce: &Nonce, now: Now) -> Result<(), Refusal> {
        self.challenges
            .redeem(nonce, now.mono)
            .map_err(|e| refuse(RefusalKind::Forbidden, e.to_string()))
    }

    /// `GET /keys/{fingerprint}`.
    pub fn by_fingerprint(&self, text: &str) -> Result<KeyAnswer, Refusal> {
        let fpr = parse_fingerprint(text)?;
        self.answer_for(&fpr)
    }

    /// `GET /names/{name}`: the name's latest key (current, or revoked).
    pub fn by_name(&self, raw: &str) -> Result<KeyAnswer, Refusal> {
        let name = normalize(raw).map_err(|e| bad(e.to_string()))?;
        match self.store.key_by_name(&name)? {
            Some(record) => self.answer(&record),
            None => Err(refuse(
                RefusalKind::NotFound,
                format!("no key is published under the name {name:?}"),
            )),
        }
    }

    /// `GET /log/head`.
    pub fn head(&self) -> TreeHeadJson {
        self.store.head().into()
    }

    /// `GET /log/key`: the log's public key, PEM.
    pub fn log_key_pem(&self) -> String {
        self.store.log_public_key().to_pem()
    }

    /// `GET /log/consistency?first=M&second=N` (RFC 6962 §2.1.2).
    pub fn consistency(&self, first: u64, second: u64) -> Result<ConsistencyJson, Refusal> {
        let proof = self
            .store
            .tree()
            .consistency_proof(first, second)
            .map_err(|e| bad(e.to_string()))?;
        Ok(ConsistencyJson {
            first,
            second,
            proof: proof.iter().map(hex::encode).collect(),
        })
    }

    /// `GET /log/entries?start=S&end=E` (RFC 6962 §4.6 get-entries: `start` and `end`
    /// are inclusive, 0-based): the entries from `start`, at most [`MAX_ENTRIES`] and
    /// none past the log's end, so that anyone can replay the log ([`crate::replay`]).
    pub fn entries(&self, start: u64, end: u64) -> Result<EntriesJson, Refusal> {
        let size = self.store.head().tree_size;
        if start > end || start >= size {
            return Err(bad(format!(
                "give start <= end and start < {size} (the log has {size} entries), not \
                 start = {start}, end = {end}"
            )));
        }
        let stop = end.min(size - 1).min(start + MAX_ENTRIES - 1) + 1;
        let entries = self.store.entries(start, stop)?;
        Ok(EntriesJson {
            start,
            entries: entries.iter().map(|e| api::b64(e)).collect(),
        })
    }

    pub(crate) fn find(&self, fpr: &str) -> Result<KeyRecord, Refusal> {
        self.store.key_by_fingerprint(fpr)?.ok_or_else(|| {
            refuse(
                RefusalKind::NotFound,
                format!("no key with fingerprint {fpr}"),
            )
        })
    }

    fn answer_for(&self, fpr: &str) -> Result<KeyAnswer, Refusal> {
        let record = self.find(fpr)?;
        self.answer(&record)
    }

    /// The key with its entries and their inclusion proofs in the latest tree head.
    fn answer(&self, record: &KeyRecord) -> Result<KeyAnswer, Refusal> {
        let head = self.store.head().clone();
        let (entry, inclusion) = self.proven_entry(record.log_index, head.tree_size)?;
        let (status_entry, status_inclusion) = match record.status_index {
            Some(i) => {
                let (e, p) = self.proven_entry(i, head.tree_size)?;
                (Some(e), Some(p))
            }
            None => (None, None),
        };
        Ok(KeyAnswer {
            fingerprint: record.fingerprint.clone(),
            name: record.name.clone(),
            status: record.status.as_str().into(),
            public_key: pem(&record.spki),
            entry,
            inclusion,
            status_entry,
            status_inclusion,
            tree_head: (&head).into(),
        })
    }

    fn proven_entry(&self, index: u64, size: u64) -> Result<(String, ProofJson), Refusal> {
        let bytes = self.store.entry(index)?.ok_or_else(|| {
            tracing::error!("log entry {index} is missing");
            refuse(RefusalKind::Internal, "storage failed")
        })?;
        let path = self
            .store
            .tree()
            .inclusion_proof(index, size)
            .map_err(|e| refuse(RefusalKind::Internal, e.to_string()))?;
        Ok((
            api::b64(&bytes),
            ProofJson {
                leaf_index: index,
                tree_size: size,
                audit_path: path.iter().map(hex::encode).collect(),
            },
        ))
    }
}

fn canonical_name(raw: &str) -> Result<String, Refusal> {
    let name = normalize(raw).map_err(|e| bad(e.to_string()))?;
    if name != raw {
        return Err(bad(format!(
            "the name must be sent normalised (it is signed as sent): {name:?}, not {raw:?}"
        )));
    }
    Ok(name)
}

fn parse_nonce(text: &str) -> Result<Nonce, Refusal> {
    wire::unhex_array(text).ok_or_else(|| bad("nonce is not 64 hex digits"))
}

fn parse_fingerprint(text: &str) -> Result<String, Refusal> {
    let fpr = text.trim().to_ascii_lowercase();
    if !is_fingerprint(&fpr) {
        return Err(bad(format!(
            "{text:?} is not a fingerprint (64 hex digits of SHA-256)"
        )));
    }
    Ok(fpr)
}

pub(crate) fn pem(spki: &[u8]) -> String {
    pki::PublicKey::from_spki_der(spki)
        .map(|k| k.to_pem())
        .unwrap_or_default()
}
