//! The JSON bodies of the HTTP API, and the client-side check of a key answer.
//!
//! Binary values travel as lowercase hex (nonces, hashes, fingerprints) or standard
//! base64 with padding (keys, signatures, log entries). Unknown fields in requests are
//! refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::keys::sign;
use crate::merkle::{Hash, leaf_hash, verify_inclusion};
use crate::name::{is_fingerprint, normalize};
use crate::store::Status;
use crate::wire::{
    EntryKind, LogEntry, Nonce, Signature, TreeHead, handover_message, publish_message,
    revoke_message, unhex_array,
};
use pki::fingerprint;

/// `GET /challenge`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeJson {
    /// 32 random bytes, hex.
    pub nonce: String,
    /// Seconds it stays usable.
    pub expires_in: u64,
}

/// `POST /keys`: publish a key, or rotate a name to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The name, already normalised.
    pub name: String,
    /// DER SubjectPublicKeyInfo of the Ed25519 key, base64.
    pub spki: String,
    /// The challenge nonce, hex.
    pub nonce: String,
    /// The key's signature over the `publish` statement, base64.
    pub signature: String,
    /// For a rotation: the current key's signature over the `hand-over` statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handover: Option<String>,
}

/// `POST /revocations`: a key revokes itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The key's fingerprint.
    pub fingerprint: String,
    /// The challenge nonce, hex.
    pub nonce: String,
    /// The key's signature over the `revoke` statement, base64.
    pub signature: String,
}

impl PublishRequest {
    /// The request by which `key` claims `name` (already normalised) for the challenge
    /// `nonce`; with `handover_from`, that key (the name's current one) signs the
    /// hand-over to `key`.
    pub fn signed(
        key: &pki::PrivateKey,
        name: &str,
        nonce: &Nonce,
        handover_from: Option<&pki::PrivateKey>,
    ) -> Result<Self, String> {
        let spki = key.public_key().spki_der();
        let signature = sign(key, &publish_message(name, spki, nonce))?;
        let handover = match handover_from {
            Some(old) => {
                let msg = handover_message(name, old.public_key().spki_der(), spki, nonce);
                Some(b64(&sign(old, &msg)?))
            }
            None => None,
        };
        Ok(Self {
            name: name.to_owned(),
            spki: b64(spki),
            nonce: hex::encode(nonce),
            signature: b64(&signature),
            handover,
        })
    }
}

impl RevokeRequest {
    /// The request by which `key`, published under `name`, revokes itself for the
    /// challenge `nonce`.
    pub fn signed(key: &pki::PrivateKey, name: &str, nonce: &Nonce) -> Result<Self, String> {
        let msg = revoke_message(name, key.public_key().spki_der(), nonce);
        Ok(Self {
            fingerprint: key.public_key().fingerprint(),
            nonce: hex::encode(nonce),
            signature: b64(&sign(key, &msg)?),
        })
    }
}

/// A signed tree head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHeadJson {
    /// Entries in the log.
    pub tree_size: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Root hash, hex.
    pub root_hash: String,
    /// The log key's signature, base64.
    pub signature: String,
}

/// An inclusion proof (RFC 6962 §2.1.1 audit path).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofJson {
    /// The entry's index.
    pub leaf_index: u64,
    /// The tree size the path leads to.
    pub tree_size: u64,
    /// The path, leaf's sibling first, hex.
    pub audit_path: Vec<String>,
}

/// A key with the log entries behind it and their inclusion proofs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAnswer {
    /// SHA-256 of the SPKI, hex.
    pub fingerprint: String,
    /// The name.
    pub name: String,
    /// `current`, `superseded` or `revoked`.
    pub status: String,
    /// The key as PEM (`PUBLIC KEY`).
    pub public_key: String,
    /// The publish or rotate entry that introduced the key, base64.
    pub entry: String,
    /// Its inclusion proof in `tree_head`.
    pub inclusion: ProofJson,
    /// For a superseded or revoked key: the rotate or revoke entry, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_entry: Option<String>,
    /// Its inclusion proof in `tree_head`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_inclusion: Option<ProofJson>,
    /// The signed tree head both proofs lead to.
    pub tree_head: TreeHeadJson,
}

