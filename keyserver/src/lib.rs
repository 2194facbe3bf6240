//! A public key server: publish an Ed25519 key under a name with proof of possession,
//! look keys up by name or fingerprint, audit an append-only transparency log of every
//! change, and seal messages to a published key with HPKE.
//!
//! ```text
//!  owner                                  key server (HTTP + SQLite)          sender
//!  ─────                                  ──────────────────────────          ──────
//!  GET /challenge ─────────────────────>  nonce (single use, 5 min)
//!  sign(publish: name, SPKI, nonce)
//!  POST /keys ─────────────────────────>  check nonce, signature, name policy
//!                                         append entry to the Merkle log,
//!                                         sign the tree head, COMMIT, then 201
//!                                                  GET /names/alice  <──────── fetch
//!                                         key + entry + inclusion proof + STH ──>
//!                                                                   verify proof and STH,
//!                                                                   HPKE-seal to the key
//!  open with the private key  <─────────────────────── sealed message ──────────
//! ```
//!
//! - [`name`]: how names are normalised and limited.
//! - [`wire`]: the exact bytes that are signed and logged (domain-separated,
//!   length-prefixed).
//! - [`merkle`]: RFC 6962 tree hashing, inclusion and consistency proofs, verified with
//!   the RFC 9162 algorithms.
//! - [`store`]: SQLite (WAL, `synchronous = FULL`) holding the log, the key index and the
//!   signed tree heads; the log key beside it.
//! - [`replay`]: the name policy re-applied to the log's entries, by the server at start
//!   and by auditors.
//! - [`challenge`], [`registry`], [`hkp`]: nonces and the rules (proof of possession,
//!   first come first served, hand-over, revocation), and the HKP-style lookups, without
//!   a network.
//! - [`server`], [`client`], [`api`]: HTTP (axum, on the `service` crate's bounded
//!   server), a blocking client (ureq, on `service`'s client core), the JSON bodies and
//!   the client-side check of an answer.
//! - [`trust`]: a client's pinned log key and last tree head (audit).
//! - [`hpke`], [`seal`]: RFC 9180 base mode for one suite, and the sealed-message format
//!   with the Ed25519 → X25519 key conversion.
//!
//! The core modules take time and randomness as arguments; only [`server`] reads the
//! clock.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod challenge;
pub mod client;
pub mod hkp;
pub mod hpke;
pub mod keys;
mod logkey;
pub mod merkle;
pub mod name;
pub mod registry;
pub mod replay;
pub mod seal;
pub mod server;
pub mod store;
pub mod trust;
pub mod wire;

pub use api::{KeyAnswer, VerifiedKey, verify_answer, verify_lookup};
pub use client::Client;
pub use server::KeyServer;
pub use store::Status;
pub use wire::TreeHead;
