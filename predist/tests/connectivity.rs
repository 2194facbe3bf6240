//! Local connectivity, neighbour counts and path keys, measured on simulated deployments
//! and compared with the published analysis (computed here from log-gamma binomials).

mod common;

use common::{assert_proportion, assert_replicates, binomial_ratio, cps_p_connect, eg_p};
use predist::{Network, Scheme, Topology, analysis};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn deploy(nodes: u32, range: Option<f64>, scheme: Scheme, seed: u64) -> (Topology, Network) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let topology = Topology::random(nodes, range, &mut rng).expect("topology");
    let network = Network::deploy(&topology, scheme, &mut rng).expect("deploy");
    (topology, network)
}

#[test]
fn eg_connection_probability_complete_graph() {
    // 1000 nodes, every pair: 499,500 pairs; P = 1000, k = 30 gives p ≈ 0.61.
    let (pool, ring) = (1000, 30);
    let (_, net) = deploy(1000, None, Scheme::Eg { pool, ring }, 1);
    let measured = net.local_connectivity().expect("pairs");
    assert_proportion(
        "EG, complete graph",
        measured,
        eg_p(pool, ring),
        net.neighbour_pairs(),
    );
}

#[test]
fn eg_connection_probability_in_radio_range() {
    // Geometry decides which pairs are candidates, not whether they share a key, so the
    // formula holds for neighbour pairs too (about 34,000 here).
    let (pool, ring) = (10_000, 100);
    let (_, net) = deploy(3000, Some(0.05), Scheme::Eg { pool, ring }, 2);
    let measured = net.local_connectivity().expect("pairs");
    assert_proportion(
        "EG, range 0.05",
        measured,
        eg_p(pool, ring),
        net.neighbour_pairs(),
    );
}

#[test]
fn qcomposite_connection_probability() {
    // P = 1000, k = 50: 2.5 shared keys on average; q = 2 and q = 3 give p ≈ 0.71 and 0.46.
    let (pool, ring) = (1000, 50);
    for (q, seed) in [(2, 3), (3, 4)] {
        let (_, net) = deploy(800, None, Scheme::QComposite { pool, ring, q }, seed);
        let measured = net.local_connectivity().expect("pairs");
        let analytic = cps_p_connect(pool, ring, q);
        assert_proportion(
            &format!("q-composite q={q}"),
            measured,
            analytic,
            net.neighbour_pairs(),
        );
        // The library's formula (hypergeometric form, upper-tail sum) agrees with the paper's.
        let library = Scheme::QComposite { pool, ring, q }.connection_probability();
        assert!((library - analytic).abs() < 1e-9, "{library} vs {analytic}");
    }
}

#[test]
fn blundo_connects_every_pair() {
    let (_, net) = deploy(150, None, Scheme::Blundo { degree: 8 }, 5);
    assert_eq!(net.local_connectivity(), Some(1.0));
    assert_eq!(net.link_count(), net.neighbour_pairs());
    assert_eq!(net.largest_component_fraction(), 1.0);
}

#[test]
fn neighbour_pairs_match_the_unit_square_geometry() {
    // E[pairs] = C(N, 2) · (πr² − 8r³/3 + r⁴/2). The count is a U-statistic:
    // Var = C(N,2)·q(1−q) + 6·C(N,3)·Var(A(X)), A(X) the in-range area around a point X.
    // A(X) = πr² except within r of an edge (area 4r of the square), where it is at least
    // πr²/4, so Var(A) ≤ 4r·(3πr²/4)². Five such standard deviations: the boundary term
    // 8r³/3 alone moves the mean by about five, so dropping it would be caught.
    let (n, r) = (3000u32, 0.1f64);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let t = Topology::random(n, Some(r), &mut rng).expect("topology");
    let pairs = f64::from(n) * f64::from(n - 1) / 2.0;
    let triples = pairs * f64::from(n - 2) / 3.0;
    let q = std::f64::consts::PI * r * r - 8.0 * r.powi(3) / 3.0 + r.powi(4) / 2.0;
    let var_area = 4.0 * r * (0.75 * std::f64::consts::PI * r * r).powi(2);
    let sd = (pairs * q * (1.0 - q) + 6.0 * triples * var_area).sqrt();
    let measured = t.pair_count() as f64;
    assert!(
        (measured - pairs * q).abs() <= 5.0 * sd,
        "pairs {measured}, expected {:.0} ± {:.0}",
        pairs * q,
        5.0 * sd
    );
    assert!((analysis::neighbour_probability(r) - q).abs() < 1e-15);
}

#[test]
fn path_keys_through_one_intermediate_match_the_analysis() {
    // A neighbour pair (u, v) without a shared key finds a 2-hop path key through a common
    // radio neighbour w that shares a key with both. Given u's and v's (disjoint) rings,
    // each w does so independently with probability
    //   π₂ = 1 − 2·C(P−k, k)/C(P, k) + C(P−2k, k)/C(P, k)          (inclusion–exclusion),
    // so with m common neighbours P(no 2-hop path | unsecured) = (1 − π₂)^m, and given the
    // placement E[2-hop pairs] = Σ_pairs (1 − p)·(1 − (1 − π₂)^m). Pairs share neighbours, so
    // their outcomes are correlated: the check is a t-test over independent deployments.
    let (pool, ring, n, r) = (1000u32, 20u32, 600u32, 0.1f64);
    let p = eg_p(pool, ring);
    let pi2 = 1.0 - 2.0 * binomial_ratio(pool - ring, ring, pool, ring)
        + binomial_ratio(pool - 2 * ring, ring, pool, ring);
    let mut diffs = Vec::new();
    for seed in 0..16 {
        let (topology, net) = deploy(n, Some(r), Scheme::Eg { pool, ring }, 100 + seed);
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let stats = net.path_keys(usize::MAX, &mut rng);
        assert_eq!(stats.examined, stats.unsecured_pairs);
        assert_eq!(
            stats.examined,
            stats.two_hops + stats.three_hops + stats.beyond
        );
        assert_eq!(
            stats.unsecured_pairs + net.link_count(),
            net.neighbour_pairs()
        );
        let neighbours = full_neighbour_lists(&topology);
        let expected: f64 = topology
            .pairs()
            .map(|(u, v)| {
                let m = common(&neighbours[u as usize], &neighbours[v as usize]);
                (1.0 - p) * (1.0 - (1.0 - pi2).powi(m as i32))
            })
            .sum();
        diffs.push((stats.two_hops as f64 - expected) / expected);
    }
    assert_replicates("2-hop path keys (relative error)", &diffs, 0.0, 0.0);
}

fn full_neighbour_lists(t: &Topology) -> Vec<Vec<u32>> {
    let mut lists = vec![Vec::new(); t.nodes() as usize];
    for (u, v) in t.pairs() {
        lists[u as usize].push(v);
        lists[v as usize].push(u);
    }
    for l in &mut lists {
        l.sort_unstable();
    }
    lists
}

fn common(a: &[u32], b: &[u32]) -> usize {
    a.iter().filter(|x| b.binary_search(x).is_ok()).count()
}
