//! The key server on PostgreSQL, against a real server (a throwaway cluster, see
//! `testpg`): migrations, the shared log key, challenges and appends across front ends,
//! moving a SQLite log over, three front ends under concurrent publishers, and the
//! database restarting under a running front end.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use keyserver::client::{Client, ClientError};
use keyserver::merkle::verify_consistency;
use keyserver::registry::{Now, Registry};
use keyserver::store::{Location, LogKey, PgTarget, Store, StoreError};
use keyserver::{KeyServer, Status, TreeHead, verify_answer};
use pki::{KeyType, PrivateKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use testpg::{Cluster, Mode};

const TIMEOUT: Duration = Duration::from_secs(20);

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn key(seed: u64) -> PrivateKey {
    PrivateKey::generate(KeyType::Ed25519, &mut rng(seed)).expect("key")
}

/// A new database `db` in `cluster`.
fn target(cluster: &Cluster, db: &str) -> PgTarget {
    PgTarget::parse(&cluster.create_database(db))
        .expect("url")
        .with_password(cluster.password())
}

/// A new log in `db`, its key file in `dir`.
fn init(cluster: &Cluster, db: &str, dir: &Path) -> (PgTarget, std::path::PathBuf) {
    let target = target(cluster, db);
    let key_file = dir.join(format!("{db}.log-key.pem"));
    Store::init(&target, &key_file, &mut rng(1), SystemTime::now()).expect("init");
    (target, key_file)
}

fn front_end(target: &PgTarget, key_file: &Path, seed: u64) -> Registry {
    let location = Location::Postgres(target.clone());
    let store = Store::connect(
        &location,
        LogKey::File(key_file.to_path_buf()),
        &mut rng(seed),
        SystemTime::now(),
    )
    .expect("connect");
    Registry::new(store, Box::new(rng(seed)))
}

fn server(target: &PgTarget, key_file: &Path, seed: u64) -> KeyServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let store = Store::connect(
        &Location::Postgres(target.clone()),
        LogKey::File(key_file.to_path_buf()),
        &mut rng(seed),
        SystemTime::now(),
    )
    .expect("connect");
    KeyServer::serve(listener, store, Box::new(rng(seed)), None).expect("serve")
}

#[test]
fn the_schema_is_versioned_and_a_newer_one_is_refused() {
    let Some(cluster) = Cluster::start(Mode::Fast) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (target, key_file) = init(&cluster, "schema", dir.path());
    let mut sql = cluster.connect("schema");
    let versions: Vec<i32> = sql
        .query("SELECT version FROM keylab_schema ORDER BY version", &[])
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1]);
    // A second front end migrates nothing and starts.
    drop(front_end(&target, &key_file, 2));
    sql.execute("INSERT INTO keylab_schema (version) VALUES (99)", &[])
        .expect("a future version");
    let err = Store::connect(
        &Location::Postgres(target),
        LogKey::File(key_file),
        &mut rng(3),
        SystemTime::now(),
    )
    .expect_err("newer schema");
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                known: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("run a newer keylab"), "{err}");
}

#[test]
fn front_ends_need_the_log_key_recorded_at_init() {
    let Some(cluster) = Cluster::start(Mode::Fast) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (target, key_file) = init(&cluster, "logkey", dir.path());
    let open = |key: LogKey, target: &PgTarget| {
        Store::connect(
            &Location::Postgres(target.clone()),
            key,
            &mut rng(4),
            SystemTime::now(),
        )
    };
    // Init again with the same key: nothing changes.
    let again = Store::init(&target, &key_file, &mut rng(5), SystemTime::now()).expect("again");
    assert_eq!(again.head().tree_size, 0);
    // Another key is not the log's.
    let other = dir.path().join("other.pem");
    pki::files::write_private_key(&other, &key(6), false).expect("write");
    let err = open(LogKey::File(other.clone()), &target).expect_err("other key");
    assert!(err.to_string().contains("it is not the log's key"), "{err}");
    let err = Store::init(&target, &other, &mut rng(7), SystemTime::now()).expect_err("re-init");
    assert!(err.to_string().contains("it is not the log's key"), "{err}");
    // A database nobody initialised.
    let bare = self::target(&cluster, "bare");
    let err = open(LogKey::File(key_file.clone()), &bare).expect_err("no log");
    assert!(err.to_string().contains("keylab keyserver init"), "{err}");
    // A missing key file.
    let err = open(LogKey::File(dir.path().join("nope.pem")), &target).expect_err("no file");
    assert!(err.to_string().contains("no such file"), "{err}");
}

