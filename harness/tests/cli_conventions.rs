//! keylab behaves as a Unix tool: every command's `--help` works and documents every
//! option, completions and manual pages come from the same definitions, errors in `--json`
//! mode are JSON on stdout, `RUST_LOG` is honoured, and a closed stdout ends quietly.

mod support;

use std::process::Stdio;
use std::time::Duration;

use clap::CommandFactory as _;
use support::{assert_ok, keylab, run_keylab, run_with_timeout, stderr, stdout};

/// Every command path (`["pki", "issue"]`, ...) with the clap command at its end.
fn commands() -> Vec<(Vec<String>, clap::Command)> {
    fn walk(path: &[String], cmd: &clap::Command, found: &mut Vec<(Vec<String>, clap::Command)>) {
        for sub in cmd.get_subcommands() {
            let mut p = path.to_vec();
            p.push(sub.get_name().to_owned());
            found.push((p.clone(), sub.clone()));
            walk(&p, sub, found);
        }
    }
    let mut found = Vec::new();
    walk(&[], &harness::cli::Cli::command(), &mut found);
    found
}

#[test]
fn every_command_has_help_that_documents_every_option() {
    let all = commands();
    assert!(all.len() >= 25, "only {} commands found", all.len());
    for (path, cmd) in &all {
        let shown = path.join(" ");
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = run_keylab(&args);
        let text = assert_ok(&out);
        assert!(
            text.contains(&format!("Usage: keylab {shown}")),
            "keylab {shown} --help:\n{text}"
        );
        let about = cmd.get_about().map(ToString::to_string).unwrap_or_default();
        assert!(!about.is_empty(), "keylab {shown} has no description");
        assert!(text.starts_with(&about), "keylab {shown} --help:\n{text}");
        if cmd.get_subcommands().next().is_none() {
            assert!(
                text.contains("Exit status:"),
                "keylab {shown} --help:\n{text}"
            );
        }
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version" | "verbose") {
                continue;
            }
            assert!(
                arg.get_help().is_some(),
                "keylab {shown}: {id} has no help text"
            );
            let long = arg.get_long().unwrap_or(id);
            if arg.is_hide_set() {
                assert!(
                    long.contains("test"),
                    "keylab {shown}: hidden option --{long} must be named as a test-only option"
                );
            } else if arg.get_long().is_some() {
                assert!(
                    text.contains(&format!("--{long}")),
                    "keylab {shown} --help does not show --{long}"
                );
            }
        }
    }
}

#[test]
fn the_first_line_of_help_says_what_keylab_is() {
    let text = assert_ok(&run_keylab(&["--help"]));
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("keylab: how two parties who have never met end up sharing a secret key"),
        "{first}"
    );
    assert!(
        text.contains("Not for protecting production traffic"),
        "{text}"
    );
}

