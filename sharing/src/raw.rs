//! Raw mode: plain Shamir, laid out like HashiCorp Vault's `shamir` package.
//!
//! The secret is the constant term, `f(0) = S`; the other `m − 1` coefficients of each
//! byte's polynomial are uniform over all 256 values (zero included); x-coordinates are
//! distinct, random and in `1..=255`, so a split has at most 255 shares. There is no split
//! id, threshold or digest.
//!
//! Guarantees, weaker than digest mode's: `m − 1` shares reveal nothing about the secret
//! (every secret is equally consistent with them), but `combine` cannot tell how many
//! shares it needs or whether they are right: given fewer than `m` shares, shares of
//! different splits or a corrupted share, it returns a wrong secret without complaint.
//! It interpolates through every share it is given, as Vault does.
//!
//! The [`vault`] text form is Vault's: base64 (standard alphabet, padded) of the `y` bytes
//! followed by the `x` byte, one share per line.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::Error;
use crate::poly::{self, Point};
use crate::split::{check_parameters, check_points};

/// The largest x-coordinate (and number) of raw shares.
pub const MAX_X: u8 = 255;

/// One raw share: `x` and `f(x)` for every secret byte; `y` is zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct RawShare {
    /// The x-coordinate, 1..=255.
    pub x: u8,
    /// `f(x)`, one byte per secret byte.
    pub y: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for RawShare {
    /// Leaves the share value out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawShare")
            .field("x", &self.x)
            .field("len", &self.y.len())
            .finish_non_exhaustive()
    }
}

/// Splits `secret` into `n` raw shares, any `m` of which rebuild it (`2 ≤ m ≤ n ≤ 255`).
/// The RNG supplies the x-coordinates, then the coefficients.
pub fn split(
    secret: &[u8],
    m: usize,
    n: usize,
    rng: &mut impl CryptoRng,
) -> Result<Vec<RawShare>, Error> {
    check_parameters(secret.len(), m, n, 1, usize::from(MAX_X))?;
    let xs = poly::random_xs(n, MAX_X, rng);
    let mut coefficients = Vec::with_capacity(m);
    coefficients.push(Zeroizing::new(secret.to_vec()));
    for _ in 1..m {
        let mut row = Zeroizing::new(vec![0u8; secret.len()]);
        rng.fill_bytes(&mut row);
        coefficients.push(row);
    }
    Ok(xs
        .into_iter()
        .map(|x| {
            let mut y = Zeroizing::new(vec![0u8; secret.len()]);
            poly::evaluate(&coefficients, x, &mut y);
            RawShare { x, y }
        })
        .collect())
}

/// Interpolates `f(0)` through every share given (at least two, same length, distinct
/// non-zero x). Cannot detect too few, mixed or corrupted shares: see the module docs.
pub fn combine(shares: &[RawShare]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let first = shares.first().ok_or(Error::NoShares)?;
    if shares.len() < 2 {
        return Err(Error::NotEnoughShares { have: 1, need: 2 });
    }
    for share in shares {
        if share.y.len() != first.y.len() {
            return Err(Error::LengthMismatch {
                first: first.y.len(),
                other: share.y.len(),
            });
        }
    }
    if first.y.is_empty() {
        return Err(Error::EmptySecret);
    }
    let points: Vec<Point<'_>> = shares.iter().map(|s| Point { x: s.x, y: &s.y }).collect();
    check_points(&points, 1, MAX_X)?;
    let mut secret = Zeroizing::new(vec![0u8; first.y.len()]);
    poly::interpolate(&points, 0, &mut secret);
    Ok(secret)
}

/// Vault's text form of raw shares.
pub mod vault {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use zeroize::Zeroizing;

    use super::RawShare;
    use crate::Error;

