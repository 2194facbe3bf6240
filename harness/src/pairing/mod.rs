//! Pairing: two people type the same short code on two machines and get the same strong
//! external PSK, with SPAKE2 (RFC 9382) over one TCP connection.
//!
//! A passive observer of the pairing learns nothing it could test codes against: the
//! SPAKE2 messages are random group elements whatever the code (RFC 9382 §3). An active
//! attacker gets one guess per attempt, and a wrong guess shows as a failed confirmation.
//! The shared secret then goes through HKDF (RFC 5869) into key confirmation keys and the
//! PSK, so the PSK is 32 bytes nobody can guess from the code alone.
//!
//! ```text
//! connector (A)                                        listener (B)
//!   Hello(identity, pA = X + w·M)    ----------------->
//!                                    <-----------------  Hello(identity, pB = Y + w·N)
//!   K = SPAKE2 shared secret                              K = SPAKE2 shared secret
//!   Confirm(HMAC(kcA, TH))           ----------------->  check, or Abort
//!                                    <-----------------  Confirm(HMAC(kcB, TH))
//!   check, then Done                 ----------------->  (both save the PSK)
//!
//! TH  = SHA-256("keylab pair v1" || len(identity) || identity || HelloA body || HelloB body)
//! PRK = HKDF-Extract(salt = TH, K)
//! kcA = HKDF-Expand(PRK, "keylab pair v1 confirm connector", 32), kcB likewise "listener"
//! PSK = HKDF-Expand(PRK, "keylab pair v1 psk " || identity, 32)
//! ```

pub mod wire;

use std::io::{Read, Write};

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use zeroize::Zeroizing;

use wire::{ABORT_MISMATCH, Kind, WireError, read_frame, write_frame};

/// The SPAKE2 identity of the side that connects (RFC 9382 §3: A).
const ID_CONNECTOR: &[u8] = b"keylab pair connector";
/// The SPAKE2 identity of the side that listens (B).
const ID_LISTENER: &[u8] = b"keylab pair listener";
/// The domain separation string of the transcript hash and the HKDF labels.
const PROTOCOL: &[u8] = b"keylab pair v1";

/// Which end of the connection this side is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Connects, and speaks first (SPAKE2's A).
    Connector,
    /// Listens (SPAKE2's B).
    Listener,
}

/// Why a pairing failed.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// The key confirmation failed on this side or the other.
    #[error("the codes did not match (or someone in between guessed wrong)")]
    Mismatch,
    /// The two sides named different identities.
    #[error("this side pairs identity {ours:?}, the other side {theirs:?}")]
    Identity {
        /// This side's identity.
        ours: String,
        /// The other side's.
        theirs: String,
    },
    /// A message that does not belong where it came.
    #[error("unexpected pairing message: {0}")]
    Protocol(String),
    /// The connection or the frame format failed.
    #[error("pairing connection: {0}")]
    Wire(#[from] WireError),
}

/// A finished pairing: the PSK and the messages, for explanations.
pub struct Paired {
    /// The PSK both sides now hold.
    pub psk: Zeroizing<[u8; 32]>,
    /// The connector's Hello body.
    pub hello_connector: Vec<u8>,
    /// The listener's Hello body.
    pub hello_listener: Vec<u8>,
    /// The transcript hash TH.
    pub transcript_hash: [u8; 32],
    /// The connector's confirmation MAC.
    pub confirm_connector: [u8; 32],
    /// The listener's confirmation MAC.
    pub confirm_listener: [u8; 32],
}

/// The keys derived from the SPAKE2 secret.
struct Keys {
    confirm_connector: Zeroizing<[u8; 32]>,
    confirm_listener: Zeroizing<[u8; 32]>,
    psk: Zeroizing<[u8; 32]>,
}

/// Runs the pairing on `stream` as `role` with `code`, for PSK identity `identity`. The
/// stream's timeouts bound every step.
pub fn pair<S: Read + Write>(
    stream: &mut S,
    role: Role,
    code: &[u8],
    identity: &str,
    rng: impl CryptoRng,
) -> Result<Paired, PairError> {
    let password = Password::new(code);
    let (ida, idb) = (Identity::new(ID_CONNECTOR), Identity::new(ID_LISTENER));
    let (state, message) = match role {
        Role::Connector => Spake2::<Ed25519Group>::start_a_with_rng(&password, &ida, &idb, rng),
        Role::Listener => Spake2::<Ed25519Group>::start_b_with_rng(&password, &ida, &idb, rng),
    };
    let ours = hello_body(identity, &message)?;
    let theirs = exchange_hellos(stream, role, &ours)?;
    let their_message = check_hello(&theirs, identity)?;
    // A bad point or side byte is an active attacker's doing: treat it as a wrong guess,
    // and tell the other side so that it does not wait for a confirmation.
    let Ok(shared) = state.finish(their_message) else {
        let _ = write_frame(stream, Kind::Abort, &[ABORT_MISMATCH]);
        return Err(PairError::Mismatch);
    };
    let shared = Zeroizing::new(shared);
    let (hello_connector, hello_listener) = match role {
        Role::Connector => (ours, theirs),
        Role::Listener => (theirs, ours),
    };
    let th = transcript_hash(identity, &hello_connector, &hello_listener);
    let keys = derive(&shared, &th, identity)?;
    let confirm_connector = mac(&keys.confirm_connector, &th);
    let confirm_listener = mac(&keys.confirm_listener, &th);
    match role {
        Role::Connector => {
            write_frame(stream, Kind::Confirm, &confirm_connector)?;
            let body = expect(stream, Kind::Confirm)?;
            verify(stream, &keys.confirm_listener, &th, &body)?;
            write_frame(stream, Kind::Done, &[])?;
        }
        Role::Listener => {
            let body = expect(stream, Kind::Confirm)?;
            verify(stream, &keys.confirm_connector, &th, &body)?;
            write_frame(stream, Kind::Confirm, &confirm_listener)?;
            expect(stream, Kind::Done)?;
        }
    }
    Ok(Paired {
        psk: keys.psk,
        hello_connector,
        hello_listener,
        transcript_hash: th,
        confirm_connector,
        confirm_listener,
    })
}

