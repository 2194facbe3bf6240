//! Node capture: the fraction of links between uncaptured nodes that the captured key
//! material exposes, against Eschenauer–Gligor, Chan–Perrig–Song and Blundo et al.

mod common;

use common::{assert_replicates, captured_key, cps_p_connect, cps_p_i};
use predist::{Network, Scheme, Topology};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const REPLICATES: u64 = 16;

/// Deploys on the complete graph of `nodes` nodes and captures the first `x` of a random
/// order; returns the measured compromised fraction.
fn compromised(nodes: u32, scheme: Scheme, x: u32, seed: u64) -> f64 {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let topology = Topology::random(nodes, None, &mut rng).expect("topology");
    let net = Network::deploy(&topology, scheme, &mut rng).expect("deploy");
    let order = net.capture_order(&mut rng);
    let outcome = net.capture(&order[..x as usize]);
    assert_eq!(outcome.captured, x);
    outcome.fraction().expect("links between uncaptured nodes")
}

#[test]
fn eg_compromised_fraction() {
    // The adversary holds the union U of x captured rings; a link is exposed when its key
    // is in U. Captured rings are independent of the uncaptured nodes', so each link key is
    // in U with probability exactly 1 − (1 − k/P)^x: no bias term.
    // The reference pool and ring (P = 10,000, k = 100) on 200 nodes.
    let (pool, ring) = (10_000, 100);
    for x in [10, 40] {
        let values: Vec<f64> = (0..REPLICATES)
            .map(|seed| compromised(200, Scheme::Eg { pool, ring }, x, seed))
            .collect();
        assert_replicates(
            &format!("EG x={x}"),
            &values,
            captured_key(pool, ring, x),
            0.0,
        );
    }
}

#[test]
fn qcomposite_compromised_fraction() {
    // Chan–Perrig–Song: Σ_{i≥q} c^i p(i)/p with c = 1 − (1 − k/P)^x. The paper treats the
    // i keys of a link as captured independently; exactly, all i are in U with probability
    // π(i) = Σ_j (−1)^j C(i, j) (C(P−j, k)/C(P, k))^x (inclusion–exclusion). The gap between
    // the two expectations is computed and allowed on top of the t-test tolerance.
    let (pool, ring, q) = (2000u32, 60u32, 2u32);
    for x in [10, 30] {
        let c = captured_key(pool, ring, x);
        let p = cps_p_connect(pool, ring, q);
        let (mut cps, mut exact) = (0.0, 0.0);
        for i in q..=ring {
            let pi = cps_p_i(pool, ring, i) / p;
            cps += c.powi(i as i32) * pi;
            exact += all_captured(pool, ring, x, i) * pi;
        }
        let values: Vec<f64> = (0..REPLICATES)
            .map(|seed| compromised(300, Scheme::QComposite { pool, ring, q }, x, 50 + seed))
            .collect();
        assert_replicates(
            &format!("q-composite x={x}"),
            &values,
            cps,
            (cps - exact).abs(),
        );
        // The library's formula is the paper's.
        let library = Scheme::QComposite { pool, ring, q }.compromised_fraction(x);
        assert!(
            library.is_some_and(|l| (l - cps).abs() < 1e-9),
            "{library:?} vs {cps}"
        );
    }
}

/// P(i given keys are all among x captured rings), by inclusion–exclusion.
fn all_captured(pool: u32, ring: u32, x: u32, i: u32) -> f64 {
    (0..=i)
        .map(|j| {
            let miss_j = common::binomial_ratio(pool - j, ring, pool, ring);
            let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
            sign * (predist::analysis::ln_choose(i.into(), j.into()).exp()) * miss_j.powi(x as i32)
        })
        .sum()
}

#[test]
fn blundo_is_t_secure_and_falls_at_t_plus_one() {
    // Information-theoretic, so exact: nothing with t captured shares, everything with t+1.
    let t = 10;
    for (x, want) in [(0, 0.0), (1, 0.0), (t, 0.0), (t + 1, 1.0), (t + 5, 1.0)] {
        let got = compromised(120, Scheme::Blundo { degree: t }, x, 7);
        assert_eq!(got, want, "{x} captured");
        assert_eq!(
            Scheme::Blundo { degree: t }.compromised_fraction(x),
            Some(want)
        );
    }
}

#[test]
fn capturing_more_exposes_more() {
    // Captures are prefixes of one order, so exposure can only grow.
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let topology = Topology::random(400, Some(0.15), &mut rng).expect("topology");
    let net = Network::deploy(
        &topology,
        Scheme::Eg {
            pool: 1000,
            ring: 25,
        },
        &mut rng,
    )
    .expect("deploy");
    let order = net.capture_order(&mut rng);
    let mut last = 0.0;
    for x in (0..=100).step_by(20) {
        let f = net.capture(&order[..x]).fraction().expect("links");
        assert!(f >= last, "x={x}: {f} < {last}");
        last = f;
    }
    assert!(last > 0.5, "{last}");
}
