//! Memory and time budgets: absurd parameter sets are refused with a clear error before
//! anything large is allocated.
//!
//! A counting allocator records the largest single allocation this test binary makes, so
//! "refused before allocating" is checked, not assumed. (Only here: the allocator is the
//! one piece of `unsafe` the check needs, and it only forwards to the system allocator.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use predist::{
    Config, Error, MAX_DISCOVERY_WORK, MAX_FIELD_MULTIPLICATIONS, MAX_PAIRS, MAX_RING_STORAGE,
    MAX_SHARE_ELEMENTS, MAX_SWEEP_POINTS, Network, Scheme, SweepConfig, Topology, Vary, simulate,
    sweep,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only the size is recorded.
#[allow(
    unsafe_code,
    reason = "a GlobalAlloc must be unsafe; this one only forwards to System"
)]
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as for `dealloc`, with the caller's `realloc` contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Largest = Largest;

/// The tests here build topologies of up to 4,498,500 pairs (18 MB); anything near this
/// size would be key material or neighbour lists the budgets should have refused.
const NO_LARGER_THAN: usize = 128 << 20;

/// Runs `f`, which must fail quickly and without a large allocation, and returns its error.
fn refused<T: std::fmt::Debug>(what: &str, f: impl FnOnce() -> Result<T, Error>) -> Error {
    let start = Instant::now();
    let err = f().expect_err(what);
    // Generous: a debug build on a loaded machine; deploying would take minutes or abort.
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{what}: {:?}",
        start.elapsed()
    );
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest < NO_LARGER_THAN,
        "{what}: allocated {largest} bytes at once"
    );
    err
}

/// [`refused`] for deploying `scheme` on `topology` (seed 2).
fn deploy_refused(what: &str, topology: &Topology, scheme: Scheme) -> Error {
    refused(what, || {
        Network::deploy(topology, scheme, &mut ChaCha20Rng::seed_from_u64(2))
    })
}

fn name_of(err: &Error) -> &'static str {
    match err {
        Error::Parameter { name, .. } => name,
        other => panic!("parameter error expected, got {other}"),
    }
}

fn complete(nodes: u32) -> Topology {
    Topology::random(nodes, None, &mut ChaCha20Rng::seed_from_u64(1)).expect("topology")
}

#[test]
fn eg_discovery_over_budget_is_refused() {
    // 4,498,500 pairs × 30,000 ids: 1.3 × 10^11 comparisons, minutes of work.
    let topology = complete(3000);
    let scheme = Scheme::Eg {
        pool: 100_000,
        ring: 30_000,
    };
    let err = deploy_refused("eg", &topology, scheme);
    assert_eq!(name_of(&err), "neighbour pairs × --ring");
    let text = err.to_string();
    assert!(text.contains(&MAX_DISCOVERY_WORK.to_string()), "{text}");
    assert!(text.contains("134955000000"), "{text}");
    // The same through `simulate`.
    let config = Config {
        scheme,
        nodes: 3000,
        range: None,
        capture: Some(10),
        seed: 3,
    };
    let err = refused("simulate eg", || simulate(&config));
    assert_eq!(name_of(&err), "neighbour pairs × --ring");
}

#[test]
fn rings_beyond_memory_are_refused() {
    // 3,000 rings of 400,000 ids: 1.2 × 10^9 ids, 4.8 GB; q-composite alike.
    let topology = complete(3000);
    for scheme in [
        Scheme::Eg {
            pool: 1_000_000,
            ring: 400_000,
        },
        Scheme::QComposite {
            pool: 1_000_000,
            ring: 400_000,
            q: 2,
        },
    ] {
        let err = deploy_refused("rings", &topology, scheme);
        assert_eq!(name_of(&err), "--nodes × --ring");
        let text = err.to_string();
        assert!(
            text.contains(&MAX_RING_STORAGE.to_string()) && text.contains("4 bytes each"),
            "{text}"
        );
    }
}

