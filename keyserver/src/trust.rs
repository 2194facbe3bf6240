//! What a client remembers about a key server: the log's public key (trusted on first use,
//! then pinned) and the latest tree head it has seen, in a small text file.
//!
//! ```text
//! keylab keyserver state v1
//! server: http://127.0.0.1:8080
//! log-key: <base64 DER SubjectPublicKeyInfo>
//! tree-size: 12
//! timestamp: 1767225600000
//! root-hash: <hex>
//! signature: <base64>
//! ```
//!
//! Every tree head a client meets — from `audit`, or with a key it fetches — must be
//! signed by the pinned key, no smaller than the remembered one, and consistent with it
//! (RFC 6962 §2.1.2, verified as RFC 9162 §2.1.4.2 says); a newer one replaces it. A server that rewrites or forks its log, or changes its log
//! key, is caught the next time this client talks to it. The file is replaced
//! atomically (temporary file, fsync, rename).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::api::{b64, unb64};
use crate::client::{Client, ClientError};
use crate::merkle::{Tree, leaf_hash, verify_consistency};
use crate::replay::Replay;
use crate::wire::{TreeHead, unhex_array};
use pki::fingerprint;

const HEADER: &str = "keylab keyserver state v1";
/// The largest state file read.
const MAX_STATE: u64 = 16 * 1024;

/// Why the log could not be trusted.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The state file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The state file is damaged or not one.
    #[error("{path}: not a keylab key server state file: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The state file belongs to another server.
    #[error("{path} holds the state of {pinned}, not {asked}: give another --state file")]
    OtherServer {
        /// The file.
        path: PathBuf,
        /// The server it is for.
        pinned: String,
        /// The server asked.
        asked: String,
    },
    /// The server's log key is not the pinned one.
    #[error("the log key changed: pinned {pinned}, the server now has {served}")]
    KeyChanged {
        /// Fingerprint of the pinned key.
        pinned: String,
        /// Fingerprint of the key served.
        served: String,
    },
    /// A tree head not signed by the log key.
    #[error("the tree head of size {0} is not signed by the log key")]
    BadSignature(u64),
    /// Two tree heads that cannot both be true: the log was rewritten or forked.
    #[error(
        "the log is not consistent: the tree head of size {new} does not extend the one of \
         size {old} seen before (the log was rewritten or forked)"
    )]
    Inconsistent {
        /// The size remembered.
        old: u64,
        /// The size seen now.
        new: u64,
    },
    /// A tree head older than one seen before: the server is showing this client a past
    /// state of its log (which might hide later rotations and revocations).
    #[error(
        "the server showed a tree head of size {served}, older than the one of size {seen} \
         seen before (a rolled-back or frozen view of the log)"
    )]
    Rollback {
        /// The size remembered.
        seen: u64,
        /// The size served now.
        served: u64,
    },
    /// The log's entries break its rules, or do not hash to its signed root.
    #[error("the log does not check out: {0}")]
    BadLog(String),
    /// The server could not be asked.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// The pinned log key and the latest tree head seen.
#[derive(Clone, Debug)]
pub struct Pinned {
    /// The server's base URL.
    pub server: String,
    /// The log's public key.
    pub log_key: pki::PublicKey,
    /// The latest tree head seen.
    pub head: TreeHead,
}

/// How a tree head compared with the remembered one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advance {
    /// The size remembered before (`None` on first use).
    pub previous: Option<u64>,
    /// The size of the head checked.
    pub size: u64,
}

/// A state file and what it holds.
#[derive(Debug)]
pub struct Trust {
    path: PathBuf,
    server: String,
    pinned: Option<Pinned>,
}

