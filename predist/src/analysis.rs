//! The published analysis the simulator is checked against.
//!
//! Binomial coefficients overflow `f64` quickly (C(10 000, 100) is about 10^241,
//! C(10 000, 200) about 10^424), so every ratio of binomials is computed as the exponential
//! of a difference of log-gamma values.
//!
//! - Eschenauer–Gligor 2002, §3.1: two rings of `k` keys from a pool of `P` share at least
//!   one key with probability `p = 1 − C(P−k, k) / C(P, k)`; after `x` nodes are captured a
//!   given link key is known to the adversary with probability `1 − (1 − k/P)^x`.
//! - Chan–Perrig–Song 2003, §4.1 (q-composite): the number of shared keys `i` is
//!   hypergeometric, `p(i) = C(k, i) · C(P−k, k−i) / C(P, k)` (the paper writes the same
//!   quantity as `C(P, i) · C(P−i, 2(k−i)) · C(2(k−i), k−i) / C(P, k)^2`); a link needs
//!   `i ≥ q`, so `p_connect = Σ_{i≥q} p(i)`, and a link is compromised when all its `i` keys
//!   are captured: `Σ_{i≥q} (1 − (1 − k/P)^x)^i · p(i) / p_connect`.
//! - Blundo et al. 1992: a degree-`t` symmetric polynomial is `t`-secure — any `t` shares
//!   reveal nothing about the other keys, `t + 1` reveal the polynomial.

use std::f64::consts::PI;

/// ln Γ(x) for `x > 0` (Lanczos approximation, g = 7, nine terms, relative error around
/// 1e-15). Differences of large values lose absolute precision with their size: a ratio of
/// binomials over a pool of 10^4 is good to about 1e-11, over 10^6 to about 1e-8.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1−x) = π / sin(πx).
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEFFS[0];
    for (i, c) in COEFFS.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// ln C(n, k); negative infinity when `k > n` (the coefficient is zero).
