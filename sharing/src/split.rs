//! Digest mode: Shamir sharing with an integrity check, as SLIP-0039 does it.
//!
//! For a secret `S` of `L` bytes (16 ≤ L ≤ 65536) and a threshold `m`, every byte position
//! gets its own polynomial `f` of degree `m − 1` over GF(2^8) with
//!
//! ```text
//! f(255) = S                                  the secret
//! f(254) = D = HMAC-SHA256(key = R, msg = S)[0..4] || R
//!                                             R: L − 4 random bytes of padding
//! f(x_k) = uniform random bytes               for the first m − 2 shares
//! ```
//!
//! and the remaining shares are the polynomial evaluated at their x (Lagrange through those
//! `m` points). Fixing `m` points of a degree-`(m − 1)` polynomial this way draws it
//! uniformly from all polynomials through the secret and the digest. Share x-coordinates
//! are distinct, random and in `1..=253`, so a split has at most 253 shares.
//!
//! `combine` interpolates `f(255)` and `f(254)` from `m` shares and checks
//! `D[0..4] == HMAC-SHA256(D[4..], S)[0..4]` in constant time; shares beyond `m` must lie on
//! the same polynomial.
//!
//! **What the digest costs.** The digest is itself shared, so `m − 1` shares plus the
//! digest relation are not perfectly hiding: an adversary with unbounded computation can try
//! every secret, rebuild the polynomial through it and the `m − 1` shares, and keep the
//! candidates whose digest matches. A wrong candidate survives with probability 2^−32, so
//! the `m − 1` shares narrow the secret by at most 32 bits (of at least 128: hence the
//! 16-byte minimum). Raw mode ([`crate::raw`]) has no such relation and `m − 1` shares
//! reveal nothing at all, but it cannot detect a wrong or corrupted share.

use hmac::{Hmac, KeyInit, Mac};
use rand_core::CryptoRng;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::poly::{self, Point};
use crate::share::{Share, SplitId};

/// The x-coordinate of the secret.
pub const SECRET_X: u8 = 255;
/// The x-coordinate of the digest.
pub const DIGEST_X: u8 = 254;
/// The largest x-coordinate (and number) of shares.
pub const MAX_X: u8 = 253;
/// Bytes of HMAC-SHA256 output kept in the digest.
pub const DIGEST_LEN: usize = 4;
/// The shortest secret digest mode accepts.
pub const MIN_SECRET_LEN: usize = 16;
/// The longest secret (and share value).
pub const MAX_SECRET_LEN: usize = 65536;

/// Splits `secret` into `n` shares of which any `m` rebuild it (`2 ≤ m ≤ n ≤ 253`).
///
/// The RNG supplies the split id, the digest padding, the x-coordinates and the random
/// share values, in that order: a seeded RNG gives the same shares every time.
pub fn split(
    secret: &[u8],
    m: usize,
    n: usize,
    rng: &mut impl CryptoRng,
) -> Result<Vec<Share>, Error> {
    check_parameters(secret.len(), m, n, MIN_SECRET_LEN, usize::from(MAX_X))?;
    let threshold = u8::try_from(m).map_err(|_| Error::BadThreshold { m, n })?;
    let mut id = [0u8; 8];
    rng.fill_bytes(&mut id);
    let split_id = SplitId(id);

    let digest = digest_point(secret, rng);
    let xs = poly::random_xs(n, MAX_X, rng);
    let mut random_ys: Vec<Zeroizing<Vec<u8>>> = Vec::with_capacity(m - 2);
    for _ in 0..m - 2 {
        let mut y = Zeroizing::new(vec![0u8; secret.len()]);
        rng.fill_bytes(&mut y);
        random_ys.push(y);
    }

    let mut base = vec![
        Point {
            x: SECRET_X,
            y: secret,
        },
        Point {
            x: DIGEST_X,
            y: &digest,
        },
    ];
    base.extend(
        xs.iter()
            .zip(random_ys.iter())
            .map(|(&x, y)| Point { x, y }),
    );

    let shares = xs
        .iter()
        .enumerate()
        .map(|(k, &x)| {
            let y = match random_ys.get(k) {
                Some(y) => y.to_vec(),
                None => {
                    let mut y = vec![0u8; secret.len()];
                    poly::interpolate(&base, x, &mut y);
                    y
                }
            };
            Share::from_parts(split_id, threshold, x, y)
        })
        .collect();
    Ok(shares)
}

