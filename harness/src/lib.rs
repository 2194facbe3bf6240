//! The `keylab` command and the library behind it.
//!
//! # The library, for integration tests and examples
//!
//! ```text
//!   ServerConfig ──> runner::LoopbackServer (127.0.0.1:0 / [::1]:0, a thread per connection)
//!                       ^   |  echo application data; ServerOutcome per connection
//!   ClientSpec ──> runner::run_client ── TCP ──┘   (optionally through mitm::Proxy,
//!                       |                            which flips, drops, records bytes)
//!                       v
//!   runner::Outcome: both summaries or errors, observe::Observed (messages, secrets,
//!                    transitions from the handshake crate's trace hook), echo, timings,
//!                    runner::Wire (every byte the client's socket wrote and read)
//!                       |
//!                       v
//!   explain: each message's bytes, field by field    keylog: NSS key log files
//!   explain::records: every record split, decrypted and linked to the messages
//! ```
//!
//! - [`runner`]: a keylab server on a loopback socket and clients against it, with an
//!   [`runner::Outcome`] per connection; the demo's configurations and PSK.
//! - [`observe`]: what one side of a connection saw (messages, secrets, transitions).
//! - [`seed`]: what `--seed` decides: every connection's RNG and the frozen clock.
//! - [`mitm`]: a tampering proxy (flip, truncate, drop, reorder, record, replay).
//! - [`keylog`]: NSS key log files for Wireshark (`--keylog`, `SSLKEYLOGFILE`).
//! - [`explain`]: a handshake message explained field by field (offset, bytes, meaning);
//!   [`explain::records`]: the record layer of a connection, every record decrypted.
//! - [`states_diagram`]: both RFC 8446 Appendix A machines as one diagram (Graphviz),
//!   optionally with one connection's states and transitions highlighted.
//! - [`teach`]: the explanation model of a connection (records in wire order, messages,
//!   key schedule values with check-it-yourself commands) and its renderers: the terminal
//!   ([`teach::terminal`]) and a self-contained HTML page ([`teach::html`]).
//! - [`crack`]: offline guessing of a PSK made from a short code, against the binder of
//!   one recorded ClientHello (a pcap or a `mitm --record` file, [`crack::capture`]).
//! - [`pairing`]: two sides with the same short code agree on a strong PSK with SPAKE2
//!   and key confirmation ([`pairing::wire`]: its framing).
//!
//! # The command line
//!
//! - [`cli`]: the top-level parser and dispatch; `main.rs` sets up logging (`-v`,
//!   `RUST_LOG`), prints a failure (as JSON on stdout too in `--json` mode) and ends
//!   quietly when stdout is closed.
//! - [`cmd`]: one module per command family, each owning its arguments (`demo`, `net`,
//!   `teach`, `pki`, `psk`, `pair`, `share`, `keyserver`, `wsn`, `shell`), and the helpers they share.
//! - [`failure`]: what a failed command prints, its kind and its exit status.
//!
//! Dependencies point one way: `cli` → `cmd` → the library modules → the workspace
//! crates; no library module uses `cmd`, and no command uses another.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Writes a line to stderr, like `eprintln!`, but a closed or full stderr is ignored: a
/// status or log line nobody can read is no reason to stop the work (`eprintln!` panics).
#[macro_export]
macro_rules! status {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

/// Like [`status!`] without the newline (a progress bar redrawn in place).
#[macro_export]
macro_rules! status_part {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let mut stderr = ::std::io::stderr();
        let _ = ::std::write!(stderr, $($arg)*);
        let _ = stderr.flush();
    }};
}

pub mod crack;
pub mod explain;
pub mod keylog;
pub mod mitm;
pub mod observe;
pub mod pairing;
pub mod runner;
pub mod seed;
pub mod states_diagram;
pub mod teach;

pub mod cli;
pub mod cmd;
pub mod failure;
