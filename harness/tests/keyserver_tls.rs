//! `keylab keyserver` over HTTPS with `keylab pki`-issued certificates: the client
//! commands with `--ca`, refusals of a server from another CA or for another name (kind
//! `tls`), curl and `openssl s_client` as clients nobody here wrote, and how `serve`
//! chooses between HTTPS and plain HTTP.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{Running, assert_fails, assert_mentions, assert_ok, run_with_input, text};

const LIMIT: Duration = Duration::from_secs(30);

/// A CA, a server certificate for `localhost` and `127.0.0.1` under it, one for another
/// name under it, and a second CA, all made by `keylab pki` in a directory of their own.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = Self { dir };
        pki.run(&["pki", "init", "--out", "ca"]);
        pki.run(&["pki", "init", "--out", "other-ca"]);
        for (names, out) in [
            ("localhost,127.0.0.1", "server"),
            ("elsewhere.example", "elsewhere"),
        ] {
            pki.run(&[
                "pki",
                "issue",
                "--ca-cert",
                "ca/ca.pem",
                "--ca-key",
                "ca/ca.key",
                "--server",
                names,
                "--out",
                out,
            ]);
        }
        pki
    }

    /// Runs a keylab command in the directory; it must succeed.
    fn run(&self, args: &[&str]) {
        let mut cmd = support::keylab();
        cmd.args(args).current_dir(self.dir.path());
        assert_ok(&run_with_input(cmd, b"", LIMIT));
    }

    /// The path of `name` in the directory, as text.
    fn file(&self, name: &str) -> String {
        path(&self.dir.path().join(name))
    }
}

fn path(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_owned()
}

