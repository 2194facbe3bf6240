//! Deframer, decrypter under fixed keys and joiner over length-prefixed chunks
//! (`handshake::fuzzing::record`).
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    black_box(handshake::fuzzing::record(data));
});
