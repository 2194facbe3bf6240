//! The key server over loopback HTTP: the publish → fetch → seal → open round trip, bad
//! input, audits that catch a forked log, restart, and concurrent load.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use keyserver::client::{Client, ClientError};
use keyserver::merkle::verify_consistency;
use keyserver::store::log_key_path;
use keyserver::trust::{Trust, TrustError, replay_log};
use keyserver::{KeyServer, Status, TreeHead, seal, verify_answer, verify_lookup, wire};
use pki::{KeyType, PrivateKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;

const TIMEOUT: Duration = Duration::from_secs(10);

fn start(db: &Path, seed: u64) -> KeyServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    KeyServer::start(listener, db, Box::new(ChaCha20Rng::seed_from_u64(seed))).expect("start")
}

/// A key server on a new database in a directory of its own, and a client for it.
fn running(seed: u64) -> (tempfile::TempDir, KeyServer, Client) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(&dir.path().join("keys.db"), seed);
    let client = Client::new(&server.url(), TIMEOUT);
    (dir, server, client)
}

fn key(seed: u64) -> PrivateKey {
    PrivateKey::generate(KeyType::Ed25519, &mut ChaCha20Rng::seed_from_u64(seed)).expect("key")
}

/// A raw request: (status, body).
fn raw(method: &str, url: &str, body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let response = match method {
        "POST" => agent.post(url).content_type("application/json").send(body),
        _ => agent.get(url).call(),
    };
    let mut response = response.expect("an answer");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, text)
}

#[test]
fn publish_fetch_seal_open_round_trip() {
    let (dir, server, client) = running(1);
    let alice = key(1);
    let (created, _) = client.publish(&alice, " Alice ").expect("publish");
    assert!(created);
    let (created, _) = client.publish(&alice, "alice").expect("retry");
    assert!(!created);

    // The sender: trust the log key on first use, check the answer, seal.
    let state = dir.path().join("state");
    let mut trust = Trust::load(&state, &server.url()).expect("state");
    let (log_key, first_use) = trust.log_key(&client).expect("log key");
    assert!(first_use);
    let answer = client.lookup("ALICE").expect("lookup");
    let verified = verify_answer(&answer, &log_key).expect("verifies");
    trust
        .accept(&client, &log_key, &verified.head)
        .expect("head");
    assert_eq!(verified.status, Status::Current);
    assert_eq!(verified.key, *alice.public_key());
    let message = b"meet me at the usual place";
    let sealed =
        seal::seal(&verified.key, message, &mut ChaCha20Rng::seed_from_u64(9)).expect("seal");
    assert_eq!(
        seal::open(&alice, &sealed).expect("open").as_slice(),
        message
    );

    // A name beyond ASCII, in the URL path and the HKP query.
    let zoe = key(2);
    client.publish(&zoe, "Zoë").expect("publish");
    let answer = client.lookup("ZOË").expect("lookup");
    assert_eq!(answer.name, "zoë");
    assert_eq!(
        client.hkp("get", "zoë").expect("get"),
        zoe.public_key().to_pem()
    );

    // HKP-style lookups.
    assert_eq!(
        client.hkp("get", "alice").expect("get"),
        alice.public_key().to_pem()
    );
    let fpr = alice.public_key().fingerprint();
    assert_eq!(
        client.hkp("get", &fpr.to_uppercase()).expect("get"),
        alice.public_key().to_pem()
    );
    assert!(
        client
            .hkp("index", "alice")
            .expect("index")
            .starts_with("info:1:1\n")
    );
    let status = |e: ClientError| (e.status(), e.to_string());
    let (code, text) = status(client.hkp("vindex", "alice").expect_err("unknown op"));
    assert_eq!(code, Some(501), "{text}");
    let (code, text) = status(client.hkp("get", "nobody").expect_err("absent"));
    assert_eq!(code, Some(404), "{text}");
    let (code, _) = raw("GET", &format!("{}/pks/lookup?op=get", server.url()), b"");
    assert_eq!(code, 400);
}

