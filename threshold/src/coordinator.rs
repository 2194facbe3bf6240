//! The coordinator (RFC 9591 §5): per signature it runs round 1 with every signer it may
//! use, keeps the first M that answer, runs round 2 with them and aggregates. A share that
//! does not verify names its signer (cheater detection, RFC 9591 §5.3); the signer is
//! left out and the signature made again with others while M remain.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use frost::keys::PublicKeyPackage;
use frost::round1::SigningCommitments;
use frost::round2::SignatureShare;
use frost::{CheaterDetection, Identifier, SigningPackage};
use frost_ed25519 as frost;
use pki::PublicKey;

use crate::client::SignerClient;
use crate::keys::{group_key, identifier};
use crate::wire::SignRequest;
use crate::{Error, content};

/// Where the coordinator's remarks go (a signer down, a bad share).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// M of the signers, and the group's public information.
pub struct Coordinator {
    signers: Vec<Arc<SignerClient>>,
    threshold: u16,
    public: PublicKeyPackage,
    log: Log,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("signers", &self.signers.len())
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// A signature and who made it.
#[derive(Clone, Debug)]
pub struct Signed {
    /// The Ed25519 signature (RFC 8032 §5.1.6), 64 bytes.
    pub signature: Vec<u8>,
    /// The URLs of the signers whose shares it aggregates.
    pub signers: Vec<String>,
}

/// The outcome of one signer's request, sent back from its thread.
type Answer<T> = (usize, Result<T, String>);

impl Coordinator {
    /// Asks the signers for the group's public information; those that answer must agree,
    /// on M too, and the group key must be `expected` (the certificate's key).
    pub fn connect(
        signers: Vec<SignerClient>,
        threshold: u16,
        expected: &PublicKey,
        log: Log,
    ) -> Result<Self, Error> {
        let signers: Vec<Arc<SignerClient>> = signers.into_iter().map(Arc::new).collect();
        let answers = ask_all(&signers, signers.len(), |s| {
            s.info().map_err(|e| e.to_string())
        });
        let mut public: Option<PublicKeyPackage> = None;
        for (i, answer) in answers {
            let info = match answer {
                Ok(info) => info,
                Err(e) => {
                    log(&format!(
                        "signer {} unreachable at start: {e}",
                        signers[i].url()
                    ));
                    continue;
                }
            };
            if info.threshold != threshold {
                return Err(Error::Input(format!(
                    "signer {} holds a {}-of-{} share, not {threshold}-of",
                    signers[i].url(),
                    info.threshold,
                    info.signers
                )));
            }
            let bytes = hex::decode(&info.public_key_package)
                .map_err(|e| Error::Input(format!("signer {}: {e}", signers[i].url())))?;
            let theirs = PublicKeyPackage::deserialize(&bytes)?;
            match &public {
                Some(p) if *p != theirs => {
                    return Err(Error::Input(format!(
                        "signer {} belongs to another group than the signers before it",
                        signers[i].url()
                    )));
                }
                Some(_) => {}
                None => public = Some(theirs),
            }
        }
        let public = public.ok_or_else(|| Error::Signers("no signer answered".into()))?;
        let key = group_key(&public)?;
        if key != *expected {
            return Err(Error::Input(format!(
                "the signers' group key (sha256:{}) is not the certificate's (sha256:{})",
                key.fingerprint(),
                expected.fingerprint()
            )));
        }
        Ok(Self {
            signers,
            threshold,
            public,
            log,
        })
    }

    /// An Ed25519 signature over `message` (TLS 1.3 CertificateVerify content) from M of
    /// the signers, checked with the group key.
    pub fn sign(&self, message: &[u8]) -> Result<Signed, Error> {
        content::check_certificate_verify(message).map_err(Error::Input)?;
        let mut excluded = BTreeSet::new();
        // Each try either signs or leaves at least one more signer out.
        for _ in 0..=self.signers.len() {
            match self.try_sign(message, &mut excluded)? {
                Some(signed) => return Ok(signed),
                None => continue,
            }
        }
        Err(Error::Signers("no M honest signers left".into()))
    }

