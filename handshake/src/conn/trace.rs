//! The trace hook: every handshake message, derived secret and state transition, for the
//! teaching output and for tests that check the state machine against its tables.
//!
//! Events come in the order things happen, interleaved with the [`TraceEvent::Message`]
//! events: a secret, Finished or key exchange event that follows the n-th message was
//! computed after that message (and before the next one).
//!
//! **Private key material.** [`TraceEvent::KeyExchange`] carries this side's ephemeral
//! private key and the (EC)DHE shared secret, and [`TraceEvent::Secret`] every secret of
//! the key schedule: everything needed to decrypt the connection. An observer must not
//! log or print them on a real connection; keylab's harness shows them only in
//! `keylab demo`, where a connection protects nothing.

use crate::algorithms::{SupportedGroup, SupportedSuite};
use crate::msgs::HandshakeMessage;
use crate::msgs::alert::Alert;
use crate::states::StateName;

/// Which way a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Written by this side.
    Sent,
    /// Read from the peer.
    Received,
}

/// One observable step of a connection.
#[derive(Debug)]
pub enum TraceEvent<'a> {
    /// A handshake message: decoded, and its exact bytes (4-byte header included).
    Message {
        /// Sent or received.
        direction: Direction,
        /// The decoded message.
        message: &'a HandshakeMessage,
        /// The encoding that went into the transcript.
        bytes: &'a [u8],
        /// Whether it travelled in protected records.
        encrypted: bool,
    },
    /// A secret of the key schedule (RFC 8446 §7.1, §7.2, §4.6.1), with the inputs that
    /// recompute it.
    Secret {
        /// Its name, e.g. `client_handshake_traffic_secret`, or after KeyUpdates
        /// `client_application_traffic_secret_1`.
        label: &'a str,
        /// How it was derived, in words, e.g.
        /// `Derive-Secret(handshake_secret, "c hs traffic", CH..SH)`.
        derivation: &'static str,
        /// The value.
        value: &'a [u8],
        /// The structured inputs: HKDF-Extract's salt and IKM, or HKDF-Expand-Label's
        /// secret, label, context and length.
        inputs: SecretInputs<'a>,
    },
    /// An (EC)DHE key exchange (RFC 8446 §4.2.8, §7.4): this side's ephemeral key pair,
    /// the peer's share and the shared secret.
    ///
    /// **Carries private key material** (the ephemeral private key and the shared
    /// secret): never log or print it outside a demonstration (`keylab demo`).
    KeyExchange {
        /// The group.
        group: SupportedGroup,
        /// This side's ephemeral private key: for x25519 the 32-byte scalar as drawn (RFC
        /// 7748 clamps it when used), for secp256r1 the 32-byte big-endian scalar.
        private_key: &'a [u8],
        /// This side's KeyShareEntry.key_exchange: the 32-byte u-coordinate (x25519) or
        /// the 65-byte uncompressed point (secp256r1).
        public_key: &'a [u8],
        /// The peer's key_exchange bytes.
        peer_public_key: &'a [u8],
        /// The shared secret, the IKM of the Handshake Secret: the X25519 output, or the
        /// x-coordinate of the ECDH point for secp256r1 (§7.4.1, §7.4.2).
        shared_secret: &'a [u8],
    },
    /// A Finished message's verify_data (RFC 8446 §4.4.4): computed for our own Finished
    /// just before it is sent, or for the peer's just before it is checked.
    ///
    /// verify_data = HMAC(finished_key, transcript hash), finished_key =
    /// HKDF-Expand-Label(base_key, "finished", "", 32).
    Finished {
        /// `Sent` for our Finished, `Received` for the peer's (the value it must carry).
        direction: Direction,
        /// Whose Finished: `true` for the client's.
        from_client: bool,
        /// The base key: the sender's handshake traffic secret.
        base_key: NamedValue<'a>,
        /// HKDF-Expand-Label(base_key, "finished", "", 32).
        finished_key: &'a [u8],
        /// The transcript hash the HMAC covers: through the message before this Finished.
        transcript: TranscriptHash<'a>,
        /// HMAC-SHA256(finished_key, transcript hash).
        verify_data: &'a [u8],
    },
    /// A PSK binder (RFC 8446 §4.2.11.2): computed by the client for each offered PSK, or
    /// by the server for the one it selected, just before it is checked.
    Binder {
        /// `Sent` when the client computed it, `Received` when the server checks it.
        direction: Direction,
        /// The position of the identity in the pre_shared_key extension.
        index: usize,
        /// binder_key (name and value): Derive-Secret(Early Secret of this PSK,
        /// "ext binder" | "res binder", "").
        binder_key: NamedValue<'a>,
        /// HKDF-Expand-Label(binder_key, "finished", "", 32).
        finished_key: &'a [u8],
        /// The transcript hash over the messages before this ClientHello (none, or
        /// message_hash and HelloRetryRequest) and the ClientHello truncated before the
        /// binders list.
        transcript: TranscriptHash<'a>,
        /// HMAC-SHA256(finished_key, transcript hash).
        binder: &'a [u8],
    },
    /// RFC 8446 §4.4.1: a HelloRetryRequest replaced ClientHello1 in the transcript by the
    /// synthetic message_hash message. Reported right after the HelloRetryRequest's
    /// [`TraceEvent::Message`] (on both sides), as the HelloRetryRequest enters the
    /// transcript after it.
    MessageHash {
        /// Hash(ClientHello1): SHA-256 of the first ClientHello (4-byte header included).
        client_hello1_hash: &'a [u8],
        /// The synthetic message: `fe 00 00 20 || Hash(ClientHello1)`, the first
        /// transcript entry from now on ([`MESSAGE_HASH`]).
        message: &'a [u8],
    },
    /// A state transition of RFC 8446 Appendix A.
    Transition {
        /// State left.
        from: StateName,
        /// State entered.
        to: StateName,
    },
    /// An alert sent or received.
    Alert {
        /// Sent or received.
        direction: Direction,
        /// The alert.
        alert: Alert,
    },
    /// A change_cipher_spec record: sent for middlebox compatibility, or received and
    /// dropped (RFC 8446 §5, Appendix D.4). A record, not a handshake message: it is not
    /// in the transcript.
    ChangeCipherSpec {
        /// Sent or received.
        direction: Direction,
    },
    /// The parameters the ServerHello fixed (RFC 8446 §4.1.3), before the handshake keys
    /// are derived from them.
    Negotiated {
        /// The cipher suite whose AEAD protects the records from here on.
        suite: SupportedSuite,
        /// The (EC)DHE group; `None` for psk_ke.
        group: Option<SupportedGroup>,
    },
}

