//! Bytes from a peer into a server connection: `handshake::fuzzing::server` (input format in
//! its module docs; seeds in `fuzz/seeds/server` reach CONNECTED).
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    black_box(handshake::fuzzing::server(keylab_fuzz::setup(), data));
});
