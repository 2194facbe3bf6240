//! The key server's rules without a network: proof of possession, the name policy
//! against poisoning, nonces, restart, and a database altered behind the server's back.

use std::path::Path;
use std::time::{Duration, SystemTime};

use keyserver::api::{PublishRequest, RevokeRequest, verify_answer};
use keyserver::challenge::NONCE_LIFETIME;
use keyserver::registry::{Now, Outcome, RefusalKind, Registry};
use keyserver::store::{Store, StoreError, log_key_path};
use keyserver::{KeyAnswer, Status, wire};
use pki::{KeyType, PrivateKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn open(db: &Path) -> Result<Registry, StoreError> {
    let mut r = rng(1);
    let store = Store::open(db, &mut r, SystemTime::now())?;
    Ok(Registry::new(store, Box::new(r)))
}

fn key(seed: u64) -> PrivateKey {
    PrivateKey::generate(KeyType::Ed25519, &mut rng(seed)).expect("key")
}

fn publish_req(reg: &mut Registry, key: &PrivateKey, name: &str) -> PublishRequest {
    let nonce = reg.challenge(Now::current()).expect("nonce");
    PublishRequest::signed(key, name, &nonce, None).expect("request")
}

/// Publishes `key` under `name`, which must succeed.
#[track_caller]
fn publish(reg: &mut Registry, key: &PrivateKey, name: &str) -> (Outcome, KeyAnswer) {
    let req = publish_req(reg, key, name);
    reg.publish(&req, Now::current()).expect("publish")
}

/// A request to move `name` to `key`, the hand-over signed by `from`.
fn handover_req(
    reg: &mut Registry,
    key: &PrivateKey,
    name: &str,
    from: &PrivateKey,
) -> PublishRequest {
    let nonce = reg.challenge(Now::current()).expect("nonce");
    PublishRequest::signed(key, name, &nonce, Some(from)).expect("request")
}

/// Asserts that `reg` refuses to publish `req` with `kind`, saying `text`.
#[track_caller]
fn publish_refused(reg: &mut Registry, req: &PublishRequest, kind: RefusalKind, text: &str) {
    refused(reg.publish(req, Now::current()), kind, text);
}

#[track_caller]
fn refused<T: std::fmt::Debug>(
    result: Result<T, keyserver::registry::Refusal>,
    kind: RefusalKind,
    text: &str,
) {
    match result {
        Err(r) => {
            assert_eq!(r.kind, kind, "{}", r.message);
            assert!(r.message.contains(text), "{:?} lacks {text:?}", r.message);
        }
        Ok(v) => panic!("accepted: {v:?}"),
    }
}

#[test]
fn publish_then_lookups_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reg = open(&dir.path().join("keys.db")).expect("open");
    let alice = key(10);
    let (outcome, answer) = publish(&mut reg, &alice, "alice");
    assert_eq!(outcome, Outcome::Published);
    let log_key = reg.store().log_public_key().clone();
    let verified = verify_answer(&answer, &log_key).expect("verifies");
    assert_eq!(verified.key, *alice.public_key());
    assert_eq!(verified.status, Status::Current);
    assert_eq!((verified.log_index, verified.head.tree_size), (0, 1));

    for lookup in [
        reg.by_name("  ALICE "),
        reg.by_fingerprint(&alice.public_key().fingerprint().to_uppercase()),
    ] {
        assert_eq!(lookup.expect("found"), answer);
    }
    assert_eq!(
        reg.hkp_get("alice").expect("pem"),
        alice.public_key().to_pem()
    );
    let index = reg.hkp_index("alice").expect("index");
    let lines: Vec<&str> = index.lines().collect();
    assert_eq!(lines[0], "info:1:1");
    assert!(
        lines[1].starts_with(&format!(
            "key:{}:ed25519:",
            alice.public_key().fingerprint()
        )) && lines[1].ends_with(":current:0:alice"),
        "{index}"
    );
    refused(
        reg.by_name("bob"),
        RefusalKind::NotFound,
        "no key is published",
    );
    refused(
        reg.hkp_get("a b"),
        RefusalKind::BadRequest,
        "neither a fingerprint",
    );

    // The same key again: answered, no new entry.
    let again = publish_req(&mut reg, &alice, "alice");
    let (outcome, _) = reg.publish(&again, Now::current()).expect("retry");
    assert_eq!(outcome, Outcome::AlreadyPublished);
    assert_eq!(reg.store().head().tree_size, 1);
}

