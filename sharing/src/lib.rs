//! Shamir secret sharing of keys over GF(2^8), M of N, and the share servers that hold them.
//!
//! A secret (typically a PEM private key) becomes `n` shares, any `m` of which rebuild it
//! while `m − 1` learn (almost) nothing; the shares live on `n` different share servers.
//!
//! ```text
//!   secret ──split(m, n, rng)──> n × Share ──client::store──> n share servers (HTTPS)
//!                                                                   │ any m answer
//!   secret <──────combine──────── ≥ m × Share <─client::recover─────┘
//! ```
//!
//! - [`gf256`]: constant-time field arithmetic, polynomial 0x11B (the AES field).
//! - [`split`] / [`combine`]: digest mode, SLIP-0039 style: the secret at x = 255 and a
//!   digest of it at x = 254 on the same polynomials, so `combine` detects wrong, mixed and
//!   corrupted shares. Shares carry a random split id and the threshold ([`Share`], text
//!   form in [`share`]). The cost of the digest is documented in the `split` module.
//! - [`raw`]: plain Shamir in HashiCorp Vault's layout (`raw::vault`), without any check,
//!   for interoperability.
//! - `store`, `server`, `client` (the default feature `net`): a crash-safe share
//!   directory (written through `pki::files`, each share with the certificate subject that
//!   stored it and the readers it named), its server (axum on tokio over keylab's mutual
//!   TLS, or plain HTTP when asked, bounded by the `service` crate) and a blocking client
//!   (ureq through keylab's handshake, on `service`'s client core).
//!
//! The math modules do no I/O: randomness comes in as `&mut impl CryptoRng`. Secrets,
//! coefficients and share values are zeroized when dropped. Without the `net` feature
//! the crate is only that core, with no async runtime or HTTP library behind it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "net")]
pub mod client;
mod error;
pub mod gf256;
mod poly;
pub mod raw;
#[cfg(feature = "net")]
pub mod server;
pub mod share;
mod split;
#[cfg(feature = "net")]
pub mod store;

pub use error::Error;
pub use share::{Share, SplitId};
pub use split::{
    DIGEST_LEN, DIGEST_X, MAX_SECRET_LEN, MAX_X, MIN_SECRET_LEN, SECRET_X, combine, split,
};
