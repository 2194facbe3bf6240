//! What a seed decides: the randomness of every connection and the clock they read.
//!
//! A seeded run (`--seed N`) is reproducible byte for byte: connection *i* of a role draws
//! from an RNG derived from the seed, the role and *i* ([`connection_rng`]), and every
//! connection reads the [`fixed_clock`], so ticket ages and everything derived from them
//! repeat too. Without a seed, RNGs come from the operating system and the clock is real.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Where a connection takes the time from (certificate validity, ticket ages).
pub type Clock = fn() -> OffsetDateTime;

/// The time seeded runs use: 2026-01-01T00:00:00Z.
pub fn fixed_clock() -> OffsetDateTime {
    time::macros::datetime!(2026-01-01 00:00 UTC)
}

/// The real clock, or [`fixed_clock`] for seeded runs.
pub fn clock_for(seed: Option<u64>) -> Clock {
    if seed.is_some() {
        fixed_clock
    } else {
        OffsetDateTime::now_utc
    }
}

/// A ChaCha20 RNG: from `seed` when given (same seed, same output), else seeded from
/// the operating system.
pub fn rng_from(seed: Option<u64>) -> ChaCha20Rng {
    match seed {
        Some(n) => ChaCha20Rng::seed_from_u64(n),
        None => os_rng(),
    }
}

/// The RNG for connection `index` of `role` (e.g. "client", "server"): derived from
/// `seed` when given, else from the operating system.
pub fn connection_rng(seed: Option<u64>, role: &str, index: u64) -> ChaCha20Rng {
    match seed {
        Some(seed) => {
            let mut h = Sha256::new();
            h.update(b"keylab connection rng");
            h.update(seed.to_be_bytes());
            h.update(role.as_bytes());
            h.update(index.to_be_bytes());
            ChaCha20Rng::from_seed(h.finalize().into())
        }
        None => os_rng(),
    }
}

/// A ChaCha20 RNG seeded from the operating system.
pub fn os_rng() -> ChaCha20Rng {
    let mut bytes = [0u8; 32];
    // Without OS randomness no key would be safe; there is nothing to fall back to.
    #[allow(clippy::expect_used, reason = "no secure fallback exists")]
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    ChaCha20Rng::from_seed(bytes)
}

#[cfg(test)]
mod tests {
    use rand_core::Rng as _;

    use super::*;

    #[test]
    fn a_seed_fixes_every_connection_and_the_clock() {
        let draw = |seed, role, i| connection_rng(seed, role, i).next_u64();
        assert_eq!(draw(Some(1), "client", 0), draw(Some(1), "client", 0));
        assert_ne!(draw(Some(1), "client", 0), draw(Some(1), "client", 1));
        assert_ne!(draw(Some(1), "client", 0), draw(Some(1), "server", 0));
        assert_ne!(draw(Some(1), "client", 0), draw(Some(2), "client", 0));
        assert_eq!(clock_for(Some(5))(), fixed_clock());
        assert_ne!(draw(None, "client", 0), draw(None, "client", 0));
    }
}
