//! The bytes that are signed and logged: statements, log entries and tree heads.
//!
//! Every encoding starts with a domain tag, so a signature made for one purpose can never
//! be presented for another. Variable-length fields are length-prefixed, fixed-width
//! integers are big-endian, so no two different field lists encode to the same bytes:
//!
//! ```text
//! lp(x)     = u32be(len(x)) || x
//!
//! publish   = lp("keylab-keyserver-v1 publish")   || lp(name) || lp(spki) || lp(nonce)
//! hand-over = lp("keylab-keyserver-v1 hand-over") || lp(name) || lp(old spki) || lp(new spki)
//!             || lp(nonce)
//! revoke    = lp("keylab-keyserver-v1 revoke")    || lp(name) || lp(spki) || lp(nonce)
//!
//! log entry = lp("keylab-keyserver-v1 log entry") || u8(kind) || u64be(unix seconds)
//!             || lp(name) || lp(spki) || lp(previous spki) || lp(nonce) || lp(signature)
//!             || lp(hand-over signature)
//! tree head = lp("keylab-keyserver-v1 tree head") || u64be(tree size)
//!             || u64be(unix milliseconds) || root hash (32 bytes)
//! ```
//!
//! `name` is the normalised name in UTF-8 ([`crate::name`]), `spki` a DER
//! SubjectPublicKeyInfo, `nonce` the 32 bytes of a challenge. Entry kinds: 1 publish,
//! 2 rotate, 3 revoke. Unused fields (`previous spki` outside a rotation, the hand-over
//! signature outside a rotation) are empty.

use crate::merkle::Hash;

/// Tag of the proof-of-possession statement of a new key.
pub const PUBLISH_TAG: &str = "keylab-keyserver-v1 publish";
/// Tag of the statement by which the current key of a name hands it over to a new key.
pub const HANDOVER_TAG: &str = "keylab-keyserver-v1 hand-over";
/// Tag of the statement by which a key revokes itself.
pub const REVOKE_TAG: &str = "keylab-keyserver-v1 revoke";
/// Tag of a transparency-log entry.
pub const ENTRY_TAG: &str = "keylab-keyserver-v1 log entry";
/// Tag of the bytes the log key signs for a tree head.
pub const TREE_HEAD_TAG: &str = "keylab-keyserver-v1 tree head";

/// Bytes in a challenge nonce.
pub const NONCE_LEN: usize = 32;
/// Bytes in an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// The largest SubjectPublicKeyInfo accepted anywhere (an Ed25519 one has 44 bytes).
pub const MAX_SPKI_LEN: usize = 256;
/// The largest log entry decoded.
pub const MAX_ENTRY_LEN: usize = 2048;

/// A challenge nonce.
pub type Nonce = [u8; NONCE_LEN];
/// An Ed25519 signature.
pub type Signature = [u8; SIGNATURE_LEN];

fn put(out: &mut Vec<u8>, field: &[u8]) {
    // Every field is bounded far below 4 GiB by the callers' limits.
    let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

/// The statement a new key signs to prove possession (`publish` above).
pub fn publish_message(name: &str, spki: &[u8], nonce: &Nonce) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    put(&mut out, PUBLISH_TAG.as_bytes());
    put(&mut out, name.as_bytes());
    put(&mut out, spki);
    put(&mut out, nonce);
    out
}

/// The statement the current key of `name` signs to hand it over to `new_spki`.
pub fn handover_message(name: &str, old_spki: &[u8], new_spki: &[u8], nonce: &Nonce) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    put(&mut out, HANDOVER_TAG.as_bytes());
    put(&mut out, name.as_bytes());
    put(&mut out, old_spki);
    put(&mut out, new_spki);
    put(&mut out, nonce);
    out
}

/// The statement a key signs to revoke itself.
pub fn revoke_message(name: &str, spki: &[u8], nonce: &Nonce) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    put(&mut out, REVOKE_TAG.as_bytes());
    put(&mut out, name.as_bytes());
    put(&mut out, spki);
    put(&mut out, nonce);
    out
}