#[test]
fn poisoning_attempts_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reg = open(&dir.path().join("keys.db")).expect("open");
    let (alice, mallory) = (key(20), key(21));
    publish(&mut reg, &alice, "alice");

    // The name taken by another key, without a hand-over.
    let grab = publish_req(&mut reg, &mallory, "alice");
    publish_refused(&mut reg, &grab, RefusalKind::Conflict, "is taken by key");
    // A hand-over signed by the wrong key (mallory signs for herself).
    let forged = handover_req(&mut reg, &mallory, "alice", &mallory);
    publish_refused(
        &mut reg,
        &forged,
        RefusalKind::Forbidden,
        "hand-over signature does not verify",
    );
    // Alice's key with a signature by another key (no proof of possession).
    let nonce = reg.challenge(Now::current()).expect("nonce");
    let mut stolen = PublishRequest::signed(&mallory, "mallory", &nonce, None).expect("req");
    stolen.spki = PublishRequest::signed(&alice, "mallory", &nonce, None)
        .expect("req")
        .spki;
    publish_refused(
        &mut reg,
        &stolen,
        RefusalKind::Forbidden,
        "proof of possession failed",
    );
    // A replayed request (its nonce is used up).
    let fresh = publish_req(&mut reg, &mallory, "mallory");
    reg.publish(&fresh, Now::current()).expect("mallory");
    publish_refused(&mut reg, &fresh, RefusalKind::Forbidden, "already used");
    // An expired nonce, and one never issued.
    let late = publish_req(&mut reg, &key(22), "carol");
    let later = Now {
        mono: Now::current().mono + NONCE_LIFETIME + Duration::from_secs(1),
        wall: SystemTime::now(),
    };
    refused(reg.publish(&late, later), RefusalKind::Forbidden, "expired");
    let mut unknown = publish_req(&mut reg, &key(23), "dave");
    unknown.nonce = "00".repeat(32);
    publish_refused(&mut reg, &unknown, RefusalKind::Forbidden, "unknown");
    // A key under a second name.
    let twice = publish_req(&mut reg, &alice, "alice2");
    refused(
        reg.publish(&twice, Now::current()),
        RefusalKind::Conflict,
        "already published under the name \"alice\"",
    );
    // Names must come normalised (they are signed as sent), keys must be Ed25519.
    let upper = publish_req(&mut reg, &key(24), "Erin");
    publish_refused(
        &mut reg,
        &upper,
        RefusalKind::BadRequest,
        "must be sent normalised",
    );
    let mut rsa_req = publish_req(&mut reg, &key(25), "frank");
    let rsa = PrivateKey::from_pem(fixtures::RSA.client_key).expect("rsa");
    rsa_req.spki = keyserver::api::b64(rsa.public_key().spki_der());
    publish_refused(
        &mut reg,
        &rsa_req,
        RefusalKind::BadRequest,
        "only Ed25519 keys",
    );
    let mut garbage = publish_req(&mut reg, &key(26), "gina");
    garbage.signature = "!!".into();
    publish_refused(
        &mut reg,
        &garbage,
        RefusalKind::BadRequest,
        "signature is not base64",
    );
    // Only the two good publishes reached the log.
    assert_eq!(reg.store().head().tree_size, 2);
    let answer = reg.by_name("alice").expect("alice");
    assert_eq!(answer.fingerprint, alice.public_key().fingerprint());
}

