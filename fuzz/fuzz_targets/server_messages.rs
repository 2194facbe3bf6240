//! Plaintext client messages, encrypted under the connection's real keys, into a server
//! connection: `handshake::fuzzing::server_messages` (input format in the module docs of
//! `handshake::fuzzing::messages`; seeds in `fuzz/seeds/server_messages` reach CONNECTED).
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    black_box(handshake::fuzzing::server_messages(
        keylab_fuzz::setup(),
        data,
    ));
});