/// `GET /log/consistency?first=M&second=N`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyJson {
    /// The older size.
    pub first: u64,
    /// The newer size.
    pub second: u64,
    /// RFC 6962 §2.1.2 proof, hex.
    pub proof: Vec<String>,
}

/// `GET /log/entries?start=S&end=E`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesJson {
    /// The index of the first entry.
    pub start: u64,
    /// Consecutive log entries from `start`, base64.
    pub entries: Vec<String>,
}

/// A field that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(pub String);

/// Standard base64.
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Bytes from standard base64 (`what` names the field in the error).
pub fn unb64(text: &str, what: &str) -> Result<Vec<u8>, FieldError> {
    B64.decode(text.trim())
        .map_err(|_| FieldError(format!("{what} is not base64")))
}

/// A 64-byte signature from base64.
pub fn signature(text: &str, what: &str) -> Result<Signature, FieldError> {
    unb64(text, what)?
        .try_into()
        .map_err(|_| FieldError(format!("{what} is not a 64-byte Ed25519 signature")))
}

/// A 32-byte value from hex.
pub fn hash(text: &str, what: &str) -> Result<Hash, FieldError> {
    unhex_array(text).ok_or_else(|| FieldError(format!("{what} is not 64 hex digits")))
}

impl From<&TreeHead> for TreeHeadJson {
    fn from(h: &TreeHead) -> Self {
        Self {
            tree_size: h.tree_size,
            timestamp: h.timestamp_ms,
            root_hash: hex::encode(h.root),
            signature: b64(&h.signature),
        }
    }
}

impl TryFrom<&TreeHeadJson> for TreeHead {
    type Error = FieldError;

    fn try_from(j: &TreeHeadJson) -> Result<Self, FieldError> {
        Ok(Self {
            tree_size: j.tree_size,
            timestamp_ms: j.timestamp,
            root: hash(&j.root_hash, "root_hash")?,
            signature: signature(&j.signature, "the tree head signature")?,
        })
    }
}

/// The hashes of a proof.
pub fn path(hashes: &[String]) -> Result<Vec<Hash>, FieldError> {
    // A path longer than 64 hashes cannot belong to a tree of fewer than 2^64 leaves.
    if hashes.len() > 64 {
        return Err(FieldError(format!("a proof of {} hashes", hashes.len())));
    }
    hashes.iter().map(|h| hash(h, "a proof hash")).collect()
}

/// A key answer whose proofs checked out against a tree head signed by the log key.
#[derive(Clone, Debug)]
pub struct VerifiedKey {
    /// The key.
    pub key: pki::PublicKey,
    /// Its name.
    pub name: String,
    /// Its status, as proven by the log.
    pub status: Status,
    /// The publish or rotate entry.
    pub entry: LogEntry,
    /// Its index in the log.
    pub log_index: u64,
    /// The rotate or revoke entry that changed its status, with its index.
    pub status_entry: Option<(u64, LogEntry)>,
    /// The signed tree head the proofs lead to.
    pub head: TreeHead,
}