pub fn ln_choose(n: u64, k: u64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// Probability that two rings of `ring` keys drawn from a pool of `pool` share exactly `i`
/// keys: the hypergeometric `C(k, i) · C(P−k, k−i) / C(P, k)` (Chan–Perrig–Song 2003, §4.1).
pub fn shared_keys_probability(pool: u32, ring: u32, i: u32) -> f64 {
    let (p, k, i) = (u64::from(pool), u64::from(ring), u64::from(i));
    if k > p || i > k {
        return 0.0;
    }
    (ln_choose(k, i) + ln_choose(p - k, k - i) - ln_choose(p, k)).exp()
}

/// Eschenauer–Gligor 2002, §3.1: probability that two nodes share at least one key,
/// `1 − C(P−k, k) / C(P, k)`.
pub fn eg_connection_probability(pool: u32, ring: u32) -> f64 {
    1.0 - shared_keys_probability(pool, ring, 0)
}

/// Chan–Perrig–Song 2003, §4.1: probability that two nodes share at least `q` keys.
/// Summed over the upper tail so that small probabilities keep their precision.
pub fn qcomposite_connection_probability(pool: u32, ring: u32, q: u32) -> f64 {
    upper_tail(pool, ring, q, |_| 1.0).min(1.0)
}

/// `Σ_{i≥q} weight(i) · p(i)`. The hypergeometric `p(i)` is log-concave, so once past its
/// mode the terms only shrink: the sum stops when they no longer change it, which keeps a
/// ring of 100,000 keys from costing 100,000 terms.
fn upper_tail(pool: u32, ring: u32, q: u32, weight: impl Fn(u32) -> f64) -> f64 {
    let mode = (u64::from(ring) + 1).pow(2) / (u64::from(pool) + 2);
    let mut sum = 0.0;
    for i in q..=ring.min(pool) {
        let term = weight(i) * shared_keys_probability(pool, ring, i);
        sum += term;
        if u64::from(i) > mode && term <= sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Probability that one given pool key is among the keys of `captured` random nodes:
/// `1 − (1 − k/P)^x` (each ring misses a given key with probability `(P−k)/P`).
pub fn key_captured_probability(pool: u32, ring: u32, captured: u32) -> f64 {
    if pool == 0 {
        return 0.0;
    }
    let miss = -f64::from(ring) / f64::from(pool);
    // exp(x·ln(1 − k/P)) keeps precision when k/P is small.
    -(f64::from(captured) * miss.ln_1p()).exp_m1()
}

/// Eschenauer–Gligor 2002: expected fraction of links between uncaptured nodes whose key
/// the adversary holds after capturing `captured` nodes, `1 − (1 − k/P)^x`.
pub fn eg_compromised_fraction(pool: u32, ring: u32, captured: u32) -> f64 {
    key_captured_probability(pool, ring, captured)
}

/// Chan–Perrig–Song 2003, §4.1: expected fraction of q-composite links between uncaptured
/// nodes that the adversary can compute after capturing `captured` nodes,
/// `Σ_{i=q}^{k} (1 − (1 − k/P)^x)^i · p(i) / p_connect`. The paper treats the `i` keys as
/// captured independently; the exact value differs by order `x·k·i²/P²`.
/// `None` when no link can form (`p_connect = 0`).
pub fn qcomposite_compromised_fraction(pool: u32, ring: u32, q: u32, captured: u32) -> Option<f64> {
    let c = key_captured_probability(pool, ring, captured);
    let connect = upper_tail(pool, ring, q, |_| 1.0);
    let numerator = upper_tail(pool, ring, q, |i| c.powi(i as i32));
    (connect > 0.0).then(|| numerator / connect)
}

/// Blundo et al. 1992: a degree-`t` polynomial exposes no link key to `t` or fewer captured
/// shares and every link key to `t + 1` or more.
pub fn blundo_compromised_fraction(degree: u32, captured: u32) -> f64 {
    if captured > degree { 1.0 } else { 0.0 }
}

/// Probability that two points placed uniformly in the unit square lie within distance `r`
/// of each other: `πr² − 8r³/3 + r⁴/2` for `r ≤ 1`; for `1 < r ≤ √2`,
/// `1/3 − 2r² − r⁴/2 + (4/3)(2r² + 1)√(r² − 1) + 2r²(asin(1/r) − acos(1/r))`; 1 beyond.
/// The expected number of neighbour pairs of `n` nodes is `C(n, 2)` times this.
pub fn neighbour_probability(range: f64) -> f64 {
    let r = range;
    if r <= 0.0 {
        0.0
    } else if r <= 1.0 {
        PI * r * r - 8.0 * r.powi(3) / 3.0 + r.powi(4) / 2.0
    } else if r < std::f64::consts::SQRT_2 {
        let r2 = r * r;
        1.0 / 3.0 - 2.0 * r2 - r2 * r2 / 2.0
            + 4.0 / 3.0 * (2.0 * r2 + 1.0) * (r2 - 1.0).sqrt()
            + 2.0 * r2 * ((1.0 / r).asin() - (1.0 / r).acos())
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_log_factorials() {
        // ln Γ(n+1) = ln n!, summed directly (independent of the Lanczos series).
        let mut ln_fact = 0.0f64;
        for n in 1..=3000u32 {
            ln_fact += f64::from(n).ln();
            let lg = ln_gamma(f64::from(n) + 1.0);
            // Summing n logarithms accumulates ~n·1e-16 relative error; allow 1e-12.
            assert!(
                (lg - ln_fact).abs() <= 1e-12 * ln_fact.max(1.0),
                "n={n}: {lg} vs {ln_fact}"
            );
        }
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-14);
        assert!(ln_gamma(1.0).abs() < 1e-14 && ln_gamma(2.0).abs() < 1e-14);
    }

    #[test]
    fn eg_probability_matches_the_product_form() {
        // C(P−k, k)/C(P, k) = Π_{j<k} (P−k−j)/(P−j): no binomials, no log-gamma.
        for (pool, ring) in [(10_000u32, 100u32), (1_000, 40), (100_000, 250), (200, 100)] {
            let ratio: f64 = (0..ring)
                .map(|j| f64::from(pool - ring - j) / f64::from(pool - j))
                .product();
            let want = 1.0 - ratio;
            let got = eg_connection_probability(pool, ring);
            assert!(
                (got - want).abs() < 1e-9,
                "P={pool} k={ring}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn hypergeometric_matches_the_papers_form_and_sums_to_one() {
        let (pool, ring) = (1_000u32, 60u32);
        let (p, k) = (u64::from(pool), u64::from(ring));
        let mut total = 0.0;
        for i in 0..=ring {
            let ii = u64::from(i);
            let cps = (ln_choose(p, ii)
                + ln_choose(p - ii, 2 * (k - ii))
                + ln_choose(2 * (k - ii), k - ii)
                - 2.0 * ln_choose(p, k))
            .exp();
            let ours = shared_keys_probability(pool, ring, i);
            assert!(
                (cps - ours).abs() <= 1e-9 * ours.max(1e-300),
                "i={i}: {cps} vs {ours}"
            );
            total += ours;
        }
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        // q = 1 is Eschenauer–Gligor.
        let q1 = qcomposite_connection_probability(pool, ring, 1);
        assert!((q1 - eg_connection_probability(pool, ring)).abs() < 1e-9);
    }

    #[test]
    fn truncated_tail_matches_the_complement() {
        // A big ring: the tail sum stops soon after the mode (about 25 here) yet agrees with
        // 1 − Σ_{i<q} p(i), which sums only a few terms.
        let (pool, ring) = (1_000_000u32, 5_000u32);
        for q in [1, 3, 25, 40] {
            let head: f64 = (0..q).map(|i| shared_keys_probability(pool, ring, i)).sum();
            let tail = qcomposite_connection_probability(pool, ring, q);
            // ln Γ(10^6) ≈ 1.3e7 carries ~1e-9 absolute rounding error, and so does each p(i)
            // relatively; 1e-7 is well above that and far below any dropped mass that matters.
            assert!(
                (tail - (1.0 - head)).abs() < 1e-7,
                "q={q}: {tail} vs {}",
                1.0 - head
            );
        }
    }

    #[test]
    fn compromise_formulas_have_the_right_limits() {
        assert_eq!(eg_compromised_fraction(10_000, 100, 0), 0.0);
        let c = eg_compromised_fraction(10_000, 100, 50);
        assert!((c - (1.0 - 0.99f64.powi(50))).abs() < 1e-12);
        // q-composite with q = 2 exposes fewer links than basic EG at small x (CPS Fig. 3).
        let q2 = qcomposite_compromised_fraction(10_000, 100, 2, 10).unwrap_or(1.0);
        assert!(q2 < eg_compromised_fraction(10_000, 100, 10));
        assert_eq!(blundo_compromised_fraction(5, 5), 0.0);
        assert_eq!(blundo_compromised_fraction(5, 6), 1.0);
    }

    #[test]
    fn neighbour_probability_is_continuous_and_complete() {
        let below = neighbour_probability(1.0 - 1e-9);
        let above = neighbour_probability(1.0 + 1e-9);
        assert!((below - above).abs() < 1e-6, "{below} vs {above}");
        assert!((neighbour_probability(std::f64::consts::SQRT_2 - 1e-12) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn neighbour_probability_matches_monte_carlo() {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let trials = 100_000;
        for r in [0.05, 0.3, 1.2] {
            let hits = (0..trials)
                .filter(|_| {
                    let d: [f64; 4] = std::array::from_fn(|_| crate::sampling::unit(&mut rng));
                    (d[0] - d[2]).hypot(d[1] - d[3]) <= r
                })
                .count();
            let (want, got) = (neighbour_probability(r), hits as f64 / trials as f64);
            // Binomial standard error sqrt(F(1−F)/n) ≤ 0.0016; 5 of them.
            let sd = (want * (1.0 - want) / trials as f64).sqrt();
            assert!((got - want).abs() < 5.0 * sd, "r={r}: {got} vs {want}");
        }
    }
}
