//! The signer's HTTP JSON messages. Binary values travel as lowercase hex of
//! `frost-ed25519`'s serialization.
//!
//! ```text
//! GET  /v1/info     -> Info
//! POST /v1/round1   {}            -> Commitment   (RFC 9591 §5.1 commit)
//! POST /v1/round2   SignRequest   -> SignatureShare (RFC 9591 §5.2 sign)
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a signer tells about itself: public information only.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Info {
    /// The signer's participant number.
    pub participant: u16,
    /// M.
    pub threshold: u16,
    /// N.
    pub signers: usize,
    /// The group's public key package (hex).
    pub public_key_package: String,
}

/// Round 1's answer: fresh commitments, and the id under which the signer keeps their
/// nonces (once, for a limited time).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// Names the nonces for round 2.
    pub request_id: String,
    /// The signer's participant number.
    pub participant: u16,
    /// The signing commitments (hex).
    pub commitments: String,
}

/// Round 2's request: the message and every chosen signer's commitments.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// From this signer's round 1 answer.
    pub request_id: String,
    /// The bytes to sign (hex): TLS 1.3 CertificateVerify content.
    pub message: String,
    /// Participant number → commitments (hex), this signer's included.
    pub commitments: BTreeMap<u16, String>,
}

/// Round 2's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureShare {
    /// The signer's participant number.
    pub participant: u16,
    /// The signature share (hex).
    pub share: String,
}
