//! `keylab pki ...` as a user runs it: files, output, exit codes.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use support::{
    assert_fails, assert_mentions, assert_ok, have_openssl, keylab, run_keylab, run_with_input,
    stderr, stdout,
};

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

const T0: &str = "2026-01-01T00:00:00Z";

/// `--seed SEED --not-before T0`: the same output on every run.
fn seeded(seed: &str) -> [&str; 4] {
    ["--seed", seed, "--not-before", T0]
}

/// `keylab pki issue --ca-cert CERT --ca-key KEY ARGS...`.
fn issue(ca_cert: &Path, ca_key: &Path, args: &[&str]) -> Output {
    let ca = [
        "pki",
        "issue",
        "--ca-cert",
        p(ca_cert),
        "--ca-key",
        p(ca_key),
    ];
    run_keylab(&[&ca[..], args].concat())
}

/// `keylab pki verify --ca CA --cert CERT ARGS...`.
fn verify(ca: &Path, cert: &Path, args: &[&str]) -> Output {
    run_keylab(
        &[
            &["pki", "verify", "--ca", p(ca), "--cert", p(cert)][..],
            args,
        ]
        .concat(),
    )
}

#[test]
fn init_issue_verify_flow() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let ca_dir = d.join("ca");
    let init = ["pki", "init", "--out", p(&ca_dir), "--key", "rsa2048"];
    let o = run_keylab(&[&init[..], &seeded("1")].concat());
    // "wrote ..." is a status line: stderr, with nothing on stdout.
    assert_eq!(assert_ok(&o), "");
    assert!(
        stderr(&o).contains("CN=keylab Root CA, rsa2048"),
        "{}",
        stderr(&o)
    );
    let (ca_pem, ca_key) = (ca_dir.join("ca.pem"), ca_dir.join("ca.key"));

    // Issues `what` under the CA into `d/OUT.pem` and `d/OUT.key`, seeded.
    let issue_seeded = |ca: (&Path, &Path), what: [&str; 2], out: &str, seed: &str| {
        let out = d.join(out);
        let args = [&what[..], &["--out", p(&out)], &seeded(seed)].concat();
        assert_ok(&issue(ca.0, ca.1, &args));
    };
    issue_seeded(
        (&ca_pem, &ca_key),
        ["--intermediate", "Issuing CA"],
        "int",
        "2",
    );
    let (int_pem, int_key) = (d.join("int.pem"), d.join("int.key"));
    let leaf = ["--server", "localhost,127.0.0.1,::1"];
    issue_seeded((&int_pem, &int_key), leaf, "srv", "3");
    let srv_pem = d.join("srv.pem");
    // The leaf file is a chain: leaf, then the intermediate (the root is left out).
    let chain = pki::Certificate::from_pem_bundle(&fs::read_to_string(&srv_pem).expect("read"))
        .expect("parse");
    let subjects: Vec<String> = chain.iter().map(|c| c.subject().to_string()).collect();
    assert_eq!(subjects, ["CN=localhost", "CN=Issuing CA"]);
    assert_eq!(
        chain[0].not_after(),
        time::macros::datetime!(2028-04-05 0:00 UTC),
        "825 days by default"
    );

    for name in ["localhost", "127.0.0.1", "::1"] {
        let o = verify(
            &ca_pem,
            &srv_pem,
            &["--name", name, "--at", "2027-01-01T00:00:00Z"],
        );
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        assert_eq!(
            stdout(&o),
            "ok: CN=localhost -> CN=Issuing CA -> CN=keylab Root CA (trust anchor)\n"
        );
    }
    let o = verify(
        &ca_pem,
        &srv_pem,
        &["--name", "other.example", "--at", "2027-01-01T00:00:00Z"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: name mismatch: expected other.example, certificate is valid for [localhost, 127.0.0.1, ::1]\n"
    );
    let later = ["--name", "localhost", "--at", "2030-01-01T00:00:00Z"];
    let o = verify(&ca_pem, &srv_pem, &later);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: certificate expired: notAfter 2028-04-05T00:00:00Z, checked at 2030-01-01T00:00:00Z"), "{}", stderr(&o));

    let alice = d.join("alice");
    let client = [
        "--client",
        "alice",
        "--email",
        "alice@example.com",
        "--out",
        p(&alice),
    ];
    assert_ok(&issue(&int_pem, &int_key, &client));
    let alice_pem = d.join("alice.pem");
    assert_ok(&verify(&ca_pem, &alice_pem, &["--purpose", "client"]));
    // A client certificate is not a server certificate.
    assert_fails(
        &verify(&ca_pem, &alice_pem, &["--no-name-check"]),
        1,
        "wrong extended key usage: CN=alice is for [clientAuth], needed serverAuth",
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in [ca_key, int_key, d.join("srv.key"), d.join("alice.key")] {
            let mode = fs::metadata(&key).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", key.display());
        }
    }
}