    /// One round 1 and round 2; `None` when signers failed and were left out.
    fn try_sign(
        &self,
        message: &[u8],
        excluded: &mut BTreeSet<usize>,
    ) -> Result<Option<Signed>, Error> {
        let m = usize::from(self.threshold);
        let usable: Vec<usize> = (0..self.signers.len())
            .filter(|i| !excluded.contains(i))
            .collect();
        if usable.len() < m {
            return Err(Error::Signers(format!(
                "{} usable signers, {m} needed",
                usable.len()
            )));
        }
        let chosen = self.round1(&usable, m)?;
        let commitments: BTreeMap<u16, String> = chosen
            .iter()
            .map(|c| (c.participant, c.commitments.clone()))
            .collect();
        let mut frost_commitments = BTreeMap::new();
        for c in &chosen {
            let bytes = hex::decode(&c.commitments).map_err(|e| Error::Input(e.to_string()))?;
            frost_commitments.insert(
                identifier(c.participant)?,
                SigningCommitments::deserialize(&bytes)?,
            );
        }
        let package = SigningPackage::new(frost_commitments, message);
        let shares = self.round2(&chosen, &commitments, message, excluded);
        if shares.len() < chosen.len() {
            return Ok(None);
        }
        self.aggregate(&package, &chosen, shares, excluded)
    }

    /// Round 1 with `usable`, keeping the first `m` answers; a signer that fails is logged.
    fn round1(&self, usable: &[usize], m: usize) -> Result<Vec<Chosen>, Error> {
        let subset: Vec<Arc<SignerClient>> =
            usable.iter().map(|&i| self.signers[i].clone()).collect();
        let answers = ask_all(&subset, m, |s| s.round1().map_err(|e| e.to_string()));
        let mut chosen = Vec::new();
        let mut failures = Vec::new();
        for (j, answer) in answers {
            let index = usable[j];
            match answer {
                Ok(c)
                    if chosen
                        .iter()
                        .any(|x: &Chosen| x.participant == c.participant) =>
                {
                    failures.push(format!(
                        "{}: participant {} answered at another URL too",
                        self.name(index),
                        c.participant
                    ));
                }
                Ok(c) if self.knows(c.participant) => chosen.push(Chosen {
                    index,
                    participant: c.participant,
                    request_id: c.request_id,
                    commitments: c.commitments,
                }),
                Ok(c) => failures.push(format!(
                    "{}: participant {} is not in the group",
                    self.name(index),
                    c.participant
                )),
                Err(e) => failures.push(format!("{}: {e}", self.name(index))),
            }
        }
        for f in &failures {
            (self.log)(&format!("signer left out (round 1): {f}"));
        }
        // The first M to answer, in the signers' order (logs read the same each time).
        chosen.truncate(m);
        chosen.sort_by_key(|c| c.index);
        if chosen.len() < m {
            return Err(Error::Signers(format!(
                "{} of {} signers answered round 1, {m} needed{}",
                chosen.len(),
                usable.len(),
                if failures.is_empty() {
                    String::new()
                } else {
                    format!(": {}", failures.join("; "))
                }
            )));
        }
        Ok(chosen)
    }

