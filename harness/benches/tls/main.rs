//! keylab beside rustls and beside the crypto floor, in one run.
//!
//! - `hs/<path>/<key>/<impl>-<figure>`: complete in-memory handshakes, both sides in one
//!   thread, for the ephemeral-DH and certificate paths with Ed25519, RSA-2048 and P-256
//!   certificates (`<key>` is `ed25519`, `rsa2048` or `p256`; the first two over x25519
//!   with TLS_CHACHA20_POLY1305_SHA256, `p256` over secp256r1 with TLS_AES_128_GCM_SHA256,
//!   see `cases.rs`). `<impl>` is `keylab`, `rustls` (see `theirs.rs` for its configuration)
//!   or `floor` (the cryptography alone, see `floor.rs`). `pair` is the CPU time of this
//!   thread for whole handshakes (`clock.rs`; on an idle machine the same as wall time,
//!   on a busy one it leaves out the time other processes held the core); `client` and
//!   `server` are the time spent inside that side's own calls during the same kind of run
//!   (each call is bracketed with `Instant::now()` and the intervals summed, through
//!   `iter_custom`), since with fresh randomness neither side's input can be recorded
//!   ahead.
//! - `record/<size>/<suite>/<impl>`: one application-data record per iteration, sealed
//!   and opened (`record.rs`), also in CPU time; `<suite>` is `chacha20-poly1305` or
//!   `aes-128-gcm`, `<impl>` `keylab`, `rustls` or `raw-aead`.
//! - Before the timings: heap per idle connection and the peak during a handshake
//!   (`memory.rs`), printed and, with `KEYLAB_BENCH_MEMORY_JSON=FILE`, written as JSON.
//!
//! `cargo bench -p harness --bench tls` runs everything; `scripts/bench.sh` runs it
//! repeatedly and writes the summary. `KEYLAB_BENCH_ROTATE=N` rotates the order of the
//! implementations within each group, so repeated runs alternate which goes first.

mod alloc;
mod auth;
mod cases;
mod clock;
mod floor;
mod memory;
mod ours;
mod record;
#[path = "../../tests/support/rustls_peer.rs"]
mod rustls_peer;
mod theirs;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use cases::{Case, Laps, Measure, SideTimes};
use floor::Floor;
use ours::Keylab;
use theirs::Rustls;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// Which implementation a handshake benchmark runs.
#[derive(Clone, Copy)]
enum Impl {
    Keylab,
    Rustls,
    Floor,
}

impl Impl {
    const ALL: [Impl; 3] = [Impl::Keylab, Impl::Rustls, Impl::Floor];

    fn name(self) -> &'static str {
        match self {
            Impl::Keylab => "keylab",
            Impl::Rustls => "rustls",
            Impl::Floor => "floor",
        }
    }
}

/// The value of `KEYLAB_BENCH_ROTATE`, 0 when unset.
fn rotation() -> usize {
    std::env::var("KEYLAB_BENCH_ROTATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn memory(_: &mut Criterion) {
    memory::report();
}

fn handshakes(c: &mut Criterion) {
    let rotate = rotation();
    for case in Case::ALL {
        let keylab = Keylab::new(case);
        keylab.check();
        let rustls = Rustls::new(case);
        let floor = Floor::new(case);
        let mut group = c.benchmark_group(format!("hs/{}/{}", case.path(), case.key()));
        for measure in Measure::ALL {
            for i in 0..Impl::ALL.len() {
                let which = Impl::ALL[(i + rotate) % Impl::ALL.len()];
                let id = format!("{}-{}", which.name(), measure.name());
                group.bench_function(id, |b| {
                    b.iter_custom(|iters| {
                        let cpu = clock::thread_cpu();
                        let (_, sides) = match which {
                            Impl::Keylab => run_keylab(&keylab, iters),
                            Impl::Rustls => run_rustls(&rustls, iters),
                            Impl::Floor => run_floor(&floor, iters),
                        };
                        measure.pick(clock::thread_cpu() - cpu, sides)
                    })
                });
            }
        }
        group.finish();
    }
}

#[inline(never)]
fn run_keylab(keylab: &Keylab, iters: u64) -> (Duration, SideTimes) {
    repeat(iters, |sides| keylab.handshake(sides).close(sides))
}

#[inline(never)]
fn run_rustls(rustls: &Rustls, iters: u64) -> (Duration, SideTimes) {
    repeat(iters, |sides| rustls.handshake(sides).close(sides))
}

#[inline(never)]
fn run_floor(floor: &Floor, iters: u64) -> (Duration, SideTimes) {
    let mut rng = ChaCha20Rng::seed_from_u64(iters);
    let mut scratch = Vec::new();
    repeat(iters, |sides| {
        let mut laps = Laps::start();
        floor.client(&mut rng, &mut scratch);
        laps.charge(&mut sides.client);
        floor.server(&mut rng, &mut scratch);
        laps.charge(&mut sides.server);
    })
}

/// Runs `handshake` `iters` times; returns the wall time of all of them and the time
/// each side's calls took.
fn repeat(iters: u64, mut handshake: impl FnMut(&mut SideTimes)) -> (Duration, SideTimes) {
    let mut sides = SideTimes::default();
    let start = Instant::now();
    for _ in 0..iters {
        handshake(&mut sides);
    }
    (start.elapsed(), sides)
}

fn records(c: &mut Criterion) {
    record::bench(c, rotation());
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = memory, handshakes, records
}

fn main() {
    if let Ok(spec) = std::env::var("KEYLAB_BENCH_PROFILE") {
        profile(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// `KEYLAB_BENCH_PROFILE=IMPL/PATH/KEY/N` (e.g. `keylab/certificate/ed25519/50`, IMPL one
/// of keylab, rustls, floor, or `record/SIZE/SUITE/N` for keylab records, SUITE
/// `chacha20-poly1305` or `aes-128-gcm`): runs just that, N times, for a profiler such as
/// `valgrind --tool=callgrind`, and exits.
fn profile(spec: &str) {
    let parts: Vec<&str> = spec.split('/').collect();
    let count = |s: &str| s.parse::<u64>().expect("a count");
    if let [which @ ("record" | "raw-aead"), size, suite, n] = parts[..] {
        let (suite, _) = record::SUITES
            .into_iter()
            .find(|(_, name)| *name == suite)
            .expect("a suite (chacha20-poly1305, aes-128-gcm)");
        let size = count(size) as usize;
        if which == "record" {
            record::profile(suite, size, count(n));
        } else {
            record::profile_raw(suite, size, count(n));
        }
        return;
    }
    let [which, path, key, n] = parts[..] else {
        panic!("KEYLAB_BENCH_PROFILE is IMPL/PATH/KEY/N or record/SIZE/SUITE/N");
    };
    let case = Case::ALL
        .into_iter()
        .find(|c| c.path() == path && c.key() == key)
        .expect("a path (ephemeral-dh, certificate) and key (ed25519, rsa2048, p256)");
    let (wall, sides) = match which {
        "keylab" => run_keylab(&Keylab::new(case), count(n)),
        "rustls" => run_rustls(&Rustls::new(case), count(n)),
        "floor" => run_floor(&Floor::new(case), count(n)),
        other => panic!("unknown implementation {other}"),
    };
    println!(
        "{spec}: {wall:?} in all, client {:?}, server {:?}",
        sides.client, sides.server
    );
}
