//! The reference deployment: 10,000 nodes, pool 10,000, ring 100, range 0.05
//! (about 75 neighbours each), Eschenauer–Gligor, measured end to end by `simulate`
//! (placement, key rings, shared-key discovery, largest component, path keys), plus the
//! same with 50 captured nodes, and at 5,000 and 20,000 nodes with the range scaled as
//! 0.05·√(10,000/N), so that every size has the same ~75 neighbours per node and the time
//! shows the growth with N alone.
//!
//! `cargo bench -p predist` (add `-- --quick` for a short run).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use predist::{Config, Scheme, simulate};

fn config(nodes: u32, capture: Option<u32>) -> Config {
    // Constant density: about 75 neighbours per node at every size.
    let range = 0.05 * (10_000.0 / f64::from(nodes)).sqrt();
    Config {
        scheme: Scheme::Eg {
            pool: 10_000,
            ring: 100,
        },
        nodes,
        range: Some(range),
        capture,
        seed: 1,
    }
}

fn reference(c: &mut Criterion) {
    let mut group = c.benchmark_group("eg_pool10000_ring100_75neighbours");
    group.sample_size(10);
    for nodes in [5_000u32, 10_000, 20_000] {
        group.bench_with_input(BenchmarkId::new("simulate", nodes), &nodes, |b, &n| {
            b.iter(|| simulate(&config(n, None)))
        });
    }
    group.bench_function("simulate_capture50/10000", |b| {
        b.iter(|| simulate(&config(10_000, Some(50))))
    });
    group.finish();
}

criterion_group!(benches, reference);
criterion_main!(benches);
