//! The random numbers FROST asks for. `frost-ed25519` takes `rand_core` 0.6 generators;
//! [`Rng06`] serves them from a ChaCha20 generator of the workspace's `rand_core`, seeded by
//! the operating system ([`os`]) or, for reproducible demos and tests only, by a number
//! ([`seeded`]).

use frost_ed25519::rand_core as rc06;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};

/// A ChaCha20 generator behind the `rand_core` 0.6 traits.
pub struct Rng06(ChaCha20Rng);

impl rc06::RngCore for Rng06 {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rc06::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

// ChaCha20 seeded with 256 bits is a cryptographic generator.
impl rc06::CryptoRng for Rng06 {}

/// A generator seeded by the operating system.
pub fn os() -> Rng06 {
    let mut seed = [0u8; 32];
    #[allow(clippy::expect_used, reason = "no secure fallback exists")]
    getrandom::fill(&mut seed).expect("the operating system's random number generator failed");
    Rng06(ChaCha20Rng::from_seed(seed))
}

/// A generator that repeats for a seed: for demos and tests, never for real keys.
pub fn seeded(seed: u64) -> Rng06 {
    Rng06(ChaCha20Rng::seed_from_u64(seed))
}