#[test]
fn seeded_runs_are_byte_identical() {
    for key in ["ed25519", "p256"] {
        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        for d in [a.path(), b.path()] {
            let init = ["pki", "init", "--out", p(d), "--key", key];
            assert_ok(&run_keylab(&[&init[..], &seeded("42")].concat()));
        }
        for f in ["ca.pem", "ca.key"] {
            assert_eq!(
                fs::read(a.path().join(f)).expect("a"),
                fs::read(b.path().join(f)).expect("b"),
                "{key} {f}"
            );
        }
    }
}

#[test]
fn existing_files_are_not_overwritten_without_force() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = p(dir.path());
    assert_ok(&run_keylab(&["pki", "init", "--out", d]));
    let before = fs::read(dir.path().join("ca.pem")).expect("read");
    let o = run_keylab(&["pki", "init", "--out", d]);
    assert_fails(&o, 2, "ca.pem exists; pass --force to overwrite");
    assert_eq!(
        fs::read(dir.path().join("ca.pem")).expect("read"),
        before,
        "file was changed"
    );
    assert_ok(&run_keylab(&["pki", "init", "--out", d, "--force"]));
    assert_ne!(fs::read(dir.path().join("ca.pem")).expect("read"), before);
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let missing = d.join("missing.pem");
    let o = verify(&missing, &missing, &["--name", "x"]);
    let no_file = format!("error: reading {}: No such file", p(&missing));
    assert_fails(&o, 2, &no_file);

    let garbage = d.join("garbage.pem");
    fs::write(&garbage, "not a certificate").expect("write");
    let o = run_keylab(&["pki", "show", p(&garbage)]);
    assert_fails(&o, 2, "garbage.pem: neither PEM nor a DER certificate");

    // A clap usage error.
    let o = verify(&garbage, &garbage, &["--at", "tomorrow"]);
    assert_fails(&o, 2, "not an RFC 3339 time like 2026-01-01T00:00:00Z");

    // CA key that does not belong to the CA certificate.
    let (a, b) = (d.join("a"), d.join("b"));
    assert_ok(&run_keylab(&["pki", "init", "--out", p(&a)]));
    assert_ok(&run_keylab(&["pki", "init", "--out", p(&b)]));
    let x = d.join("x");
    let o = issue(
        &a.join("ca.pem"),
        &b.join("ca.key"),
        &["--client", "x", "--out", p(&x)],
    );
    assert_fails(&o, 2, "CA key does not match CA certificate");
    assert!(
        !d.join("x.pem").exists() && !d.join("x.key").exists(),
        "nothing written on failure"
    );

    // One of --server, --client and --intermediate is required.
    let o = issue(Path::new("x"), Path::new("y"), &["--out", "z"]);
    assert_fails(
        &o,
        2,
        "<--server <NAME[,NAME...]>|--client <NAME>|--intermediate <NAME>>",
    );
}

#[test]
fn show_describes_certificates_and_keys() {
    let dir = tempfile::tempdir().expect("tmp");
    let chain = dir.path().join("chain.pem");
    fs::write(&chain, fixtures::ED25519.server_chain).expect("write");
    let text = assert_ok(&run_keylab(&["pki", "show", p(&chain)]));
    assert_mentions(
        &text,
        &[
            "certificate CN=localhost",
            "names:     DNS:localhost, IP:127.0.0.1, IP:::1",
            "certificate CN=keylab ed25519 Intermediate CA",
        ],
    );
    let key = dir.path().join("k.key");
    fs::write(&key, fixtures::RSA.server_key).expect("write");
    let text = stdout(&run_keylab(&["pki", "show", p(&key)]));
    assert!(text.starts_with("private key rsa2048"), "{text}");
}