#[test]
fn rotation_and_revocation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reg = open(&dir.path().join("keys.db")).expect("open");
    let (old, new, other) = (key(30), key(31), key(32));
    publish(&mut reg, &old, "zoë");

    let rotate = handover_req(&mut reg, &new, "zoë", &old);
    let (outcome, answer) = reg.publish(&rotate, Now::current()).expect("rotate");
    assert_eq!(outcome, Outcome::Rotated);
    let log_key = reg.store().log_public_key().clone();
    let v = verify_answer(&answer, &log_key).expect("verifies");
    assert_eq!(v.entry.kind, wire::EntryKind::Rotate);
    assert_eq!(v.entry.previous, old.public_key().spki_der());

    let old_answer = reg
        .by_fingerprint(&old.public_key().fingerprint())
        .expect("old");
    let v = verify_answer(&old_answer, &log_key).expect("verifies");
    assert_eq!(v.status, Status::Superseded);
    refused(
        reg.hkp_get(&old_answer.fingerprint),
        RefusalKind::Gone,
        "superseded",
    );
    // The old key cannot come back, even with a hand-over from the new one.
    let back = handover_req(&mut reg, &old, "zoë", &new);
    publish_refused(&mut reg, &back, RefusalKind::Conflict, "cannot return");

    // A revocation signed by another key is refused; by the key itself it is logged.
    let nonce = reg.challenge(Now::current()).expect("nonce");
    let mut forged = RevokeRequest::signed(&other, "zoë", &nonce).expect("req");
    forged.fingerprint = new.public_key().fingerprint();
    refused(
        reg.revoke(&forged, Now::current()),
        RefusalKind::Forbidden,
        "not signed by key",
    );
    let nonce = reg.challenge(Now::current()).expect("nonce");
    let revoke = RevokeRequest::signed(&new, "zoë", &nonce).expect("req");
    let answer = reg.revoke(&revoke, Now::current()).expect("revoke");
    let v = verify_answer(&answer, &log_key).expect("verifies");
    assert_eq!(v.status, Status::Revoked);
    assert_eq!(
        v.status_entry.map(|(i, e)| (i, e.kind)),
        Some((2, wire::EntryKind::Revoke))
    );
    // The name is retired: nobody can claim it, not even with a fresh key.
    let claim = publish_req(&mut reg, &other, "zoë");
    publish_refused(&mut reg, &claim, RefusalKind::Gone, "retired");
    refused(reg.hkp_get("zoë"), RefusalKind::Gone, "revoked");
    let index = reg.hkp_index("ZOË").expect("index");
    assert_eq!(index.lines().count(), 3, "{index}");
    assert!(index.contains(":superseded:0:zo%C3%AB\n"), "{index}");
    assert!(index.contains(":revoked:1:zo%C3%AB\n"), "{index}");
    // A status the log does not show is caught by the client.
    let mut lie = answer.clone();
    lie.status = "current".into();
    assert_eq!(
        verify_answer(&lie, &log_key)
            .map(drop)
            .expect_err("a lie")
            .0,
        "the server's answer does not verify: the status is current but the log shows revoked"
    );
    let mut hidden = answer;
    hidden.status_entry = None;
    hidden.status_inclusion = None;
    assert_eq!(
        verify_answer(&hidden, &log_key)
            .map(drop)
            .expect_err("hidden")
            .0,
        "the server's answer does not verify: the status is revoked but the log shows current"
    );
}