/// The bytes the log key signs for a tree head.
pub fn tree_head_message(tree_size: u64, timestamp_ms: u64, root: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    put(&mut out, TREE_HEAD_TAG.as_bytes());
    out.extend_from_slice(&tree_size.to_be_bytes());
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(root);
    out
}

/// A signed tree head: the log's size and root at a time, signed by the log key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeHead {
    /// Entries in the log.
    pub tree_size: u64,
    /// When it was signed, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// MTH of the first `tree_size` entries (RFC 6962 §2.1).
    pub root: Hash,
    /// The log key's Ed25519 signature over [`tree_head_message`].
    pub signature: Signature,
}

impl Default for TreeHead {
    fn default() -> Self {
        Self {
            tree_size: 0,
            timestamp_ms: 0,
            root: crate::merkle::empty_root(),
            signature: [0; SIGNATURE_LEN],
        }
    }
}

impl TreeHead {
    /// The bytes its signature covers.
    pub fn message(&self) -> Vec<u8> {
        tree_head_message(self.tree_size, self.timestamp_ms, &self.root)
    }

    /// Whether `log_key` signed it.
    pub fn verify(&self, log_key: &pki::PublicKey) -> bool {
        verify(log_key, &self.message(), &self.signature)
    }
}

/// What a log entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A name's first key.
    Publish,
    /// A new key for a name, handed over by the previous one.
    Rotate,
    /// A key revoked by itself.
    Revoke,
}

impl EntryKind {
    fn code(self) -> u8 {
        match self {
            Self::Publish => 1,
            Self::Rotate => 2,
            Self::Revoke => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Publish),
            2 => Some(Self::Rotate),
            3 => Some(Self::Revoke),
            _ => None,
        }
    }

    /// `publish`, `rotate` or `revoke`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Rotate => "rotate",
            Self::Revoke => "revoke",
        }
    }
}

/// One entry of the transparency log: a statement the server accepted, with the
/// signatures that made it acceptable, so anyone can check it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// What happened.
    pub kind: EntryKind,
    /// When the server accepted it, seconds since the Unix epoch.
    pub timestamp: u64,
    /// The name (normalised).
    pub name: String,
    /// The key published, rotated to, or revoked (DER SubjectPublicKeyInfo).
    pub spki: Vec<u8>,
    /// For a rotation, the key handed over from; else empty.
    pub previous: Vec<u8>,
    /// The challenge the statements were made for.
    pub nonce: Nonce,
    /// The key's own signature: over `publish` (publish, rotate) or `revoke`.
    pub signature: Signature,
    /// For a rotation, the previous key's signature over `hand-over`.
    pub handover: Option<Signature>,
}

/// Why an entry's bytes were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed log entry: {0}")]
pub struct EntryError(pub String);