#[test]
fn bad_input_gets_a_clear_4xx() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(&dir.path().join("keys.db"), 2);
    let url = server.url();
    let big = vec![b' '; 8 * 1024];
    let (code, text) = raw("POST", &format!("{url}/keys"), &big);
    assert_eq!(
        (code, text.trim()),
        (413, "the request body is larger than 4096 bytes")
    );
    let (code, text) = raw("POST", &format!("{url}/keys"), b"{\"name\": 1}");
    assert_eq!(code, 400);
    assert!(text.starts_with("malformed JSON request"), "{text}");
    let (code, text) = raw("GET", &format!("{url}/keys/xyz"), b"");
    assert_eq!(code, 400);
    assert!(text.contains("is not a fingerprint"), "{text}");
    let (code, text) = raw(
        "GET",
        &format!("{url}/log/consistency?first=3&second=1"),
        b"",
    );
    assert_eq!(code, 400, "{text}");

    // A replayed publish: the same bytes twice.
    let client = Client::new(&url, TIMEOUT);
    let nonce = client.challenge().expect("nonce");
    let request =
        keyserver::api::PublishRequest::signed(&key(3), "bob", &nonce, None).expect("req");
    let body = serde_json::to_vec(&request).expect("json");
    assert_eq!(raw("POST", &format!("{url}/keys"), &body).0, 201);
    let (code, text) = raw("POST", &format!("{url}/keys"), &body);
    assert_eq!(code, 403);
    assert!(text.contains("already used"), "{text}");
    // Someone else's name, over HTTP.
    let err = client.publish(&key(4), "bob").expect_err("taken");
    assert_eq!(err.status(), Some(409), "{err}");
}

#[test]
fn audits_verify_consistency_and_catch_a_forked_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("keys.db");
    let server = start(&db, 3);
    let client = Client::new(&server.url(), TIMEOUT);
    let state = dir.path().join("audit.state");
    let mut trust = Trust::load(&state, &server.url()).expect("state");
    let (log_key, _) = trust.log_key(&client).expect("key");
    let mut sizes = Vec::new();
    for i in 0..7 {
        client
            .publish(&key(100 + i), &format!("user{i}"))
            .expect("publish");
        if i % 3 == 0 {
            let head = client.head().expect("head");
            let step = trust.accept(&client, &log_key, &head).expect("consistent");
            sizes.push((step.previous, step.size));
        }
    }
    assert_eq!(sizes, [(None, 1), (Some(1), 4), (Some(4), 7)]);
    // The state survives on disk and pins the key.
    let trust2 = Trust::load(&state, &server.url()).expect("reload");
    assert_eq!(trust2.pinned().map(|p| p.head.tree_size), Some(7));
    trust2.check_served_key(&client).expect("same key");
    assert!(matches!(
        Trust::load(&state, "http://127.0.0.1:1"),
        Err(TrustError::OtherServer { .. })
    ));

    // A head of a rewritten log, signed with the real log key: the consistency proof the
    // server gives cannot connect it to the remembered head.
    let log_signer =
        PrivateKey::from_pem(&std::fs::read_to_string(log_key_path(&db)).expect("log key file"))
            .expect("log key");
    let mut forged = TreeHead {
        tree_size: 7,
        timestamp_ms: 1,
        root: [7; 32],
        signature: [0; 64],
    };
    let sign = |h: &mut TreeHead, k: &PrivateKey| {
        h.signature = keyserver::keys::sign(
            k,
            &wire::tree_head_message(h.tree_size, h.timestamp_ms, &h.root),
        )
        .expect("sign");
    };
    sign(&mut forged, &log_signer);
    assert!(matches!(
        trust.accept(&client, &log_key, &forged),
        Err(TrustError::Inconsistent { old: 7, new: 7 })
    ));
    client.publish(&key(200), "late").expect("publish");
    forged.tree_size = 8;
    sign(&mut forged, &log_signer);
    assert!(matches!(
        trust.accept(&client, &log_key, &forged),
        Err(TrustError::Inconsistent { old: 7, new: 8 })
    ));
    // A head signed by another key.
    sign(&mut forged, &key(5));
    assert!(matches!(
        trust.accept(&client, &log_key, &forged),
        Err(TrustError::BadSignature(8))
    ));
    // The honest head still passes, and the state moves on.
    let head = client.head().expect("head");
    trust.accept(&client, &log_key, &head).expect("honest");

    // A tampered answer: one hash of the audit path, or the entry.
    let answer = client.lookup("user3").expect("lookup");
    verify_answer(&answer, &log_key).expect("honest answer");
    let mut bad_path = answer.clone();
    let h = &mut bad_path.inclusion.audit_path[0];
    let flipped = if h.starts_with('0') { "1" } else { "0" };
    h.replace_range(0..1, flipped);
    let rejection = |answer: &keyserver::KeyAnswer, log_key: &pki::PublicKey| {
        let err = verify_answer(answer, log_key)
            .map(drop)
            .expect_err("tampered");
        let prefix = "the server's answer does not verify: ";
        err.0
            .strip_prefix(prefix)
            .map(str::to_owned)
            .unwrap_or(err.0)
    };
    let index = answer.inclusion.leaf_index;
    assert_eq!(
        rejection(&bad_path, &log_key),
        format!("the inclusion proof of entry {index} does not lead to the signed root")
    );
    let mut other_key = answer.clone();
    other_key.public_key = key(6).public_key().to_pem();
    assert_eq!(
        rejection(&other_key, &log_key),
        format!("entry {index} binds another key or name than the answer")
    );
    assert_eq!(
        rejection(&answer, key(7).public_key()),
        "the tree head is not signed by the log key"
    );
}

