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

use rand_core::CryptoRng;

use crate::api::{
    self, ConsistencyJson, EntriesJson, KeyAnswer, ProofJson, PublishRequest, RevokeRequest,
    TreeHeadJson,
};
pub use crate::challenge::Now;
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
    /// 503: the database is unavailable or too busy for now; retry shortly.
    Unavailable,
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
            Self::Unavailable => 503,
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
        match e {
            StoreError::Unavailable { .. } => refuse(
                RefusalKind::Unavailable,
                "the key server's database is unavailable: try again shortly",
            ),
            StoreError::Busy(reason) => {
                tracing::warn!("storage: the log's lock: {reason}");
                refuse(
                    RefusalKind::Unavailable,
                    "the log is busy with another front end's change: try again shortly",
                )
            }
            StoreError::Conflict => refuse(
                RefusalKind::Unavailable,
                "the log is busy with other changes: try again shortly",
            ),
            e => {
                tracing::error!("storage: {e}");
                refuse(RefusalKind::Internal, "storage failed")
            }
        }
    }
}

/// How many times a statement is decided again when other front ends' changes overtake
/// it (each attempt waits for the log's lock, so a few suffice).
pub const MAX_ATTEMPTS: usize = 8;

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

/// A publish statement, checked for proof of possession.
struct Statement<'a> {
    name: &'a str,
    spki: &'a [u8],
    nonce: Nonce,
    signature: wire::Signature,
    handover: Option<wire::Signature>,
}

/// What a statement comes to, decided from the log as it stands.
enum Plan {
    /// Answered without a new entry.
    Answer(Outcome, KeyAnswer),
    /// A new entry and what it changes.
    Append(LogEntry, Change),
}

/// The store (which keeps the challenges too) and the randomness for challenges.
pub struct Registry {
    store: Store,
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
        Self { store, rng }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, to change.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// A fresh challenge nonce.
    pub fn challenge(&mut self, now: Now) -> Result<Nonce, Refusal> {
        let mut nonce = [0u8; 32];
        self.rng.fill_bytes(&mut nonce);
        self.store.issue_challenge(&nonce, now)?;
        Ok(nonce)
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
        let statement = Statement {
            name: &name,
            spki: &spki,
            nonce,
            signature,
            handover,
        };
        for _ in 0..MAX_ATTEMPTS {
            let (entry, change) = match self.plan_publish(&statement, now)? {
                Plan::Answer(outcome, answer) => return Ok((outcome, answer)),
                Plan::Append(entry, change) => (entry, change),
            };
            match self.store.append(&entry, &change, now.wall) {
                Ok(index) => {
                    tracing::info!("{} {name} key {fpr} (log entry {index})", entry.kind.name());
                    let outcome = if matches!(change, Change::Publish) {
                        Outcome::Published
                    } else {
                        Outcome::Rotated
                    };
                    return Ok((outcome, self.answer_for(&fpr)?));
                }
                // Another front end changed the name or key first: decide again.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// What a publish of `s` does now: answer at once (a retry, or a refusal), or append.
    fn plan_publish(&mut self, s: &Statement<'_>, now: Now) -> Result<Plan, Refusal> {
        let (name, handover) = (s.name, s.handover);
        let fpr = fingerprint(s.spki);
        let spki = s.spki.to_vec();
        if let Some(existing) = self.store.key_by_fingerprint(&fpr)? {
            let (outcome, answer) = self.republish(existing, name, handover.is_some())?;
            return Ok(Plan::Answer(outcome, answer));
        }
        let (change, previous) = match self.store.key_by_name(name)? {
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
                let msg = wire::handover_message(name, &current.spki, &spki, &s.nonce);
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
            name: name.to_owned(),
            spki,
            previous,
            nonce: s.nonce,
            signature: s.signature,
            handover,
        };
        Ok(Plan::Append(entry, change))
    }

    /// A publish of a key that is already here.
    fn republish(
        &mut self,
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
        for _ in 0..MAX_ATTEMPTS {
            if let Some(answer) = self.try_revoke(&fpr, nonce, signature, now)? {
                return Ok(answer);
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// One attempt at a revocation; `None` if another front end changed the key first.
    fn try_revoke(
        &mut self,
        fpr: &str,
        nonce: Nonce,
        signature: wire::Signature,
        now: Now,
    ) -> Result<Option<KeyAnswer>, Refusal> {
        let record = self.find(fpr)?;
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
            fingerprint: fpr.to_owned(),
        };
        match self.store.append(&entry, &change, now.wall) {
            Ok(index) => {
                tracing::info!("revoked {} key {fpr} (log entry {index})", record.name);
                Ok(Some(self.answer_for(fpr)?))
            }
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn redeem(&mut self, nonce: &Nonce, now: Now) -> Result<(), Refusal> {
        self.store
            .redeem_challenge(nonce, now)?
            .map_err(|e| refuse(RefusalKind::Forbidden, e.to_string()))
    }

    /// `GET /keys/{fingerprint}`.
    pub fn by_fingerprint(&mut self, text: &str) -> Result<KeyAnswer, Refusal> {
        let fpr = parse_fingerprint(text)?;
        self.answer_for(&fpr)
    }

    /// `GET /names/{name}`: the name's latest key (current, or revoked).
    pub fn by_name(&mut self, raw: &str) -> Result<KeyAnswer, Refusal> {
        let name = normalize(raw).map_err(|e| bad(e.to_string()))?;
        match self.store.key_by_name(&name)? {
            Some(record) => self.answer(&record),
            None => Err(refuse(
                RefusalKind::NotFound,
                format!("no key is published under the name {name:?}"),
            )),
        }
    }

    /// `GET /log/head`: the newest head (of any front end on a shared database).
    pub fn head(&mut self) -> Result<TreeHeadJson, Refusal> {
        self.store.refresh()?;
        Ok(self.store.head().into())
    }

    /// `GET /log/key`: the log's public key, PEM.
    pub fn log_key_pem(&self) -> String {
        self.store.log_public_key().to_pem()
    }

    /// `GET /log/consistency?first=M&second=N` (RFC 6962 §2.1.2).
    pub fn consistency(&mut self, first: u64, second: u64) -> Result<ConsistencyJson, Refusal> {
        self.store.refresh()?;
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
    pub fn entries(&mut self, start: u64, end: u64) -> Result<EntriesJson, Refusal> {
        self.store.refresh()?;
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

    pub(crate) fn find(&mut self, fpr: &str) -> Result<KeyRecord, Refusal> {
        self.store.key_by_fingerprint(fpr)?.ok_or_else(|| {
            refuse(
                RefusalKind::NotFound,
                format!("no key with fingerprint {fpr}"),
            )
        })
    }

    fn answer_for(&mut self, fpr: &str) -> Result<KeyAnswer, Refusal> {
        let record = self.find(fpr)?;
        self.answer(&record)
    }

    /// The key with its entries and their inclusion proofs in the latest tree head.
    fn answer(&mut self, record: &KeyRecord) -> Result<KeyAnswer, Refusal> {
        // The record's entries were committed with a head at least as new as the one
        // read here.
        self.store.refresh()?;
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

    fn proven_entry(&mut self, index: u64, size: u64) -> Result<(String, ProofJson), Refusal> {
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