/// A Hello body: the identity with its length, then the SPAKE2 message.
fn hello_body(identity: &str, message: &[u8]) -> Result<Vec<u8>, PairError> {
    let len = u8::try_from(identity.len())
        .map_err(|_| PairError::Protocol("an identity longer than 255 bytes".into()))?;
    let mut body = vec![len];
    body.extend_from_slice(identity.as_bytes());
    body.extend_from_slice(message);
    Ok(body)
}

/// The connector sends its Hello first, the listener answers.
fn exchange_hellos<S: Read + Write>(
    stream: &mut S,
    role: Role,
    ours: &[u8],
) -> Result<Vec<u8>, PairError> {
    if role == Role::Connector {
        write_frame(stream, Kind::Hello, ours)?;
        expect(stream, Kind::Hello)
    } else {
        let theirs = expect(stream, Kind::Hello)?;
        write_frame(stream, Kind::Hello, ours)?;
        Ok(theirs)
    }
}

/// The peer's SPAKE2 message, once its identity is checked against ours.
fn check_hello<'a>(body: &'a [u8], identity: &str) -> Result<&'a [u8], PairError> {
    let (&len, rest) = body
        .split_first()
        .ok_or_else(|| PairError::Protocol("an empty Hello".into()))?;
    let theirs = rest
        .get(..usize::from(len))
        .ok_or_else(|| PairError::Protocol("a Hello shorter than its identity".into()))?;
    if theirs != identity.as_bytes() {
        return Err(PairError::Identity {
            ours: identity.to_owned(),
            theirs: String::from_utf8_lossy(theirs).into_owned(),
        });
    }
    Ok(&rest[usize::from(len)..])
}

/// The next frame, which must be of `kind`; an Abort is the other side's failed check.
fn expect<S: Read>(stream: &mut S, kind: Kind) -> Result<Vec<u8>, PairError> {
    match read_frame(stream)? {
        (k, body) if k == kind => Ok(body),
        (Kind::Abort, body) if body.first() == Some(&ABORT_MISMATCH) => Err(PairError::Mismatch),
        (other, _) => Err(PairError::Protocol(format!(
            "{other:?} where {kind:?} was expected"
        ))),
    }
}

/// Checks the peer's confirmation in constant time; on failure tells the peer (Abort)
/// so that both sides report the mismatch.
fn verify<S: Write>(
    stream: &mut S,
    key: &[u8; 32],
    th: &[u8; 32],
    received: &[u8],
) -> Result<(), PairError> {
    let Ok(mut check) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length");
    };
    check.update(th);
    if check.verify_slice(received).is_ok() {
        return Ok(());
    }
    // The mismatch is the error to report even if the Abort cannot be sent.
    let _ = write_frame(stream, Kind::Abort, &[ABORT_MISMATCH]);
    Err(PairError::Mismatch)
}

/// TH: what both sides said, bound to the protocol and the identity.
pub fn transcript_hash(identity: &str, hello_connector: &[u8], hello_listener: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(PROTOCOL);
    h.update([u8::try_from(identity.len()).unwrap_or(u8::MAX)]);
    h.update(identity.as_bytes());
    h.update(hello_connector);
    h.update(hello_listener);
    h.finalize().into()
}

/// The confirmation keys and the PSK, from the SPAKE2 secret (RFC 5869 Extract, Expand).
fn derive(shared: &[u8], th: &[u8; 32], identity: &str) -> Result<Keys, PairError> {
    let hk = Hkdf::<Sha256>::new(Some(th), shared);
    let expand = |label: &[u8]| {
        let mut out = Zeroizing::new([0u8; 32]);
        hk.expand(label, &mut out[..])
            .map(|()| out)
            .map_err(|_| PairError::Protocol("HKDF output too long".into()))
    };
    let mut psk_label = [PROTOCOL, b" psk "].concat();
    psk_label.extend_from_slice(identity.as_bytes());
    Ok(Keys {
        confirm_connector: expand(&[PROTOCOL, b" confirm connector"].concat())?,
        confirm_listener: expand(&[PROTOCOL, b" confirm listener"].concat())?,
        psk: expand(&psk_label)?,
    })
}

fn mac(key: &[u8; 32], th: &[u8; 32]) -> [u8; 32] {
    let Ok(mut m) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length");
    };
    m.update(th);
    m.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests;
