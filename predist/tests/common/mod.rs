//! Shared helpers of the agreement tests: the published formulas written out from
//! log-gamma binomials, and the two statistical checks the tests use.
#![allow(dead_code, reason = "each test file uses a different subset")]

use predist::analysis::ln_choose;

/// C(a, b) / C(c, d) without overflow: exp(ln C(a, b) − ln C(c, d)).
pub fn binomial_ratio(a: u32, b: u32, c: u32, d: u32) -> f64 {
    (ln_choose(a.into(), b.into()) - ln_choose(c.into(), d.into())).exp()
}

/// Eschenauer–Gligor 2002: p = 1 − C(P−k, k) / C(P, k).
pub fn eg_p(pool: u32, ring: u32) -> f64 {
    1.0 - binomial_ratio(pool - ring, ring, pool, ring)
}

/// Chan–Perrig–Song 2003: probability of exactly i shared keys, in the paper's form
/// C(P, i) C(P−i, 2(k−i)) C(2(k−i), k−i) / C(P, k)^2.
pub fn cps_p_i(pool: u32, ring: u32, i: u32) -> f64 {
    let (p, k, i) = (u64::from(pool), u64::from(ring), u64::from(i));
    if 2 * (k - i) > p - i {
        return 0.0;
    }
    (ln_choose(p, i) + ln_choose(p - i, 2 * (k - i)) + ln_choose(2 * (k - i), k - i)
        - 2.0 * ln_choose(p, k))
    .exp()
}

/// Chan–Perrig–Song 2003: p_connect = 1 − Σ_{i<q} p(i).
pub fn cps_p_connect(pool: u32, ring: u32, q: u32) -> f64 {
    1.0 - (0..q).map(|i| cps_p_i(pool, ring, i)).sum::<f64>()
}

/// Probability that a given key is in the union of x random rings: 1 − (1 − k/P)^x.
pub fn captured_key(pool: u32, ring: u32, x: u32) -> f64 {
    1.0 - (1.0 - f64::from(ring) / f64::from(pool)).powi(x as i32)
}

/// Asserts that a proportion measured over `trials` pairwise-independent Bernoulli(p)
/// indicators lies within 5 standard errors of p. The pair indicators of a random key
/// graph are pairwise independent (given u's ring, whether v shares enough keys with it
/// does not depend on which keys u holds), so the variance is exactly p(1 − p)/trials.
/// Five standard errors: a correct simulator fails with probability below 1e-6 under the
/// normal approximation (and below 4% even by Chebyshev, which needs only pairwise
/// independence); the seeds are fixed, so the outcome is the same every run.
pub fn assert_proportion(what: &str, measured: f64, p: f64, trials: u64) {
    let se = (p * (1.0 - p) / trials as f64).sqrt();
    assert!(
        (measured - p).abs() <= 5.0 * se,
        "{what}: measured {measured:.5}, analytic {p:.5}, |diff| {:.5} > 5 se = {:.5} ({trials} pairs)",
        (measured - p).abs(),
        5.0 * se
    );
}

/// Asserts that the mean of independent replicates agrees with `expected` by a t-test:
/// |mean − expected| ≤ 5 · s/√R + `bias`, where s is the replicates' sample standard
/// deviation. Used where links share the adversary's captured key set, so their outcomes
/// are correlated and no closed-form variance is at hand: independent seeds give an
/// honest estimate of the spread instead. With R = 16, Student's t with 15 degrees of
/// freedom exceeds 5 with probability about 2e-4. `bias` covers a known, computed gap
/// between the published formula and the exact expectation.
pub fn assert_replicates(what: &str, values: &[f64], expected: f64, bias: f64) {
    let r = values.len() as f64;
    let mean = values.iter().sum::<f64>() / r;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r - 1.0);
    let tol = 5.0 * (var / r).sqrt() + bias;
    assert!(
        (mean - expected).abs() <= tol,
        "{what}: mean of {} runs {mean:.5}, analytic {expected:.5}, |diff| {:.5} > {tol:.5} \
         (sd {:.5})",
        values.len(),
        (mean - expected).abs(),
        var.sqrt()
    );
}