impl Trust {
    /// Reads the state for `server` from `path` (nothing yet if the file is missing).
    pub fn load(path: &Path, server: &str) -> Result<Self, TrustError> {
        let server = server.trim_end_matches('/').to_owned();
        let pinned = read(path)?;
        if let Some(p) = &pinned
            && p.server != server
        {
            return Err(TrustError::OtherServer {
                path: path.to_path_buf(),
                pinned: p.server.clone(),
                asked: server,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            server,
            pinned,
        })
    }

    /// What is remembered.
    pub fn pinned(&self) -> Option<&Pinned> {
        self.pinned.as_ref()
    }

    /// The pinned log key, or on first use the one the server states (checked by the
    /// caller against the heads it signs). The second value is true on first use.
    pub fn log_key(&self, client: &Client) -> Result<(pki::PublicKey, bool), TrustError> {
        match &self.pinned {
            Some(p) => Ok((p.log_key.clone(), false)),
            None => Ok((client.log_key()?, true)),
        }
    }

    /// Checks that the server still states the pinned log key (a changed key is an
    /// error: clients would have to trust it anew).
    pub fn check_served_key(&self, client: &Client) -> Result<(), TrustError> {
        if let Some(p) = &self.pinned {
            let served = client.log_key()?;
            if served != p.log_key {
                return Err(TrustError::KeyChanged {
                    pinned: p.log_key.fingerprint(),
                    served: served.fingerprint(),
                });
            }
        }
        Ok(())
    }

    /// Accepts `head` if `log_key` signed it, it is no older than the remembered head and
    /// consistent with it (asking `client` for the proof); remembers it when newer, and
    /// saves.
    ///
    /// An honest log only grows, so its latest head is never smaller than one this client
    /// saw before; a smaller one, even if consistent, would let a server answer from the
    /// past and hide a revocation the client's remembered head already covers.
    pub fn accept(
        &mut self,
        client: &Client,
        log_key: &pki::PublicKey,
        head: &TreeHead,
    ) -> Result<Advance, TrustError> {
        if !head.verify(log_key) {
            return Err(TrustError::BadSignature(head.tree_size));
        }
        let previous = self.pinned.as_ref().map(|p| p.head.clone());
        if let Some(old) = &previous {
            if head.tree_size < old.tree_size {
                return Err(TrustError::Rollback {
                    seen: old.tree_size,
                    served: head.tree_size,
                });
            }
            check_consistent(client, old, head)?;
        }
        let newer = previous
            .as_ref()
            .is_none_or(|old| head.tree_size > old.tree_size);
        if newer {
            self.pinned = Some(Pinned {
                server: self.server.clone(),
                log_key: log_key.clone(),
                head: head.clone(),
            });
            self.save()?;
        }
        Ok(Advance {
            previous: previous.map(|h| h.tree_size),
            size: head.tree_size,
        })
    }

    fn save(&self) -> Result<(), TrustError> {
        let Some(p) = &self.pinned else { return Ok(()) };
        let text = format!(
            "{HEADER}\nserver: {}\nlog-key: {}\ntree-size: {}\ntimestamp: {}\nroot-hash: {}\n\
             signature: {}\n",
            p.server,
            b64(p.log_key.spki_der()),
            p.head.tree_size,
            p.head.timestamp_ms,
            hex::encode(p.head.root),
            b64(&p.head.signature)
        );
        write_atomically(&self.path, text.as_bytes()).map_err(|source| TrustError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// The largest log [`replay_log`] reads (a bound for a server that claims a huge one).
pub const MAX_REPLAYED: u64 = 1 << 24;

/// Reads the log's entries up to `head` (whose signature the caller checked) and replays
/// them ([`crate::replay`]): every entry must be signed by its key and keep the name
/// policy, and together they must hash to `head`'s root. This is what catches a server
/// that logged a second key for a taken name, or hides a rotation or revocation from
/// some clients: the entries it cannot leave out of the log.
pub fn replay_log(client: &Client, head: &TreeHead) -> Result<Replay, TrustError> {
    if head.tree_size > MAX_REPLAYED {
        return Err(TrustError::BadLog(format!(
            "{} entries, more than the {MAX_REPLAYED} read here",
            head.tree_size
        )));
    }
    let mut tree = Tree::new();
    let mut replay = Replay::new();
    while tree.size() < head.tree_size {
        for bytes in client.entries(tree.size(), head.tree_size - 1)? {
            replay
                .apply(&bytes)
                .map_err(|e| TrustError::BadLog(e.to_string()))?;
            tree.push(leaf_hash(&bytes));
        }
    }
    if tree.root(head.tree_size) != Ok(head.root) {
        return Err(TrustError::BadLog(format!(
            "the entries served do not hash to the signed root of the tree of size {}",
            head.tree_size
        )));
    }
    Ok(replay)
}

/// Whether `new` extends `old` (`old.tree_size <= new.tree_size`) in one append-only log.
fn check_consistent(client: &Client, old: &TreeHead, new: &TreeHead) -> Result<(), TrustError> {
    let proof = if old.tree_size == 0 || old.tree_size == new.tree_size {
        Vec::new()
    } else {
        client.consistency(old.tree_size, new.tree_size)?
    };
    if verify_consistency(old.tree_size, new.tree_size, &old.root, &new.root, &proof) {
        Ok(())
    } else {
        Err(TrustError::Inconsistent {
            old: old.tree_size,
            new: new.tree_size,
        })
    }
}

fn read(path: &Path) -> Result<Option<Pinned>, TrustError> {
    let io_error = |source| TrustError::Io {
        path: path.to_path_buf(),
        source,
    };
    let malformed = |reason: &str| TrustError::Malformed {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let size = match fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(e)),
    };
    if size > MAX_STATE {
        return Err(malformed("too large"));
    }
    let text = fs::read_to_string(path).map_err(io_error)?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(malformed("wrong first line"));
    }
    let mut field = |name: &str| -> Result<String, TrustError> {
        lines
            .next()
            .and_then(|l| l.strip_prefix(name)?.strip_prefix(": "))
            .map(str::to_owned)
            .ok_or_else(|| malformed(&format!("no {name} line")))
    };
    let server = field("server")?;
    let spki = unb64(&field("log-key")?, "log-key").map_err(|e| malformed(&e.0))?;
    let number = |s: String, what: &str| s.parse::<u64>().map_err(|_| malformed(what));
    let tree_size = number(field("tree-size")?, "tree-size")?;
    let timestamp_ms = number(field("timestamp")?, "timestamp")?;
    let root = unhex_array(&field("root-hash")?).ok_or_else(|| malformed("root-hash"))?;
    let signature = unb64(&field("signature")?, "signature")
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| malformed("signature"))?;
    let log_key = pki::PublicKey::from_spki_der(&spki).map_err(|e| malformed(&e.to_string()))?;
    let head = TreeHead {
        tree_size,
        timestamp_ms,
        root,
        signature,
    };
    if !head.verify(&log_key) {
        return Err(malformed(&format!(
            "its tree head is not signed by its log key {}",
            fingerprint(spki.as_slice())
        )));
    }
    Ok(Some(Pinned {
        server,
        log_key,
        head,
    }))
}

/// Replaces `path` with `content` ([`pki::files::replace`]: a temporary file beside it,
/// fsync, rename, fsync of the directory), creating the directory if missing.
fn write_atomically(path: &Path, content: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    pki::files::replace(path, content, pki::files::Access::OwnerOnly)
}
