//! The `keylab` command and the library behind it.
//!
//! `keylab pki` issues, inspects and validates test certificates with the [`pki`] crate.
//! The loopback runner, demos, interop and attack tools join as the handshake lands.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod pki_cmd;
pub mod rng;