    /// `base64(y || x)`, standard alphabet with padding; zeroized on drop.
    pub fn encode(share: &RawShare) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(share.y.len() + 1));
        bytes.extend_from_slice(&share.y);
        bytes.push(share.x);
        Zeroizing::new(STANDARD.encode(bytes.as_slice()))
    }

    /// The longest text [`decode`] accepts.
    pub const MAX_TEXT: usize = 1024 * 1024;

    /// Parses one line of [`encode`]'s form; surrounding whitespace is ignored. Text over
    /// [`MAX_TEXT`] bytes is refused.
    pub fn decode(text: &str) -> Result<RawShare, Error> {
        if text.len() > MAX_TEXT {
            return Err(Error::Format(format!(
                "vault share of {} bytes: at most {MAX_TEXT}",
                text.len()
            )));
        }
        let mut bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|e| Error::Format(format!("vault share is not base64: {e}")))?,
        );
        let Some(x) = bytes.pop() else {
            return Err(Error::Format("vault share is empty".into()));
        };
        if bytes.is_empty() {
            return Err(Error::Format("vault share has no value bytes".into()));
        }
        Ok(RawShare {
            x,
            y: Zeroizing::new(bytes.to_vec()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The `m − 1` share bytes at `xs` of the polynomial `s + c1·x + c2·x² + ...`.
    fn shares_of(s: u8, coefficients: &[u8], xs: &[u8]) -> Vec<u8> {
        let rows: Vec<Zeroizing<Vec<u8>>> = std::iter::once(s)
            .chain(coefficients.iter().copied())
            .map(|c| Zeroizing::new(vec![c]))
            .collect();
        xs.iter()
            .map(|&x| {
                let mut y = [0u8];
                poly::evaluate(&rows, x, &mut y);
                y[0]
            })
            .collect()
    }

    /// For a fixed secret byte, every value of the `m − 1` shares arises from exactly one
    /// choice of the random coefficients. So the shares an adversary holds are uniformly
    /// distributed whatever the secret: each secret is exactly as consistent with them as
    /// any other (perfect secrecy).
    fn assert_perfectly_hiding(secrets: impl Iterator<Item = u8>, xs: &[u8]) {
        let k = xs.len();
        let total = 1usize << (8 * k);
        for s in secrets {
            let mut seen = vec![false; total];
            for c in 0..total {
                let coefficients: Vec<u8> = (0..k).map(|i| (c >> (8 * i)) as u8).collect();
                let ys = shares_of(s, &coefficients, xs);
                let index = ys
                    .iter()
                    .rev()
                    .fold(0usize, |a, &y| a << 8 | usize::from(y));
                assert!(
                    !seen[index],
                    "secret {s}: two coefficient choices give {ys:?}"
                );
                seen[index] = true;
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        #[test]
        fn one_share_of_two_is_consistent_with_every_secret(x in 1u8..=255) {
            assert_perfectly_hiding(0..=255, &[x]);
        }

        #[test]
        fn two_shares_of_three_are_consistent_with_every_secret(
            x1 in 1u8..=255,
            x2 in 1u8..=255,
            s in any::<u8>(),
        ) {
            prop_assume!(x1 != x2);
            assert_perfectly_hiding([s, s.wrapping_add(1)].into_iter(), &[x1, x2]);
        }

        /// And through the public path: `m − 1` real shares plus any candidate secret at
        /// x = 0 interpolate to a polynomial of degree `m − 1` that reproduces them.
        #[test]
        fn real_shares_admit_every_candidate(seed in any::<u64>(), m in 2usize..=4) {
            use rand_core::SeedableRng as _;
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let shares = split(&[0x42], m, m, &mut rng).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let held = &shares[..m - 1];
            let mut candidates = std::collections::BTreeSet::new();
            for s in 0..=255u8 {
                let candidate = [s];
                let mut points: Vec<Point<'_>> = vec![Point { x: 0, y: &candidate }];
                points.extend(held.iter().map(|h| Point { x: h.x, y: &h.y }));
                let mut at_zero = [0u8];
                poly::interpolate(&points, 0, &mut at_zero);
                prop_assert_eq!(at_zero[0], s);
                for h in held {
                    let mut y = [0u8];
                    poly::interpolate(&points, h.x, &mut y);
                    prop_assert_eq!(y[0], h.y[0]);
                }
                // The last share predicted under this candidate: distinct per candidate.
                let mut y = [0u8];
                poly::interpolate(&points, shares[m - 1].x, &mut y);
                candidates.insert(y[0]);
            }
            prop_assert_eq!(candidates.len(), 256);
        }
    }
}
