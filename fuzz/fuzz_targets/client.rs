//! Bytes from a peer into a client connection: `handshake::fuzzing::client` (input format in
//! its module docs; seeds in `fuzz/seeds/client` reach CONNECTED).
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    black_box(handshake::fuzzing::client(keylab_fuzz::setup(), data));
});
