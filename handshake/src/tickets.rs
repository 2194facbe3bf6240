//! Server-side session tickets (RFC 8446 §4.6.1): self-contained, encrypted and
//! authenticated with a server ticket key, so the server keeps no per-session state.
//!
//! A ticket on the wire is `key_id (4) || nonce (12) || ChaCha20-Poly1305(state) || tag`,
//! with `"keylab-ticket-v1" || key_id` as associated data. The key id is the first four
//! bytes of SHA-256 over a label and the key. The sealed state is
//!
//! ```text
//! u8  version (1)
//! u64 created, Unix milliseconds
//! u64 authenticated, Unix milliseconds: when the full handshake behind this chain of
//!     resumptions took place (RFC 8446 §4.6.1: at most 7 days of resumptions on it)
//! u32 lifetime, seconds
//! u32 ticket_age_add
//! opaque psk<32>                 the resumption PSK (§4.6.1)
//! opaque client_identity<0..2^16-1>  who the client proved to be; empty when anonymous
//! u8  client_identity_verified   1 when it is a verified client certificate
//! ```
//!
//! Keys rotate: [`Tickets::rotate`] makes a new key current and keeps the previous one for
//! decryption only; tickets under older keys no longer open, and their clients get a full
//! handshake. With [`Tickets::single_use`] the server remembers the nonces of tickets it
//! accepted (in memory, bounded, lost on restart) and refuses a second use.
//!
//! Each nonce is four bytes from the connection's RNG followed by a 64-bit counter of the
//! [`Tickets`] value, so nonces never repeat under one key within a process, whatever the
//! RNG. A key reused across processes needs a random RNG (seeded RNGs repeat their bytes).
//!
//! Tickets record who the client proved to be, not which trust anchors verified it:
//! servers sharing one [`Tickets`] must trust the same client CAs.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::codec::{LengthPrefix, Reader, put_opaque, put_u8, put_u32};
use crate::key_schedule::HASH_LEN;

const AAD_LABEL: &[u8] = b"keylab-ticket-v1";
const VERSION: u8 = 1;
/// RFC 8446 §4.6.1: "Servers MUST NOT use any value greater than 604800 seconds".
pub const MAX_LIFETIME: u32 = 604_800;

/// A ticket key with its id.
struct TicketKey {
    id: [u8; 4],
    cipher: ChaCha20Poly1305,
}

impl TicketKey {
    fn new(key: &[u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"keylab ticket key id")
            .chain_update(key)
            .finalize();
        let mut id = [0u8; 4];
        id.copy_from_slice(&digest[..4]);
        Self {
            id,
            cipher: ChaCha20Poly1305::new(&(*key).into()),
        }
    }
}

struct Keys {
    current: TicketKey,
    previous: Option<TicketKey>,
    /// Tickets sealed under `current`: the second half of each nonce.
    sealed: u64,
}

/// Nonces of tickets already accepted, with when they expire.
struct Used {
    seen: HashMap<[u8; 12], u64>,
    capacity: usize,
    /// When the set was last found full of live tickets: the earliest expiry then. Until
    /// that time pruning cannot free anything, so it is not tried.
    full_until: u64,
}

/// What a ticket carries from the handshake that issued it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TicketState {
    pub created_ms: u64,
    /// When the client authenticated in the full handshake this ticket descends from.
    pub auth_ms: u64,
    pub lifetime: u32,
    pub age_add: u32,
    pub psk: Zeroizing<[u8; HASH_LEN]>,
    /// Who the client proved to be in the original handshake; `None` when anonymous.
    pub client_identity: Option<String>,
    /// Whether `client_identity` is a verified client certificate (not a PSK identity).
    pub certificate_verified: bool,
}

impl fmt::Debug for TicketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketState")
            .field("created_ms", &self.created_ms)
            .field("lifetime", &self.lifetime)
            .field("client_identity", &self.client_identity)
            .field("certificate_verified", &self.certificate_verified)
            .finish_non_exhaustive()
    }
}

/// Why a ticket was not accepted; the connection falls back to a full handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TicketRejection {
    /// Not ours, tampered with, or sealed under a key rotated away.
    CannotOpen,
    /// Older than its lifetime.
    Expired { age_ms: u64, lifetime: u32 },
    /// Descends from a full handshake more than 7 days ago (§4.6.1).
    AuthenticationTooOld { age_ms: u64 },
    /// The client's idea of the ticket's age differs too much from ours.
    AgeMismatch { client_ms: u32, server_ms: u64 },
    /// Single-use tickets: seen before.
    Replayed,
    /// Single-use tickets: the replay set is full of unexpired tickets.
    ReplaySetFull,
}

