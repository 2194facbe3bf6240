//! Every excerpt of keylab's output in the README is real: a code block preceded by a
//! marker line
//!
//! ```text
//! <!-- output of: keylab demo --seed 1 --path certificate -->
//! ```
//!
//! must appear in what that command prints today (run with `COLUMNS=100` and `NO_COLOR`,
//! not on a terminal). The block may leave out lines: a line `...` stands for any number
//! of skipped lines; the pieces between must appear in order, each as consecutive lines.
//! Append ` 2>&1` to the command to check its standard error as well.

mod support;

use std::path::Path;

/// One marked excerpt.
struct Excerpt {
    /// The README line of the marker, for messages.
    line: usize,
    /// The command's arguments after `keylab`.
    args: Vec<String>,
    /// Whether standard error is part of the output.
    with_stderr: bool,
    /// The block's lines.
    block: Vec<String>,
}

const MARKER: &str = "<!-- output of: keylab ";

fn excerpts(readme: &str) -> Vec<Excerpt> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix(MARKER) else {
            continue;
        };
        let command = rest
            .strip_suffix("-->")
            .expect("marker ends with -->")
            .trim();
        let (command, with_stderr) = match command.strip_suffix("2>&1") {
            Some(c) => (c.trim(), true),
            None => (command, false),
        };
        assert!(
            lines.get(i + 1).is_some_and(|l| l.starts_with("```")),
            "README line {}: a marker must be followed by a code block",
            i + 1
        );
        let block = lines[i + 2..]
            .iter()
            .take_while(|l| !l.starts_with("```"))
            .map(|l| l.trim_end().to_owned())
            .collect();
        found.push(Excerpt {
            line: i + 1,
            args: command.split_whitespace().map(str::to_owned).collect(),
            with_stderr,
            block,
        });
    }
    found
}

/// Where `piece` starts as consecutive lines of `output` at or after `from`.
fn find(output: &[&str], piece: &[String], from: usize) -> Option<usize> {
    (from..=output.len().saturating_sub(piece.len()))
        .find(|&start| piece.iter().zip(&output[start..]).all(|(a, b)| a == b))
}

fn check(excerpt: &Excerpt) -> Result<(), String> {
    let mut cmd = support::keylab();
    cmd.args(&excerpt.args)
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("SSLKEYLOGFILE");
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run keylab: {e}"))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if excerpt.with_stderr {
        text.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    let output: Vec<&str> = text.lines().map(str::trim_end).collect();
    let mut at = 0;
    for piece in excerpt.block.split(|l| l == "...") {
        if piece.is_empty() {
            continue;
        }
        match find(&output, piece, at) {
            Some(start) => at = start + piece.len(),
            None => {
                return Err(format!(
                    "README line {}: `keylab {}` no longer prints\n{}\n--- it printed:\n{text}",
                    excerpt.line,
                    excerpt.args.join(" "),
                    piece.join("\n")
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_marked_readme_excerpt_is_real_output() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let excerpts = excerpts(&readme);
    assert!(
        excerpts.len() >= 2,
        "expected the README's demo excerpts to be marked, found {}",
        excerpts.len()
    );
    let failures: Vec<String> = excerpts.iter().filter_map(|e| check(e).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_checker_finds_a_changed_line_and_accepts_skips() {
    let readme = "<!-- output of: keylab demo --seed 1 --path certificate -->\n```\n\
                  run 1: certificate (client CN=alice with a certificate)\n...\n\
                  a line keylab never prints\n```\n";
    let found = excerpts(readme);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].args,
        ["demo", "--seed", "1", "--path", "certificate"]
    );
    let err = check(&found[0]).expect_err("the second piece is not real");
    assert!(err.contains("a line keylab never prints"), "{err}");

    let output = ["a", "b", "c", "d"];
    let piece = |s: &[&str]| s.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    assert_eq!(find(&output, &piece(&["b", "c"]), 0), Some(1));
    assert_eq!(find(&output, &piece(&["b", "d"]), 0), None);
    assert_eq!(find(&output, &piece(&["a"]), 1), None);
}