impl LogEntry {
    /// The entry's bytes (the Merkle leaf data).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        put(&mut out, ENTRY_TAG.as_bytes());
        out.push(self.kind.code());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        put(&mut out, self.name.as_bytes());
        put(&mut out, &self.spki);
        put(&mut out, &self.previous);
        put(&mut out, &self.nonce);
        put(&mut out, &self.signature);
        put(&mut out, self.handover.as_ref().map_or(&[][..], |s| &s[..]));
        out
    }

    /// Reads an entry; refuses anything but the exact encoding [`encode`](Self::encode)
    /// gives (wrong tag, bad lengths, trailing bytes).
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(EntryError(format!(
                "{} bytes, more than {MAX_ENTRY_LEN}",
                bytes.len()
            )));
        }
        let mut r = Reader(bytes);
        if r.field("tag")? != ENTRY_TAG.as_bytes() {
            return Err(EntryError("wrong domain tag".into()));
        }
        let code = r.take(1, "kind")?[0];
        let kind =
            EntryKind::from_code(code).ok_or_else(|| EntryError(format!("unknown kind {code}")))?;
        let timestamp = u64::from_be_bytes(fixed(r.take(8, "timestamp")?)?);
        let name = std::str::from_utf8(r.field("name")?)
            .map_err(|_| EntryError("the name is not UTF-8".into()))?
            .to_owned();
        let spki = r.field("spki")?.to_vec();
        let previous = r.field("previous spki")?.to_vec();
        let nonce = fixed(r.field("nonce")?)?;
        let signature = fixed(r.field("signature")?)?;
        let handover = match r.field("hand-over signature")? {
            [] => None,
            sig => Some(fixed(sig)?),
        };
        if !r.0.is_empty() {
            return Err(EntryError(format!("{} trailing bytes", r.0.len())));
        }
        if spki.len() > MAX_SPKI_LEN || previous.len() > MAX_SPKI_LEN {
            return Err(EntryError("a key longer than any Ed25519 key".into()));
        }
        let rotation = kind == EntryKind::Rotate;
        if rotation != handover.is_some() || rotation == previous.is_empty() {
            return Err(EntryError(format!(
                "a {} entry {} a previous key and hand-over signature",
                kind.name(),
                if rotation { "needs" } else { "cannot have" }
            )));
        }
        Ok(Self {
            kind,
            timestamp,
            name,
            spki,
            previous,
            nonce,
            signature,
            handover,
        })
    }

    /// Checks the entry's own signatures: the key's over its `publish` or `revoke`
    /// statement, and for a rotation the previous key's over the `hand-over`.
    pub fn verify_signatures(&self) -> Result<(), EntryError> {
        let bad = |what: &str| EntryError(format!("the {what} signature does not verify"));
        let key = ed25519_key(&self.spki).map_err(EntryError)?;
        let own = match self.kind {
            EntryKind::Publish | EntryKind::Rotate => {
                publish_message(&self.name, &self.spki, &self.nonce)
            }
            EntryKind::Revoke => revoke_message(&self.name, &self.spki, &self.nonce),
        };
        if !verify(&key, &own, &self.signature) {
            return Err(bad("key's"));
        }
        if let Some(handover) = &self.handover {
            let previous = ed25519_key(&self.previous).map_err(EntryError)?;
            let msg = handover_message(&self.name, &self.previous, &self.spki, &self.nonce);
            if !verify(&previous, &msg, handover) {
                return Err(bad("hand-over"));
            }
        }
        Ok(())
    }
}

/// The Ed25519 key in a DER SubjectPublicKeyInfo; refuses other algorithms, and any
/// encoding but the one canonical DER form of RFC 8410 §4 (44 bytes, parameters absent).
///
/// A parser may also take, say, NULL parameters or a long-form length; each such variant
/// would give the same key another fingerprint, so one key could hold several names, or
/// come back under a new fingerprint after it was revoked.
pub fn ed25519_key(spki: &[u8]) -> Result<pki::PublicKey, String> {
    // Room for an RSA-4096 key, so that one is refused for its algorithm, not its size.
    if spki.len() > 1024 {
        return Err(format!(
            "a public key of {} bytes; only Ed25519 keys (44 bytes) are accepted",
            spki.len()
        ));
    }
    let key = pki::PublicKey::from_spki_der(spki).map_err(|e| e.to_string())?;
    if !key.is_ed25519() {
        return Err(format!(
            "only Ed25519 keys are accepted, not {}",
            key.algorithm_name()
        ));
    }
    if key.spki_der() != spki {
        return Err(
            "the Ed25519 key is not in canonical DER (RFC 8410 §4: 44 bytes, no \
             algorithm parameters)"
                .into(),
        );
    }
    Ok(key)
}

/// Whether `signature` is `key`'s over `message`: strict Ed25519 verification (RFC 8032
/// §5.1.7, canonical S, no small-order keys).
pub fn verify(key: &pki::PublicKey, message: &[u8], signature: &Signature) -> bool {
    key.verify(pki::SignatureAlgorithm::Ed25519, message, signature)
        .is_ok()
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], EntryError> {
    bytes
        .try_into()
        .map_err(|_| EntryError(format!("a field of {} bytes, expected {N}", bytes.len())))
}

/// Reads length-prefixed fields off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], EntryError> {
        if self.0.len() < n {
            return Err(EntryError(format!("truncated in the {what}")));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn field(&mut self, what: &str) -> Result<&'a [u8], EntryError> {
        let len = u32::from_be_bytes(fixed(self.take(4, what)?)?);
        let len = usize::try_from(len).map_err(|_| EntryError(format!("{what} too long")))?;
        self.take(len, what)
    }
}

