//! Application-data throughput: one record of 1 KiB or 16 KiB sealed by the client and
//! opened by the server, under TLS_CHACHA20_POLY1305_SHA256 and TLS_AES_128_GCM_SHA256,
//! through keylab's `Connection::send` / `process` / `next_event`, through rustls' writer /
//! `write_tls` / `read_tls` / `process_new_packets` / reader, and as a bare seal and open
//! of a buffer of the same size with the suite's AEAD (`chacha20poly1305`, `aes-gcm`: the
//! crates keylab uses). Times are the thread's CPU time (`clock.rs`).

use std::hint::black_box;
use std::io::{Read, Write};

use aes_gcm::Aes128Gcm;
use chacha20poly1305::aead::{self, AeadInOut};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use handshake::{Event, SupportedSuite};
use time::OffsetDateTime;

use crate::cases::{Case, Key, SideTimes};
use crate::clock;
use crate::ours::Keylab;
use crate::theirs::{self, Rustls};

/// Record sizes measured, in bytes of application data.
pub const SIZES: [usize; 2] = [1024, 16 * 1024];

/// Suites measured, with the name each takes in a row's id.
pub const SUITES: [(SupportedSuite, &str); 2] = [
    (SupportedSuite::Chacha20Poly1305Sha256, "chacha20-poly1305"),
    (SupportedSuite::Aes128GcmSha256, "aes-128-gcm"),
];

/// The connections use the ephemeral-DH path with Ed25519 certificates over x25519 (the
/// record layer is the same on every path), with `suite`.
fn case(suite: SupportedSuite) -> Case {
    Case {
        suite,
        ..Case::chacha(false, Key::Ed25519)
    }
}

/// The record benchmarks, `record/<size>/<suite>/<impl>`, implementations in the order
/// `rotate` gives.
pub fn bench(c: &mut Criterion, rotate: usize) {
    for size in SIZES {
        for (suite, suite_name) in SUITES {
            let mut group = c.benchmark_group(format!("record/{size}/{suite_name}"));
            group.throughput(Throughput::Bytes(size as u64));
            let data = vec![0x61u8; size];
            for which in 0..3 {
                match ((which + rotate) % 3, suite) {
                    (0, _) => keylab(&mut group, suite, &data),
                    (1, SupportedSuite::Chacha20Poly1305Sha256) => {
                        raw(&mut group, ChaCha20Poly1305::new(&[0x42; 32].into()), &data)
                    }
                    (1, SupportedSuite::Aes128GcmSha256) => {
                        raw(&mut group, Aes128Gcm::new(&[0x42; 16].into()), &data)
                    }
                    _ => rustls(&mut group, suite, &data),
                }
            }
            group.finish();
        }
    }
}

/// Sends `n` records of `size` bytes through keylab under `suite`, for a profiler.
pub fn profile(suite: SupportedSuite, size: usize, n: u64) {
    let mut conns = Keylab::new(case(suite)).handshake(&mut SideTimes::default());
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

/// Seals and opens `n` buffers of `size` bytes with the bare AEAD of `suite`, for a
/// profiler: the floor the keylab rows are compared with.
pub fn profile_raw(suite: SupportedSuite, size: usize, n: u64) {
    let data = vec![0x61u8; size];
    match suite {
        SupportedSuite::Chacha20Poly1305Sha256 => {
            raw_loop(&ChaCha20Poly1305::new(&[0x42; 32].into()), &data, n)
        }
        SupportedSuite::Aes128GcmSha256 => raw_loop(&Aes128Gcm::new(&[0x42; 16].into()), &data, n),
    }
}

fn raw_loop<A: AeadInOut>(aead: &A, data: &[u8], n: u64) {
    let mut buf = data.to_vec();
    for seq in 0..n {
        raw_round(aead, &mut buf, seq);
    }
}

/// One seal and open of `buf` in place under a nonce made of `seq`.
fn raw_round<A: AeadInOut>(aead: &A, buf: &mut [u8], seq: u64) {
    let aad = [23, 3, 3, 0, 0];
    let mut nonce = aead::Nonce::<A>::default();
    nonce[4..].copy_from_slice(&seq.to_be_bytes());
    let tag = aead
        .encrypt_inout_detached(&nonce, &aad, buf.into())
        .expect("seal");
    aead.decrypt_inout_detached(&nonce, &aad, buf.into(), &tag)
        .expect("open");
    black_box(&buf);
}

fn keylab(group: &mut BenchmarkGroup<'_, WallTime>, suite: SupportedSuite, data: &[u8]) {
    let mut conns = Keylab::new(case(suite)).handshake(&mut SideTimes::default());
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

fn raw<A: AeadInOut>(group: &mut BenchmarkGroup<'_, WallTime>, aead: A, data: &[u8]) {
    let mut buf = data.to_vec();
    let mut seq = 0u64;
    group.bench_function("raw-aead", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                seq += 1;
                raw_round(&aead, &mut buf, seq);
            })
        })
    });
}

fn rustls(group: &mut BenchmarkGroup<'_, WallTime>, suite: SupportedSuite, data: &[u8]) {
    let mut conns = Rustls::new(case(suite)).handshake(&mut SideTimes::default());
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
