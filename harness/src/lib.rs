//! The `keylab` command and the library behind it.
//!
//! - [`runner`]: a loopback runner for integration tests — a keylab server on
//!   127.0.0.1:0 and clients against it, with an outcome per connection.
//! - `keylab demo` ([`demo`]): both paths over loopback with the embedded fixtures.
//! - `keylab server` / `keylab client` / `keylab states` ([`net_cmd`]).
//! - `keylab pki` ([`pki_cmd`]): issue, inspect and validate test certificates.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod demo;
pub mod explain;
pub mod json;
pub mod keylog;
pub mod keyserver_cmd;
pub mod mitm;
pub mod net_cmd;
pub mod pki_cmd;
mod progress;
pub mod psk_args;
pub mod rng;
pub mod runner;
pub mod share_cmd;
pub mod wsn_cmd;
pub mod wsn_handshake;