#[test]
fn neighbour_pairs_beyond_memory_are_refused_before_placing_the_nodes() {
    // 1,000,000 nodes at range 0.1: about 1.5 × 10^10 pairs, 300 GB. Refused from the
    // expected count, before the grid is filled.
    let err = refused("pairs", || {
        Topology::random(1_000_000, Some(0.1), &mut ChaCha20Rng::seed_from_u64(1))
    });
    assert!(matches!(err, Error::TooManyPairs { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&MAX_PAIRS.to_string()) && text.contains("bytes each"),
        "{text}"
    );
    // Without a range: 499,999,500,000 pairs.
    let err = refused("complete", || {
        Topology::random(1_000_000, None, &mut ChaCha20Rng::seed_from_u64(1))
    });
    assert!(matches!(err, Error::TooManyPairs { .. }), "{err}");
}

#[test]
fn blundo_over_budget_is_refused() {
    // Degree 4096 on 3,000 nodes: 5 × 10^10 multiplications for the shares alone.
    let topology = complete(3000);
    let err = deploy_refused("blundo work", &topology, Scheme::Blundo { degree: 4096 });
    let text = err.to_string();
    assert!(
        text.contains("field multiplications")
            && text.contains(&MAX_FIELD_MULTIPLICATIONS.to_string()),
        "{text}"
    );
    // 30,000 nodes × 1,001 elements: 30,030,000 field elements (480 MB of shares).
    let topology =
        Topology::random(30_000, Some(0.01), &mut ChaCha20Rng::seed_from_u64(4)).expect("topology");
    let err = deploy_refused("blundo storage", &topology, Scheme::Blundo { degree: 1000 });
    assert_eq!(name_of(&err), "--nodes × (--degree + 1)");
    assert!(
        err.to_string().contains(&MAX_SHARE_ELEMENTS.to_string()),
        "{err}"
    );
}

fn sweep_config(schemes: Vec<Scheme>, nodes: u32, vary: Vary, from: u32, to: u32) -> SweepConfig {
    SweepConfig {
        schemes,
        nodes,
        range: None,
        vary,
        from,
        to,
        step: 1,
        seed: 1,
    }
}

#[test]
fn huge_sweep_ranges_are_refused_before_listing_them() {
    let eg = Scheme::Eg {
        pool: 100_000_000,
        ring: 1,
    };
    let mut calls = 0;
    // --from 0 --to 4294967295: four billion captures of a 10-node network.
    let c = sweep_config(vec![eg], 10, Vary::Capture, 0, u32::MAX);
    let err = refused("capture 0..=u32::MAX", || sweep(&c, &mut |_, _| calls += 1));
    assert_eq!(name_of(&err), "--capture");
    // Within the pool, but 100,000,000 ring sizes.
    let c = sweep_config(vec![eg], 10, Vary::Ring, 1, 100_000_000);
    let err = refused("ring 1..=10^8", || sweep(&c, &mut |_, _| calls += 1));
    assert_eq!(name_of(&err), "--step");
    assert!(err.to_string().contains("100000000 points"), "{err}");
    // Exactly MAX_SWEEP_POINTS + 1 points.
    let c = SweepConfig {
        step: 2,
        ..sweep_config(vec![eg], 10, Vary::Ring, 1, 2 * MAX_SWEEP_POINTS as u32 + 1)
    };
    let err = refused("one point too many", || sweep(&c, &mut |_, _| calls += 1));
    assert_eq!(name_of(&err), "--step");
    assert_eq!(calls, 0);
}

#[test]
fn a_ring_sweep_whose_last_point_is_over_budget_deploys_nothing() {
    // Ring 10 fits (45 × 10^6 comparisons), ring 30,000 does not (1.3 × 10^11): refused
    // up front rather than after the first points.
    let c = SweepConfig {
        step: 29_990,
        ..sweep_config(
            vec![Scheme::Eg {
                pool: 100_000,
                ring: 10,
            }],
            3000,
            Vary::Ring,
            10,
            30_000,
        )
    };
    let mut calls = 0;
    let err = refused("ring sweep", || sweep(&c, &mut |_, _| calls += 1));
    assert_eq!(name_of(&err), "neighbour pairs × --ring");
    assert_eq!(calls, 0);
}