impl fmt::Display for TicketRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CannotOpen => f.write_str(
                "the ticket does not open (not issued here, altered, or its key was rotated away)",
            ),
            Self::Expired { age_ms, lifetime } => write!(
                f,
                "the ticket expired: {} s old, lifetime {lifetime} s",
                age_ms / 1000
            ),
            Self::AgeMismatch {
                client_ms,
                server_ms,
            } => write!(
                f,
                "the client says the ticket is {client_ms} ms old, the server {server_ms} ms (outside the window)"
            ),
            Self::AuthenticationTooOld { age_ms } => write!(
                f,
                "the ticket descends from a full handshake {} s ago, more than the 604800 s allowed",
                age_ms / 1000
            ),
            Self::Replayed => f.write_str("the single-use ticket was already used"),
            Self::ReplaySetFull => f.write_str("the single-use ticket set is full"),
        }
    }
}

/// The server's ticket keys and policy. Share one between connections (in
/// [`crate::ServerConfig::tickets`]).
pub struct Tickets {
    keys: Mutex<Keys>,
    lifetime: u32,
    age_window_ms: u32,
    per_connection: u8,
    used: Option<Mutex<Used>>,
}

impl fmt::Debug for Tickets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tickets")
            .field("lifetime", &self.lifetime)
            .field("age_window_ms", &self.age_window_ms)
            .field("per_connection", &self.per_connection)
            .field("single_use", &self.used.is_some())
            .finish_non_exhaustive()
    }
}

