//! The RFC 8448 example handshake traces against the codec and the key schedule.
//!
//! Vector files: `fixtures/data/rfc8448/*.txt` (see its README for the format).

mod key_schedule;
mod messages;
mod signatures;
mod vectors;
