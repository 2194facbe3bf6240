//! Key shares: made by distributed key generation among the signers ([`dkg()`]) or by a
//! trusted dealer ([`trusted_dealer`], for tests and demos), kept in key share files
//! ([`KeyShare::to_json`]).
//!
//! Participants are numbered 1..=N; participant i's FROST identifier is i (RFC 9591
//! §5: identifiers are non-zero scalars).

use std::collections::BTreeMap;

use frost::keys::{KeyPackage, PublicKeyPackage, dkg};
use frost::{Identifier, rand_core};
use frost_ed25519 as frost;
use pki::PublicKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Error;

/// The `format` field of a key share file.
pub const FORMAT: &str = "keylab FROST(Ed25519, SHA-512) key share";

/// The most participants keylab supports in one group.
pub const MAX_SIGNERS: u16 = 64;

/// One participant's long-lived key share and the group's public information.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyShare {
    format: String,
    /// This participant's number, 1..=N.
    participant: u16,
    key_package: KeyPackage,
    public_key_package: PublicKeyPackage,
}

impl std::fmt::Debug for KeyShare {
    /// Leaves the secret share out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyShare")
            .field("participant", &self.participant)
            .field("threshold", &self.threshold())
            .finish_non_exhaustive()
    }
}

impl KeyShare {
    pub(crate) fn from_parts(
        participant: u16,
        key_package: KeyPackage,
        public_key_package: PublicKeyPackage,
    ) -> Self {
        Self {
            format: FORMAT.to_owned(),
            participant,
            key_package,
            public_key_package,
        }
    }

    /// This participant's number, 1..=N.
    pub fn participant(&self) -> u16 {
        self.participant
    }

    /// M: how many participants sign together.
    pub fn threshold(&self) -> u16 {
        *self.key_package.min_signers()
    }

    /// N: how many participants hold shares.
    pub fn signers(&self) -> usize {
        self.public_key_package.verifying_shares().len()
    }

    /// The FROST secret part.
    pub fn key_package(&self) -> &KeyPackage {
        &self.key_package
    }

    /// What every participant may know: the group key and each share's public part.
    pub fn public_key_package(&self) -> &PublicKeyPackage {
        &self.public_key_package
    }

    /// The group's public key, an ordinary Ed25519 key (RFC 8032).
    pub fn group_key(&self) -> Result<PublicKey, Error> {
        group_key(&self.public_key_package)
    }

    /// The file's text (JSON), to be written readable by its owner only.
    pub fn to_json(&self) -> Result<Zeroizing<String>, Error> {
        serde_json::to_string_pretty(self)
            .map(|mut text| {
                text.push('\n');
                Zeroizing::new(text)
            })
            .map_err(|e| Error::Input(format!("encoding a key share: {e}")))
    }

    /// Reads a key share file's text, checking that it is consistent.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let share: Self = serde_json::from_str(text)
            .map_err(|e| Error::Input(format!("not a keylab key share file: {e}")))?;
        if share.format != FORMAT {
            return Err(Error::Input(format!(
                "format {:?}: expected {FORMAT:?}",
                share.format
            )));
        }
        if *share.key_package.identifier() != identifier(share.participant)? {
            return Err(Error::Input(format!(
                "participant {} does not match the share's identifier",
                share.participant
            )));
        }
        if share.key_package.verifying_key() != share.public_key_package.verifying_key() {
            return Err(Error::Input(
                "the share's group key differs from the group's".into(),
            ));
        }
        Ok(share)
    }
}

/// Participant `i`'s FROST identifier.
pub fn identifier(i: u16) -> Result<Identifier, Error> {
    Identifier::try_from(i).map_err(|_| Error::Input(format!("participant {i}: must be 1 or more")))
}

/// The group's public key as a `pki` key.
pub fn group_key(public: &PublicKeyPackage) -> Result<PublicKey, Error> {
    let bytes = public.verifying_key().serialize()?;
    let raw: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::Input(format!("a {}-byte group key", bytes.len())))?;
    PublicKey::ed25519_from_raw(&raw).map_err(|e| Error::Input(e.to_string()))
}

/// Checks M of N: 2 ≤ M ≤ N ≤ [`MAX_SIGNERS`].
pub fn check_m_of_n(m: u16, n: u16) -> Result<(), Error> {
    if m < 2 || m > n || n > MAX_SIGNERS {
        return Err(Error::Input(format!(
            "{m} of {n}: need 2 <= threshold <= signers <= {MAX_SIGNERS}"
        )));
    }
    Ok(())
}