impl Tickets {
    /// Tickets sealed with `key` (32 random bytes), valid for two hours, one per
    /// connection, reusable, with a ticket-age window of 10 seconds.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            keys: Mutex::new(Keys {
                current: TicketKey::new(key),
                previous: None,
                sealed: 0,
            }),
            lifetime: 7200,
            age_window_ms: 10_000,
            per_connection: 1,
            used: None,
        }
    }

    /// Sets the lifetime in seconds (1 to 604800, RFC 8446 §4.6.1).
    pub fn with_lifetime(mut self, seconds: u32) -> Result<Self, crate::Error> {
        if !(1..=MAX_LIFETIME).contains(&seconds) {
            return Err(crate::Error::Usage(
                "ticket lifetime must be 1 to 604800 seconds",
            ));
        }
        self.lifetime = seconds;
        Ok(self)
    }

    /// Sets how far the client's ticket age may be from the server's (RFC 8446 §8.3).
    pub fn with_age_window(mut self, millis: u32) -> Self {
        self.age_window_ms = millis;
        self
    }

    /// Sets how many tickets each connection gets (0 to 8).
    pub fn with_per_connection(mut self, count: u8) -> Self {
        self.per_connection = count.min(8);
        self
    }

    /// Makes tickets single-use: at most `capacity` accepted tickets are remembered until
    /// they expire (in memory only: a restarted server forgets them). When the set is full
    /// of live tickets, further resumptions fall back to full handshakes.
    pub fn single_use(mut self, capacity: usize) -> Self {
        self.used = Some(Mutex::new(Used {
            seen: HashMap::new(),
            capacity: capacity.max(1),
            full_until: 0,
        }));
        self
    }

    /// The ticket lifetime in seconds.
    pub fn lifetime(&self) -> u32 {
        self.lifetime
    }

    /// How many tickets each connection gets.
    pub fn per_connection(&self) -> u8 {
        self.per_connection
    }

    /// Makes `key` current; the previous current key still opens tickets, older ones no
    /// longer do.
    pub fn rotate(&self, key: &[u8; 32]) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let old = std::mem::replace(&mut keys.current, TicketKey::new(key));
        keys.previous = Some(old);
        keys.sealed = 0;
    }

    /// Seals `state` into a ticket; `random` is the first third of the nonce.
    pub(crate) fn seal(&self, state: &TicketState, random: [u8; 4]) -> Option<Vec<u8>> {
        let mut plain = Zeroizing::new(Vec::with_capacity(64));
        put_u8(&mut plain, VERSION);
        plain.extend_from_slice(&state.created_ms.to_be_bytes());
        plain.extend_from_slice(&state.auth_ms.to_be_bytes());
        put_u32(&mut plain, state.lifetime);
        put_u32(&mut plain, state.age_add);
        put_opaque(&mut plain, LengthPrefix::U8, "psk", &state.psk[..]).ok()?;
        let identity = state.client_identity.as_deref().unwrap_or("");
        put_opaque(
            &mut plain,
            LengthPrefix::U16,
            "identity",
            identity.as_bytes(),
        )
        .ok()?;
        put_u8(&mut plain, u8::from(state.certificate_verified));

        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&random);
        nonce[4..].copy_from_slice(&keys.sealed.to_be_bytes());
        keys.sealed = keys.sealed.checked_add(1)?;
        let key = &keys.current;
        let aad = [AAD_LABEL, &key.id[..]].concat();
        let mut ticket = Vec::with_capacity(16 + plain.len() + 16);
        ticket.extend_from_slice(&key.id);
        ticket.extend_from_slice(&nonce);
        ticket.extend_from_slice(&plain);
        let tag = key
            .cipher
            .encrypt_inout_detached(&Nonce::from(nonce), &aad, ticket[16..].as_mut().into())
            .ok()?;
        ticket.extend_from_slice(&tag);
        Some(ticket)
    }

    fn open(&self, ticket: &[u8]) -> Option<TicketState> {
        let (id, rest) = ticket.split_at_checked(4)?;
        let (nonce, sealed) = rest.split_at_checked(12)?;
        let (ciphertext, tag) = sealed.split_at_checked(sealed.len().checked_sub(16)?)?;
        let nonce = Nonce::try_from(nonce).ok()?;
        let tag = Tag::try_from(tag).ok()?;
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let key = std::iter::once(&keys.current)
            .chain(keys.previous.as_ref())
            .find(|k| k.id == id)?;
        let aad = [AAD_LABEL, id].concat();
        let mut plain = Zeroizing::new(ciphertext.to_vec());
        key.cipher
            .decrypt_inout_detached(&nonce, &aad, plain.as_mut_slice().into(), &tag)
            .ok()?;
        decode_state(&plain)
    }

    /// Opens a ticket offered with `obfuscated_age` at `now_ms` and checks its age (and,
    /// for single-use tickets, that it was not used before — marking it used).
    pub(crate) fn accept(
        &self,
        ticket: &[u8],
        obfuscated_age: u32,
        now_ms: u64,
    ) -> Result<TicketState, TicketRejection> {
        let state = self.open(ticket).ok_or(TicketRejection::CannotOpen)?;
        let server_ms = now_ms.saturating_sub(state.created_ms);
        if server_ms > u64::from(state.lifetime) * 1000 {
            return Err(TicketRejection::Expired {
                age_ms: server_ms,
                lifetime: state.lifetime,
            });
        }
        let auth_age = now_ms.saturating_sub(state.auth_ms);
        if auth_age > u64::from(MAX_LIFETIME) * 1000 {
            return Err(TicketRejection::AuthenticationTooOld { age_ms: auth_age });
        }
        // RFC 8446 §4.2.11.1: the age the client reports, unobfuscated.
        let client_ms = obfuscated_age.wrapping_sub(state.age_add);
        if u64::from(client_ms).abs_diff(server_ms) > u64::from(self.age_window_ms) {
            return Err(TicketRejection::AgeMismatch {
                client_ms,
                server_ms,
            });
        }
        Ok(state)
    }

    /// For single-use tickets, records `ticket` as used; fails when it was used before.
    /// Call only once the binder has been verified, so a forged offer burns nothing.
    pub(crate) fn mark_used(
        &self,
        ticket: &[u8],
        state: &TicketState,
        now_ms: u64,
    ) -> Result<(), TicketRejection> {
        let Some(used) = &self.used else {
            return Ok(());
        };
        let Some(nonce) = ticket.get(4..16).and_then(|n| <[u8; 12]>::try_from(n).ok()) else {
            return Err(TicketRejection::CannotOpen);
        };
        let mut used = used.lock().unwrap_or_else(|e| e.into_inner());
        if used.seen.contains_key(&nonce) {
            return Err(TicketRejection::Replayed);
        }
        if used.seen.len() >= used.capacity {
            if now_ms < used.full_until {
                return Err(TicketRejection::ReplaySetFull);
            }
            used.seen.retain(|_, expires| *expires > now_ms);
            if used.seen.len() >= used.capacity {
                used.full_until = used.seen.values().copied().min().unwrap_or(0);
                return Err(TicketRejection::ReplaySetFull);
            }
        }
        let expires = state.created_ms + u64::from(state.lifetime) * 1000;
        used.seen.insert(nonce, expires);
        Ok(())
    }
}