#[test]
fn a_challenge_from_one_front_end_is_good_once_at_another() {
    let Some(cluster) = Cluster::start(Mode::Fast) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (target, key_file) = init(&cluster, "challenges", dir.path());
    let mut a = front_end(&target, &key_file, 10);
    let mut b = front_end(&target, &key_file, 11);
    let alice = key(12);
    let now = Now::current();
    let nonce = a.challenge(now).expect("challenge");
    let request =
        keyserver::api::PublishRequest::signed(&alice, "alice", &nonce, None).expect("sign");
    let (_, answer) = b.publish(&request, now).expect("redeemed at b");
    assert_eq!(answer.name, "alice");
    let replay = a.publish(&request, now).expect_err("replayed at a");
    assert!(
        replay.message.contains("already used"),
        "{}",
        replay.message
    );
    // a's lookups see b's entry, with a head that covers it.
    let seen = a.by_name("alice").expect("a sees alice");
    assert_eq!(seen.tree_head.tree_size, 1);
    let verified = verify_answer(&seen, a.store().log_public_key()).expect("verifies");
    assert_eq!(verified.status, Status::Current);
}

#[test]
fn a_sqlite_log_moves_to_postgresql_unchanged() {
    let Some(cluster) = Cluster::start(Mode::Fast) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("keys.db");
    let store = Store::open(&db, &mut rng(20), SystemTime::now()).expect("sqlite");
    let mut sqlite = Registry::new(store, Box::new(rng(21)));
    let (alice, alice2, bob) = (key(22), key(23), key(24));
    publish(&mut sqlite, &alice, "alice");
    publish(&mut sqlite, &bob, "bob");
    rotate(&mut sqlite, &alice, &alice2, "alice");
    let head = sqlite.store().head().clone();
    drop(sqlite);
    let target = target(&cluster, "moved");
    let moved = keyserver::store::migrate::migrate(&db, &target, &mut rng(25), SystemTime::now())
        .expect("migrate");
    assert_eq!((moved.entries, moved.keys, moved.heads), (3, 3, 4));
    assert_eq!(moved.head, head);
    let mut pg = front_end(&target, &moved.log_key, 26);
    assert_eq!(pg.store().head(), &head);
    let answer = pg.by_name("alice").expect("alice");
    let verified = verify_answer(&answer, pg.store().log_public_key()).expect("verifies");
    assert_eq!(&verified.key, alice2.public_key());
    // The log goes on from where it was.
    publish(&mut pg, &key(27), "carol");
    assert_eq!(pg.store().head().tree_size, 4);
    // Into a database that holds a log already: refused.
    let err = keyserver::store::migrate::migrate(&db, &target, &mut rng(28), SystemTime::now())
        .expect_err("not empty");
    assert!(err.to_string().contains("already holds a log"), "{err}");
}

fn publish(reg: &mut Registry, key: &PrivateKey, name: &str) {
    let now = Now::current();
    let nonce = reg.challenge(now).expect("challenge");
    let request = keyserver::api::PublishRequest::signed(key, name, &nonce, None).expect("sign");
    reg.publish(&request, now).expect("publish");
}

fn rotate(reg: &mut Registry, old: &PrivateKey, new: &PrivateKey, name: &str) {
    let now = Now::current();
    let nonce = reg.challenge(now).expect("challenge");
    let request =
        keyserver::api::PublishRequest::signed(new, name, &nonce, Some(old)).expect("sign");
    reg.publish(&request, now).expect("rotate");
}

/// What the publishers saw: every acknowledged key (fingerprint → name), the names each
/// race was won by, and every tree head in an answer.
#[derive(Default)]
struct Seen {
    acked: BTreeMap<String, String>,
    winners: HashMap<String, Vec<String>>,
    heads: Vec<TreeHead>,
}

/// Publishes `count` keys through `client`, some under names other publishers race for;
/// a 409 for a raced name is the expected loss, anything else fails the test.
fn publisher(client: &Client, id: u64, count: u64, seen: &Mutex<Seen>) {
    for i in 0..count {
        let racing = i % 4 == 0;
        let name = if racing {
            format!("race-{}", i / 4)
        } else {
            format!("user-{id}-{i}")
        };
        let key = key(1_000 + id * 1_000 + i);
        match client.publish(&key, &name) {
            Ok((_, answer)) => {
                let mut seen = seen.lock().expect("lock");
                seen.acked
                    .insert(key.public_key().fingerprint(), name.clone());
                seen.winners
                    .entry(name)
                    .or_default()
                    .push(answer.fingerprint.clone());
                seen.heads
                    .push(TreeHead::try_from(&answer.tree_head).expect("head"));
            }
            Err(ClientError::Status { status: 409, .. }) if racing => {}
            Err(e) => panic!("publisher {id}: {name}: {e}"),
        }
    }
}