#[test]
fn help_documents_exit_codes() {
    for args in [
        &["--help"][..],
        &["pki", "verify", "--help"],
        &["pki", "issue", "--help"],
    ] {
        let o = run_keylab(args);
        assert!(o.status.success());
        assert!(stdout(&o).contains("Exit status:"), "{args:?}");
    }
}

#[test]
fn p256_init_issue_verify_and_openssl_agrees() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // What a command printed: its data (stdout), then its status lines (stderr).
    let run = |args: &[&str]| {
        let o = run_keylab(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        stdout(&o) + &stderr(&o)
    };
    let ca_dir = d.join("ca");
    let out = run(&[
        "pki",
        "init",
        "--out",
        p(&ca_dir),
        "--key",
        "p256",
        "--seed",
        "1",
        "--not-before",
        T0,
    ]);
    assert!(out.contains("CN=keylab Root CA, p256"), "{out}");
    let (ca_pem, ca_key) = (ca_dir.join("ca.pem"), ca_dir.join("ca.key"));
    let issue = |what: &[&str], key: &str, prefix: &str, ca: &str| {
        let (ca_cert, ca_key) = (d.join(format!("{ca}.pem")), d.join(format!("{ca}.key")));
        let mut args = vec![
            "pki",
            "issue",
            "--ca-cert",
            p(&ca_cert),
            "--ca-key",
            p(&ca_key),
        ];
        args.extend_from_slice(what);
        let out = d.join(prefix);
        args.extend_from_slice(&["--out", p(&out), "--key", key, "--not-before", T0]);
        run(&args)
    };
    fs::copy(&ca_pem, d.join("root.pem")).expect("copy");
    fs::copy(&ca_key, d.join("root.key")).expect("copy");
    issue(&["--intermediate", "Issuing CA"], "p256", "int", "root");
    let out = issue(
        &["--server", "localhost,127.0.0.1,::1"],
        "p256",
        "srv",
        "int",
    );
    assert!(out.contains("(CN=localhost, p256,"), "{out}");
    issue(&["--client", "alice"], "p256", "alice", "int");
    // Any key type under a P-256 CA.
    issue(&["--server", "localhost"], "ed25519", "ed-srv", "int");

    for (cert, purpose, name) in [
        ("srv.pem", "server", Some("::1")),
        ("alice.pem", "client", None),
        ("ed-srv.pem", "server", Some("localhost")),
    ] {
        let mut args = vec![
            "pki",
            "verify",
            "--ca",
            p(&ca_pem),
            "--purpose",
            purpose,
            "--at",
            "2027-01-01T00:00:00Z",
        ];
        let leaf = d.join(cert);
        args.extend_from_slice(&["--cert", p(&leaf)]);
        if let Some(name) = name {
            args.extend_from_slice(&["--name", name]);
        }
        let out = run(&args);
        assert!(
            out.ends_with("-> CN=Issuing CA -> CN=keylab Root CA (trust anchor)\n"),
            "{cert}: {out}"
        );
    }

    let shown = run(&["pki", "show", p(&d.join("srv.pem"))]);
    assert!(shown.contains("  key:       p256 sha256:"), "{shown}");
    assert!(shown.contains("  signature: ecdsa-with-SHA256"), "{shown}");
    let shown = run(&["pki", "show", p(&d.join("srv.key"))]);
    assert!(shown.starts_with("private key p256\n"), "{shown}");
    let shown = run(&["pki", "show", p(&d.join("ed-srv.pem"))]);
    assert!(
        shown.contains("key:       ed25519") && shown.contains("signature: ecdsa-with-SHA256"),
        "{shown}"
    );

    if !have_openssl() {
        return;
    }
    let openssl = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .expect("run openssl");
        let text = format!("{}{}", stdout(&o), stderr(&o));
        assert!(o.status.success(), "openssl {args:?}: {text}");
        text
    };
    for (leaf, purpose) in [("srv.pem", "sslserver"), ("alice.pem", "sslclient")] {
        let out = openssl(&[
            "verify",
            "-x509_strict",
            "-purpose",
            purpose,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "int.pem",
            leaf,
        ]);
        assert!(out.contains(": OK"), "{out}");
    }
    for key in ["root.key", "int.key", "srv.key", "alice.key"] {
        openssl(&["pkey", "-in", key, "-noout"]);
        assert!(openssl(&["ec", "-in", key, "-noout", "-check"]).contains("EC Key valid"));
    }
    // A key file as `openssl ecparam -genkey` writes it.
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-out",
        "ec.key",
    ]);
    let shown = run(&["pki", "show", p(&d.join("ec.key"))]);
    assert!(
        shown.starts_with("EC PARAMETERS: not a certificate or key, skipped\n")
            && shown.contains("private key (RFC 5915) p256\n"),
        "{shown}"
    );
}