    /// Round 2 with the chosen signers; those that fail are logged and left out.
    fn round2(
        &self,
        chosen: &[Chosen],
        commitments: &BTreeMap<u16, String>,
        message: &[u8],
        excluded: &mut BTreeSet<usize>,
    ) -> BTreeMap<Identifier, SignatureShare> {
        let subset: Vec<Arc<SignerClient>> = chosen
            .iter()
            .map(|c| self.signers[c.index].clone())
            .collect();
        let requests: Vec<SignRequest> = chosen
            .iter()
            .map(|c| SignRequest {
                request_id: c.request_id.clone(),
                message: hex::encode(message),
                commitments: commitments.clone(),
            })
            .collect();
        let requests = Arc::new(requests);
        let answers = ask_all_indexed(&subset, subset.len(), move |j, s| {
            let share = s.round2(&requests[j]).map_err(|e| e.to_string())?;
            let bytes = hex::decode(&share.share).map_err(|e| format!("bad share: {e}"))?;
            SignatureShare::deserialize(&bytes).map_err(|e| format!("bad share: {e}"))
        });
        let mut shares = BTreeMap::new();
        for (j, answer) in answers {
            let c = &chosen[j];
            let share = answer.and_then(|share| {
                identifier(c.participant)
                    .map(|id| (id, share))
                    .map_err(|e| e.to_string())
            });
            match share {
                Ok((id, share)) => {
                    shares.insert(id, share);
                }
                Err(e) => {
                    (self.log)(&format!(
                        "signer left out (round 2): {}: {e}",
                        self.name(c.index)
                    ));
                    excluded.insert(c.index);
                }
            }
        }
        shares
    }

    /// RFC 9591 §5.3: aggregates, naming every signer whose share does not verify.
    fn aggregate(
        &self,
        package: &SigningPackage,
        chosen: &[Chosen],
        shares: BTreeMap<Identifier, SignatureShare>,
        excluded: &mut BTreeSet<usize>,
    ) -> Result<Option<Signed>, Error> {
        match frost::aggregate_custom(
            package,
            &shares,
            &self.public,
            CheaterDetection::AllCheaters,
        ) {
            Ok(signature) => {
                let bytes = signature.serialize()?;
                Ok(Some(Signed {
                    signature: bytes,
                    signers: chosen
                        .iter()
                        .map(|c| self.name(c.index).to_owned())
                        .collect(),
                }))
            }
            Err(frost::Error::InvalidSignatureShare { culprits }) => {
                for c in chosen {
                    if culprits.contains(&identifier(c.participant)?) {
                        (self.log)(&format!(
                            "signer {} (participant {}) sent an invalid signature share: left out",
                            self.name(c.index),
                            c.participant
                        ));
                        excluded.insert(c.index);
                    }
                }
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn knows(&self, participant: u16) -> bool {
        identifier(participant).is_ok_and(|id| self.public.verifying_shares().contains_key(&id))
    }

    fn name(&self, index: usize) -> &str {
        self.signers[index].url()
    }
}

/// A signer chosen in round 1.
struct Chosen {
    index: usize,
    participant: u16,
    request_id: String,
    commitments: String,
}

/// Asks every signer at once (a thread each) and returns the first `enough` successes
/// with every failure that came before them; stragglers are not waited for (each request
/// ends within its client's timeout).
fn ask_all<T: Send + 'static>(
    signers: &[Arc<SignerClient>],
    enough: usize,
    ask: impl Fn(&SignerClient) -> Result<T, String> + Send + Sync + 'static,
) -> Vec<Answer<T>> {
    ask_all_indexed(signers, enough, move |_, s| ask(s))
}

fn ask_all_indexed<T: Send + 'static>(
    signers: &[Arc<SignerClient>],
    enough: usize,
    ask: impl Fn(usize, &SignerClient) -> Result<T, String> + Send + Sync + 'static,
) -> Vec<Answer<T>> {
    let ask = Arc::new(ask);
    let (tx, rx) = mpsc::channel();
    for (i, signer) in signers.iter().enumerate() {
        let (sender, signer, ask) = (tx.clone(), signer.clone(), ask.clone());
        let spawned = std::thread::Builder::new()
            .name("signer-request".into())
            .spawn(move || {
                let _ = sender.send((i, ask(i, &signer)));
            });
        if let Err(e) = spawned {
            let _ = tx.send((i, Err(format!("cannot start a thread: {e}"))));
        }
    }
    drop(tx);
    let mut answers = Vec::new();
    let mut ok = 0;
    // Every thread answers within its client's timeout; this bound only guards the loop.
    while ok < enough {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(answer) => {
                ok += usize::from(answer.1.is_ok());
                answers.push(answer);
            }
            Err(_) => break,
        }
    }
    answers
}
