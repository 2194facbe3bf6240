//! `keylab keyserver init | serve | migrate` on PostgreSQL as a user runs them, and the
//! failure test: three front-end processes on one database under concurrent publishers,
//! one killed with `kill -9` and the database restarted during the stream, lose no
//! acknowledged key, give every name to one key, and leave a log that replays.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use keyserver::client::{Client, ClientError};
use keyserver::merkle::verify_consistency;
use keyserver::{Status, TreeHead, verify_answer};
use pki::{KeyType, PrivateKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use sharing::client::{self as share_client, Client as ShareClient};
use sharing::server::ShareServer;
use support::{Running, assert_fails, assert_ok, run_with_timeout, start_listening, text};
use testpg::{Cluster, Mode};

const LIMIT: Duration = Duration::from_secs(60);

/// keylab with the cluster's password in PGPASSWORD (never on the command line).
fn keylab(cluster: &Cluster, args: &[&str]) -> Command {
    let mut cmd = support::keylab();
    cmd.args(args)
        .env("PGPASSWORD", cluster.password())
        .env_remove("PGPASSFILE");
    cmd
}

/// `keylab keyserver migrate --from FROM --to TO`.
fn migrate(cluster: &Cluster, from: &str, to: &str) -> Output {
    run(
        cluster,
        &["keyserver", "migrate", "--from", from, "--to", to],
    )
}

fn run(cluster: &Cluster, args: &[&str]) -> Output {
    run_with_timeout(keylab(cluster, args), None, LIMIT)
}

/// A front end on `url` with the log key `key_file`, over plain HTTP.
fn front_end(cluster: &Cluster, url: &str, key_file: &Path) -> (Running, String) {
    front_end_on(cluster, url, key_file, "127.0.0.1:0")
}

/// A front end listening on `listen`.
fn front_end_on(cluster: &Cluster, url: &str, key_file: &Path, listen: &str) -> (Running, String) {
    let mut cmd = keylab(
        cluster,
        &["keyserver", "serve", "--insecure-http", "--listen", listen],
    );
    cmd.args(["--db", url])
        .arg("--log-key")
        .arg(key_file)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let (running, addr) = start_listening(cmd);
    (running, format!("http://{addr}"))
}

fn key(seed: u64) -> PrivateKey {
    PrivateKey::generate(KeyType::Ed25519, &mut ChaCha20Rng::seed_from_u64(seed)).expect("key")
}

#[test]
fn init_serve_and_migrate_on_the_command_line() {
    let Some(cluster) = Cluster::start(Mode::Fast) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = cluster.create_database("cli");
    let key_file = dir.path().join("log-key.pem");
    let key_arg = key_file.to_str().expect("utf-8");

    // A password in the URL, a SQLite file for init, a PostgreSQL log without its key.
    let with_password = url.replace("keylab@", "keylab:secret@");
    let o = run(
        &cluster,
        &[
            "keyserver",
            "init",
            "--db",
            &with_password,
            "--log-key",
            key_arg,
        ],
    );
    assert_fails(&o, 2, "PGPASSWORD or ~/.pgpass");
    let o = run(
        &cluster,
        &["keyserver", "init", "--db", "keys.db", "--log-key", key_arg],
    );
    assert_fails(&o, 2, "init is for PostgreSQL");
    let o = run(
        &cluster,
        &[
            "keyserver",
            "serve",
            "--insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &url,
        ],
    );
    assert_fails(&o, 2, "give --log-key FILE");
    // Serving before init says what to do.
    let o = run(
        &cluster,
        &[
            "keyserver",
            "serve",
            "--insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &url,
            "--log-key",
            key_arg,
        ],
    );
    assert_fails(&o, 2, "create it with `keylab keyserver init`");

    let o = run(
        &cluster,
        &["keyserver", "init", "--db", &url, "--log-key", key_arg],
    );
    let out = assert_ok(&o);
    assert!(out.contains(", 0 entries"), "{out}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file)
            .expect("key file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // A wrong password: the database's refusal, named.
    let mut cmd = keylab(
        &cluster,
        &["keyserver", "init", "--db", &url, "--log-key", key_arg],
    );
    cmd.env("PGPASSWORD", "wrong");
    let o = run_with_timeout(cmd, None, LIMIT);
    assert_fails(&o, 2, "password authentication failed");

    // ~/.pgpass instead of PGPASSWORD: used when private, ignored (with a warning) when not.
    let home = tempfile::tempdir().expect("home");
    let pgpass = home.path().join(".pgpass");
    let line = format!(
        "127.0.0.1:{}:*:{}:{}\n",
        cluster.port(),
        testpg::USER,
        cluster.password()
    );
    std::fs::write(&pgpass, line).expect("pgpass");
    let pgpass_run = |mode: u32| {
        std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .expect("chmod");
        let mut cmd = keylab(
            &cluster,
            &["keyserver", "init", "--db", &url, "--log-key", key_arg],
        );
        cmd.env_remove("PGPASSWORD").env("HOME", home.path());
        run_with_timeout(cmd, None, LIMIT)
    };
    assert_ok(&pgpass_run(0o600));
    let o = pgpass_run(0o644);
    assert_fails(&o, 2, "password missing");
    assert!(text(&o.stderr).contains(".pgpass: ignored: group or others may read it"));

    // A SQLite key server with a few keys moves over; the client's pinned state carries on.
    let sqlite = dir.path().join("keys.db");
    let config = dir.path().join("config");
    let (server, http) = {
        let mut cmd = support::keylab();
        cmd.args([
            "keyserver",
            "serve",
            "--insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(&sqlite)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
        start_listening(cmd)
    };
    let http = format!("http://{http}");
    let client = Client::new(&http, LIMIT);
    for i in 0..3 {
        client
            .publish(&key(100 + i), &format!("moved{i}"))
            .expect("publish");
    }
    let audit = |url: &str| {
        let mut cmd = support::keylab();
        cmd.args(["keyserver", "audit", "--server", url, "--json"])
            .env("XDG_CONFIG_HOME", &config);
        run_with_timeout(cmd, None, LIMIT)
    };
    assert_ok(&audit(&http));
    drop(server);
    let target = cluster.create_database("moved");
    let o = migrate(&cluster, sqlite.to_str().expect("utf-8"), &target);
    let out = assert_ok(&o);
    assert!(
        out.contains("moved 3 entries, 3 keys and 4 signed heads"),
        "{out}"
    );
    let moved_key = format!("{}.log-key.pem", sqlite.display());
    // The front end takes the SQLite server's address: its clients' pinned state (log
    // key and last head) carries on.
    let listen = http.trim_start_matches("http://").to_owned();
    let (_pg, pg_url) = front_end_on(&cluster, &target, Path::new(&moved_key), &listen);
    assert_eq!(pg_url, http);
    let o = audit(&pg_url);
    let report = assert_ok(&o);
    assert!(report.contains("\"tree_size\":3"), "{report}");
    let o = migrate(&cluster, sqlite.to_str().expect("utf-8"), &target);
    assert_fails(&o, 2, "already holds a log");

    // A SQLite file that is not a key server's: refused, and left as it was.
    let other = dir.path().join("app.sqlite");
    let conn = other_app_db(&other);
    drop(conn);
    let before = std::fs::read(&other).expect("read");
    let empty = cluster.create_database("untouched");
    let o = migrate(&cluster, other.to_str().expect("utf-8"), &empty);
    assert_fails(&o, 2, "not a keylab key server database");
    assert_eq!(std::fs::read(&other).expect("read"), before);
    assert!(!Path::new(&format!("{}.log-key.pem", other.display())).exists());
    // --log-key with a SQLite file that does not exist starts no second log.
    let o = run(
        &cluster,
        &[
            "keyserver",
            "serve",
            "--insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--db",
            "postgresql:keys",
            "--log-key",
            key_arg,
        ],
    );
    assert_fails(&o, 2, "is not a PostgreSQL URL");
    let o = run(
        &cluster,
        &[
            "keyserver",
            "serve",
            "--insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--db",
            dir.path().join("new.db").to_str().expect("utf-8"),
            "--log-key",
            key_arg,
        ],
    );
    assert_fails(&o, 2, "no such SQLite database");
}

/// What the publishers saw.
#[derive(Default)]
struct Seen {
    acked: BTreeMap<String, String>,
    winners: BTreeMap<String, Vec<String>>,
    heads: Vec<TreeHead>,
    retries: usize,
}

/// Publishes `count` keys, starting at front end `home` and moving on to the next one
/// when a front end is gone or answers 503; a 409 for a raced name is the expected loss.
fn publisher(
    urls: &[String],
    home: usize,
    id: u64,
    count: u64,
    seen: &Mutex<Seen>,
    done: &AtomicUsize,
) {
    let clients: Vec<Client> = urls
        .iter()
        .map(|u| Client::new(u, Duration::from_secs(10)))
        .collect();
    for i in 0..count {
        let racing = i % 5 == 0;
        let name = if racing {
            format!("race-{}", i / 5)
        } else {
            format!("p{id}-{i}")
        };
        let key = key(10_000 + id * 1_000 + i);
        let deadline = Instant::now() + Duration::from_secs(45);
        let mut at = home;
        loop {
            match clients[at].publish(&key, &name) {
                Ok((_, answer)) => {
                    let mut seen = seen.lock().expect("lock");
                    let fpr = key.public_key().fingerprint();
                    seen.acked.insert(fpr, name.clone());
                    let winners = seen.winners.entry(name.clone()).or_default();
                    if !winners.contains(&answer.fingerprint) {
                        winners.push(answer.fingerprint.clone());
                    }
                    seen.heads
                        .push(TreeHead::try_from(&answer.tree_head).expect("head"));
                    break;
                }
                Err(ClientError::Status { status: 409, .. }) if racing => break,
                Err(e) if retryable(&e) && Instant::now() < deadline => {
                    seen.lock().expect("lock").retries += 1;
                    at = (at + 1) % clients.len();
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("publisher {id}: {name}: {e}"),
            }
        }
        done.fetch_add(1, Ordering::SeqCst);
    }
}

fn retryable(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Unreachable { .. } | ClientError::Status { status: 503, .. }
    )
}

fn wait_until(done: &AtomicUsize, count: usize) {
    let deadline = Instant::now() + LIMIT;
    while done.load(Ordering::SeqCst) < count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn front_ends_lose_nothing_to_kill_9_or_a_database_restart() {
    let Some(cluster) = Cluster::start(Mode::Fast) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = cluster.create_database("stream");
    let key_file = dir.path().join("log-key.pem");
    assert_ok(&run(
        &cluster,
        &[
            "keyserver",
            "init",
            "--db",
            &url,
            "--log-key",
            key_file.to_str().expect("utf-8"),
        ],
    ));
    let mut front_ends: Vec<Option<Running>> = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..3 {
        let (running, http) = front_end(&cluster, &url, &key_file);
        front_ends.push(Some(running));
        urls.push(http);
    }
    let seen = Mutex::new(Seen::default());
    let done = AtomicUsize::new(0);
    // 3 front ends x 8 publishers x 17 keys = 408 publishes, some racing for names.
    let total = 3 * 8 * 17;
    std::thread::scope(|scope| {
        for home in 0..3 {
            for p in 0..8u64 {
                let (urls, seen, done) = (&urls, &seen, &done);
                scope.spawn(move || publisher(urls, home, home as u64 * 8 + p, 17, seen, done));
            }
        }
        wait_until(&done, total / 3);
        let mut killed = front_ends[0].take().expect("running");
        killed.child.kill().expect("SIGKILL");
        let _ = killed.child.wait();
        // A front end starting while the others append passes its start-up checks.
        let (_joined, _) = front_end(&cluster, &url, &key_file);
        wait_until(&done, total / 2);
        cluster.stop_server();
        std::thread::sleep(Duration::from_millis(500));
        cluster.start_server();
    });
    let mut seen = seen.into_inner().expect("lock");
    eprintln!(
        "{} keys acknowledged, {} retries",
        seen.acked.len(),
        seen.retries
    );
    assert!(
        seen.retries > 0,
        "neither the kill nor the restart was noticed"
    );
    for (name, winners) in &seen.winners {
        assert_eq!(winners.len(), 1, "{name} went to {winners:?}");
    }
    // A new front end checks the whole log at start (replay, root, key index): no
    // half-appended entry survived the kill.
    let (_fresh, fresh_url) = front_end(&cluster, &url, &key_file);
    let clients: Vec<Client> = [&urls[1], &urls[2], &fresh_url]
        .iter()
        .map(|u| Client::new(u, LIMIT))
        .collect();
    let log_key = clients[0].log_key().expect("log key");
    for client in &clients {
        for (fpr, name) in &seen.acked {
            let answer = client.by_fingerprint(fpr).expect("acknowledged key found");
            let verified = verify_answer(&answer, &log_key).expect("verifies");
            assert_eq!((&verified.name, verified.status), (name, Status::Current));
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
    seen.heads.sort_by_key(|h| (h.tree_size, h.timestamp_ms));
    seen.heads.dedup();
    for pair in seen.heads.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_ne!(a.tree_size, b.tree_size, "two heads of one size: a fork");
        let proof = clients[0]
            .consistency(a.tree_size, b.tree_size)
            .expect("proof");
        assert!(verify_consistency(
            a.tree_size,
            b.tree_size,
            &a.root,
            &b.root,
            &proof
        ));
    }
    let mut cmd = support::keylab();
    cmd.args(["keyserver", "audit", "--server", &urls[2]])
        .env("XDG_CONFIG_HOME", dir.path().join("config"));
    let o = run_with_timeout(cmd, None, LIMIT);
    assert!(o.status.success(), "audit: {}", text(&o.stderr));
}

#[test]
fn a_front_end_rebuilds_the_log_key_from_share_servers() {
    let Some(cluster) = Cluster::start(Mode::Fast) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = cluster.create_database("shared_key");
    let key_file = dir.path().join("log-key.pem");
    let key_arg = key_file.to_str().expect("utf-8");
    assert_ok(&run(
        &cluster,
        &["keyserver", "init", "--db", &url, "--log-key", key_arg],
    ));
    // The log key goes to 3 share servers (2 needed) and its file away.
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let servers: Vec<ShareServer> = dirs
        .iter()
        .map(|d| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            ShareServer::start(listener, d.path(), None).expect("share server")
        })
        .collect();
    let clients: Vec<ShareClient> = servers
        .iter()
        .map(|s| ShareClient::new(&s.url(), None, Duration::from_secs(5)))
        .collect();
    let pem = std::fs::read(&key_file).expect("key");
    let shares = sharing::split(&pem, 2, 3, &mut ChaCha20Rng::seed_from_u64(9)).expect("split");
    share_client::store(&clients, &shares).expect("store");
    std::fs::remove_file(&key_file).expect("remove the key file");
    let urls: Vec<String> = servers.iter().map(ShareServer::url).collect();
    let id = shares[0].split_id().to_string();
    // One share server down: 2 of 3 suffice.
    let mut servers = servers;
    drop(servers.remove(0));
    let mut cmd = keylab(
        &cluster,
        &[
            "keyserver",
            "serve",
            "--insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &url,
            "--log-key-shares",
            &urls.join(","),
            "--log-key-split-id",
            &id,
        ],
    );
    cmd.stdin(Stdio::null()).stderr(Stdio::null());
    let (running, addr, rest) =
        support::start(cmd, |l| l.strip_prefix("listening on ").map(str::to_owned));
    let log_line = rest
        .iter()
        .find(|l| l.starts_with("log key "))
        .expect("log key line");
    assert!(
        log_line.contains(&format!(
            "(rebuilt from split {id} on the share servers), 0 entries"
        )),
        "{log_line}"
    );
    let client = Client::new(&format!("http://{addr}"), LIMIT);
    client.publish(&key(7), "from-shares").expect("publish");
    drop(running);
    // A split of another key is not the log's.
    let other = key(8).to_pem().expect("pem");
    let shares =
        sharing::split(other.as_bytes(), 2, 3, &mut ChaCha20Rng::seed_from_u64(10)).expect("split");
    share_client::store(&clients[1..], &shares[1..]).expect("store");
    let o = run(
        &cluster,
        &[
            "keyserver",
            "serve",
            "--insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &url,
            "--log-key-shares",
            &urls[1..].join(","),
            "--log-key-split-id",
            &shares[0].split_id().to_string(),
        ],
    );
    assert_fails(&o, 2, "it is not the log's key");
}

/// Someone else's SQLite database: a table of its own, in rollback-journal mode.
fn other_app_db(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ann');")
        .expect("fill");
    conn
}
