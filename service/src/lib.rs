//! Plumbing shared by keylab's HTTP services, the share servers (`sharing`) and the key
//! server (`keyserver`), so that neither depends on the other.
//!
//! ```text
//!   harness ──> sharing[net], keyserver ──> service ──> axum + tokio (server)
//!                                                  ├──> ureq (blocking client)
//!                                                  └──> handshake (keylab's TLS)
//! ```
//!
//! - [`server`]: an axum [`Router`](axum::Router) served within [`Limits`] (connections
//!   at once, a deadline per connection, handshakes at once, a grace period when
//!   stopping), over HTTP or keylab's TLS, on the caller's runtime ([`serve_bounded`],
//!   [`serve_bounded_tls`]) or on a thread of its own ([`BackgroundServer`]).
//! - [`client`]: a server's base URL with a ureq agent ([`HttpClient`]), over HTTP or
//!   keylab's TLS ([`HttpClient::with_tls`]), the reading of its answers within a size
//!   bound, and the one error type of both clients ([`ClientError`]).
//! - [`tls`]: keylab's TLS for tokio ([`tls::TlsStream`], [`tls::TlsAcceptor`],
//!   [`tls::TlsConnector`]), for axum ([`tls::TlsListener`], with the peer's
//!   [`tls::PeerIdentity`] in [`tls::TlsPeer`]) and for ureq ([`tls::KeylabTlsConnector`]).
//! - [`load`]: a closed-loop load generator for the services' load tests and benchmarks.
//!
//! Each service keeps its routes, its request and answer formats and its own limits on
//! request bodies. Durable file writes are `pki::files`, below this crate's users.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod load;
pub mod server;
pub mod tls;

pub use client::{Answer, ClientError, DEFAULT_TIMEOUT, HttpClient};
pub use server::{
    BackgroundServer, CONNECTION_TIMEOUT, Limits, MAX_CONNECTIONS, serve_bounded, serve_bounded_tls,
};
