//! Distributed key generation with files carried by hand: each participant runs its own
//! rounds on its own machine and keeps its secret state in a file only it reads; only the
//! packages travel (round 1's to everyone, round 2's each to one participant). The whole
//! key is never computed, and no machine sees another's secrets.

use std::collections::BTreeMap;

use frost::keys::dkg;
use frost::rand_core;
use frost_ed25519 as frost;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Error;
use crate::keys::{KeyShare, check_m_of_n, identifier};

/// The `format` field of a state file.
pub const STATE_FORMAT: &str = "keylab FROST DKG participant state (secret)";
/// The `format` field of a package file.
pub const PACKAGE_FORMAT: &str = "keylab FROST DKG package";

/// One participant's secret state between rounds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    format: String,
    participant: u16,
    threshold: u16,
    signers: u16,
    round1: Option<dkg::round1::SecretPackage>,
    round2: Option<dkg::round2::SecretPackage>,
}

/// A package from one participant: round 1's (`to` is `None`: for everyone) or round 2's
/// (for `to` only; it is secret in transit).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    format: String,
    /// The sender.
    pub from: u16,
    /// The recipient of a round 2 package.
    pub to: Option<u16>,
    round1: Option<dkg::round1::Package>,
    round2: Option<dkg::round2::Package>,
}

fn to_json<T: Serialize>(value: &T) -> Result<Zeroizing<String>, Error> {
    serde_json::to_string_pretty(value)
        .map(|t| Zeroizing::new(t + "\n"))
        .map_err(|e| Error::Input(e.to_string()))
}

impl State {
    /// The file's text (write it readable by its owner only).
    pub fn to_json(&self) -> Result<Zeroizing<String>, Error> {
        to_json(self)
    }

    /// Reads a state file.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let state: Self = serde_json::from_str(text)
            .map_err(|e| Error::Input(format!("not a DKG state file: {e}")))?;
        if state.format != STATE_FORMAT {
            return Err(Error::Input(format!(
                "format {:?}: expected {STATE_FORMAT:?}",
                state.format
            )));
        }
        Ok(state)
    }

    /// This participant's number.
    pub fn participant(&self) -> u16 {
        self.participant
    }
}

impl Package {
    /// The file's text.
    pub fn to_json(&self) -> Result<Zeroizing<String>, Error> {
        to_json(self)
    }

    /// Reads a package file.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let p: Self = serde_json::from_str(text)
            .map_err(|e| Error::Input(format!("not a DKG package file: {e}")))?;
        if p.format != PACKAGE_FORMAT {
            return Err(Error::Input(format!(
                "format {:?}: expected {PACKAGE_FORMAT:?}",
                p.format
            )));
        }
        Ok(p)
    }
}

/// Round 1 for participant `me` of an M-of-N group: its secret state and the package for
/// every other participant.
pub fn round1<R: rand_core::RngCore + rand_core::CryptoRng>(
    me: u16,
    m: u16,
    n: u16,
    rng: &mut R,
) -> Result<(State, Package), Error> {
    check_m_of_n(m, n)?;
    if me == 0 || me > n {
        return Err(Error::Input(format!("participant {me}: expected 1 to {n}")));
    }
    let (secret, package) = dkg::part1(identifier(me)?, n, m, &mut *rng)?;
    let state = State {
        format: STATE_FORMAT.into(),
        participant: me,
        threshold: m,
        signers: n,
        round1: Some(secret),
        round2: None,
    };
    let package = Package {
        format: PACKAGE_FORMAT.into(),
        from: me,
        to: None,
        round1: Some(package),
        round2: None,
    };
    Ok((state, package))
}

/// The round 1 packages of every other participant, each once.
fn others_round1(
    state: &State,
    packages: &[Package],
) -> Result<BTreeMap<frost::Identifier, dkg::round1::Package>, Error> {
    let mut map = BTreeMap::new();
    for p in packages {
        let Some(r1) = p.round1.as_ref().filter(|_| p.to.is_none()) else {
            return Err(Error::Input(format!(
                "the package from {} is not a round 1 package",
                p.from
            )));
        };
        if p.from == state.participant {
            continue;
        }
        if map.insert(identifier(p.from)?, r1.clone()).is_some() {
            return Err(Error::Input(format!(
                "two round 1 packages from participant {}",
                p.from
            )));
        }
    }
    if map.len() != usize::from(state.signers) - 1 {
        return Err(Error::Input(format!(
            "{} round 1 packages from the others, {} expected",
            map.len(),
            state.signers - 1
        )));
    }
    Ok(map)
}

/// Round 2: checks the others' round 1 packages; a package for each other participant.
pub fn round2(state: &mut State, round1: &[Package]) -> Result<Vec<Package>, Error> {
    let others = others_round1(state, round1)?;
    let secret = state
        .round1
        .take()
        .ok_or_else(|| Error::Input("this state has done round 2 already".into()))?;
    let (secret, packages) = dkg::part2(secret, &others)?;
    state.round2 = Some(secret);
    let mut out = Vec::new();
    for to in (1..=state.signers).filter(|&j| j != state.participant) {
        let package = packages
            .get(&identifier(to)?)
            .cloned()
            .ok_or_else(|| Error::Input(format!("no round 2 package for {to}")))?;
        out.push(Package {
            format: PACKAGE_FORMAT.into(),
            from: state.participant,
            to: Some(to),
            round1: None,
            round2: Some(package),
        });
    }
    Ok(out)
}

/// The end: this participant's key share from everyone's round 1 packages and the round 2
/// packages addressed to it.
pub fn finish(state: &State, round1: &[Package], round2: &[Package]) -> Result<KeyShare, Error> {
    let others = others_round1(state, round1)?;
    let secret = state
        .round2
        .as_ref()
        .ok_or_else(|| Error::Input("run round 2 with this state first".into()))?;
    let mut mine = BTreeMap::new();
    for p in round2 {
        let Some(r2) = p
            .round2
            .as_ref()
            .filter(|_| p.to == Some(state.participant))
        else {
            return Err(Error::Input(format!(
                "the package from {} is not a round 2 package for participant {}",
                p.from, state.participant
            )));
        };
        if mine.insert(identifier(p.from)?, r2.clone()).is_some() {
            return Err(Error::Input(format!(
                "two round 2 packages from participant {}",
                p.from
            )));
        }
    }
    let (key_package, public) = dkg::part3(secret, &others, &mine)?;
    Ok(KeyShare::from_parts(state.participant, key_package, public))
}
