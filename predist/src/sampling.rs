//! Uniform sampling on top of an injected [`Rng`]: integers below a bound, points in the
//! unit interval, and sets of distinct values.
//!
//! `rand_core` gives raw words only; these helpers turn them into unbiased draws so that a
//! seeded run is reproducible and no draw favours small values.

use std::collections::HashMap;

use rand_core::Rng;

/// A uniform integer in `0..n` (Lemire's multiply-and-reject method: no modulo bias).
/// Returns 0 when `n` is 0.
pub fn below<R: Rng + ?Sized>(rng: &mut R, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        // Reject the few low products that would make some results more likely.
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
}

/// A uniform `f64` in `[0, 1)` with 53 random bits.
pub fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Appends `k` distinct values drawn uniformly from `0..n` to `out`, sorted ascending.
///
/// Floyd's algorithm: `k` draws whatever the ratio `k / n`. `marks` is scratch space of
/// length `n` owned by the caller so that sampling many small sets (one key ring per node)
/// does not allocate; a value counts as taken when its mark equals `stamp`, so a caller
/// passes a fresh `stamp` for each set (and zeroes `marks` before reusing stamps).
///
/// The caller guarantees `k <= n` and `marks.len() == n`.
pub fn distinct_sorted_into<R: Rng + ?Sized>(
    rng: &mut R,
    n: u32,
    k: u32,
    marks: &mut [u32],
    stamp: u32,
    out: &mut Vec<u32>,
) {
    debug_assert!(k <= n && marks.len() == n as usize && stamp != 0);
    let start = out.len();
    for j in (n - k)..n {
        let t = below(rng, u64::from(j) + 1) as u32;
        // Either t is new, or it was taken earlier and j (never drawn before) replaces it.
        let pick = if marks[t as usize] == stamp { j } else { t };
        marks[pick as usize] = stamp;
        out.push(pick);
    }
    out[start..].sort_unstable();
}

/// `k` distinct values from `0..n`, sorted ascending; `k` is clamped to `n`.
pub fn distinct_sorted<R: Rng + ?Sized>(rng: &mut R, n: u32, k: u32) -> Vec<u32> {
    let k = k.min(n);
    let mut marks = vec![0u32; n as usize];
    let mut out = Vec::with_capacity(k as usize);
    distinct_sorted_into(rng, n, k, &mut marks, 1, &mut out);
    out
}

/// Fisher–Yates: puts a uniformly random selection of `k` elements (in random order) at
/// the front of `items`. With `k == items.len()` this is a full shuffle.
pub fn partial_shuffle<T, R: Rng + ?Sized>(rng: &mut R, items: &mut [T], k: usize) {
    let n = items.len();
    for i in 0..k.min(n) {
        let j = i + below(rng, (n - i) as u64) as usize;
        items.swap(i, j);
    }
}

/// The first `k` elements [`partial_shuffle`] would leave in `0..n` (the same draws from
/// `rng`, the same result), without the array: only the positions it moves are kept, so
/// sampling 50,000 of 10^7 costs memory for 50,000.
pub fn partial_shuffle_indices<R: Rng + ?Sized>(rng: &mut R, n: usize, k: usize) -> Vec<usize> {
    let mut moved: HashMap<usize, usize> = HashMap::new();
    let k = k.min(n);
    let mut out = Vec::with_capacity(k);
    for i in 0..k {
        let j = i + below(rng, (n - i) as u64) as usize;
        let at = |p: usize| moved.get(&p).copied().unwrap_or(p);
        let (at_i, at_j) = (at(i), at(j));
        // Position i is final after this swap; position j holds what i held.
        moved.insert(j, at_i);
        out.push(at_j);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn below_stays_in_range_and_hits_every_value() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            let v = below(&mut rng, 7);
            assert!(v < 7);
            seen[v as usize] += 1;
        }
        // Each count is Binomial(7000, 1/7): mean 1000, sd 29; 800..1200 is ±6.8 sd.
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
        assert_eq!(below(&mut rng, 0), 0);
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn distinct_sorted_is_a_sorted_set_of_the_right_size() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        for (n, k) in [(10, 10), (10, 0), (1000, 100), (5, 3)] {
            let s = distinct_sorted(&mut rng, n, k);
            assert_eq!(s.len(), k as usize);
            assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
            assert!(s.iter().all(|&v| v < n));
        }
    }

    #[test]
    fn distinct_sorted_is_uniform_over_values() {
        // Each of 20 values is in a 5-subset with probability 1/4: over 4000 draws the count
        // is Binomial(4000, 1/4), mean 1000, sd 27.4; 860..1140 is ±5.1 sd.
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut count = [0u32; 20];
        for _ in 0..4000 {
            for v in distinct_sorted(&mut rng, 20, 5) {
                count[v as usize] += 1;
            }
        }
        assert!(count.iter().all(|&c| (860..1140).contains(&c)), "{count:?}");
    }

    #[test]
    fn unit_is_in_the_half_open_interval() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let mean = (0..10_000).map(|_| unit(&mut rng)).sum::<f64>() / 10_000.0;
        // Mean of 10,000 uniforms: sd 0.0029; ±0.015 is ±5 sd.
        assert!((mean - 0.5).abs() < 0.015, "{mean}");
    }

    #[test]
    fn index_shuffle_matches_the_array_shuffle() {
        for (n, k) in [(10, 3), (1000, 1000), (5000, 17), (1, 1), (0, 0)] {
            let mut array: Vec<usize> = (0..n).collect();
            partial_shuffle(&mut ChaCha20Rng::seed_from_u64(9), &mut array, k);
            let got = partial_shuffle_indices(&mut ChaCha20Rng::seed_from_u64(9), n, k);
            assert_eq!(got, array[..k]);
        }
    }
}
