//! Challenge nonces for proof of possession: issued by `GET /challenge`, each good for
//! one statement within [`NONCE_LIFETIME`].
//!
//! Nonces live in memory only, at most [`MAX_OUTSTANDING`] at a time: a restart forgets
//! them, which only costs a client a new challenge — a statement signed before the
//! restart can no longer be replayed. A used or expired nonce is remembered for another
//! lifetime so that its second use gets a precise refusal; after that it is simply
//! unknown.
//!
//! When the table is full the *oldest* nonces are forgotten to make room, rather than
//! refusing new ones: anyone may ask for challenges, and a table that refused when full
//! would let 10,000 anonymous requests lock every publisher out for ten minutes.
//! Forgetting a nonce is always safe (an unknown nonce is refused); a publisher only
//! loses its nonce if more than [`MAX_OUTSTANDING`] others are issued between its
//! `GET /challenge` and its `POST`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use rand_core::CryptoRng;

use crate::wire::Nonce;

/// The time, as the two clocks see it: monotonic for nonce lifetimes, wall-clock for
/// timestamps in the log.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// For nonce lifetimes in one process (SQLite).
    pub mono: Instant,
    /// For log timestamps, and nonce lifetimes shared by several front ends
    /// (PostgreSQL).
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

/// How long a nonce may be used after it was issued.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// The most nonces held at once (issued and not yet forgotten); about 100 bytes each.
pub const MAX_OUTSTANDING: usize = 65_536;

/// Why a nonce was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    /// Never issued here, or forgotten (long expired, pushed out by newer ones, or issued
    /// before a restart).
    #[error("the challenge nonce is unknown: ask GET /challenge for a fresh one")]
    Unknown,
    /// Issued more than [`NONCE_LIFETIME`] ago.
    #[error(
        "the challenge nonce expired (nonces are good for {} s): ask GET /challenge for a \
         fresh one",
        NONCE_LIFETIME.as_secs()
    )]
    Expired,
    /// Already used for a statement: a replay.
    #[error("the challenge nonce was already used: each nonce is good for one statement")]
    AlreadyUsed,
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    /// Issued, usable until `expires`.
    Open { expires: Instant },
    /// Used.
    Used,
}

/// The nonces issued and not yet forgotten.
#[derive(Debug, Default)]
pub struct Challenges {
    slots: HashMap<Nonce, Slot>,
    /// Every nonce in `slots` with the time it was issued, oldest first.
    order: VecDeque<(Nonce, Instant)>,
}

impl Challenges {
    /// No nonces.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh nonce from `rng`, usable until `now + NONCE_LIFETIME`; forgets the oldest
    /// nonces if the table is full.
    pub fn issue<R: CryptoRng + ?Sized>(&mut self, now: Instant, rng: &mut R) -> Nonce {
        let mut nonce = [0u8; 32];
        rng.fill_bytes(&mut nonce);
        self.insert(nonce, now);
        nonce
    }

    /// Records `nonce` (drawn by the caller) as issued at `now`; forgets the oldest
    /// nonces if the table is full.
    pub fn insert(&mut self, nonce: Nonce, now: Instant) {
        self.purge(now);
        while self.order.len() >= MAX_OUTSTANDING {
            self.forget_oldest();
        }
        self.slots.insert(
            nonce,
            Slot::Open {
                expires: now + NONCE_LIFETIME,
            },
        );
        self.order.push_back((nonce, now));
    }

    /// Uses `nonce` up: succeeds once per issued nonce, before it expires.
    pub fn redeem(&mut self, nonce: &Nonce, now: Instant) -> Result<(), NonceError> {
        let slot = self.slots.get_mut(nonce).ok_or(NonceError::Unknown)?;
        match *slot {
            Slot::Used => Err(NonceError::AlreadyUsed),
            Slot::Open { expires } if now >= expires => Err(NonceError::Expired),
            Slot::Open { .. } => {
                *slot = Slot::Used;
                Ok(())
            }
        }
    }

    /// Forgets the nonces issued two lifetimes ago or more.
    fn purge(&mut self, now: Instant) {
        while self
            .order
            .front()
            .is_some_and(|&(_, issued)| issued + 2 * NONCE_LIFETIME <= now)
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((nonce, _)) = self.order.pop_front() {
            self.slots.remove(&nonce);
        }
    }

    /// How many nonces are held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng as _;

    #[test]
    fn single_use_and_short_lived() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut c = Challenges::new();
        let t0 = Instant::now();
        let a = c.issue(t0, &mut rng);
        let b = c.issue(t0, &mut rng);
        assert_ne!(a, b);
        assert_eq!(c.redeem(&a, t0 + Duration::from_secs(1)), Ok(()));
        assert_eq!(
            c.redeem(&a, t0 + Duration::from_secs(2)),
            Err(NonceError::AlreadyUsed)
        );
        assert_eq!(c.redeem(&b, t0 + NONCE_LIFETIME), Err(NonceError::Expired));
        assert_eq!(c.redeem(&[0; 32], t0), Err(NonceError::Unknown));
    }

    #[test]
    fn a_flood_of_challenges_pushes_out_the_oldest_and_never_locks_publishers_out() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let mut c = Challenges::new();
        let t0 = Instant::now();
        let early = c.issue(t0, &mut rng);
        // An attacker asks for a full table of challenges and never uses them.
        for _ in 0..MAX_OUTSTANDING {
            c.issue(t0, &mut rng);
        }
        assert_eq!(c.len(), MAX_OUTSTANDING);
        // A publisher still gets a nonce that works (it used to get "too many").
        let t1 = t0 + Duration::from_secs(1);
        let fresh = c.issue(t1, &mut rng);
        assert_eq!(c.len(), MAX_OUTSTANDING);
        assert_eq!(c.redeem(&fresh, t1), Ok(()));
        assert_eq!(c.redeem(&fresh, t1), Err(NonceError::AlreadyUsed));
        // The oldest was forgotten: refused, never accepted.
        assert_eq!(c.redeem(&early, t1), Err(NonceError::Unknown));
        // Long expired ones are purged.
        let later = t1 + 2 * NONCE_LIFETIME;
        let last = c.issue(later, &mut rng);
        assert_eq!(c.len(), 1);
        assert_eq!(c.redeem(&last, later), Ok(()));
    }
}
