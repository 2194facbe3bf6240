//! Threshold keys for TLS 1.3 servers: FROST(Ed25519, SHA-512) (RFC 9591) signers that
//! jointly produce a server's CertificateVerify (RFC 8446 §4.4.3), so that no process ever
//! holds the private key. The signatures are plain Ed25519 (RFC 8032): peers verify them as
//! any other.
//!
//! - [`keys`]: key shares, made by distributed key generation (RFC 9591 leaves key
//!   generation open; this is the Pedersen DKG of the `frost-ed25519` crate) or, for tests
//!   and the demo, a trusted dealer; the key share file format.
//! - [`content`]: what a signer agrees to sign: TLS 1.3 CertificateVerify content only.
//! - [`exchange`]: the same key generation with files carried by hand between machines.
//! - [`signer`]: the signer service (round 1: commitments, round 2: signature shares).
//! - [`client`]: a blocking client for one signer.
//! - [`coordinator`]: asks the signers, picks M, aggregates with cheater detection.
//! - [`local`]: one signing run in memory, every value kept (for explanations).

pub mod client;
pub mod content;
pub mod coordinator;
pub mod exchange;
pub mod keys;
pub mod local;
pub mod rng;
pub mod signer;
pub mod wire;

/// The ciphersuite's name, as RFC 9591 §6.1 gives it.
pub const CIPHERSUITE: &str = "FROST-ED25519-SHA512-v1";

/// Why a threshold operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: a file, a parameter, a message.
    #[error("{0}")]
    Input(String),
    /// The FROST computation refused its input.
    #[error("FROST: {0}")]
    Frost(#[from] frost_ed25519::Error),
    /// Not enough signers took part or answered well.
    #[error("{0}")]
    Signers(String),
}
