//! `keylab keyserver ...`, `keylab seal` and `keylab open` as a user runs them, and the
//! crash test: `kill -9` of the server in the middle of a stream of writes loses no
//! acknowledged key.

mod support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyserver::client::Client;
use keyserver::verify_answer;
use pki::{KeyType, PrivateKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use serde_json::Value;
use support::{Running, assert_fails, assert_ok, run_with_input, start_listening, text};

const LIMIT: Duration = Duration::from_secs(30);

/// Runs keylab with `stdin` and `XDG_CONFIG_HOME=config`, within [`LIMIT`].
fn keylab(args: &[&str], stdin: &[u8], config: &Path) -> Output {
    let mut cmd = support::keylab();
    cmd.args(args).env("XDG_CONFIG_HOME", config);
    run_with_input(cmd, stdin, LIMIT)
}

/// Starts `keylab keyserver serve --insecure-http` on 127.0.0.1:0 with the database `db`
/// (HTTPS is tested in `keyserver_tls.rs`).
fn serve(db: &Path) -> (Running, String) {
    let mut cmd = support::keylab();
    cmd.args([
        "keyserver",
        "serve",
        "--insecure-http",
        "--listen",
        "127.0.0.1:0",
    ])
    .arg("--db")
    .arg(db)
    .stdin(Stdio::null())
    .stderr(Stdio::null());
    let (running, addr) = start_listening(cmd);
    (running, format!("http://{addr}"))
}

/// `keylab keyserver COMMAND --server URL ARGS...` with `XDG_CONFIG_HOME=config`.
fn keyserver(config: &Path, command: &str, url: &str, args: &[&str]) -> Output {
    let all = [&["keyserver", command, "--server", url][..], args].concat();
    keylab(&all, b"", config)
}

/// The arguments of `keylab keyserver publish` for `key`, as `a`.
fn publish_args<'a>(server: &'a str, key: &'a str) -> Vec<&'a str> {
    vec![
        "keyserver",
        "publish",
        "--server",
        server,
        "--key",
        key,
        "--name",
        "a",
    ]
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn seeded_key(seed: u64) -> PrivateKey {
    PrivateKey::generate(KeyType::Ed25519, &mut ChaCha20Rng::seed_from_u64(seed)).expect("key")
}

fn write_key(dir: &Path, name: &str, seed: u64) -> (String, PrivateKey) {
    let key = seeded_key(seed);
    let file = dir.join(name);
    std::fs::write(&file, key.to_pem().expect("pem").as_bytes()).expect("write key");
    (path(&file).to_owned(), key)
}

#[test]
fn publish_fetch_seal_open_rotate_revoke_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    let (_server, url) = serve(&dir.path().join("keys.db"));
    let (alice_file, alice) = write_key(dir.path(), "alice.key", 1);
    let (next_file, next) = write_key(dir.path(), "next.key", 2);
    let run = |args: &[&str], stdin: &[u8]| keylab(args, stdin, &config);
    let ks = |command: &str, args: &[&str]| keyserver(&config, command, &url, args);

    let o = ks("publish", &["--key", &alice_file, "--name", " Alice "]);
    let out = assert_ok(&o);
    let fpr = alice.public_key().fingerprint();
    assert!(
        out.starts_with(&format!(
            "published alice key {fpr} (log entry 0, tree size 1)"
        )),
        "{out}"
    );
    assert!(
        text(&o.stderr).contains("on first use"),
        "{}",
        text(&o.stderr)
    );
    // The state went to $XDG_CONFIG_HOME/keylab/keyserver/.
    let host = url.trim_start_matches("http://").replace(':', "_");
    let state = config.join(format!("keylab/keyserver/{host}.state"));
    assert!(state.exists(), "{}", state.display());

    // Someone else's key for the taken name: refused by the server (exit 2), nothing on
    // stdout.
    let o = ks("publish", &["--key", &next_file, "--name", "alice"]);
    assert_fails(&o, 2, "409: the name \"alice\" is taken by key");

    let o = ks("fetch", &["ALICE"]);
    assert_eq!(assert_ok(&o), alice.public_key().to_pem());
    let o = ks("fetch", &[&fpr]);
    assert_eq!(assert_ok(&o), alice.public_key().to_pem());

    let message = b"the eagle lands at noon\n";
    let o = run(&["seal", "--to", "alice", "--server", &url], message);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let sealed = o.stdout;
    assert!(sealed.starts_with(b"KLSEALED\x01"));
    assert_eq!(sealed.len(), 73 + message.len() + 16);
    let o = run(&["open", "--key", &alice_file], &sealed);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(o.stdout, message);
    let o = run(&["open", "--key", &next_file], &sealed);
    assert_fails(&o, 1, "is sealed to key");
    let mut altered = sealed.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    let o = run(&["open", "--key", &alice_file], &altered);
    assert_fails(&o, 1, "decryption failed");
    let o = run(&["open", "--key", &alice_file], b"not sealed");
    assert_fails(&o, 2, "not a keylab sealed message");

    let o = ks("audit", &[]);
    let out = assert_ok(&o);
    assert!(
        out.contains("(pinned)") && out.contains("tree size 1: unchanged"),
        "{out}"
    );

    let o = ks(
        "rotate",
        &[
            "--key",
            &alice_file,
            "--new-key",
            &next_file,
            "--name",
            "alice",
        ],
    );
    assert!(assert_ok(&o).starts_with("rotated alice from key"));
    let o = ks("fetch", &["alice"]);
    assert_eq!(assert_ok(&o), next.public_key().to_pem());
    let o = ks("fetch", &[&fpr]);
    assert_fails(&o, 1, "is superseded (log entry 1)");

    let o = ks("revoke", &["--key", &next_file]);
    assert!(assert_ok(&o).starts_with("revoked alice key"));
    let o = run(&["seal", "--to", "alice", "--server", &url], b"x");
    assert_fails(&o, 1, "is revoked (log entry 2)");

    let o = ks("audit", &[]);
    let out = assert_ok(&o);
    assert!(out.contains("tree size 3: unchanged"), "{out}");
    assert!(out.contains("entries replayed: 3, 1 names"), "{out}");
    let other_state = dir.path().join("fresh.state");
    let o = ks("audit", &["--state", path(&other_state)]);
    let out = assert_ok(&o);
    assert!(out.contains("(trusted on first use)") && out.contains("tree size 3: first audit"));

    // A state file whose head was replaced by one the log never had.
    let saved = std::fs::read_to_string(&state).expect("state");
    let forged = saved.replace("tree-size: 3", "tree-size: 2");
    std::fs::write(&state, forged).expect("write");
    let o = ks("audit", &[]);
    assert_fails(&o, 2, "is not signed by its log key");
}

/// A server restored from an old copy of its database (same log key) shows a smaller,
/// consistent log: the audit refuses it, since acknowledged entries were lost or hidden.
#[test]
fn a_rolled_back_server_fails_the_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    let state = dir.path().join("audit.state");
    let db = dir.path().join("keys.db");
    let copy = dir.path().join("copy.db");
    let publish = |url: &str, name: &str, seed: u64| {
        let (file, _) = write_key(dir.path(), name, seed);
        let args = ["--key", &file, "--name", name, "--state", path(&state)];
        assert_ok(&keyserver(&config, "publish", url, &args));
    };
    let audit = |url: &str| keyserver(&config, "audit", url, &["--state", path(&state)]);
    {
        let (_server, url) = serve(&db);
        publish(&url, "alice", 11);
        // A backup of the log with one entry.
        for suffix in ["", "-wal", ".log-key.pem"] {
            let from = format!("{}{suffix}", path(&db));
            if Path::new(&from).exists() {
                std::fs::copy(&from, format!("{}{suffix}", path(&copy))).expect("copy");
            }
        }
        publish(&url, "bob", 12);
        assert!(assert_ok(&audit(&url)).contains("tree size 2"));
    }
    let (_server, url) = serve(&copy);
    // The same pinned state, pointed at the restored server.
    let saved = std::fs::read_to_string(&state).expect("state");
    let old_url = saved
        .lines()
        .find_map(|l| l.strip_prefix("server: "))
        .expect("server line")
        .to_owned();
    std::fs::write(&state, saved.replace(&old_url, &url)).expect("write");
    assert_fails(&audit(&url), 1, "older than the one of size 2 seen before");
}