/// `keylab ARGS` with `input` on stdin.
fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut cmd = keylab();
    cmd.args(args);
    run_with_input(cmd, input, Duration::from_secs(30))
}

/// A CA in `d/ca` and a server certificate for localhost in `d/srv.pem` / `d/srv.key`.
fn ca_and_server(d: &Path) -> (String, String, String) {
    let ca = d.join("ca");
    assert_ok(&run_keylab(&["pki", "init", "--out", p(&ca)]));
    let srv = d.join("srv");
    let server = ["--server", "localhost", "--out", p(&srv)];
    assert_ok(&issue(&ca.join("ca.pem"), &ca.join("ca.key"), &server));
    let file = |name: &str| p(&d.join(name)).to_owned();
    (file("ca/ca.pem"), file("srv.pem"), file("srv.key"))
}

#[test]
fn a_server_certificate_is_verified_for_a_name_or_says_none_was_checked() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, srv, _) = ca_and_server(dir.path());
    let verify = |args: &[&str]| {
        run_keylab(&[&["pki", "verify", "--ca", &ca, "--cert", &srv][..], args].concat())
    };
    assert_fails(&verify(&[]), 2, "give --name HOST");
    let out = assert_ok(&verify(&["--no-name-check"]));
    assert!(
        out.ends_with("(trust anchor); no name checked (--no-name-check)\n"),
        "{out}"
    );
    let out = assert_ok(&verify(&["--name", "localhost"]));
    assert!(!out.contains("no name checked"), "{out}");
    assert_fails(
        &verify(&["--name", "localhost", "--no-name-check"]),
        2,
        "cannot be used with",
    );
    let help = stdout(&run_keylab(&["pki", "verify", "--help"]));
    assert_mentions(
        &help,
        &["--no-name-check", "required with --purpose server"],
    );
}

#[test]
fn errors_blame_the_argument_or_file_at_fault() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (ca, srv, srv_key) = ca_and_server(d);
    let ca_key = p(&d.join("ca/ca.key")).to_owned();
    let out = p(&d.join("x")).to_owned();
    let issue_x = |what: &[&str]| {
        let ca_args = [
            "pki",
            "issue",
            "--ca-cert",
            &ca,
            "--ca-key",
            &ca_key,
            "--out",
            &out,
        ];
        run_keylab(&[&ca_args[..], what].concat())
    };
    let o = issue_x(&["--server", "not a name!", "--key", "rsa3072"]);
    assert_fails(&o, 2, "error: --server: invalid name \"not a name!\"");
    assert!(!stderr(&o).contains("ca.pem"), "{}", stderr(&o));
    let o = issue_x(&["--client", "x", "--email", "\u{e9}@example.com"]);
    assert_fails(&o, 2, "error: --email: invalid name");
    assert!(!d.join("x.key").exists(), "nothing written");

    // The identity of `keylab server` (shared with client and teach): the file at fault.
    let bad = d.join("bad.pem");
    fs::write(&bad, "garbage").expect("write");
    let serve = |cert: &str, key: &str| {
        run_keylab(&[
            "server",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            cert,
            "--key",
            key,
        ])
    };
    let o = serve(p(&bad), &srv_key);
    assert_fails(&o, 2, "bad.pem: no CERTIFICATE block found");
    assert!(!stderr(&o).contains("srv.key"), "{}", stderr(&o));
    let o = serve(&srv, p(&bad));
    assert_fails(&o, 2, "bad.pem: no PRIVATE KEY block found");
    assert!(!stderr(&o).contains("srv.pem"), "{}", stderr(&o));
    let o = serve(&srv, &ca_key);
    assert_fails(&o, 2, "ca.key (sha256:");
    assert!(stderr(&o).contains("does not belong to the certificate CN=localhost in "));

    // pki init --out names what is in the way, before any work.
    let file = d.join("file");
    fs::write(&file, "x").expect("write");
    let o = run_keylab(&["pki", "init", "--out", p(&file)]);
    assert_fails(&o, 2, "file is a file, not a directory");
    let o = run_keylab(&["pki", "init", "--out", p(&file.join("sub"))]);
    assert_fails(&o, 2, "file is a file, not a directory");
    // A directory that does not exist yet is made.
    assert_ok(&run_keylab(&[
        "pki",
        "init",
        "--out",
        p(&d.join("new/sub")),
    ]));
    assert!(d.join("new/sub/ca.key").exists());
}

