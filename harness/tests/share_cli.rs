//! `keylab share split | combine | serve` and `keylab server --key-shares` as a user runs
//! them: files, servers, exit codes, nothing on stdout unless combine succeeds.

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;
use sharing::client::{self, Client};
use sharing::server::ShareServer;
use support::{
    Running, assert_fails, ed25519, keylab_client, keylab_server, run_with_input, start_listening,
    text,
};

const LIMIT: Duration = Duration::from_secs(30);
const KEY: &str = fixtures::ED25519.server_key;

/// Runs keylab with `stdin` (closed at once, so `split` sees EOF), within [`LIMIT`].
fn keylab(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = support::keylab();
    cmd.args(args);
    run_with_input(cmd, stdin.unwrap_or_default(), LIMIT)
}

/// `keylab share split -m 2 --servers URLS ARGS...` of [`KEY`].
fn split_to_servers(urls: &str, args: &[&str]) -> Output {
    let split = ["share", "split", "-m", "2", "--servers", urls];
    keylab(&[&split[..], args].concat(), Some(KEY.as_bytes()))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn split_to_files_then_combine_any_three() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("shares");
    let o = keylab(
        &["share", "split", "-m", "3", "-n", "5", "--out", path(&out)],
        Some(KEY.as_bytes()),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Status lines on stderr; the split id (the data) on stdout.
    assert!(text(&o.stderr).contains("wrote "), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("share-5.txt"));
    assert!(
        text(&o.stdout).starts_with("split id "),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(text(&o.stdout).lines().count(), 1);
    let file = |k: usize| {
        out.join(format!("share-{k}.txt"))
            .to_str()
            .expect("utf-8")
            .to_owned()
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(file(1))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    for set in [[1, 2, 3], [1, 3, 5], [2, 4, 5]] {
        let mut args = vec!["share".to_owned(), "combine".to_owned()];
        args.extend(set.iter().map(|&k| file(k)));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = keylab(&args, None);
        assert!(o.status.success(), "{set:?}: {}", text(&o.stderr));
        assert_eq!(o.stdout, KEY.as_bytes(), "{set:?}");
    }
    // Four shares in one file work too (one share per line).
    let all: String = (1..=4)
        .map(|k| std::fs::read_to_string(file(k)).expect("read"))
        .collect();
    let joined = dir.path().join("joined.txt");
    std::fs::write(&joined, all).expect("write");
    assert_eq!(
        keylab(&["share", "combine", path(&joined)], None).stdout,
        KEY.as_bytes()
    );

    let o = keylab(&["share", "combine", &file(1), &file(2)], None);
    assert_fails(&o, 2, "not enough shares: 2 given, 3 needed");

    let o = keylab(&["share", "combine", &file(1), &file(1), &file(2)], None);
    assert_fails(&o, 2, "is given twice");

    // Splitting again into the same directory never overwrites.
    let o = keylab(
        &["share", "split", "-m", "2", "-n", "2", "--out", path(&out)],
        Some(KEY.as_bytes()),
    );
    assert_fails(&o, 2, "refusing to overwrite");

    // A changed character in a share value: the digest refuses it. The character is taken
    // from the middle of the base64url value: the last one also carries padding bits, and
    // changing it can make the text undecodable instead of wrong.
    let original = std::fs::read_to_string(file(2)).expect("read");
    let original = original.trim_end();
    let value_start = original.rfind(':').expect("a value") + 1;
    let at = value_start + (original.len() - value_start) / 2;
    let mut corrupted = original.as_bytes().to_vec();
    corrupted[at] = if corrupted[at] == b'A' { b'B' } else { b'A' };
    let corrupted = String::from_utf8(corrupted).expect("ASCII");
    std::fs::write(file(2), format!("{corrupted}\n")).expect("write");
    let o = keylab(&["share", "combine", &file(1), &file(2), &file(3)], None);
    assert_fails(&o, 2, "the digest does not match");

    std::fs::write(file(2), "not a share\n").expect("write");
    let o = keylab(&["share", "combine", &file(1), &file(2), &file(3)], None);
    assert_fails(&o, 2, "share-2.txt:1: malformed share");
}

#[test]
fn vault_format_round_trip_on_stdout() {
    let o = keylab(
        &["share", "split", "-m", "2", "-n", "3", "--format", "vault"],
        Some(b"pw"),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    // base64 of 2 value bytes + the x byte: 4 characters, no padding needed.
    assert!(lines.iter().all(|l| l.len() == 4), "{lines:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("two.txt");
    std::fs::write(&file, format!("{}\n{}\n", lines[0], lines[2])).expect("write");
    let o = keylab(
        &["share", "combine", "--format", "vault", path(&file)],
        None,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(o.stdout, b"pw");
}

#[test]
fn usage_errors_exit_2() {
    let cases: [(&[&str], &[u8], &str); 6] = [
        (
            &["share", "split", "-m", "1", "-n", "3"],
            KEY.as_bytes(),
            "threshold must be between 2",
        ),
        (
            &["share", "split", "-m", "2", "-n", "3"],
            b"short",
            "too short for digest mode",
        ),
        (
            &["share", "split", "-m", "2", "-n", "3"],
            b"",
            "the secret is empty",
        ),
        (&["share", "split", "-m", "2"], KEY.as_bytes(), "-n N"),
        (&["share", "combine"], b"", "give share files (- for stdin)"),
        (
            &[
                "share",
                "split",
                "-m",
                "2",
                "--servers",
                "http://127.0.0.1:1",
                "--format",
                "vault",
            ],
            KEY.as_bytes(),
            "--format vault needs",
        ),
    ];
    for (args, stdin, message) in cases {
        let o = keylab(args, Some(stdin));
        assert_fails(&o, 2, message);
    }
    let o = keylab(
        &[
            "share",
            "combine",
            "--servers",
            "http://127.0.0.1:1",
            "--id",
            "XYZ",
        ],
        None,
    );
    assert_fails(&o, 2, "split id");
    let o = split_to_servers(
        "http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:1/",
        &[],
    );
    assert_fails(&o, 2, "is given twice");
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big.txt");
    std::fs::write(&big, vec![b'A'; 1024 * 1024 + 1]).expect("write");
    let o = keylab(&["share", "combine", path(&big)], None);
    assert_fails(&o, 2, "more than a share file holds");
}

/// `keylab share serve --listen 127.0.0.1:0 --dir DIR --insecure-http [--token-file F]`,
/// with its URL.
fn share_serve(dir: &Path, token_file: Option<&Path>) -> (Running, String) {
    let mut cmd = support::keylab();
    cmd.args([
        "share",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--dir",
        path(dir),
        "--insecure-http",
    ]);
    if let Some(f) = token_file {
        cmd.args(["--token-file", path(f)]);
    }
    cmd.stdin(Stdio::null()).stderr(Stdio::null());
    let (running, addr) = start_listening(cmd);
    (running, format!("http://{addr}"))
}

#[test]
fn share_servers_split_and_combine_with_a_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "correct horse\n").expect("write");
    let mut servers: Vec<Option<(Running, String)>> = (0..3)
        .map(|i| {
            let d = dir.path().join(format!("server{i}"));
            Some(share_serve(&d, Some(&token)))
        })
        .collect();
    let urls = servers
        .iter()
        .flatten()
        .map(|(_, u)| u.clone())
        .collect::<Vec<_>>()
        .join(",");

    let o = split_to_servers(&urls, &["--token-file", path(&token)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    let stderr = text(&o.stderr);
    assert_eq!(stderr.matches("stored share x = ").count(), 3, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "only the id on stdout: {stdout}");
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("--id "))
        .expect("--id line")
        .to_owned();
    let combine = |token_file: Option<&Path>| {
        let mut args = vec!["share", "combine", "--servers", &urls, "--id", &id];
        if let Some(f) = token_file {
            args.extend(["--token-file", path(f)]);
        }
        keylab(&args, None)
    };
    let o = combine(Some(&token));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(o.stdout, KEY.as_bytes());

    let o = combine(None);
    assert_fails(&o, 2, "401");

    // In JSON mode the refusal is a "service" error on stdout.
    let mut args = vec![
        "share",
        "combine",
        "--json",
        "--servers",
        &urls,
        "--id",
        &id,
    ];
    let o = keylab(&args, None);
    assert_eq!(error_kind(&o), "service");
    args.extend(["--token-file", path(&token)]);
    let v = json_of(&keylab(&args, None));
    assert_eq!(v["split_id"], id.as_str());
    assert_eq!(v["text"], KEY);

    drop(servers[1].take());
    let o = combine(Some(&token));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(o.stdout, KEY.as_bytes());

    drop(servers[0].take());
    let o = combine(Some(&token));
    assert_fails(
        &o,
        2,
        &format!("reached 1 of 3 share servers, holding 1 share(s) of split {id}; 2 needed"),
    );
}

#[test]
fn tls_server_rebuilds_its_key_from_share_servers() {
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let servers: Vec<ShareServer> = dirs
        .iter()
        .map(|d| {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            ShareServer::start(listener, d.path(), None).expect("share server")
        })
        .collect();
    let clients: Vec<Client> = servers
        .iter()
        .map(|s| Client::new(&s.url(), None, Duration::from_secs(5)))
        .collect();
    let shares =
        sharing::split(KEY.as_bytes(), 2, 3, &mut ChaCha20Rng::seed_from_u64(3)).expect("split");
    client::store(&clients, &shares).expect("store");
    let urls = servers
        .iter()
        .map(ShareServer::url)
        .collect::<Vec<_>>()
        .join(",");
    let id = shares[0].split_id().to_string();
    let cert = ed25519("server.pem");

    let (_server, addr, _log) = keylab_server(&[
        "--cert",
        &cert,
        "--key-shares",
        &urls,
        "--key-split-id",
        &id,
        "--max-connections",
        "1",
    ]);
    let mut client = keylab_client(&addr);
    client.args(["--ca", &ed25519("root.pem"), "--send", "key from shares"]);
    let o = run_with_input(client, b"", LIMIT);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("path=ephemeral-dh") && out.contains("server_sig=ed25519"),
        "{out}"
    );
    assert!(out.contains("key from shares"), "{out}");

    let server = |args: &[&str]| {
        let listen = ["server", "--listen", "127.0.0.1:0", "--cert", &cert];
        keylab(&[&listen[..], args].concat(), None)
    };
    // An unknown split: the server does not start, and says why.
    let o = server(&["--key-shares", &urls, "--key-split-id", "0000000000000000"]);
    assert_fails(&o, 1, "reached 3 of 3 share servers, holding 0 share(s)");
    // --key and --key-shares exclude each other; one of them is required.
    let o = server(&[]);
    assert_fails(
        &o,
        2,
        "--cert needs its private key: --key FILE or --key-shares",
    );
    let o = server(&["--key", &cert, "--key-shares", &urls, "--key-split-id", &id]);
    assert_fails(&o, 2, "cannot be used with");
}

/// The one JSON object a successful `--json` run prints.
#[track_caller]
fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    serde_json::from_str(&out).expect("JSON")
}

/// The kind of the JSON error a failed `--json` run prints on stdout (exit 2).
#[track_caller]
fn error_kind(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let v: Value = serde_json::from_str(&text(&o.stdout)).expect("a JSON error");
    v["error"]["kind"].as_str().expect("kind").to_owned()
}

/// A loopback URL nothing listens on (a port just released).
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// `keylab share LINE EXTRA...` (LINE split at whitespace), with `stdin`.
fn share(line: &str, extra: &[&str], stdin: &[u8]) -> Output {
    let mut args = vec!["share"];
    args.extend(line.split_whitespace());
    args.extend(extra);
    keylab(&args, Some(stdin))
}

#[test]
fn dash_is_stdin_or_stdout_and_the_secret_may_be_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("secret.pem");
    std::fs::write(&secret, KEY).expect("write");
    // The secret from a file; `--out -` is stdout.
    let o = share("split -m 2 -n 3 --out -", &[path(&secret)], b"");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    // `combine -` reads shares from stdin, beside share files.
    let o = share(
        "combine -",
        &[],
        format!("{}\n{}\n", lines[0], lines[2]).as_bytes(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(o.stdout, KEY.as_bytes());
    let file = dir.path().join("one.txt");
    std::fs::write(&file, &lines[1]).expect("write");
    let o = share("combine", &[path(&file), "-"], lines[0].as_bytes());
    assert_eq!(o.stdout, KEY.as_bytes(), "{}", text(&o.stderr));
    // Errors name stdin as such.
    let o = share("combine -", &[], b"not a share\n");
    assert_fails(&o, 2, "standard input:1: malformed share");
    assert_fails(
        &share("combine - -", &[], b""),
        2,
        "- (stdin) is given twice",
    );
    let missing = dir.path().join("missing.pem");
    let o = share("split -m 2 -n 2", &[path(&missing)], b"");
    let message = format!("reading the secret from {}", missing.display());
    assert_fails(&o, 2, &message);
}

#[test]
fn split_and_combine_print_json() {
    let v = json_of(&share("split -m 2 -n 3 --json", &[], KEY.as_bytes()));
    assert_eq!(
        (v["format"].as_str(), v["threshold"].as_u64()),
        (Some("keylab"), Some(2))
    );
    assert_eq!(v["count"], 3);
    let id = v["split_id"].as_str().expect("split id").to_owned();
    let shares: Vec<&str> = v["shares"]
        .as_array()
        .expect("shares")
        .iter()
        .map(|s| s.as_str().expect("a share line"))
        .collect();
    assert_eq!(shares.len(), 3);
    let v = json_of(&share(
        "combine --json -",
        &[],
        shares[1..].join("\n").as_bytes(),
    ));
    assert_eq!(v["split_id"], id.as_str());
    assert_eq!(v["length"], KEY.len());
    assert_eq!(v["hex"], hex::encode(KEY));
    assert_eq!(v["text"], KEY);

    // Vault shares have no split id.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("shares");
    let v = json_of(&share(
        "split -m 2 -n 2 --json --format vault --out",
        &[path(&out)],
        b"pw",
    ));
    assert_eq!(v["format"], "vault");
    assert!(v["split_id"].is_null(), "{v}");
    let (one, two) = (out.join("share-1.txt"), out.join("share-2.txt"));
    assert_eq!(v["files"], serde_json::json!([path(&one), path(&two)]));
    let v = json_of(&share(
        "combine --json --format vault",
        &[path(&one), path(&two)],
        b"",
    ));
    assert_eq!(
        (v["hex"].as_str(), v["text"].as_str()),
        (Some("7077"), Some("pw"))
    );
    assert!(v["split_id"].is_null());
}

#[test]
fn json_errors_say_what_kind_of_thing_failed() {
    // Too few shares: bad input.
    let o = share("split -m 3 -n 3", &[], KEY.as_bytes());
    let lines: Vec<String> = text(&o.stdout).lines().map(str::to_owned).collect();
    let o = share("combine --json -", &[], lines[..2].join("\n").as_bytes());
    assert_eq!(error_kind(&o), "input");
    assert!(text(&o.stderr).contains("not enough shares: 2 given, 3 needed"));
    // A share server that cannot be reached: the network, both ways, naming the server.
    let dead = dead_url();
    let o = split_to_servers(&format!("{dead},{}", dead_url()), &["--json"]);
    assert_eq!(error_kind(&o), "network");
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("storing share x = ") && stderr.contains(&dead),
        "{stderr}"
    );
    let o = share(
        "combine --json --id 0000000000000000 --servers",
        &[&dead],
        b"",
    );
    assert_eq!(error_kind(&o), "network");
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains(&dead) && stderr.contains("unreachable"),
        "{stderr}"
    );
}

#[test]
fn outputs_that_are_not_directories_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let o = share("split -m 2 -n 2 --out", &[path(&file)], KEY.as_bytes());
    assert_fails(
        &o,
        2,
        &format!("--out {} is not a directory", file.display()),
    );
    let o = share(
        "serve --listen 127.0.0.1:0 --insecure-http --dir",
        &[path(&file)],
        b"",
    );
    assert_fails(
        &o,
        2,
        &format!("--dir {} is not a directory", file.display()),
    );
}

#[test]
fn share_help_documents_stdin_stdout_and_json() {
    let split = text(&share("split --help", &[], b"").stdout);
    let stored = "\"stored\": [{\"x\": X, \"server\": \"URL\"}, ...]";
    for needle in [
        "[SECRET]",
        "`-` reads stdin",
        "--out <DIR>",
        "`-`, or neither",
        "--json",
        stored,
        "kind \"input\"",
        "Exit status:",
    ] {
        assert!(
            split.contains(needle),
            "split --help lacks {needle:?}:\n{split}"
        );
    }
    let combine = text(&share("combine --help", &[], b"").stdout);
    for needle in [
        "`-` reads",
        "\"hex\": \"HEX\"",
        "\"network\"",
        "\"service\"",
    ] {
        assert!(
            combine.contains(needle),
            "combine --help lacks {needle:?}:\n{combine}"
        );
    }
}