/// Checks everything in a key answer that can be checked without trusting the server:
/// the tree head's signature by `log_key`; the entry's decoding, its own signatures, and
/// that it binds this key to this name; the inclusion proofs; and that the status
/// claimed is what the logged entries show.
pub fn verify_answer(
    answer: &KeyAnswer,
    log_key: &pki::PublicKey,
) -> Result<VerifiedKey, FieldError> {
    let fail =
        |reason: String| FieldError(format!("the server's answer does not verify: {reason}"));
    let head = TreeHead::try_from(&answer.tree_head).map_err(|e| fail(e.0))?;
    if !head.verify(log_key) {
        return Err(fail("the tree head is not signed by the log key".into()));
    }
    let (log_index, entry) = included(&answer.entry, &answer.inclusion, &head).map_err(fail)?;
    if !matches!(entry.kind, EntryKind::Publish | EntryKind::Rotate) {
        return Err(fail(format!(
            "entry {log_index} is a {}",
            entry.kind.name()
        )));
    }
    let key = pki::PublicKey::from_pem(&answer.public_key).map_err(|e| fail(e.to_string()))?;
    if entry.spki != key.spki_der() || entry.name != answer.name {
        return Err(fail(format!(
            "entry {log_index} binds another key or name than the answer"
        )));
    }
    if fingerprint(&entry.spki) != answer.fingerprint {
        return Err(fail("the fingerprint is not the key's".into()));
    }
    let status = Status::parse(&answer.status)
        .ok_or_else(|| fail(format!("unknown status {:?}", answer.status)))?;
    let status_entry = match (&answer.status_entry, &answer.status_inclusion) {
        (None, None) => None,
        (Some(e), Some(p)) => Some(included(e, p, &head).map_err(fail)?),
        _ => return Err(fail("a status entry without its proof".into())),
    };
    let proven = match &status_entry {
        None => Status::Current,
        Some((i, e)) if *i <= log_index || e.name != entry.name => {
            return Err(fail(format!("entry {i} does not change this key")));
        }
        Some((_, e)) if e.kind == EntryKind::Revoke && e.spki == entry.spki => Status::Revoked,
        Some((_, e)) if e.kind == EntryKind::Rotate && e.previous == entry.spki => {
            Status::Superseded
        }
        Some((i, _)) => return Err(fail(format!("entry {i} does not change this key"))),
    };
    if proven != status {
        return Err(fail(format!(
            "the status is {} but the log shows {}",
            status.as_str(),
            proven.as_str()
        )));
    }
    Ok(VerifiedKey {
        key,
        name: entry.name.clone(),
        status,
        entry,
        log_index,
        status_entry,
        head,
    })
}

/// [`verify_answer`], and that the answer is for what was asked: the key with that
/// fingerprint (64 hex digits, either case), or else the key of that name (normalised).
///
/// A server cannot forge log entries, but it can answer a lookup of `alice` with Mallory's
/// key, validly logged under `mallory`; only this check tells the two apart.
pub fn verify_lookup(
    answer: &KeyAnswer,
    log_key: &pki::PublicKey,
    search: &str,
) -> Result<VerifiedKey, FieldError> {
    let verified = verify_answer(answer, log_key)?;
    let lower = search.trim().to_ascii_lowercase();
    let asked_for = if is_fingerprint(&lower) {
        verified.key.fingerprint() == lower
    } else {
        normalize(search).is_ok_and(|name| name == verified.name)
    };
    if !asked_for {
        return Err(FieldError(format!(
            "the server answered a lookup of {search:?} with key {} of {:?}",
            verified.key.fingerprint(),
            verified.name
        )));
    }
    Ok(verified)
}

/// Decodes an entry, checks its signatures and its inclusion in `head`.
fn included(
    entry_b64: &str,
    proof: &ProofJson,
    head: &TreeHead,
) -> Result<(u64, LogEntry), String> {
    let bytes = unb64(entry_b64, "the entry").map_err(|e| e.0)?;
    let entry = LogEntry::decode(&bytes).map_err(|e| e.to_string())?;
    entry.verify_signatures().map_err(|e| e.to_string())?;
    let hashes = path(&proof.audit_path).map_err(|e| e.0)?;
    if proof.tree_size != head.tree_size
        || !verify_inclusion(
            &leaf_hash(&bytes),
            proof.leaf_index,
            head.tree_size,
            &hashes,
            &head.root,
        )
    {
        return Err(format!(
            "the inclusion proof of entry {} does not lead to the signed root",
            proof.leaf_index
        ));
    }
    Ok((proof.leaf_index, entry))
}