/// Rebuilds the secret from at least `threshold` shares of one split, checking the digest
/// and that every extra share agrees. Refuses (never guesses) on any inconsistency.
pub fn combine(shares: &[Share]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let first = shares.first().ok_or(Error::NoShares)?;
    for share in shares {
        if share.split_id() != first.split_id() {
            return Err(Error::MixedSplits {
                first: first.split_id(),
                other: share.split_id(),
            });
        }
        if share.threshold() != first.threshold() {
            return Err(Error::MixedThresholds {
                id: first.split_id(),
                first: first.threshold(),
                other: share.threshold(),
            });
        }
        if share.y().len() != first.y().len() {
            return Err(Error::LengthMismatch {
                first: first.y().len(),
                other: share.y().len(),
            });
        }
    }
    let m = first.threshold();
    if !(2..=MAX_X).contains(&m) {
        return Err(Error::InvalidThreshold { m });
    }
    let points: Vec<Point<'_>> = shares
        .iter()
        .map(|s| Point { x: s.x(), y: s.y() })
        .collect();
    check_points(&points, 1, MAX_X)?;
    let len = first.y().len();
    if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&len) {
        return Err(Error::Format(format!(
            "share values of {len} bytes: digest mode uses {MIN_SECRET_LEN}..={MAX_SECRET_LEN}"
        )));
    }
    let m = usize::from(m);
    if points.len() < m {
        return Err(Error::NotEnoughShares {
            have: points.len(),
            need: m,
        });
    }

    let (basis, extra) = points.split_at(m);
    let mut secret = Zeroizing::new(vec![0u8; len]);
    poly::interpolate(basis, SECRET_X, &mut secret);
    let mut digest = Zeroizing::new(vec![0u8; len]);
    poly::interpolate(basis, DIGEST_X, &mut digest);
    let (tag, padding) = digest.split_at(DIGEST_LEN);
    if !bool::from(tag.ct_eq(&hmac_tag(padding, &secret))) {
        return Err(Error::DigestMismatch);
    }
    let mut expected = Zeroizing::new(vec![0u8; len]);
    for p in extra {
        poly::interpolate(basis, p.x, &mut expected);
        if !bool::from(expected.as_slice().ct_eq(p.y)) {
            return Err(Error::Inconsistent { x: p.x });
        }
    }
    Ok(secret)
}

/// `D = HMAC-SHA256(key = R, msg = S)[0..4] || R` with `L − 4` random bytes `R`.
fn digest_point(secret: &[u8], rng: &mut impl CryptoRng) -> Zeroizing<Vec<u8>> {
    let mut digest = Zeroizing::new(vec![0u8; secret.len()]);
    let (tag, padding) = digest.split_at_mut(DIGEST_LEN);
    rng.fill_bytes(padding);
    tag.copy_from_slice(&hmac_tag(padding, secret));
    digest
}

/// The first [`DIGEST_LEN`] bytes of HMAC-SHA256 keyed with `padding` over `secret`.
fn hmac_tag(padding: &[u8], secret: &[u8]) -> [u8; DIGEST_LEN] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(padding)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of every length"));
    mac.update(secret);
    let full = mac.finalize().into_bytes();
    let mut tag = [0u8; DIGEST_LEN];
    tag.copy_from_slice(&full[..DIGEST_LEN]);
    tag
}

/// The checks `split` shares with raw mode: `2 ≤ m ≤ n ≤ max_n`, `min_len ≤ len ≤ max`.
pub(crate) fn check_parameters(
    len: usize,
    m: usize,
    n: usize,
    min_len: usize,
    max_n: usize,
) -> Result<(), Error> {
    if m < 2 || m > n {
        return Err(Error::BadThreshold { m, n });
    }
    if n > max_n {
        return Err(Error::TooManyShares { n, max: max_n });
    }
    if len == 0 {
        return Err(Error::EmptySecret);
    }
    if len < min_len {
        return Err(Error::SecretTooShort { len, min: min_len });
    }
    if len > MAX_SECRET_LEN {
        return Err(Error::SecretTooLong {
            len,
            max: MAX_SECRET_LEN,
        });
    }
    Ok(())
}

/// Every x in `min_x..=max_x` and no x twice (the same share twice or two different ones).
pub(crate) fn check_points(points: &[Point<'_>], min_x: u8, max_x: u8) -> Result<(), Error> {
    let mut seen: [Option<usize>; 256] = [None; 256];
    for (i, p) in points.iter().enumerate() {
        if !(min_x..=max_x).contains(&p.x) {
            return Err(Error::InvalidX { x: p.x, max: max_x });
        }
        if let Some(j) = seen[usize::from(p.x)] {
            return Err(if bool::from(points[j].y.ct_eq(p.y)) {
                Error::DuplicateShare { x: p.x }
            } else {
                Error::ConflictingShares { x: p.x }
            });
        }
        seen[usize::from(p.x)] = Some(i);
    }
    Ok(())
}
