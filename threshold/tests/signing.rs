//! FROST signers on loopback: the coordinator's signatures are plain Ed25519 signatures of
//! the group key, with signers down or cheating, and the signers refuse what is not
//! CertificateVerify content.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use threshold::client::SignerClient;
use threshold::coordinator::{Coordinator, Log};
use threshold::keys::{self, KeyShare};
use threshold::signer::{Faults, Signer};
use threshold::wire::SignRequest;

/// TLS 1.3 server CertificateVerify content over a made-up transcript hash.
fn content(hash_byte: u8) -> Vec<u8> {
    let mut m = vec![0x20; 64];
    m.extend_from_slice(b"TLS 1.3, server CertificateVerify");
    m.push(0);
    m.extend([hash_byte; 32]);
    m
}

fn start(share: &KeyShare, faults: Faults) -> Signer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    Signer::start(listener, share.clone(), faults).expect("signer")
}

fn clients(signers: &[&Signer]) -> Vec<SignerClient> {
    signers
        .iter()
        .map(|s| SignerClient::new(&s.url(), Duration::from_secs(2)))
        .collect()
}

/// A log that keeps its lines.
fn log() -> (Log, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let log: Log = Arc::new(move |line: &str| sink.lock().expect("lock").push(line.to_owned()));
    (log, lines)
}

fn dalek_key(share: &KeyShare) -> VerifyingKey {
    let raw: [u8; 32] = share
        .group_key()
        .expect("group key")
        .raw()
        .try_into()
        .expect("32 bytes");
    VerifyingKey::from_bytes(&raw).expect("Ed25519 key")
}

fn verify(share: &KeyShare, message: &[u8], signature: &[u8]) {
    let signature = Signature::from_slice(signature).expect("64 bytes");
    dalek_key(share)
        .verify(message, &signature)
        .expect("a plain Ed25519 signature of the group key");
}

#[test]
fn dkg_shares_sign_with_any_three_of_five_and_the_signature_is_plain_ed25519() {
    let shares = keys::dkg(3, 5, &mut threshold::rng::os()).expect("dkg");
    assert_eq!(shares.len(), 5);
    let group = shares[0].group_key().expect("key");
    assert!(shares.iter().all(|s| s.group_key().expect("key") == group));
    assert!(
        shares
            .iter()
            .all(|s| s.threshold() == 3 && s.signers() == 5)
    );
    let servers: Vec<Signer> = shares.iter().map(|s| start(s, Faults::default())).collect();
    let (log, _) = log();
    let all: Vec<&Signer> = servers.iter().collect();
    let coordinator = Coordinator::connect(clients(&all), 3, &group, log).expect("connect");
    let message = content(1);
    let signed = coordinator.sign(&message).expect("signed");
    assert_eq!(signed.signers.len(), 3);
    verify(&shares[0], &message, &signed.signature);
    // Another message, another signature: nonces are fresh.
    let other = coordinator.sign(&content(2)).expect("signed");
    verify(&shares[0], &content(2), &other.signature);
}