#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    let run = |args: &[&str]| keylab(args, b"", &config);
    let (key_file, _) = write_key(dir.path(), "k.key", 3);
    let rsa = dir.path().join("rsa.key");
    std::fs::write(&rsa, fixtures::RSA.client_key).expect("write");
    let url = "http://127.0.0.1:9";
    let cases: [(Vec<&str>, &str); 5] = [
        (
            publish_args("localhost:1", &key_file),
            "expected https://HOST:PORT (or http://HOST:PORT)",
        ),
        (
            publish_args(url, "/nonexistent.key"),
            "reading /nonexistent.key",
        ),
        (publish_args(url, path(&rsa)), "Ed25519 keys only"),
        (vec!["open", "--key", path(&rsa)], "Ed25519 keys only"),
        (
            vec![
                "keyserver",
                "serve",
                "--insecure-http",
                "--listen",
                "127.0.0.1:0",
                "--db",
                "/nonexistent/dir/k.db",
            ],
            "/nonexistent/dir/k.db",
        ),
    ];
    for (args, message) in cases {
        assert_fails(&run(&args), 2, message);
    }
    // A server that is not there: a network failure (exit 2), with the address.
    let o = run(&["keyserver", "audit", "--server", url]);
    assert_fails(&o, 2, "http://127.0.0.1:9/log/key: unreachable");
}