/// `keylab keyserver serve` on 127.0.0.1:0 with the database `db` and `args` (the
/// transport); returns it, its address and the first lines it printed after `listening`.
fn serve(db: &Path, args: &[&str]) -> (Running, String, Vec<String>) {
    let mut cmd = support::keylab();
    cmd.args(["keyserver", "serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let (running, addr, rest) =
        support::start(cmd, |l| l.strip_prefix("listening on ").map(str::to_owned));
    // The channel starts with the `listening on` line itself.
    let more = (0..3)
        .map_while(|_| rest.recv_timeout(Duration::from_secs(10)).ok())
        .skip(1)
        .collect();
    (running, addr, more)
}

/// An HTTPS key server with the certificate `name` of `pki`; returns it and its address.
fn serve_tls(pki: &Pki, name: &str) -> (Running, String) {
    let db = pki.dir.path().join(format!("{name}.db"));
    let (cert, key) = (
        pki.file(&format!("{name}.pem")),
        pki.file(&format!("{name}.key")),
    );
    let (running, addr, lines) = serve(&db, &["--cert", &cert, "--key", &key]);
    assert!(
        lines
            .first()
            .is_some_and(|l| l.starts_with("serving HTTPS as CN=")),
        "{lines:?}"
    );
    (running, addr)
}

/// Runs keylab with `args`, `stdin` and `XDG_CONFIG_HOME` under `pki`'s directory.
fn keylab(pki: &Pki, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = support::keylab();
    cmd.args(args)
        .env("XDG_CONFIG_HOME", pki.dir.path().join("config"));
    run_with_input(cmd, stdin, LIMIT)
}

/// The JSON object a command printed on stdout.
#[track_caller]
fn json(o: &Output) -> Value {
    serde_json::from_str(&text(&o.stdout)).unwrap_or_else(|e| panic!("{e}: {}", text(&o.stdout)))
}

/// Writes a new Ed25519 key as `name` in `pki`'s directory.
fn new_key(pki: &Pki, name: &str) -> String {
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(7);
    let key = pki::PrivateKey::generate(pki::KeyType::Ed25519, &mut rng).expect("key");
    let file: PathBuf = pki.dir.path().join(name);
    std::fs::write(&file, key.to_pem().expect("pem").as_bytes()).expect("write key");
    path(&file)
}

#[test]
fn publish_fetch_audit_and_seal_over_https() {
    let pki = Pki::new();
    let (_server, addr) = serve_tls(&pki, "server");
    let ca = pki.file("ca/ca.pem");
    let alice = new_key(&pki, "alice.key");
    let port = addr.rsplit(':').next().expect("port");
    // By address and by name: the certificate holds both.
    for url in [
        format!("https://{addr}"),
        format!("https://localhost:{port}"),
    ] {
        let ks = |command: &str, args: &[&str]| {
            let all = [&["keyserver", command, "--server", &url, "--ca", &ca], args].concat();
            keylab(&pki, &all, b"")
        };
        let v = json(&ks(
            "publish",
            &["--key", &alice, "--name", "alice", "--json"],
        ));
        assert_eq!((&v["name"], &v["log_index"]), (&"alice".into(), &0.into()));
        let v = json(&ks("fetch", &["alice", "--json"]));
        assert_eq!(v["status"], "current");
        let v = json(&ks("audit", &["--json"]));
        assert_eq!((&v["tree_size"], &v["entries"]), (&1.into(), &1.into()));

        let seal = ["seal", "--to", "alice", "--server", &url, "--ca", &ca];
        let o = keylab(&pki, &seal, b"over keylab's TLS\n");
        assert!(o.status.success(), "{}", text(&o.stderr));
        let o = keylab(&pki, &["open", "--key", &alice], &o.stdout);
        assert_eq!(assert_ok(&o), "over keylab's TLS\n");
    }
}

#[test]
fn a_server_from_another_ca_or_for_another_name_is_refused_with_kind_tls() {
    let pki = Pki::new();
    let (_server, addr) = serve_tls(&pki, "server");
    let (_elsewhere, other_addr) = serve_tls(&pki, "elsewhere");
    let audit = |addr: &str, ca: &str| {
        let url = format!("https://{addr}");
        let args = ["keyserver", "audit", "--server", &url, "--ca", ca, "--json"];
        keylab(&pki, &args, b"")
    };
    for (o, url, reason) in [
        (
            audit(&addr, &pki.file("other-ca/ca.pem")),
            &addr,
            "unknown issuer",
        ),
        (
            audit(&other_addr, &pki.file("ca/ca.pem")),
            &other_addr,
            "name mismatch: expected 127.0.0.1",
        ),
    ] {
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        let error = &json(&o)["error"];
        assert_eq!(error["kind"], "tls", "{error}");
        let message = error["message"].as_str().expect("message");
        let alert = if reason == "unknown issuer" {
            "(alert unknown_ca sent)"
        } else {
            "(alert bad_certificate sent)"
        };
        assert_mentions(message, &[&format!("https://{url}/log/key"), reason, alert]);
    }
}

#[test]
fn the_url_and_ca_go_together() {
    let pki = Pki::new();
    let ca = pki.file("ca/ca.pem");
    let key = new_key(&pki, "k.key");
    let run = |server: &str, ca: Option<&str>| {
        let mut args = vec!["keyserver", "publish", "--server", server];
        args.extend(["--key", &key, "--name", "k"]);
        args.extend(ca.iter().flat_map(|ca| ["--ca", ca]));
        keylab(&pki, &args, b"")
    };
    let o = run("https://127.0.0.1:9", None);
    assert_fails(&o, 2, "https://127.0.0.1:9 is HTTPS: give --ca FILE");
    let o = run("http://127.0.0.1:9", Some(&ca));
    assert_fails(&o, 2, "--ca checks HTTPS servers");
    let seal = ["seal", "--to", "k", "--server", "https://127.0.0.1:9"];
    assert_fails(&keylab(&pki, &seal, b"x"), 2, "give --ca FILE");
}

/// An `http://` URL to a server that speaks HTTPS is told to use its `https://` URL.
#[test]
fn an_http_url_to_an_https_server_says_so() {
    let pki = Pki::new();
    let (_server, addr) = serve_tls(&pki, "server");
    let url = format!("http://{addr}");
    let o = keylab(&pki, &["keyserver", "audit", "--server", &url], b"");
    assert_fails(
        &o,
        2,
        "if the server speaks HTTPS, give its https:// URL and the CA that issued its \
         certificate (--ca)",
    );
}

/// Runs `program` with `args` within [`LIMIT`]; `None` when it is not installed.
fn external(program: &str, args: &[&str]) -> Option<Output> {
    support::external(program, args, LIMIT)
}

#[test]
fn curl_fetches_a_key_over_keylabs_tls() {
    let pki = Pki::new();
    let (_server, addr) = serve_tls(&pki, "server");
    let ca = pki.file("ca/ca.pem");
    let alice = new_key(&pki, "alice.key");
    let url = format!("https://{addr}");
    let publish = ["keyserver", "publish", "--server", &url, "--ca", &ca];
    assert_ok(&keylab(
        &pki,
        &[&publish[..], &["--key", &alice, "--name", "alice"]].concat(),
        b"",
    ));
    let lookup = format!("{url}/pks/lookup?op=get&search=alice");
    let fetched = keylab(
        &pki,
        &["keyserver", "fetch", "--server", &url, "--ca", &ca, "alice"],
        b"",
    );
    let pem = assert_ok(&fetched);
    let base = ["--silent", "--show-error", "--max-time", "10"];
    let Some(o) = external("curl", &[&base[..], &["--cacert", &ca, &lookup]].concat()) else {
        return;
    };
    assert!(o.status.success(), "curl: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), pem);
    // Without the CA, curl does not trust the server either.
    let o = external("curl", &[&base[..], &[&lookup[..]]].concat()).expect("curl");
    assert!(
        !o.status.success(),
        "curl trusted the server: {}",
        text(&o.stdout)
    );
}

#[test]
fn openssl_s_client_sees_tls_1_3_and_the_suite() {
    if !support::have_openssl() {
        return;
    }
    let pki = Pki::new();
    let (_server, addr) = serve_tls(&pki, "server");
    let ca = pki.file("ca/ca.pem");
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &addr, "-CAfile", &ca])
        .args(["-brief", "-verify_return_error"]);
    let o = run_with_input(cmd, b"", LIMIT);
    let said = text(&o.stderr) + &text(&o.stdout);
    assert!(o.status.success(), "{said}");
    assert_mentions(
        &said,
        &[
            "Protocol version: TLSv1.3",
            "Ciphersuite: TLS_",
            "Peer certificate: CN = localhost",
            "Verification: OK",
        ],
    );
}

#[test]
fn serve_asks_for_https_or_an_explicit_insecure_http() {
    let pki = Pki::new();
    let db = pki.dir.path().join("keys.db");
    let db_file = path(&db);
    let base = [
        "keyserver",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        &db_file,
    ];
    let o = keylab(&pki, &base, b"");
    assert_fails(&o, 2, "give --cert FILE --key FILE to serve HTTPS");
    assert!(
        text(&o.stderr).contains("or --insecure-http"),
        "{}",
        text(&o.stderr)
    );
    assert!(!db.exists(), "a refused serve created its database");

    let (cert, key) = (pki.file("server.pem"), pki.file("server.key"));
    let both = ["--insecure-http", "--cert", &cert, "--key", &key];
    let o = keylab(&pki, &[&base[..], &both[..]].concat(), b"");
    assert_fails(&o, 2, "cannot be used with");

    let (mut running, addr, lines) = serve(&db, &["--insecure-http"]);
    assert_eq!(
        lines.first().map(String::as_str),
        Some("serving plain HTTP")
    );
    let stderr = support::lines(running.stderr.take().expect("stderr"));
    let warning = stderr
        .recv_timeout(Duration::from_secs(10))
        .expect("a warning");
    assert_mentions(&warning, &["WARNING", "plain HTTP", "--insecure-http"]);
    // Plain HTTP serves, to http:// URLs without --ca.
    let url = format!("http://{addr}");
    let o = keylab(&pki, &["keyserver", "audit", "--server", &url], b"");
    assert!(assert_ok(&o).contains("tree size 0: first audit"));
}