#[test]
fn two_of_five_down_still_signs_and_three_down_fails_clearly() {
    let shares = keys::trusted_dealer(3, 5, &mut threshold::rng::seeded(5)).expect("dealer");
    let group = shares[0].group_key().expect("key");
    let mut servers: Vec<Option<Signer>> = shares
        .iter()
        .map(|s| Some(start(s, Faults::default())))
        .collect();
    let urls: Vec<String> = servers.iter().flatten().map(Signer::url).collect();
    let client_list = || -> Vec<SignerClient> {
        urls.iter()
            .map(|u| SignerClient::new(u, Duration::from_secs(2)))
            .collect()
    };
    let (log, lines) = log();
    let coordinator = Coordinator::connect(client_list(), 3, &group, log.clone()).expect("connect");
    for i in [1, 3] {
        servers[i].take().expect("running").stop();
    }
    let signed = coordinator.sign(&content(3)).expect("3 of 5 remain");
    verify(&shares[0], &content(3), &signed.signature);
    assert!(!signed.signers.contains(&urls[1]) && !signed.signers.contains(&urls[3]));
    servers[0].take().expect("running").stop();
    let started = std::time::Instant::now();
    let err = coordinator.sign(&content(4)).expect_err("2 of 5 left");
    assert!(
        err.to_string()
            .contains("2 of 5 signers answered round 1, 3 needed"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        lines
            .lock()
            .expect("lock")
            .iter()
            .any(|l| l.contains(&urls[1]))
    );
}

#[test]
fn a_cheating_signer_is_named_and_the_others_sign() {
    let shares = keys::trusted_dealer(2, 3, &mut threshold::rng::seeded(6)).expect("dealer");
    let group = shares[0].group_key().expect("key");
    let cheat = Faults {
        corrupt_shares_for_testing: true,
        ..Faults::default()
    };
    let bad = start(&shares[0], cheat);
    let good: Vec<Signer> = shares[1..]
        .iter()
        .map(|s| start(s, Faults::default()))
        .collect();
    let (log, lines) = log();
    let list = [&bad, &good[0], &good[1]];
    let coordinator = Coordinator::connect(clients(&list), 2, &group, log).expect("connect");
    // Round 1 keeps the first two answers: sign until the cheater was among them.
    for n in 0..40 {
        let signed = coordinator
            .sign(&content(n))
            .expect("honest signers remain");
        verify(&shares[0], &content(n), &signed.signature);
        assert!(!signed.signers.contains(&bad.url()));
        if lines
            .lock()
            .expect("lock")
            .iter()
            .any(|l| l.contains("invalid"))
        {
            break;
        }
    }
    let lines = lines.lock().expect("lock");
    let named = lines
        .iter()
        .find(|l| l.contains("invalid signature share"))
        .expect("the cheater is named");
    assert!(
        named.contains(&bad.url()) && named.contains("participant 1"),
        "{named}"
    );
}

#[test]
fn a_slow_signer_is_not_waited_for() {
    let shares = keys::trusted_dealer(2, 3, &mut threshold::rng::seeded(7)).expect("dealer");
    let group = shares[0].group_key().expect("key");
    let slow = Faults {
        delay_for_testing: Duration::from_secs(5),
        ..Faults::default()
    };
    let s1 = start(&shares[0], slow);
    let s2 = start(&shares[1], Faults::default());
    let s3 = start(&shares[2], Faults::default());
    let (log, _) = log();
    let list = [&s1, &s2, &s3];
    let coordinator = Coordinator::connect(clients(&list), 2, &group, log).expect("connect");
    let started = std::time::Instant::now();
    let signed = coordinator.sign(&content(9)).expect("signed");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(!signed.signers.contains(&s1.url()));
    verify(&shares[0], &content(9), &signed.signature);
}

#[test]
fn a_signer_signs_only_certificate_verify_content_and_each_nonce_once() {
    let shares = keys::trusted_dealer(2, 2, &mut threshold::rng::seeded(8)).expect("dealer");
    let signer = start(&shares[0], Faults::default());
    let client = SignerClient::new(&signer.url(), Duration::from_secs(2));
    let peer = start(&shares[1], Faults::default());
    let peer_client = SignerClient::new(&peer.url(), Duration::from_secs(2));
    let request = |message: &[u8]| {
        let mine = client.round1().expect("round 1");
        let theirs = peer_client.round1().expect("round 1");
        SignRequest {
            request_id: mine.request_id,
            message: hex::encode(message),
            commitments: [(1, mine.commitments), (2, theirs.commitments)].into(),
        }
    };
    for bad in [b"transfer 100 coins".to_vec(), content(1)[..100].to_vec()] {
        let err = client.round2(&request(&bad)).expect_err("refused");
        assert_eq!(err.status(), Some(400), "{err}");
        assert!(err.to_string().contains("CertificateVerify"), "{err}");
    }
    let good = request(&content(1));
    client.round2(&good).expect("signed once");
    let again = client.round2(&good).expect_err("the nonce is spent");
    assert_eq!(again.status(), Some(404), "{again}");
    // A restarted signer knows no earlier request.
    let fresh = request(&content(2));
    drop(signer);
    let restarted = start(&shares[0], Faults::default());
    let client = SignerClient::new(&restarted.url(), Duration::from_secs(2));
    assert_eq!(
        client.round2(&fresh).expect_err("forgotten").status(),
        Some(404)
    );
}

#[test]
fn key_share_files_round_trip_and_refuse_tampering() {
    let shares = keys::trusted_dealer(2, 3, &mut threshold::rng::seeded(9)).expect("dealer");
    let text = shares[1].to_json().expect("json");
    let back = KeyShare::from_json(&text).expect("parsed");
    assert_eq!(back.participant(), 2);
    assert_eq!(
        back.group_key().expect("key"),
        shares[1].group_key().expect("key")
    );
    let moved = text.replace("\"participant\": 2", "\"participant\": 3");
    assert!(KeyShare::from_json(&moved).is_err());
    assert!(KeyShare::from_json("{}").is_err());
    assert!(KeyShare::from_json("not json").is_err());
    assert!(keys::trusted_dealer(1, 3, &mut threshold::rng::seeded(1)).is_err());
    assert!(keys::dkg(4, 3, &mut threshold::rng::seeded(1)).is_err());
}

#[test]
fn one_share_behind_two_urls_is_one_signer() {
    let shares = keys::trusted_dealer(2, 3, &mut threshold::rng::seeded(10)).expect("dealer");
    let group = shares[0].group_key().expect("key");
    let a = start(&shares[0], Faults::default());
    let twin = start(&shares[0], Faults::default());
    let (log, lines) = log();
    let coordinator = Coordinator::connect(clients(&[&a, &twin]), 2, &group, log).expect("connect");
    let err = coordinator
        .sign(&content(1))
        .expect_err("one participant only");
    assert!(
        err.to_string().contains("answered at another URL too"),
        "{err}"
    );
    assert!(!lines.lock().expect("lock").is_empty());
}
