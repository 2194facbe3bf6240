//! One FROST signing run in memory, every value kept: for explaining the protocol (`keylab
//! demo --path threshold`). The signers here are the key shares given, in one process;
//! the services are [`crate::signer`] and [`crate::coordinator`].

use std::collections::BTreeMap;

use frost::rand_core;
use frost_ed25519 as frost;

use crate::keys::{KeyShare, identifier};
use crate::{Error, content};

/// What one signer contributed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SignerRound {
    /// The participant number.
    pub participant: u16,
    /// Round 1: the commitment to the hiding nonce (hex, a compressed Edwards point).
    pub hiding: String,
    /// Round 1: the commitment to the binding nonce (hex).
    pub binding: String,
    /// Round 2: the signature share (hex, a scalar).
    pub share: String,
}

/// A signing run: the rounds and the aggregate.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Explained {
    /// What was signed.
    pub message_len: usize,
    /// Each chosen signer's round 1 and round 2.
    pub rounds: Vec<SignerRound>,
    /// The aggregate (RFC 9591 §5.3): R ‖ z, an Ed25519 signature (hex, 64 bytes).
    pub signature: String,
}

/// Signs `message` (CertificateVerify content) with `shares` (at least M of one group):
/// round 1 for each (RFC 9591 §5.1), round 2 for each (§5.2), aggregation (§5.3), and the
/// signature checked with the group key as any Ed25519 verifier would.
pub fn sign<R: rand_core::RngCore + rand_core::CryptoRng>(
    shares: &[&KeyShare],
    message: &[u8],
    rng: &mut R,
) -> Result<(Vec<u8>, Explained), Error> {
    content::check_certificate_verify(message).map_err(Error::Input)?;
    let first = shares
        .first()
        .ok_or_else(|| Error::Signers("no signers".into()))?;
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for share in shares {
        let (n, c) = frost::round1::commit(share.key_package().signing_share(), &mut *rng);
        let id = identifier(share.participant())?;
        nonces.insert(id, n);
        commitments.insert(id, c);
    }
    let package = frost::SigningPackage::new(commitments.clone(), message);
    let mut signature_shares = BTreeMap::new();
    let mut rounds = Vec::new();
    for share in shares {
        let id = identifier(share.participant())?;
        let (Some(n), Some(c)) = (nonces.get(&id), commitments.get(&id)) else {
            return Err(Error::Signers(format!(
                "participant {} twice",
                share.participant()
            )));
        };
        let s = frost::round2::sign(&package, n, share.key_package())?;
        rounds.push(SignerRound {
            participant: share.participant(),
            hiding: hex::encode(c.hiding().serialize()?),
            binding: hex::encode(c.binding().serialize()?),
            share: hex::encode(s.serialize()),
        });
        signature_shares.insert(id, s);
    }
    let signature = frost::aggregate(&package, &signature_shares, first.public_key_package())?;
    let bytes = signature.serialize()?;
    first
        .group_key()?
        .verify(pki::SignatureAlgorithm::Ed25519, message, &bytes)
        .map_err(|e| Error::Signers(format!("the aggregate does not verify: {e}")))?;
    let explained = Explained {
        message_len: message.len(),
        rounds,
        signature: hex::encode(&bytes),
    };
    Ok((bytes, explained))
}
