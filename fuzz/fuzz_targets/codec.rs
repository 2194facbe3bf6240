//! Whatever `HandshakeMessage::decode` accepts must encode back to the same bytes
//! (`handshake::fuzzing::codec` panics otherwise).
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    black_box(handshake::fuzzing::codec(data));
});