#[test]
fn restart_keeps_everything_and_a_second_server_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("keys.db");
    let keys: Vec<PrivateKey> = (40..45).map(key).collect();
    let (head, log_key) = {
        let mut reg = open(&db).expect("open");
        for (i, k) in keys.iter().enumerate() {
            publish(&mut reg, k, &format!("user{i}"));
        }
        assert!(matches!(open(&db), Err(StoreError::InUse(_))));
        (
            reg.store().head().clone(),
            reg.store().log_public_key().clone(),
        )
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(log_key_path(&db))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut reg = open(&db).expect("reopen");
    assert_eq!(reg.store().head(), &head);
    assert_eq!(reg.store().log_public_key(), &log_key);
    for (i, k) in keys.iter().enumerate() {
        let answer = reg.by_name(&format!("user{i}")).expect("still there");
        assert_eq!(answer.fingerprint, k.public_key().fingerprint());
        verify_answer(&answer, &log_key).expect("verifies");
    }
}

#[test]
fn an_altered_database_or_key_file_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("keys.db");
    {
        let mut reg = open(&db).expect("open");
        for i in 0..3 {
            publish(&mut reg, &key(50 + i), &format!("n{i}"));
        }
    }
    let conn = || rusqlite::Connection::open(&db).expect("sqlite");
    let entry = |i: i64| -> Vec<u8> {
        conn()
            .query_row("SELECT entry FROM log WHERE idx = ?1", [i], |r| r.get(0))
            .expect("entry")
    };
    let put = |i: i64, bytes: &[u8]| {
        conn()
            .execute(
                "INSERT OR REPLACE INTO log VALUES (?1, ?2)",
                rusqlite::params![i, bytes],
            )
            .expect("write");
    };
    // Rewrite one entry so that it still decodes (a later timestamp).
    let original = entry(1);
    let mut rewritten = wire::LogEntry::decode(&original).expect("entry");
    rewritten.timestamp += 1;
    put(1, &rewritten.encode());
    let err = open(&db).map(drop).expect_err("tampered");
    assert!(
        err.to_string()
            .contains("the log was altered: the entries do not hash to the signed root"),
        "{err}"
    );
    put(1, &original);
    // Drop the last entry.
    let last = entry(2);
    conn()
        .execute("DELETE FROM log WHERE idx = 2", [])
        .expect("delete");
    let err = open(&db).map(drop).expect_err("tampered");
    assert!(err.to_string().contains("2 entries, but"), "{err}");
    put(2, &last);
    open(&db).expect("restored");

    // Another log key.
    let key_file = log_key_path(&db);
    let original = std::fs::read(&key_file).expect("key");
    std::fs::write(&key_file, key(99).to_pem().expect("pem").as_bytes()).expect("write");
    let err = open(&db).map(drop).expect_err("wrong key");
    assert!(err.to_string().contains("did not sign"), "{err}");
    std::fs::remove_file(&key_file).expect("rm");
    let err = open(&db).map(drop).expect_err("no key");
    assert!(
        err.to_string().contains("missing, but the log has 3"),
        "{err}"
    );
    std::fs::write(&key_file, original).expect("restore");
    open(&db).expect("as it was");
}

/// The same Ed25519 key in a non-canonical SubjectPublicKeyInfo (NULL parameters): a
/// parser takes it, and it has another fingerprint.
fn null_params_spki(key: &PrivateKey) -> Vec<u8> {
    let mut spki = vec![
        0x30, 0x2c, 0x30, 0x07, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x05, 0x00, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(key.public_key().raw());
    spki
}

#[test]
fn a_key_in_another_encoding_cannot_take_a_second_name_or_return_after_revocation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reg = open(&dir.path().join("keys.db")).expect("open");
    let alice = key(60);
    publish(&mut reg, &alice, "alice");
    let nonce = reg.challenge(Now::current()).expect("nonce");
    let revoke = RevokeRequest::signed(&alice, "alice", &nonce).expect("req");
    reg.revoke(&revoke, Now::current()).expect("revoked");

    // Signed by the key itself, so proof of possession holds; only the encoding differs.
    let spki = null_params_spki(&alice);
    assert_ne!(pki::fingerprint(&spki), alice.public_key().fingerprint());
    let nonce = reg.challenge(Now::current()).expect("nonce");
    let msg = wire::publish_message("alice-again", &spki, &nonce);
    let request = PublishRequest {
        name: "alice-again".into(),
        spki: keyserver::api::b64(&spki),
        nonce: hex::encode(nonce),
        signature: keyserver::api::b64(&keyserver::keys::sign(&alice, &msg).expect("sign")),
        handover: None,
    };
    publish_refused(
        &mut reg,
        &request,
        RefusalKind::BadRequest,
        "not in canonical DER",
    );
    assert_eq!(reg.store().head().tree_size, 2);
}

