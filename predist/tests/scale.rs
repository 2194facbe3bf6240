//! Sizes the simulator used to refuse, and results that do not depend on the number of
//! threads.

mod common;

use std::ops::ControlFlow;

use common::assert_proportion;
use predist::{
    Config, Network, Scheme, SweepConfig, SweepEvent, Topology, Vary, simulate_on, sweep_on,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

#[test]
fn qcomposite_on_1500_nodes_in_full_range_deploys_and_captures() {
    // 1,124,250 pairs × ring 100: more shared ids than the simulator once stored (10^8);
    // now they are recomputed from the rings when a capture asks.
    let scheme = Scheme::QComposite {
        pool: 10_000,
        ring: 100,
        q: 2,
    };
    let config = Config {
        scheme,
        nodes: 1500,
        range: None,
        capture: Some(20),
        seed: 4,
    };
    let report = simulate_on(&config, 2).expect("within budget");
    assert_eq!(report.neighbour_pairs, 1_124_250);
    let p = report.local_connectivity.analytic.expect("formula");
    let measured = report.local_connectivity.measured.expect("pairs");
    assert_proportion("q-composite on 1500 nodes", measured, p, 1_124_250);
    let capture = report.capture.expect("capture asked");
    assert_eq!(capture.captured, 20);
    // The same count as a direct check over the rings: every pair that shares at least q
    // ids, and whose shared ids all lie in the captured rings, is exposed.
    assert!(capture.compromised > 0 && capture.compromised < capture.links);
    // The recorded outcome of the implementation that stored every shared id.
    assert_eq!((capture.links, capture.compromised), (289_306, 6_929));
}

#[test]
fn capture_is_the_same_on_any_number_of_threads() {
    let scheme = Scheme::QComposite {
        pool: 500,
        ring: 30,
        q: 2,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let topology = Topology::random(300, Some(0.2), &mut rng).expect("topology");
    let net = Network::deploy_on(&topology, scheme, &mut rng, 3).expect("deploy");
    let order = net.capture_order(&mut rng);
    let taken = &order[..15];
    // (A direct count over the rings is a unit test in `network.rs`, which sees them.)
    let one = net.capture_on(taken, 1);
    let three = net.capture_on(taken, 3);
    assert_eq!(one, three);
    // Capturing more never exposes fewer of the links between the nodes still free.
    let more = net.capture_on(&order[..30], 2);
    assert!(more.fraction() >= one.fraction());
}

#[test]
fn simulate_is_the_same_on_any_number_of_threads() {
    for scheme in [
        Scheme::Eg {
            pool: 10_000,
            ring: 100,
        },
        Scheme::QComposite {
            pool: 10_000,
            ring: 100,
            q: 2,
        },
        Scheme::Blundo { degree: 10 },
    ] {
        let config = Config {
            scheme,
            nodes: 5000,
            range: Some(0.04),
            capture: Some(15),
            seed: 9,
        };
        let one = simulate_on(&config, 1).expect("simulate");
        for threads in [2, 5] {
            assert_eq!(simulate_on(&config, threads).expect("simulate"), one);
        }
    }
}

#[test]
fn sweep_events_are_the_same_on_any_number_of_threads() {
    let config = SweepConfig {
        schemes: vec![
            Scheme::Eg {
                pool: 1000,
                ring: 10,
            },
            Scheme::QComposite {
                pool: 1000,
                ring: 10,
                q: 2,
            },
        ],
        nodes: 800,
        range: Some(0.1),
        vary: Vary::Ring,
        from: 10,
        to: 60,
        step: 5,
        seed: 3,
    };
    let events = |threads| {
        let mut seen = Vec::new();
        let sweep = sweep_on(&config, threads, &mut |event| {
            if let SweepEvent::Point {
                series,
                point,
                done,
                ..
            } = event
            {
                seen.push((series, point, done));
            }
            ControlFlow::Continue(())
        })
        .expect("sweep");
        (sweep, seen)
    };
    let one = events(1);
    assert_eq!(one.1.len(), 22);
    assert!(one.1.iter().enumerate().all(|(i, e)| e.2 == i + 1));
    for threads in [2, 4] {
        assert_eq!(events(threads), one, "{threads} threads");
    }
}
