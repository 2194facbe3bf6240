//! Arithmetic in the prime field F_p with p = 2^127 − 1, the field of the Blundo scheme.
//!
//! Why this prime: it is a Mersenne prime, so reduction is two shifts and adds (no division),
//! and a field element is 127 bits, enough key material for the 128-bit security the link
//! key is used at (the HKDF step in [`crate::blundo`] turns it into 32 bytes). Sensor-network
//! papers often pick a smaller field to save memory; keylab favours a key that can feed a
//! real handshake.

use std::ops::{Add, Mul, Neg, Sub};

use rand_core::Rng;
use zeroize::Zeroize;

/// The modulus p = 2^127 − 1.
pub const MODULUS: u128 = (1u128 << 127) - 1;

/// An element of F_p, p = 2^127 − 1, always fully reduced (`0 <= value < p`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fe(u128);

impl Fe {
    /// Zero.
    pub const ZERO: Fe = Fe(0);
    /// One.
    pub const ONE: Fe = Fe(1);

    /// `v mod p`.
    pub fn new(v: u128) -> Fe {
        // v = hi·2^127 + lo ≡ hi + lo (mod p) because 2^127 ≡ 1.
        let r = (v & MODULUS) + (v >> 127);
        Fe(if r >= MODULUS { r - MODULUS } else { r })
    }

    /// The canonical representative, in `0..p`.
    pub fn value(self) -> u128 {
        self.0
    }

    /// A uniformly random element (rejection sampling: 127 random bits, redrawn in the one
    /// case that equals p, so no value is favoured).
    pub fn random<R: Rng + ?Sized>(rng: &mut R) -> Fe {
        loop {
            let v = ((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())) & MODULUS;
            if v != MODULUS {
                return Fe(v);
            }
        }
    }

    /// `self^e` by square-and-multiply.
    pub fn pow(self, mut e: u128) -> Fe {
        let (mut base, mut acc) = (self, Fe::ONE);
        while e > 0 {
            if e & 1 == 1 {
                acc = acc * base;
            }
            base = base * base;
            e >>= 1;
        }
        acc
    }

    /// The multiplicative inverse (Fermat: a^(p−2)), or `None` for zero.
    pub fn inverse(self) -> Option<Fe> {
        (self != Fe::ZERO).then(|| self.pow(MODULUS - 2))
    }

    /// Big-endian encoding, 16 bytes (the top bit is always 0).
    pub fn to_be_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }
}

impl Add for Fe {
    type Output = Fe;
    fn add(self, rhs: Fe) -> Fe {
        // Both < 2^127, so the sum fits in a u128 and one subtraction reduces it.
        let s = self.0 + rhs.0;
        Fe(if s >= MODULUS { s - MODULUS } else { s })
    }
}

impl Neg for Fe {
    type Output = Fe;
    fn neg(self) -> Fe {
        Fe(if self.0 == 0 { 0 } else { MODULUS - self.0 })
    }
}

impl Sub for Fe {
    type Output = Fe;
    fn sub(self, rhs: Fe) -> Fe {
        self + (-rhs)
    }
}

impl Mul for Fe {
    type Output = Fe;
    fn mul(self, rhs: Fe) -> Fe {
        let (hi, lo) = mul_wide(self.0, rhs.0);
        // product = hi·2^128 + lo ≡ 2·hi + lo (mod p), and lo ≡ (lo >> 127) + (lo & p).
        // hi < 2^126 (the product is below 2^254), so the sum stays below 2^128.
        let r = (hi << 1) + (lo >> 127) + (lo & MODULUS);
        Fe::new(r)
    }
}

impl Zeroize for Fe {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// The 256-bit product of two values below 2^127, as (high, low) 128-bit halves.
/// Built from four 64×64→128-bit products so that each is a single machine multiply.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = ((a >> 64) as u64, a as u64);
    let (b1, b0) = ((b >> 64) as u64, b as u64);
    let wide = |x: u64, y: u64| u128::from(x) * u128::from(y);
    // a1, b1 < 2^63, so each cross product is below 2^127 and their sum cannot overflow.
    let mid = wide(a0, b1) + wide(a1, b0);
    let (lo, carry) = wide(a0, b0).overflowing_add(mid << 64);
    let hi = wide(a1, b1) + (mid >> 64) + u128::from(carry);
    (hi, lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// An independent multiplication: double-and-add over the bits of `b`, using only
    /// the (simple) field addition.
    fn mul_by_doubling(a: Fe, b: Fe) -> Fe {
        let mut acc = Fe::ZERO;
        for bit in (0..127).rev() {
            acc = acc + acc;
            if (b.0 >> bit) & 1 == 1 {
                acc = acc + a;
            }
        }
        acc
    }

    #[test]
    fn multiplication_matches_double_and_add() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let edge = [
            Fe::ZERO,
            Fe::ONE,
            Fe(MODULUS - 1),
            Fe(1 << 126),
            Fe(u64::MAX as u128),
        ];
        for &a in &edge {
            for &b in &edge {
                assert_eq!(a * b, mul_by_doubling(a, b), "{a:?} * {b:?}");
            }
        }
        for _ in 0..500 {
            let (a, b) = (Fe::random(&mut rng), Fe::random(&mut rng));
            assert_eq!(a * b, mul_by_doubling(a, b));
        }
    }

    #[test]
    fn small_products_match_integer_arithmetic() {
        assert_eq!(Fe::new(3) * Fe::new(5), Fe::new(15));
        // (p − 1)^2 = p^2 − 2p + 1 ≡ 1.
        assert_eq!(Fe(MODULUS - 1) * Fe(MODULUS - 1), Fe::ONE);
        // 2^64 · 2^64 = 2^128 ≡ 2.
        assert_eq!(Fe::new(1 << 64) * Fe::new(1 << 64), Fe::new(2));
        assert_eq!(Fe::new(MODULUS), Fe::ZERO);
        assert_eq!(Fe::new(u128::MAX), Fe::ONE); // 2^128 − 1 = 2p + 1
    }

    #[test]
    fn inverse_and_subtraction() {
        let mut rng = ChaCha20Rng::seed_from_u64(10);
        for _ in 0..20 {
            let a = Fe::random(&mut rng);
            if let Some(inv) = a.inverse() {
                assert_eq!(a * inv, Fe::ONE);
            }
            let b = Fe::random(&mut rng);
            assert_eq!((a - b) + b, a);
        }
        assert_eq!(Fe::ZERO.inverse(), None);
    }
}
