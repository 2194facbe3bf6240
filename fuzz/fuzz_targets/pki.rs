//! A DER certificate validated against the fixtures' anchors at a fixed time, and the
//! same input as a PEM bundle (`pki::fuzzing::certificate`).
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    black_box(pki::fuzzing::certificate(data, keylab_fuzz::trust()));
});