#[test]
fn damaged_certificates_are_described_not_parsed_at() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (ca, srv, _) = ca_and_server(d);
    let chain =
        pki::Certificate::from_pem_bundle(&fs::read_to_string(&srv).expect("read")).expect("parse");
    let der = chain[0].der();
    let cut = d.join("cut.der");
    fs::write(&cut, &der[..der.len() / 2]).expect("write");
    let o = run_keylab(&["pki", "show", p(&cut)]);
    assert_fails(
        &o,
        2,
        "cut.der: neither PEM nor a DER certificate (malformed certificate: the DER of the certificate ends early",
    );
    let o = run_keylab(&[
        "pki",
        "verify",
        "--ca",
        &ca,
        "--cert",
        p(&cut),
        "--name",
        "x",
    ]);
    assert_fails(
        &o,
        2,
        "cut.der: malformed certificate: the DER of the certificate ends early",
    );
    assert!(!stderr(&o).contains("Nom") && !stderr(&o).contains("Parsing"));
}

#[test]
fn an_output_in_the_way_is_refused_before_the_work_and_leaves_no_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (ca, _, _) = ca_and_server(d);
    fs::create_dir(d.join("w.pem")).expect("mkdir");
    let w = p(&d.join("w")).to_owned();
    let ca_key = p(&d.join("ca/ca.key")).to_owned();
    let args = [
        "pki",
        "issue",
        "--ca-cert",
        &ca,
        "--ca-key",
        &ca_key,
        "--server",
        "localhost",
    ];
    let o = run_keylab(&[&args[..], &["--out", &w, "--force"]].concat());
    assert_fails(&o, 2, "w.pem is a directory; name a file to write");
    assert!(!d.join("w.key").exists(), "an orphan key was left");
}

#[test]
fn show_and_verify_read_stdin_and_print_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ca, srv, srv_key) = ca_and_server(dir.path());
    let chain = fs::read(&srv).expect("read");

    let o = with_stdin(&["pki", "show", "--json", "-"], &chain);
    let v: Value = serde_json::from_str(&assert_ok(&o)).expect("JSON");
    assert_eq!(v["file"], "standard input");
    assert_eq!(v["items"][0]["type"], "certificate");
    assert_eq!(v["items"][0]["subject"], "CN=localhost");
    assert_eq!(v["items"][0]["names"][0], "DNS:localhost");
    assert_eq!(v["items"][0]["ca"], false);
    let o = run_keylab(&["pki", "show", "--json", &srv_key]);
    let v: Value = serde_json::from_str(&assert_ok(&o)).expect("JSON");
    assert_eq!(v["items"][0]["type"], "private_key");
    assert_eq!(v["items"][0]["format"], "pkcs8");
    assert_eq!(v["items"][0]["algorithm"], "ed25519");

    let verify = ["pki", "verify", "--ca", &ca, "--cert", "-", "--json"];
    let o = with_stdin(&[&verify[..], &["--name", "localhost"]].concat(), &chain);
    let v: Value = serde_json::from_str(&assert_ok(&o)).expect("JSON");
    assert_eq!(v["ok"], true);
    assert_eq!(v["chain"][0], "CN=localhost");
    assert_eq!(v["name_checked"], true);
    // A rejected certificate: exit 1, the error as JSON on stdout.
    let o = with_stdin(&[&verify[..], &["--name", "other"]].concat(), &chain);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["error"]["kind"], "check");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("text")
            .contains("name mismatch")
    );
    // Standard input stands for one file only.
    let o = run_keylab(&["pki", "verify", "--ca", "-", "--cert", "-", "--name", "x"]);
    assert_fails(&o, 2, "standard input (-) can stand for one of");
}