#[test]
fn restart_keeps_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("keys.db");
    let keys: Vec<PrivateKey> = (300..305).map(key).collect();
    let head = {
        let server = start(&db, 4);
        let client = Client::new(&server.url(), TIMEOUT);
        for (i, k) in keys.iter().enumerate() {
            client.publish(k, &format!("k{i}")).expect("publish");
        }
        let head = client.head().expect("head");
        server.stop();
        head
    };
    let server = start(&db, 5);
    let client = Client::new(&server.url(), TIMEOUT);
    assert_eq!(client.head().expect("head"), head);
    let log_key = client.log_key().expect("log key");
    for (i, k) in keys.iter().enumerate() {
        let answer = client.lookup(&format!("k{i}")).expect("lookup");
        let v = verify_answer(&answer, &log_key).expect("verifies");
        assert_eq!(v.key, *k.public_key());
    }
}

#[test]
fn concurrent_publish_and_lookup_lose_nothing() {
    const THREADS: u64 = 6;
    const EACH: u64 = 8;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(&dir.path().join("keys.db"), 6);
    let url = server.url();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let client = Client::new(&url, TIMEOUT);
                let mut heads = Vec::new();
                for i in 0..EACH {
                    let k = key(1000 + t * EACH + i);
                    let (_, answer) = client.publish(&k, &format!("t{t}-{i}")).expect("publish");
                    heads.push(TreeHead::try_from(&answer.tree_head).expect("head"));
                    let found = client.lookup(&format!("t{t}-{i}")).expect("lookup");
                    assert_eq!(found.fingerprint, k.public_key().fingerprint());
                    // Another thread's name: there or not yet, never an error.
                    match client.lookup(&format!("t{}-{i}", (t + 1) % THREADS)) {
                        Ok(_) => {}
                        Err(e) => assert_eq!(e.status(), Some(404), "{e}"),
                    }
                }
                heads
            })
        })
        .collect();
    let mut seen = Vec::new();
    for w in workers {
        seen.extend(w.join().expect("worker"));
    }
    let client = Client::new(&url, TIMEOUT);
    let log_key = client.log_key().expect("log key");
    let head = client.head().expect("head");
    assert_eq!(head.tree_size, THREADS * EACH);
    for t in 0..THREADS {
        for i in 0..EACH {
            let k = key(1000 + t * EACH + i);
            let answer = client.lookup(&format!("t{t}-{i}")).expect("lookup");
            let v = verify_answer(&answer, &log_key).expect("verifies");
            assert_eq!(v.key, *k.public_key());
        }
    }
    // Every head a publisher was given is signed and consistent with the final one:
    // no acknowledged entry was lost or rewritten.
    assert_eq!(seen.len() as u64, THREADS * EACH);
    for old in &seen {
        assert!(old.verify(&log_key));
        let proof = if old.tree_size == head.tree_size {
            Vec::new()
        } else {
            client
                .consistency(old.tree_size, head.tree_size)
                .expect("proof")
        };
        assert!(verify_consistency(
            old.tree_size,
            head.tree_size,
            &old.root,
            &head.root,
            &proof
        ));
    }
}

#[test]
fn a_lookup_answered_with_another_logged_key_is_refused() {
    let (_dir, _server, client) = running(7);
    let (alice, mallory) = (key(400), key(401));
    client.publish(&alice, "alice").expect("alice");
    client.publish(&mallory, "mallory").expect("mallory");
    let log_key = client.log_key().expect("log key");
    // A server asked for alice answers with mallory's key: every proof in it is valid.
    let substitute = client.lookup("mallory").expect("lookup");
    verify_answer(&substitute, &log_key).expect("a valid answer, for mallory");
    let alice_fpr = alice.public_key().fingerprint();
    for search in ["alice", " ALICE ", alice_fpr.as_str()] {
        let err = verify_lookup(&substitute, &log_key, search).expect_err("substituted");
        assert!(err.0.contains("answered a lookup of"), "{err}");
    }
    verify_lookup(&substitute, &log_key, " Mallory").expect("what was asked");
    let honest = client.lookup(&alice_fpr.to_uppercase()).expect("lookup");
    verify_lookup(&honest, &log_key, &alice_fpr.to_uppercase()).expect("by fingerprint");
}

