//! The running transcript hash (RFC 8446 §4.4.1).

use std::cell::Cell;
use std::fmt;

use sha2::{Digest, Sha256};

use super::kdf::HASH_LEN;
use crate::msgs::enums::HandshakeType;

/// Transcript-Hash over the handshake messages so far (RFC 8446 §4.4.1): SHA-256 over each
/// message exactly as sent, 4-byte header included, with no record-layer framing.
///
/// The hash runs incrementally; [`Transcript::current_hash`] does not end it, and asking
/// again before the next message is added costs nothing.
#[derive(Clone, Default)]
pub struct Transcript {
    hash: Sha256,
    messages: usize,
    /// The hash of the messages so far, once asked for (a hash of handshake messages, not
    /// key material).
    current: Cell<Option<[u8; HASH_LEN]>>,
}

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one handshake message (header included).
    pub fn add(&mut self, message: &[u8]) {
        self.hash.update(message);
        self.messages += 1;
        self.current.set(None);
    }

    /// Number of messages added since the start (or since the message_hash replacement,
    /// which counts as one).
    pub fn len(&self) -> usize {
        self.messages
    }

    /// Whether no message has been added.
    pub fn is_empty(&self) -> bool {
        self.messages == 0
    }

    /// Transcript-Hash of the messages so far.
    pub fn current_hash(&self) -> [u8; HASH_LEN] {
        if let Some(hash) = self.current.get() {
            return hash;
        }
        let hash: [u8; HASH_LEN] = self.hash.clone().finalize().into();
        self.current.set(Some(hash));
        hash
    }

    /// Transcript-Hash of the messages so far followed by `extra`, without adding it: the
    /// PSK binder hash over a partial ClientHello (RFC 8446 §4.2.11.2).
    pub fn hash_with(&self, extra: &[u8]) -> [u8; HASH_LEN] {
        let mut hash = self.hash.clone();
        hash.update(extra);
        hash.finalize().into()
    }

    /// RFC 8446 §4.4.1: "When the server responds to a ClientHello with a HelloRetryRequest,
    /// the value of ClientHello1 is replaced with a special synthetic handshake message of
    /// handshake type "message_hash" containing Hash(ClientHello1)."
    ///
    /// Call this when the transcript holds exactly ClientHello1, before adding the
    /// HelloRetryRequest.
    pub fn replace_with_message_hash(&mut self) {
        let client_hello1_hash = self.current_hash();
        *self = Self::new();
        self.add(&message_hash(&client_hello1_hash));
    }
}

/// The synthetic `message_hash` handshake message of RFC 8446 §4.4.1:
/// `message_hash(254) || 00 00 Hash.length || hash`.
pub fn message_hash(hash: &[u8; HASH_LEN]) -> [u8; 4 + HASH_LEN] {
    let mut out = [0u8; 4 + HASH_LEN];
    out[0] = HandshakeType::MessageHash.to_u8();
    out[3] = HASH_LEN as u8;
    out[4..].copy_from_slice(hash);
    out
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transcript")
            .field("messages", &self.messages)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_over_the_concatenation() {
        let mut t = Transcript::new();
        t.add(b"abc");
        t.add(b"def");
        let whole: [u8; 32] = Sha256::digest(b"abcdef").into();
        assert_eq!(t.current_hash(), whole);
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.hash_with(b"g"),
            <[u8; 32]>::from(Sha256::digest(b"abcdefg"))
        );
        assert_eq!(t.current_hash(), whole, "hash_with does not add");
        t.add(b"g");
        assert_eq!(
            t.current_hash(),
            <[u8; 32]>::from(Sha256::digest(b"abcdefg")),
            "adding a message forgets the hash asked for before"
        );
    }

    #[test]
    fn message_hash_replaces_client_hello1() {
        let mut t = Transcript::new();
        t.add(b"client hello 1");
        t.replace_with_message_hash();
        let ch1: [u8; 32] = Sha256::digest(b"client hello 1").into();
        let mut expected = Sha256::new();
        expected.update([254, 0, 0, 32]);
        expected.update(ch1);
        assert_eq!(t.current_hash(), <[u8; 32]>::from(expected.finalize()));
        assert_eq!(t.len(), 1);
    }
}