/// Exactly `N` bytes from hex (either case); `None` for any other length or a non-hex
/// character.
pub fn unhex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut bytes = [0; N];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: EntryKind) -> LogEntry {
        let rotation = kind == EntryKind::Rotate;
        LogEntry {
            kind,
            timestamp: 1_700_000_000,
            name: "zoë".into(),
            spki: vec![1; 44],
            previous: if rotation { vec![2; 44] } else { Vec::new() },
            nonce: [3; 32],
            signature: [4; 64],
            handover: rotation.then_some([5; 64]),
        }
    }

    #[test]
    fn entries_round_trip_and_refuse_every_truncation_and_extension() {
        for kind in [EntryKind::Publish, EntryKind::Rotate, EntryKind::Revoke] {
            let e = entry(kind);
            let bytes = e.encode();
            assert_eq!(LogEntry::decode(&bytes), Ok(e.clone()));
            for cut in 0..bytes.len() {
                let err = LogEntry::decode(&bytes[..cut]).expect_err("a cut entry");
                assert!(
                    err.0.starts_with("truncated in the "),
                    "{kind:?} cut {cut}: {err}"
                );
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(
                LogEntry::decode(&longer),
                Err(EntryError("1 trailing bytes".into()))
            );
        }
        let mut bad = entry(EntryKind::Publish);
        bad.handover = Some([0; 64]);
        assert_eq!(
            LogEntry::decode(&bad.encode()),
            Err(EntryError(
                "a publish entry cannot have a previous key and hand-over signature".into()
            ))
        );
    }

    #[test]
    fn statements_are_domain_separated_and_unambiguous() {
        let nonce = [9; 32];
        let spki = [7u8; 44];
        let publish = publish_message("ab", &spki, &nonce);
        assert_ne!(publish, revoke_message("ab", &spki, &nonce));
        // Moving a byte between fields changes the encoding.
        assert_ne!(
            publish_message("a", b"bc", &nonce),
            publish_message("ab", b"c", &nonce)
        );
        // The exact bytes, as documented.
        let mut expected = Vec::new();
        expected.extend_from_slice(&27u32.to_be_bytes());
        expected.extend_from_slice(b"keylab-keyserver-v1 publish");
        expected.extend_from_slice(&[0, 0, 0, 2, b'a', b'b', 0, 0, 0, 44]);
        expected.extend_from_slice(&spki);
        expected.extend_from_slice(&[0, 0, 0, 32]);
        expected.extend_from_slice(&nonce);
        assert_eq!(publish, expected);
    }

    #[test]
    fn only_the_canonical_ed25519_spki_is_accepted() {
        let raw = ed25519_dalek::SigningKey::from_bytes(&[0x42; 32])
            .verifying_key()
            .to_bytes();
        let key = pki::PublicKey::ed25519_from_raw(&raw).expect("a point");
        let canonical = key.spki_der().to_vec();
        assert!(ed25519_key(&canonical).is_ok());
        // The same key with NULL parameters, and with a long-form outer length: both
        // parse, and would have given the key other fingerprints.
        let null_params = [
            &[
                0x30, 0x2c, 0x30, 0x07, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x05, 0x00,
            ][..],
            &[0x03, 0x21, 0x00],
            &raw,
        ]
        .concat();
        let long_length = [&[0x30, 0x81][..], &canonical[1..]].concat();
        for other in [null_params, long_length] {
            let err = ed25519_key(&other).expect_err("not canonical");
            assert!(err.contains("canonical DER"), "{err}");
        }
    }

    #[test]
    fn unhex_array_takes_exactly_n_bytes() {
        assert_eq!(unhex_array::<3>("00AB10"), Some([0, 0xab, 0x10]));
        assert_eq!(unhex_array::<1>("0"), None);
        assert_eq!(unhex_array::<1>("zz"), None);
        assert_eq!(unhex_array::<2>("0102"), Some([1, 2]));
        assert_eq!(unhex_array::<2>("010203"), None);
    }
}