/// Publishes keys from several threads while the server is killed with SIGKILL; after a
/// restart on the same database every key whose publish was acknowledged is there.
#[test]
fn kill_9_during_writes_keeps_every_acknowledged_key() {
    const WRITERS: u64 = 4;
    const MAX_EACH: u64 = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("keys.db");
    let (mut server, url) = serve(&db);
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (url, acked, stop) = (url.clone(), Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                let client = Client::new(&url, Duration::from_secs(5));
                let mut failures = 0;
                for i in 0..MAX_EACH {
                    if stop.load(Ordering::Relaxed) || failures >= 3 {
                        break;
                    }
                    let seed = 10_000 + w * MAX_EACH + i;
                    let key = seeded_key(seed);
                    let name = format!("w{w}-{i}");
                    match client.publish(&key, &name) {
                        Ok(_) => acked
                            .lock()
                            .expect("lock")
                            .push((name, key.public_key().fingerprint())),
                        Err(_) => failures += 1,
                    }
                }
            })
        })
        .collect();
    // Kill once a good number of writes were acknowledged, with more in flight.
    let start = Instant::now();
    while acked.lock().expect("lock").len() < 40 && start.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    let at_kill = acked.lock().expect("lock").len();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        at_kill >= 40,
        "only {at_kill} writes acknowledged in {LIMIT:?}"
    );

    let (_server, url) = serve(&db);
    let client = Client::new(&url, Duration::from_secs(10));
    let log_key = client.log_key().expect("log key");
    let head = client.head().expect("head");
    assert!(head.verify(&log_key));
    assert!(
        head.tree_size >= acked.len() as u64,
        "{} entries for {} acknowledged keys",
        head.tree_size,
        acked.len()
    );
    eprintln!(
        "{at_kill} publishes acknowledged at the kill, {} in all; {} log entries after restart",
        acked.len(),
        head.tree_size
    );
    for (name, fpr) in &acked {
        let answer = client.lookup(name).expect("acknowledged key is there");
        assert_eq!(&answer.fingerprint, fpr, "{name}");
        verify_answer(&answer, &log_key).expect("verifies");
    }
}

/// The JSON object a command printed on stdout.
#[track_caller]
fn json(o: &Output) -> Value {
    serde_json::from_str(&text(&o.stdout)).unwrap_or_else(|e| panic!("{e}: {}", text(&o.stdout)))
}

