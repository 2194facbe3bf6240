//! The `keylab` commands, one module per family. Each owns its argument structs and
//! returns a [`Failure`](crate::failure::Failure) that says what went wrong and which exit
//! status to use. Commands never call each other: what two of them need lives in the
//! helper modules below (`accept`, `args`, `load`, `key_source`, `output`,
//! `progress`, `threshold_signers`).
//!
//! - [`demo`]: `keylab demo`, every path over loopback, explained.
//! - [`net`]: `keylab server`, `client`, `mitm` and `states`.
//! - [`pki`]: `keylab pki init | issue | verify | show`.
//! - [`psk`]: `keylab psk from-code | crack | new | import`.
//! - [`pair`]: `keylab pair`, a strong PSK from a short code (SPAKE2).
//! - [`share`]: `keylab share split | combine | serve`.
//! - [`keyserver`]: `keylab keyserver ...`, `keylab seal` and `keylab open`.
//! - [`shell`]: `keylab completions` and `keylab manpage`.
//! - [`teach`]: `keylab teach`, an HTTPS page explaining its own delivery.
//! - [`threshold`]: `keylab threshold keygen | signer`.
//! - [`wsn`]: `keylab wsn simulate | sweep | handshake`.

pub mod demo;
pub mod keyserver;
pub mod net;
pub mod pair;
pub mod pki;
pub mod psk;
pub mod share;
pub mod shell;
pub mod teach;
pub mod threshold;
pub mod wsn;

mod accept;
mod args;
mod key_source;
mod load;
mod output;
mod progress;
mod threshold_signers;
mod tls_args;