/// A named value: an input of a key-schedule step, e.g. the salt `early_secret_derived`.
#[derive(Clone, Copy, Debug)]
pub struct NamedValue<'a> {
    /// What it is: a secret's label as in [`TraceEvent::Secret`], or `zeros` (32 zero
    /// bytes), `PSK`, `ecdhe_shared_secret`.
    pub name: &'a str,
    /// Its bytes.
    pub value: &'a [u8],
}

/// A transcript hash and the messages it covers (RFC 8446 §4.4.1).
#[derive(Clone, Copy, Debug)]
pub struct TranscriptHash<'a> {
    /// The messages, in order. Certificate, CertificateVerify and Finished are named with
    /// their sender (`server Finished`). After a HelloRetryRequest the first entry is
    /// [`MESSAGE_HASH`]: the synthetic message that replaces ClientHello1 (§4.4.1). A
    /// binder's transcript ends with [`PARTIAL_CLIENT_HELLO`]. Empty for the hash of no
    /// messages (Derive-Secret with "").
    pub messages: &'a [&'static str],
    /// SHA-256 over those messages.
    pub hash: &'a [u8],
}

/// The transcript entry that replaces ClientHello1 after a HelloRetryRequest (RFC 8446
/// §4.4.1): handshake type message_hash (254), length 32, Hash(ClientHello1).
pub const MESSAGE_HASH: &str = "message_hash(ClientHello1)";

/// The last transcript entry of a PSK binder (RFC 8446 §4.2.11.2): the ClientHello up to
/// and excluding the binders list.
pub const PARTIAL_CLIENT_HELLO: &str = "ClientHello up to the binders";

impl TranscriptHash<'_> {
    /// The messages in words: `ClientHello..ServerHello`, `"" (no messages)`, or with a
    /// HelloRetryRequest `message_hash(ClientHello1), HelloRetryRequest, ClientHello..ServerHello`.
    pub fn describe(&self) -> String {
        let m = self.messages;
        let Some(first) = m.first() else {
            return "\"\" (no messages)".into();
        };
        let (prefix, rest) = if *first == MESSAGE_HASH && m.len() > 2 {
            (format!("{}, {}, ", m[0], m[1]), &m[2..])
        } else {
            (String::new(), m)
        };
        let body = match rest {
            [] => String::new(),
            [one] => (*one).to_owned(),
            [a, b] => format!("{a}, {b}"),
            [a, .., z] => format!("{a}..{z}"),
        };
        format!("{prefix}{body}")
    }
}

/// What an HKDF-Expand-Label context is (RFC 8446 §7.1).
#[derive(Clone, Copy, Debug)]
pub enum HkdfContext<'a> {
    /// Derive-Secret: Transcript-Hash(Messages), the hash of no messages for `""`.
    Transcript(TranscriptHash<'a>),
    /// The empty string ("traffic upd", §7.2).
    Empty,
    /// A NewSessionTicket's ticket_nonce ("resumption", §4.6.1).
    TicketNonce(&'a [u8]),
}

impl HkdfContext<'_> {
    /// The context bytes that go into HkdfLabel.
    pub fn bytes(&self) -> &[u8] {
        match self {
            HkdfContext::Transcript(t) => t.hash,
            HkdfContext::Empty => &[],
            HkdfContext::TicketNonce(n) => n,
        }
    }
}

/// How a [`TraceEvent::Secret`] was computed, with everything needed to recompute it.
#[derive(Clone, Copy, Debug)]
pub enum SecretInputs<'a> {
    /// HKDF-Extract(salt, IKM) (RFC 5869 §2.2): HMAC-SHA256(key = salt, IKM).
    Extract {
        /// The salt, e.g. `zeros` or `early_secret_derived`.
        salt: NamedValue<'a>,
        /// The input keying material, e.g. `PSK`, `zeros`, `ecdhe_shared_secret`.
        ikm: NamedValue<'a>,
    },
    /// HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1); Derive-Secret is
    /// the case of a transcript-hash context and Length 32.
    ExpandLabel {
        /// The input secret.
        secret: NamedValue<'a>,
        /// The label without the "tls13 " prefix, e.g. `c hs traffic`.
        label: &'static str,
        /// The context.
        context: HkdfContext<'a>,
        /// The output length in bytes.
        length: usize,
    },
    /// The (EC)DHE shared secret; its inputs are in the [`TraceEvent::KeyExchange`] event
    /// just before.
    KeyExchange {
        /// The group.
        group: SupportedGroup,
    },
}

/// A callback that receives [`TraceEvent`]s.
pub type Observer = Box<dyn FnMut(&TraceEvent<'_>) + Send>;
