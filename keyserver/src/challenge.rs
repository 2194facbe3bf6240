//! Challenge nonces for proof of possession: issued by `GET /challenge`, each good for
//! one statement within [`NONCE_LIFETIME`].
//!
//! Nonces live in memory only, at most [`MAX_OUTSTANDING`] at a time: a restart forgets
//! them, which only costs a client a new challenge — a statement signed before the
//! restart can no longer be replayed. A used or expired nonce is remembered for another
//! lifetime so that its second use gets a precise refusal; after that it is simply
//! unknown.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand_core::CryptoRng;

use crate::wire::Nonce;

/// How long a nonce may be used after it was issued.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// The most nonces held at once (issued and not yet forgotten).
pub const MAX_OUTSTANDING: usize = 10_000;

/// Why a nonce was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    /// Never issued here, or forgotten (long expired, or issued before a restart).
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
    /// Too many nonces outstanding.
    #[error("too many challenges outstanding; try again in a minute")]
    TooMany,
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    /// Issued, usable until `expires`.
    Open { expires: Instant },
    /// Used; remembered until `forget`.
    Used { forget: Instant },
}

/// The nonces issued and not yet forgotten.
#[derive(Debug, Default)]
pub struct Challenges {
    slots: HashMap<Nonce, Slot>,
}

impl Challenges {
    /// No nonces.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh nonce from `rng`, usable until `now + NONCE_LIFETIME`.
    pub fn issue<R: CryptoRng + ?Sized>(
        &mut self,
        now: Instant,
        rng: &mut R,
    ) -> Result<Nonce, NonceError> {
        if self.slots.len() >= MAX_OUTSTANDING {
            self.purge(now);
        }
        if self.slots.len() >= MAX_OUTSTANDING {
            return Err(NonceError::TooMany);
        }
        let mut nonce = [0u8; 32];
        rng.fill_bytes(&mut nonce);
        self.slots.insert(
            nonce,
            Slot::Open {
                expires: now + NONCE_LIFETIME,
            },
        );
        Ok(nonce)
    }

    /// Uses `nonce` up: succeeds once per issued nonce, before it expires.
    pub fn redeem(&mut self, nonce: &Nonce, now: Instant) -> Result<(), NonceError> {
        let slot = self.slots.get_mut(nonce).ok_or(NonceError::Unknown)?;
        match *slot {
            Slot::Used { .. } => Err(NonceError::AlreadyUsed),
            Slot::Open { expires } if now >= expires => Err(NonceError::Expired),
            Slot::Open { expires } => {
                *slot = Slot::Used {
                    forget: expires + NONCE_LIFETIME,
                };
                Ok(())
            }
        }
    }

    /// Forgets nonces expired for a whole lifetime and used ones past their time.
    fn purge(&mut self, now: Instant) {
        self.slots.retain(|_, slot| match *slot {
            Slot::Open { expires } => now < expires + NONCE_LIFETIME,
            Slot::Used { forget } => now < forget,
        });
    }

    /// How many nonces are held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
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
        let a = c.issue(t0, &mut rng).expect("issue");
        let b = c.issue(t0, &mut rng).expect("issue");
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
    fn bounded_and_purged() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let mut c = Challenges::new();
        let t0 = Instant::now();
        for _ in 0..MAX_OUTSTANDING {
            c.issue(t0, &mut rng).expect("issue");
        }
        assert_eq!(c.issue(t0, &mut rng), Err(NonceError::TooMany));
        // Once they are long expired, room is made.
        let later = t0 + 2 * NONCE_LIFETIME + Duration::from_secs(1);
        let fresh = c.issue(later, &mut rng).expect("issue after purge");
        assert_eq!(c.len(), 1);
        assert_eq!(c.redeem(&fresh, later), Ok(()));
    }
}
