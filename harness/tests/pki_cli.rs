//! `keylab pki ...` as a user runs it: files, output, exit codes.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use support::{assert_fails, assert_mentions, assert_ok, have_openssl, run_keylab, stderr, stdout};

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
    let out = assert_ok(&run_keylab(&[&init[..], &seeded("1")].concat()));
    assert!(out.contains("CN=keylab Root CA, rsa2048"), "{out}");
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
    let o = verify(&ca_pem, &srv_pem, &["--at", "2030-01-01T00:00:00Z"]);
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
        &verify(&ca_pem, &alice_pem, &[]),
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
    let o = verify(&missing, &missing, &[]);
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
    let run = |args: &[&str]| {
        let o = run_keylab(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        stdout(&o)
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