#[test]
fn an_edited_key_index_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("keys.db");
    let (alice, bob) = (key(70), key(71));
    {
        let mut reg = open(&db).expect("open");
        for (k, name) in [(&alice, "alice"), (&bob, "bob")] {
            publish(&mut reg, k, name);
        }
        let nonce = reg.challenge(Now::current()).expect("nonce");
        let revoke = RevokeRequest::signed(&alice, "alice", &nonce).expect("req");
        reg.revoke(&revoke, Now::current()).expect("revoke");
    }
    let sql = |statement: &str| {
        rusqlite::Connection::open(&db)
            .expect("sqlite")
            .execute(statement, [])
            .expect("edit");
    };
    let alice_fpr = alice.public_key().fingerprint();
    // Un-revoke alice's key behind the server's back: the log still says revoked.
    sql(&format!(
        "UPDATE keys SET status = 'current', status_index = NULL WHERE fingerprint = \
         '{alice_fpr}'"
    ));
    let err = open(&db).map(drop).expect_err("edited index");
    assert!(
        err.to_string().contains(&format!(
            "the key index disagrees with the log about key {alice_fpr}"
        )),
        "{err}"
    );
    sql(&format!(
        "UPDATE keys SET status = 'revoked', status_index = 2 WHERE fingerprint = '{alice_fpr}'"
    ));
    let mut reg = open(&db).expect("as logged");
    refused(reg.hkp_get("alice"), RefusalKind::Gone, "revoked");
    drop(reg);
    // Point bob's name at another key, or drop a key.
    sql("UPDATE keys SET name = 'carol' WHERE name = 'bob'");
    let err = open(&db).map(drop).expect_err("renamed key");
    let bob_fpr = bob.public_key().fingerprint();
    assert!(
        err.to_string().contains(&format!(
            "the key index disagrees with the log about key {bob_fpr}"
        )),
        "{err}"
    );
    sql("UPDATE keys SET name = 'bob' WHERE name = 'carol'");
    sql(&format!(
        "DELETE FROM keys WHERE fingerprint = '{alice_fpr}'"
    ));
    let err = open(&db).map(drop).expect_err("dropped key");
    assert!(
        err.to_string()
            .contains("the key index holds 1 keys, the log 2"),
        "{err}"
    );
}

#[test]
fn log_entries_are_served_in_bounded_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reg = open(&dir.path().join("keys.db")).expect("open");
    refused(reg.entries(0, 0), RefusalKind::BadRequest, "the log has 0");
    let count = keyserver::registry::MAX_ENTRIES + 2;
    for i in 0..count {
        publish(&mut reg, &key(1000 + i), &format!("p{i}"));
    }
    let first = reg.entries(0, u64::MAX).expect("entries");
    assert_eq!(first.start, 0);
    assert_eq!(first.entries.len() as u64, keyserver::registry::MAX_ENTRIES);
    let rest = reg.entries(128, u64::MAX).expect("entries");
    assert_eq!(rest.entries.len(), 2);
    let one = reg.entries(5, 5).expect("entries");
    assert_eq!(one.entries, first.entries[5..6]);
    let entry = keyserver::api::unb64(&one.entries[0], "entry").expect("b64");
    assert_eq!(wire::LogEntry::decode(&entry).expect("entry").name, "p5");
    refused(reg.entries(3, 2), RefusalKind::BadRequest, "start <= end");
    refused(
        reg.entries(count, count),
        RefusalKind::BadRequest,
        "start <",
    );
}
