//! Split and combine of a 32-byte secret, 3 of 5: keylab's digest mode and raw mode beside
//! the `sharks` crate in the same run.
//!
//! sharks multiplies with log/exp tables indexed by secret bytes (fast, variable-time) in
//! the 0x11D field and has no digest; ours multiplies by constant-time shift-and-add and
//! (in digest mode) computes an HMAC-SHA256. `cargo bench -p sharing`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sharks::Sharks;

const SECRET: [u8; 32] = *b"thirty-two bytes of key material";

fn split_and_combine(c: &mut Criterion) {
    let mut group = c.benchmark_group("32-byte secret, 3 of 5");
    let mut rng = ChaCha20Rng::seed_from_u64(1);

    group.bench_function("keylab digest split", |b| {
        b.iter(|| sharing::split(black_box(&SECRET), 3, 5, &mut rng))
    });
    let shares = sharing::split(&SECRET, 3, 5, &mut rng).expect("split");
    group.bench_function("keylab digest combine", |b| {
        b.iter(|| sharing::combine(black_box(&shares[1..4])))
    });

    group.bench_function("keylab raw split", |b| {
        b.iter(|| sharing::raw::split(black_box(&SECRET), 3, 5, &mut rng))
    });
    let raw = sharing::raw::split(&SECRET, 3, 5, &mut rng).expect("split");
    group.bench_function("keylab raw combine", |b| {
        b.iter(|| sharing::raw::combine(black_box(&raw[1..4])))
    });

    let sharks = Sharks(3);
    group.bench_function("sharks split", |b| {
        b.iter(|| {
            sharks
                .dealer(black_box(&SECRET))
                .take(5)
                .collect::<Vec<_>>()
        })
    });
    let dealt: Vec<sharks::Share> = sharks.dealer(&SECRET).take(5).collect();
    group.bench_function("sharks combine", |b| {
        b.iter(|| sharks.recover(black_box(&dealt[1..4])))
    });
    group.finish();
}

criterion_group!(benches, split_and_combine);
criterion_main!(benches);
