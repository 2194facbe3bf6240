//! Application-data throughput: one record of 1 KiB or 16 KiB sealed by the client and
//! opened by the server, through keylab's `Connection::send` / `process` / `next_event`,
//! through rustls' writer / `write_tls` / `read_tls` / `process_new_packets` / reader, and
//! as a bare ChaCha20-Poly1305 seal and open of a buffer of the same size. Times are the
//! thread's CPU time (`clock.rs`).

use std::hint::black_box;
use std::io::{Read, Write};

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use handshake::Event;
use time::OffsetDateTime;

use crate::cases::{Case, SideTimes};
use crate::clock;
use crate::ours::Keylab;
use crate::theirs::{self, Rustls};

/// Record sizes measured, in bytes of application data.
pub const SIZES: [usize; 2] = [1024, 16 * 1024];

/// The connections use the ephemeral-DH path with Ed25519 certificates; the record layer
/// is the same on every path.
const CASE: Case = Case {
    mutual: false,
    rsa: false,
};

/// The record benchmarks, implementations in the order `rotate` gives.
pub fn bench(c: &mut Criterion, rotate: usize) {
    for size in SIZES {
        let mut group = c.benchmark_group(format!("record/{size}"));
        group.throughput(Throughput::Bytes(size as u64));
        let data = vec![0x61u8; size];
        for which in 0..3 {
            match (which + rotate) % 3 {
                0 => keylab(&mut group, &data),
                1 => raw(&mut group, &data),
                _ => rustls(&mut group, &data),
            }
        }
        group.finish();
    }
}

/// Sends `n` records of `size` bytes through keylab, for a profiler.
pub fn profile(size: usize, n: u64) {
    let mut conns = Keylab::new(CASE).handshake(&mut SideTimes::default());
    let (data, mut wire, mut replies) = (vec![0x61u8; size], Vec::new(), Vec::new());
    let now = OffsetDateTime::now_utc();
    for _ in 0..n {
        conns.client.send(&data, &mut wire).expect("send");
        conns
            .server
            .process(&wire, now, &mut replies)
            .expect("process");
        wire.clear();
        black_box(conns.server.next_event());
    }
}

fn keylab(group: &mut BenchmarkGroup<'_, WallTime>, data: &[u8]) {
    let mut conns = Keylab::new(CASE).handshake(&mut SideTimes::default());
    let mut wire = Vec::new();
    let mut replies = Vec::new();
    let now = OffsetDateTime::now_utc();
    group.bench_function("keylab", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                conns.client.send(data, &mut wire).expect("send");
                conns
                    .server
                    .process(&wire, now, &mut replies)
                    .expect("process");
                wire.clear();
                match conns.server.next_event() {
                    Some(Event::ApplicationData(received)) => received,
                    other => panic!("expected application data, got {other:?}"),
                }
            })
        })
    });
}

fn raw(group: &mut BenchmarkGroup<'_, WallTime>, data: &[u8]) {
    let aead = ChaCha20Poly1305::new(&[0x42; 32].into());
    let aad = [23, 3, 3, 0, 0];
    let mut buf = data.to_vec();
    let mut seq = 0u64;
    group.bench_function("raw-aead", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                seq += 1;
                let mut nonce = [0u8; 12];
                nonce[4..].copy_from_slice(&seq.to_be_bytes());
                let nonce = Nonce::from(nonce);
                let tag = aead
                    .encrypt_inout_detached(&nonce, &aad, buf.as_mut_slice().into())
                    .expect("seal");
                aead.decrypt_inout_detached(&nonce, &aad, buf.as_mut_slice().into(), &tag)
                    .expect("open");
                black_box(&buf);
            })
        })
    });
}

fn rustls(group: &mut BenchmarkGroup<'_, WallTime>, data: &[u8]) {
    let mut conns = Rustls::new(CASE).handshake(&mut SideTimes::default());
    let mut wire = Vec::new();
    let mut received = vec![0u8; data.len()];
    group.bench_function("rustls", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                conns.client.writer().write_all(data).expect("write");
                theirs::write_out(&mut conns.client, &mut wire);
                theirs::read_in(&mut conns.server, &mut wire);
                conns
                    .server
                    .reader()
                    .read_exact(&mut received)
                    .expect("read");
                black_box(&received);
            })
        })
    });
}

/// The thread's CPU time for `iters` calls of `f` (each result dropped in the loop).
fn cpu_time<T>(iters: u64, mut f: impl FnMut() -> T) -> std::time::Duration {
    let start = clock::thread_cpu();
    for _ in 0..iters {
        black_box(f());
    }
    clock::thread_cpu() - start
}
