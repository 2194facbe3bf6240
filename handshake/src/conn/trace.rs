//! The trace hook: every handshake message, derived secret and state transition, for the
//! teaching output and for tests that check the state machine against its tables.

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
    /// A secret of the key schedule (RFC 8446 §7.1).
    Secret {
        /// Its name, e.g. `client_handshake_traffic_secret`.
        label: &'static str,
        /// How it was derived, e.g. `Derive-Secret(handshake_secret, "c hs traffic", CH..SH)`.
        derivation: &'static str,
        /// The value.
        value: &'a [u8],
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

/// A callback that receives [`TraceEvent`]s.
pub type Observer = Box<dyn FnMut(&TraceEvent<'_>) + Send>;