fn decode_state(plain: &[u8]) -> Option<TicketState> {
    let mut r = Reader::new(plain);
    if r.u8("version").ok()? != VERSION {
        return None;
    }
    let created_ms = u64::from_be_bytes(r.array::<8>("created").ok()?);
    let auth_ms = u64::from_be_bytes(r.array::<8>("authenticated").ok()?);
    let lifetime = r.u32("lifetime").ok()?;
    let age_add = r.u32("age_add").ok()?;
    let mut psk = Zeroizing::new([0u8; HASH_LEN]);
    psk.copy_from_slice(r.vec_u8("psk", HASH_LEN..=HASH_LEN).ok()?);
    let identity = r.vec_u16("identity", 0..=0xffff).ok()?;
    let verified = r.u8("verified").ok()? == 1;
    r.expect_empty("ticket").ok()?;
    let identity = String::from_utf8(identity.to_vec()).ok()?;
    Some(TicketState {
        created_ms,
        auth_ms,
        lifetime,
        age_add,
        psk,
        client_identity: Some(identity).filter(|s| !s.is_empty()),
        certificate_verified: verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> TicketState {
        TicketState {
            created_ms: 1_000_000,
            auth_ms: 1_000_000,
            lifetime: 60,
            age_add: 0xdead_beef,
            psk: Zeroizing::new([7; HASH_LEN]),
            client_identity: Some("CN=alice".into()),
            certificate_verified: true,
        }
    }

    #[test]
    fn round_trip_and_age_checks() {
        let tickets = Tickets::new(&[1; 32]).with_age_window(1000);
        let t = tickets.seal(&state(), [9; 4]).expect("seals");
        let age = |ms: u32| ms.wrapping_add(0xdead_beef);
        let opened = tickets.accept(&t, age(5000), 1_005_000).expect("valid");
        assert!(opened == state());
        assert!(matches!(
            tickets.accept(&t, age(9000), 1_005_000),
            Err(TicketRejection::AgeMismatch { .. })
        ));
        assert!(matches!(
            tickets.accept(&t, age(61_000), 1_061_000),
            Err(TicketRejection::Expired { .. })
        ));
        let mut bad = t.clone();
        bad[20] ^= 1;
        assert_eq!(
            tickets.accept(&bad, age(0), 1_000_000),
            Err(TicketRejection::CannotOpen)
        );
        assert_eq!(
            tickets.accept(&t[..10], age(0), 1_000_000),
            Err(TicketRejection::CannotOpen)
        );
    }

    #[test]
    fn rotation_keeps_one_previous_key() {
        let tickets = Tickets::new(&[1; 32]);
        let t = tickets.seal(&state(), [9; 4]).expect("seals");
        let age = 0xdead_beef;
        tickets.rotate(&[2; 32]);
        assert!(tickets.accept(&t, age, 1_000_000).is_ok());
        tickets.rotate(&[3; 32]);
        assert_eq!(
            tickets.accept(&t, age, 1_000_000),
            Err(TicketRejection::CannotOpen)
        );
    }

    #[test]
    fn single_use_set_is_bounded() {
        let tickets = Tickets::new(&[1; 32]).single_use(2);
        let s = state();
        let t1 = tickets.seal(&s, [1; 4]).expect("seals");
        let t2 = tickets.seal(&s, [1; 4]).expect("seals");
        let t3 = tickets.seal(&s, [1; 4]).expect("seals");
        assert_eq!(tickets.mark_used(&t1, &s, 1_000_000), Ok(()));
        assert_eq!(
            tickets.mark_used(&t1, &s, 1_000_000),
            Err(TicketRejection::Replayed)
        );
        assert_eq!(tickets.mark_used(&t2, &s, 1_000_000), Ok(()));
        assert_eq!(
            tickets.mark_used(&t3, &s, 1_000_000),
            Err(TicketRejection::ReplaySetFull)
        );
        // Once the first two expire, there is room again.
        assert_eq!(tickets.mark_used(&t3, &s, 1_000_000 + 61_000), Ok(()));
    }
}
