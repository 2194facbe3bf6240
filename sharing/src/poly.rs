//! Polynomials over GF(2^8), byte by byte: evaluation, Lagrange interpolation and the
//! choice of random x-coordinates. Every secret byte position is an independent polynomial;
//! a "point" carries one x and the y bytes of all positions.
//!
//! x-coordinates are public, so the Lagrange weights may be computed from them freely;
//! y bytes and coefficients only ever meet the constant-time [`gf256`] operations.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::gf256;

/// A point of every byte polynomial: one x, one y byte per position.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Point<'a> {
    /// The x-coordinate, shared by every byte position.
    pub x: u8,
    /// `f_i(x)` for each byte position `i`.
    pub y: &'a [u8],
}

/// Evaluates `coefficients[0] + coefficients[1]·x + ...` at `x` (Horner's rule).
/// `coefficients` holds one row per power; every row has `out.len()` bytes.
pub(crate) fn evaluate(coefficients: &[Zeroizing<Vec<u8>>], x: u8, out: &mut [u8]) {
    out.fill(0);
    for row in coefficients.iter().rev() {
        for (acc, &c) in out.iter_mut().zip(row.iter()) {
            *acc = gf256::add(gf256::mul(*acc, x), c);
        }
    }
}

/// Writes into `out` the value at `at` of the polynomial of degree < `points.len()` through
/// `points` (Lagrange). The x-coordinates must be distinct; every y has `out.len()` bytes.
pub(crate) fn interpolate(points: &[Point<'_>], at: u8, out: &mut [u8]) {
    out.fill(0);
    for (i, p) in points.iter().enumerate() {
        let weight = lagrange_weight(points, i, at);
        for (acc, &y) in out.iter_mut().zip(p.y.iter()) {
            *acc = gf256::add(*acc, gf256::mul(weight, y));
        }
    }
}

/// `l_i(at) = Π_{j≠i} (at − x_j) / (x_i − x_j)`: depends on public x-coordinates only.
fn lagrange_weight(points: &[Point<'_>], i: usize, at: u8) -> u8 {
    let xi = points[i].x;
    let mut numerator = 1u8;
    let mut denominator = 1u8;
    for (j, p) in points.iter().enumerate() {
        if j != i {
            numerator = gf256::mul(numerator, gf256::add(at, p.x));
            denominator = gf256::mul(denominator, gf256::add(xi, p.x));
        }
    }
    gf256::div(numerator, denominator)
}

/// `n` distinct x-coordinates drawn uniformly from `1..=max` (a partial Fisher–Yates
/// shuffle with unbiased indices). Needs `n <= max`.
pub(crate) fn random_xs(n: usize, max: u8, rng: &mut impl CryptoRng) -> Vec<u8> {
    let mut pool: Vec<u8> = (1..=max).collect();
    let n = n.min(pool.len());
    for i in 0..n {
        let j = i + uniform_below(pool.len() - i, rng);
        pool.swap(i, j);
    }
    pool.truncate(n);
    pool
}

/// A uniform integer in `0..bound` (`1 <= bound <= 256`) by rejection sampling.
fn uniform_below(bound: usize, rng: &mut impl CryptoRng) -> usize {
    // The largest multiple of `bound` that fits in 0..=255, to avoid modulo bias.
    let limit = 256 - 256 % bound;
    loop {
        let mut byte = [0u8; 1];
        rng.fill_bytes(&mut byte);
        let v = usize::from(byte[0]);
        if v < limit {
            return v % bound;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn interpolation_reproduces_a_known_line() {
        // f(x) = 5 + 3x: f(1) = 6, f(2) = 5 ^ 6 = 3.
        let (a, b) = ([6u8], [3u8]);
        let points = [Point { x: 1, y: &a }, Point { x: 2, y: &b }];
        let mut out = [0u8];
        interpolate(&points, 0, &mut out);
        assert_eq!(out, [5]);
        let coefficients = vec![Zeroizing::new(vec![5u8]), Zeroizing::new(vec![3u8])];
        for x in 0..=255u8 {
            let mut direct = [0u8];
            evaluate(&coefficients, x, &mut direct);
            interpolate(&points, x, &mut out);
            assert_eq!(out, direct, "x = {x}");
        }
    }

    #[test]
    fn random_xs_are_distinct_and_in_range() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for (n, max) in [(1, 1), (5, 253), (253, 253), (255, 255), (3, 3)] {
            let mut xs = random_xs(n, max, &mut rng);
            assert_eq!(xs.len(), n);
            assert!(xs.iter().all(|&x| x >= 1 && x <= max));
            xs.sort_unstable();
            xs.dedup();
            assert_eq!(xs.len(), n);
        }
    }

    #[test]
    fn random_xs_cover_the_range() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut seen = [false; 256];
        for _ in 0..400 {
            for x in random_xs(5, 253, &mut rng) {
                seen[usize::from(x)] = true;
            }
        }
        assert!(!seen[0] && !seen[254] && !seen[255]);
        assert!(seen[1..=253].iter().all(|&s| s));
    }
}
