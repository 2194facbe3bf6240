//! `keylab demo --explain` as a student uses it: every printed "check it yourself" command
//! recomputes its value, the output fits the width it was given, and a seed repeats it.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{assert_ok, keylab, run_with_timeout};

/// Every path `--path` names (resumption runs include the run that earns their ticket; hrr
/// uses secp256r1, so P-256 is covered too).
const PATHS: [&str; 7] = [
    "ephemeral-dh",
    "certificate",
    "psk",
    "psk+dhe",
    "resumption",
    "resumption+dhe",
    "hrr",
];

/// `keylab demo --explain ARGS` at `columns`, not on a terminal; its stdout.
fn explain(args: &[&str], columns: usize) -> String {
    let mut cmd = keylab();
    cmd.args(["demo", "--explain"])
        .args(args)
        .env("COLUMNS", columns.to_string())
        .env_remove("SSLKEYLOGFILE")
        .env_remove("NO_COLOR");
    assert_ok(&run_with_timeout(cmd, None, Duration::from_secs(60)))
}

/// Every `{"command": ..., "expected": ...}` object anywhere in the document.
fn checks(value: &Value, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(c)), Some(Value::String(e))) =
                (map.get("command"), map.get("expected"))
            {
                found.push((c.clone(), e.clone()));
            }
            map.values().for_each(|v| checks(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| checks(v, found)),
        _ => {}
    }
}

/// Runs all commands in one shell, each printing one line, and returns the lines.
fn run_all(commands: &[(String, String)]) -> Vec<String> {
    let script: String = commands.iter().map(|(c, _)| format!("{c}\n")).collect();
    let out = Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "a check command failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_printed_command_recomputes_its_value_on_every_path() {
    for path in PATHS {
        let json = explain(&["--json", "--seed", "11", "--path", path], 100);
        let doc: Value = serde_json::from_str(&json).expect("the model is JSON");
        let mut found = Vec::new();
        checks(&doc, &mut found);
        assert!(found.len() >= 10, "{path}: only {} checks", found.len());
        let printed = run_all(&found);
        assert_eq!(printed.len(), found.len(), "{path}: one line per command");
        for ((command, expected), got) in found.iter().zip(&printed) {
            assert_eq!(got, expected, "{path}: `{command}`");
        }
        // The terminal view prints the same commands (wrapped; rejoined here).
        let text = explain(&["--seed", "11", "--path", path], 100);
        let joined = text.replace("\\\n", "");
        for (command, _) in &found {
            assert!(
                joined.contains(command.as_str()),
                "{path}: not printed: {command}"
            );
        }
    }
}

#[test]
fn no_line_exceeds_the_width_it_was_given() {
    for columns in [80, 100] {
        let text = explain(&["--seed", "5", "--path", "all"], columns);
        for line in text.lines() {
            assert!(
                line.chars().count() <= columns,
                "{} columns > {columns}: {line}",
                line.chars().count()
            );
        }
    }
}

#[test]
fn a_seed_repeats_the_explanation_byte_for_byte() {
    let a = explain(&["--seed", "9", "--path", "all"], 100);
    assert_eq!(a, explain(&["--seed", "9", "--path", "all"], 100));
    let words = a.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("--seed 9 --explain` repeats this run"),
        "{a}"
    );
    let unseeded = explain(&["--path", "psk"], 100);
    let words = unseeded.split_whitespace().collect::<Vec<_>>().join(" ");
    let seed = words
        .split("--seed ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("an unseeded run prints the seed it drew");
    assert_eq!(unseeded, explain(&["--seed", seed, "--path", "psk"], 100));
}

#[test]
fn colour_only_on_request_of_a_terminal_and_never_with_no_color() {
    // Not a terminal here: no escape sequences, whatever NO_COLOR says.
    let text = explain(&["--seed", "1", "--path", "psk"], 100);
    assert!(!text.contains('\x1b'));
}

#[test]
fn the_help_excerpt_is_real_output() {
    let help = support::run_keylab(&["demo", "--help"]);
    let help = assert_ok(&help);
    let excerpt = harness::cmd::demo::HELP_EXCERPT;
    assert!(help.contains(excerpt.trim_end()), "{help}");
    assert!(help.contains("Exit status:"), "{help}");
    let real = explain(&["--seed", "1", "--path", "psk+dhe"], 100);
    assert!(
        real.contains(excerpt),
        "the excerpt is no longer printed:\n{excerpt}"
    );
}

/// `keylab demo --explain | head -1`: the reader leaves early; keylab ends quietly.
#[test]
fn a_reader_that_leaves_early_ends_the_explanation_quietly() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    let mut child = keylab()
        .args(["demo", "--explain", "--path", "all", "--seed", "1"])
        .env_remove("SSLKEYLOGFILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keylab");
    let mut first = String::new();
    {
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        out.read_line(&mut first).expect("one line");
    } // the pipe closes here, with most of the explanation unread
    let output = child.wait_with_output().expect("keylab ends");
    assert!(first.starts_with("How to read this"), "{first}");
    assert!(output.status.success(), "{:?}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}