#[test]
fn a_rolled_back_tree_head_is_refused_even_when_consistent() {
    let (dir, server, client) = running(8);
    let mut trust = Trust::load(&dir.path().join("state"), &server.url()).expect("state");
    let (log_key, _) = trust.log_key(&client).expect("key");
    let alice = key(500);
    let (_, answer) = client.publish(&alice, "alice").expect("publish");
    let before_revocation = TreeHead::try_from(&answer.tree_head).expect("head");
    trust
        .accept(&client, &log_key, &before_revocation)
        .expect("first");
    client.revoke(&alice).expect("revoke");
    let head = client.head().expect("head");
    trust.accept(&client, &log_key, &head).expect("grew");
    // The old answer, from before the revocation, still verifies on its own ...
    verify_answer(&answer, &log_key).expect("old answer");
    // ... but its head is older than one this client saw: a server answering from the
    // past to hide the revocation is caught.
    assert!(matches!(
        trust.accept(&client, &log_key, &before_revocation),
        Err(TrustError::Rollback { seen: 2, served: 1 })
    ));
    trust.accept(&client, &log_key, &head).expect("same head");
}

#[test]
fn replaying_the_log_checks_every_entry_over_http() {
    let (_dir, server, client) = running(9);
    let (a, b) = (key(600), key(601));
    client.publish(&a, "alice").expect("publish");
    client.rotate(&a, &b, "alice").expect("rotate");
    client.publish(&key(602), "carol").expect("publish");
    client.revoke(&b).expect("revoke");
    let head = client.head().expect("head");
    let replay = replay_log(&client, &head).expect("an honest log");
    assert_eq!((replay.size(), replay.names()), (4, 2));
    // The endpoint's own refusals.
    let url = server.url();
    let (code, text) = raw("GET", &format!("{url}/log/entries?start=4&end=9"), b"");
    assert_eq!(code, 400, "{text}");
    let (code, text) = raw("GET", &format!("{url}/log/entries?start=1"), b"");
    assert_eq!((code, text.trim()), (400, "give end=N (an entry index)"));
    let (code, text) = raw("GET", &format!("{url}/log/entries?start=1&end=1"), b"");
    assert_eq!(code, 200, "{text}");
}

/// A signed log entry: `k` publishes `name`.
fn publish_entry(k: &PrivateKey, name: &str, nonce: u8) -> Vec<u8> {
    let spki = k.public_key().spki_der().to_vec();
    let nonce = [nonce; 32];
    let msg = wire::publish_message(name, &spki, &nonce);
    wire::LogEntry {
        kind: wire::EntryKind::Publish,
        timestamp: 1,
        name: name.into(),
        spki,
        previous: Vec::new(),
        nonce,
        signature: keyserver::keys::sign(k, &msg).expect("sign"),
        handover: None,
    }
    .encode()
}

/// A malicious key server: answers one request, `GET /log/entries`, with `entries` (and
/// gives up after 10 s).
fn lying_server(entries: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let body = serde_json::to_string(&keyserver::api::EntriesJson {
        start: 0,
        entries: entries.iter().map(|e| keyserver::api::b64(e)).collect(),
    })
    .expect("json");
    let thread = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + TIMEOUT;
        while std::time::Instant::now() < deadline {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            stream.set_nonblocking(false).expect("blocking");
            stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = reader.get_mut().write_all(reply.as_bytes());
            break;
        }
    });
    (url, thread)
}

#[test]
fn an_auditor_catches_a_second_publish_of_a_taken_name() {
    // The split view: the log holds alice's key and, later, mallory's key also published
    // as "alice" (validly self-signed), so that a lookup can be answered either way with
    // a valid inclusion proof. The head is properly signed by the log key.
    let log_key = key(702);
    let signed_head = |entries: &[Vec<u8>]| {
        let mut tree = keyserver::merkle::Tree::new();
        for e in entries {
            tree.push(keyserver::merkle::leaf_hash(e));
        }
        let size = tree.size();
        let mut head = TreeHead {
            tree_size: size,
            timestamp_ms: 1,
            root: tree.root(size).expect("root"),
            signature: [0; 64],
        };
        head.signature = keyserver::keys::sign(&log_key, &head.message()).expect("sign");
        head
    };
    let replay = |entries: Vec<Vec<u8>>, head: &TreeHead| {
        let (url, thread) = lying_server(entries);
        let result = replay_log(&Client::new(&url, TIMEOUT), head).map(|r| r.size());
        thread.join().expect("server");
        result
    };
    let split = vec![
        publish_entry(&key(700), "alice", 1),
        publish_entry(&key(701), "alice", 2),
    ];
    let head = signed_head(&split);
    let err = replay(split, &head).expect_err("caught");
    assert!(
        err.to_string()
            .contains("log entry 1: a second publish of \"alice\""),
        "{err}"
    );
    // Entries that keep the rules but do not hash to the signed root are caught too.
    let honest = vec![
        publish_entry(&key(700), "alice", 1),
        publish_entry(&key(701), "bob", 2),
    ];
    let mut head = signed_head(&honest);
    assert_eq!(replay(honest.clone(), &head).expect("honest"), 2);
    head.root[0] ^= 1;
    let err = replay(honest, &head).expect_err("caught");
    assert!(
        err.to_string().contains("do not hash to the signed root"),
        "{err}"
    );
}