#[test]
fn completions_cover_every_command_in_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let script = assert_ok(&run_keylab(&["completions", shell]));
        for word in ["demo", "keyserver", "publish", "explain", "client-ca"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    // The bash script is valid bash.
    let script = assert_ok(&run_keylab(&["completions", "bash"]));
    let out = run_with_timeout(
        {
            let mut c = std::process::Command::new("bash");
            c.args(["-n", "/dev/stdin"]);
            c
        },
        Some(script.as_bytes()),
        Duration::from_secs(10),
    );
    assert!(out.status.success(), "bash -n: {}", stderr(&out));
    let out = run_keylab(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid value 'tcsh'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn manual_pages_for_keylab_and_each_command() {
    let page = assert_ok(&run_keylab(&["manpage"]));
    assert!(page.contains(".TH keylab 1"), "{page}");
    assert!(page.contains("Not for protecting production traffic"));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_keylab(&["manpage", "--dir", dir.path().to_str().expect("utf-8")]);
    assert_ok(&out);
    for (path, _) in commands() {
        if path.first().is_some_and(|p| p == "help") {
            continue;
        }
        let name = format!("keylab-{}", path.join("-"));
        let text = std::fs::read_to_string(dir.path().join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        assert!(text.contains(&format!(".TH {name} 1")), "{text}");
    }
    // A missing directory is created, as on a fresh account; a file in the way is refused.
    let missing = dir.path().join("share/man/man1");
    assert_ok(&run_keylab(&[
        "manpage",
        "--dir",
        missing.to_str().expect("utf-8"),
    ]));
    assert!(missing.join("keylab.1").exists());
    let file = dir.path().join("keylab.1");
    let out = run_keylab(&["manpage", "--dir", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("creating "), "{}", stderr(&out));
}

#[test]
fn rust_log_is_honoured_without_v() {
    let run = |rust_log: Option<&str>| {
        let mut cmd = keylab();
        cmd.args(["demo", "--seed", "1", "--path", "psk"]);
        match rust_log {
            Some(v) => cmd.env("RUST_LOG", v),
            None => cmd.env_remove("RUST_LOG"),
        };
        cmd.env("NO_COLOR", "1").stdin(Stdio::null());
        run_with_timeout(cmd, None, Duration::from_secs(60))
    };
    let quiet = run(None);
    assert_ok(&quiet);
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));
    let logged = run(Some("debug"));
    assert_ok(&logged);
    assert!(stderr(&logged).contains("DEBUG"), "{}", stderr(&logged));
    // The documented directive selects keylab's events.
    let documented = run(Some("harness=trace"));
    assert!(stderr(&documented).contains("TRACE") || stderr(&documented).contains("DEBUG"));
    // Directives name targets: another crate's debug leaves keylab's events out.
    let other = run(Some("some_other_crate=debug"));
    assert!(stderr(&other).is_empty(), "{}", stderr(&other));
    let bad = run(Some("debug=debug=debug"));
    assert_ok(&bad);
    assert!(
        stderr(&bad).contains("warning: RUST_LOG="),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn an_error_in_json_mode_is_json_on_stdout() {
    let out = run_keylab(&[
        "wsn",
        "sweep",
        "--json",
        "--scheme",
        "eg",
        "--nodes",
        "100",
        "--vary",
        "ring",
        "--from",
        "10",
        "--to",
        "20",
        "--plot",
        "/nonexistent/x.svg",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert_eq!(json["error"]["kind"], "output", "{json}");
    let message = json["error"]["message"].as_str().expect("message");
    assert!(message.contains("/nonexistent does not exist"), "{message}");
    assert!(
        stderr(&out).contains(message),
        "a person still reads it on stderr"
    );
}

/// A full or closed stderr (`2>/dev/full`, `2>&1 | head -1`) loses the status and log
/// lines, not the work: the command finishes with its usual status.
#[test]
fn a_full_stderr_does_not_stop_the_work() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    let mut demo = keylab();
    demo.args(["-v", "demo", "--seed", "1", "--path", "psk"])
        .stderr(full())
        .stdin(Stdio::null());
    let out = demo.output().expect("run keylab");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("ok: 1 of 1 runs succeeded"),
        "{}",
        stdout(&out)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let mut init = keylab();
    init.args(["pki", "init", "--out", "ca"])
        .current_dir(dir.path())
        .stderr(full());
    assert_eq!(init.output().expect("run keylab").status.code(), Some(0));
    assert!(dir.path().join("ca/ca.key").exists() && dir.path().join("ca/ca.pem").exists());
}

/// A command line clap refuses is a JSON error of kind `usage` in `--json` mode too.
#[test]
fn a_usage_error_in_json_mode_is_json_on_stdout() {
    let out = run_keylab(&["pki", "show", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert_eq!(json["error"]["kind"], "usage", "{json}");
    assert_eq!(
        json["error"]["message"],
        "the following required arguments were not provided: <FILE>"
    );
    assert!(
        stderr(&out).contains("Usage: keylab pki show"),
        "{}",
        stderr(&out)
    );
    // Help is still help.
    let help = run_keylab(&["pki", "show", "--json", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(
        stdout(&help).starts_with("Print a short summary"),
        "{}",
        stdout(&help)
    );
}

/// `-` is stdout where a file can go there (`--html -`, `--states-dot -`, the report then
/// on stderr), and is refused, before any work, where it cannot (`--keylog -`, `pki issue
/// --out -`), rather than making a file named `-`.
#[test]
fn dash_is_stdout_or_refused_never_a_file_named_dash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run_in = |args: &[&str]| {
        let mut cmd = keylab();
        cmd.args(args)
            .current_dir(dir.path())
            .env_remove("SSLKEYLOGFILE");
        run_with_timeout(cmd, None, Duration::from_secs(60))
    };
    let html = run_in(&["demo", "--seed", "1", "--path", "psk", "--html", "-"]);
    assert_eq!(html.status.code(), Some(0), "{}", stderr(&html));
    assert!(
        stdout(&html).starts_with("<!doctype html>"),
        "{}",
        &stdout(&html)[..100.min(html.stdout.len())]
    );
    assert!(stderr(&html).contains("ok: 1 of 1 runs succeeded"));
    let dot = run_in(&["demo", "--seed", "1", "--path", "psk", "--states-dot", "-"]);
    assert!(stdout(&dot).starts_with("digraph"), "{}", stdout(&dot));
    let both = run_in(&["demo", "--path", "psk", "--html", "-", "--states-dot", "-"]);
    assert_eq!(both.status.code(), Some(2));
    for args in [
        &["demo", "--path", "psk", "--keylog", "-"][..],
        &[
            "pki",
            "issue",
            "--ca-cert",
            "x.pem",
            "--ca-key",
            "x.key",
            "--client",
            "a",
            "--out",
            "-",
        ],
    ] {
        let out = run_in(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("stdout"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert!(!dir.path().join("-").exists() && !dir.path().join("-.key").exists());
}