/// M-of-N key shares from a trusted dealer, which computes the whole key first: for tests
/// and demos only. [`dkg()`] is the way without a dealer.
pub fn trusted_dealer<R: rand_core::RngCore + rand_core::CryptoRng>(
    m: u16,
    n: u16,
    rng: &mut R,
) -> Result<Vec<KeyShare>, Error> {
    check_m_of_n(m, n)?;
    let ids: Vec<Identifier> = (1..=n).map(identifier).collect::<Result<_, _>>()?;
    let (shares, public) = frost::keys::generate_with_dealer(
        n,
        m,
        frost::keys::IdentifierList::Custom(&ids),
        &mut *rng,
    )?;
    (1..=n)
        .zip(ids)
        .map(|(i, id)| {
            let secret = shares
                .get(&id)
                .cloned()
                .ok_or_else(|| Error::Input(format!("the dealer made no share {i}")))?;
            let key_package = KeyPackage::try_from(secret)?;
            Ok(KeyShare::from_parts(i, key_package, public.clone()))
        })
        .collect()
}

/// One participant of the distributed key generation: its secret state lives here and
/// nowhere else; only the packages of [`Participant::round1`] and
/// [`Participant::round2`] are handed to the others.
pub struct Participant {
    number: u16,
    round1: Option<dkg::round1::SecretPackage>,
    round2: Option<dkg::round2::SecretPackage>,
}

impl Participant {
    /// Participant `number` of an M-of-N group: its round 1 secret and the package it
    /// broadcasts to all others (commitments and proof of knowledge, RFC 9591 Appendix
    /// C's DKG as Pedersen/Komlo–Goldberg describe it).
    pub fn round1<R: rand_core::RngCore + rand_core::CryptoRng>(
        number: u16,
        m: u16,
        n: u16,
        rng: &mut R,
    ) -> Result<(Self, dkg::round1::Package), Error> {
        check_m_of_n(m, n)?;
        let (secret, package) = dkg::part1(identifier(number)?, n, m, &mut *rng)?;
        let me = Self {
            number,
            round1: Some(secret),
            round2: None,
        };
        Ok((me, package))
    }

    /// Round 2: checks the others' round 1 packages and returns one private package for
    /// each other participant.
    pub fn round2(
        &mut self,
        round1: &BTreeMap<Identifier, dkg::round1::Package>,
    ) -> Result<BTreeMap<Identifier, dkg::round2::Package>, Error> {
        let secret = self
            .round1
            .take()
            .ok_or_else(|| Error::Input("round 2 needs a fresh round 1".into()))?;
        let (secret, packages) = dkg::part2(secret, round1)?;
        self.round2 = Some(secret);
        Ok(packages)
    }

    /// The end: this participant's key share from everyone's round 1 packages and the
    /// round 2 packages addressed to it.
    pub fn finish(
        &self,
        round1: &BTreeMap<Identifier, dkg::round1::Package>,
        round2: &BTreeMap<Identifier, dkg::round2::Package>,
    ) -> Result<KeyShare, Error> {
        let secret = self
            .round2
            .as_ref()
            .ok_or_else(|| Error::Input("finishing needs round 2 first".into()))?;
        let (key_package, public) = dkg::part3(secret, round1, round2)?;
        Ok(KeyShare::from_parts(self.number, key_package, public))
    }
}

/// Runs the distributed key generation among `n` participants within this process, each
/// with its own state ([`Participant`]), exchanging only the packages the protocol sends.
/// The whole key is never computed; but one process sees every participant's secrets,
/// so the shares are only as separate as the files they are written to.
pub fn dkg<R: rand_core::RngCore + rand_core::CryptoRng>(
    m: u16,
    n: u16,
    rng: &mut R,
) -> Result<Vec<KeyShare>, Error> {
    let mut participants = Vec::new();
    let mut broadcast = BTreeMap::new();
    for i in 1..=n {
        let (p, package) = Participant::round1(i, m, n, rng)?;
        broadcast.insert(identifier(i)?, package);
        participants.push(p);
    }
    // Each participant sees the others' round 1 packages, never its own.
    let others = |i: u16| -> Result<BTreeMap<_, _>, Error> {
        let me = identifier(i)?;
        Ok(broadcast
            .iter()
            .filter(|(id, _)| **id != me)
            .map(|(id, p)| (*id, p.clone()))
            .collect())
    };
    // inbox[j] holds the round 2 packages addressed to participant j, by sender.
    let mut inbox: BTreeMap<Identifier, BTreeMap<Identifier, dkg::round2::Package>> =
        BTreeMap::new();
    for p in &mut participants {
        let from = identifier(p.number)?;
        for (to, package) in p.round2(&others(p.number)?)? {
            inbox.entry(to).or_default().insert(from, package);
        }
    }
    participants
        .iter()
        .map(|p| {
            let mine = inbox.remove(&identifier(p.number)?).unwrap_or_default();
            p.finish(&others(p.number)?, &mine)
        })
        .collect()
}