/// Every pair of heads seen is consistent: same size, same head; otherwise the server
/// proves the smaller a prefix of the larger (RFC 6962 §2.1.2).
fn assert_consistent(client: &Client, heads: &mut Vec<TreeHead>) {
    heads.sort_by_key(|h| (h.tree_size, h.timestamp_ms));
    heads.dedup();
    for pair in heads.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_ne!(
            a.tree_size, b.tree_size,
            "two different heads of one size: a fork"
        );
        if a.tree_size == 0 {
            continue;
        }
        let proof = client.consistency(a.tree_size, b.tree_size).expect("proof");
        assert!(
            verify_consistency(a.tree_size, b.tree_size, &a.root, &b.root, &proof),
            "heads {} and {} are not consistent",
            a.tree_size,
            b.tree_size
        );
    }
}

#[test]
fn three_front_ends_keep_one_log_under_concurrent_publishers() {
    let Some(cluster) = Cluster::start(Mode::Fast) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (target, key_file) = init(&cluster, "shared", dir.path());
    let servers: Vec<KeyServer> = (0..3).map(|i| server(&target, &key_file, 30 + i)).collect();
    let clients: Vec<Client> = servers
        .iter()
        .map(|s| Client::new(&s.url(), TIMEOUT))
        .collect();
    let seen = Mutex::new(Seen::default());
    // 3 front ends x 8 publishers x 17 keys = 408 publishes, a quarter racing for names.
    std::thread::scope(|scope| {
        for (f, client) in clients.iter().enumerate() {
            for p in 0..8u64 {
                let seen = &seen;
                scope.spawn(move || publisher(client, f as u64 * 8 + p, 17, seen));
            }
            // A reader on each front end, polling heads while the writers run.
            let seen = &seen;
            scope.spawn(move || {
                for _ in 0..50 {
                    let head = client.head().expect("head");
                    seen.lock().expect("lock").heads.push(head);
                }
            });
        }
    });
    let mut seen = seen.into_inner().expect("lock");
    // 24 publishers: 12 names of their own each, and 5 names all of them race for.
    assert_eq!(seen.acked.len(), 24 * 12 + 5);
    // First come, first served across front ends: one winner per raced name.
    for (name, winners) in &seen.winners {
        assert_eq!(winners.len(), 1, "{name} was given to {winners:?}");
    }
    // Every acknowledged key, through every front end, with proofs that verify.
    let log_key = clients[0].log_key().expect("log key");
    for client in &clients {
        for (fpr, name) in &seen.acked {
            let answer = client.by_fingerprint(fpr).expect("acked key found");
            let verified = verify_answer(&answer, &log_key).expect("verifies");
            assert_eq!(&verified.name, name);
            assert_eq!(verified.status, Status::Current);
        }
    }
    let head = clients[2].head().expect("head");
    assert_eq!(
        head.tree_size,
        seen.acked.len() as u64,
        "one entry per acknowledged key"
    );
    let replay = keyserver::trust::replay_log(&clients[1], &head).expect("the log replays");
    assert_eq!(replay.size(), head.tree_size);
    seen.heads.push(head);
    assert_consistent(&clients[0], &mut seen.heads);
}

#[test]
fn a_database_restart_answers_503_then_recovers_without_restarting_the_front_end() {
    let Some(cluster) = Cluster::start(Mode::Fast) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (target, key_file) = init(&cluster, "restart", dir.path());
    let server = server(&target, &key_file, 40);
    let client = Client::new(&server.url(), TIMEOUT);
    client.publish(&key(41), "before").expect("publish");
    cluster.stop_server();
    match client.head() {
        Err(ClientError::Status {
            status: 503,
            message,
            ..
        }) => {
            assert!(message.contains("unavailable"), "{message}");
        }
        other => panic!("expected 503, got {other:?}"),
    }
    cluster.start_server();
    let deadline = Instant::now() + Duration::from_secs(20);
    let head = loop {
        match client.head() {
            Ok(head) => break head,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for the database: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the front end did not recover: {e}"),
        }
    };
    assert_eq!(head.tree_size, 1);
    client
        .publish(&key(42), "after")
        .expect("publish after the restart");
    assert_eq!(client.head().expect("head").tree_size, 2);
}

#[test]
fn a_gap_in_the_log_is_refused_not_looped_on() {
    let Some(cluster) = Cluster::start(Mode::Fast) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (target, key_file) = init(&cluster, "gap", dir.path());
    let mut a = front_end(&target, &key_file, 50);
    let mut b = front_end(&target, &key_file, 51);
    publish(&mut a, &key(52), "first");
    publish(&mut a, &key(53), "second");
    cluster
        .connect("gap")
        .execute("DELETE FROM log WHERE idx = 0", &[])
        .expect("delete");
    // b catches up from 0: entry 0 is gone, which it says rather than waiting forever.
    let refused = b.by_name("second").expect_err("a gap");
    assert_eq!(refused.kind, keyserver::registry::RefusalKind::Internal);
    let err = Store::connect(
        &Location::Postgres(target),
        LogKey::File(key_file),
        &mut rng(54),
        SystemTime::now(),
    )
    .expect_err("refused at start");
    assert!(err.to_string().contains("entry 0 is missing"), "{err}");
}