#[test]
fn publish_fetch_and_audit_print_json_and_errors_have_their_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    let (_server, url) = serve(&dir.path().join("keys.db"));
    let (alice_file, alice) = write_key(dir.path(), "alice.key", 21);
    let ks = |command: &str, args: &[&str]| keyserver(&config, command, &url, args);
    let fpr = alice.public_key().fingerprint();

    let publish = ["--key", &alice_file, "--name", "alice", "--json"];
    let v = json(&ks("publish", &publish));
    assert_eq!(v["created"], true);
    assert_eq!(
        (&v["name"], &v["fingerprint"]),
        (&"alice".into(), &fpr.clone().into())
    );
    assert_eq!((&v["log_index"], &v["tree_size"]), (&0.into(), &1.into()));
    assert_eq!(json(&ks("publish", &publish))["created"], false);

    let v = json(&ks("fetch", &["alice", "--json"]));
    assert_eq!(v["status"], "current");
    assert_eq!(v["fingerprint"], fpr.as_str());
    assert_eq!(v["public_key"], alice.public_key().to_pem().as_str());

    let v = json(&ks("audit", &["--json"]));
    assert_eq!(
        (&v["tree_size"], &v["previous_size"]),
        (&1.into(), &1.into())
    );
    assert_eq!((&v["entries"], &v["names"]), (&1.into(), &1.into()));
    assert_eq!(v["first_use"], false);

    // The key server says no: a service failure, exit 2, the error as JSON on stdout.
    let o = ks("fetch", &["bob", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&o)["error"]["kind"], "service");
    assert!(text(&o.stderr).contains("404"), "{}", text(&o.stderr));
    // Nobody there: a network failure.
    let o = keyserver(&config, "audit", "http://127.0.0.1:9", &["--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&o)["error"]["kind"], "network");
}

#[test]
fn seal_to_a_local_key_and_open_files_or_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let config = d.join("config");
    let run = |args: &[&str], stdin: &[u8]| keylab(args, stdin, &config);
    let (key_file, key) = write_key(d, "bob.key", 31);
    let public = d.join("bob.pub");
    std::fs::write(&public, key.public_key().to_pem()).expect("write");
    let message = d.join("message.txt");
    std::fs::write(&message, b"meet at the usual place\n").expect("write");

    // A file in, the sealed message on stdout; no key server anywhere.
    let o = run(&["seal", "--to-key", path(&public), path(&message)], b"");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let sealed = d.join("message.sealed");
    std::fs::write(&sealed, &o.stdout).expect("write");
    let o = run(&["open", "--key", &key_file, path(&sealed)], b"");
    assert_eq!(assert_ok(&o), "meet at the usual place\n");
    // `-` and no file both mean standard input.
    let o = run(&["seal", "--to-key", path(&public), "-"], b"from stdin");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        assert_ok(&run(&["open", "--key", &key_file], &o.stdout)),
        "from stdin"
    );
    let o = run(&["seal", "--to-key", path(&public)], b"no file");
    assert_eq!(
        assert_ok(&run(&["open", "--key", &key_file, "-"], &o.stdout)),
        "no file"
    );

    // A private key, an RSA key, a server as well: refused with what to do.
    let o = run(&["seal", "--to-key", &key_file, path(&message)], b"");
    assert_fails(&o, 2, "holds a private key; seal to its public key");
    let rsa = d.join("rsa.pub");
    let rsa_key = PrivateKey::from_pem(fixtures::RSA.client_key).expect("rsa");
    std::fs::write(&rsa, rsa_key.public_key().to_pem()).expect("write");
    let o = run(&["seal", "--to-key", path(&rsa), path(&message)], b"");
    assert_fails(&o, 2, "sealing takes Ed25519 keys only");
    let both = [
        "seal",
        "--to-key",
        path(&public),
        "--server",
        "http://127.0.0.1:9",
    ];
    assert_fails(&run(&both, b""), 2, "cannot be used with");
    assert_fails(
        &run(&["seal", path(&message)], b""),
        2,
        "--to <NAME>|--to-key <FILE>",
    );
    let o = run(&["open", "--key", &key_file, path(&message)], b"");
    assert_fails(&o, 2, "message.txt: not a keylab sealed message");
}

#[test]
fn a_database_in_use_is_named_once_with_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("keys.db");
    let (_server, _) = serve(&db);
    let serve_args = [
        "keyserver",
        "serve",
        "--insecure-http",
        "--listen",
        "127.0.0.1:0",
        "--db",
        path(&db),
    ];
    let o = keylab(&serve_args, b"", dir.path());
    assert_fails(
        &o,
        2,
        "the database is in use by another key server: stop that server first",
    );
    assert_eq!(
        text(&o.stderr).matches("keys.db").count(),
        1,
        "{}",
        text(&o.stderr)
    );
}
