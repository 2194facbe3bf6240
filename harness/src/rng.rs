//! Randomness for the command line: seeded for reproducible runs, else from the OS.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// A ChaCha20 RNG: from `seed` when given (same seed, same output), else seeded from
/// the operating system.
pub fn rng_from(seed: Option<u64>) -> ChaCha20Rng {
    match seed {
        Some(n) => ChaCha20Rng::seed_from_u64(n),
        None => {
            let mut bytes = [0u8; 32];
            // Without OS randomness no key would be safe; there is nothing to fall back to.
            #[allow(clippy::expect_used, reason = "no secure fallback exists")]
            getrandom::fill(&mut bytes)
                .expect("the operating system's random number generator failed");
            ChaCha20Rng::from_seed(bytes)
        }
    }
}
