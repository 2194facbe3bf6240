//! The README's synopses agree with the program: in a code block after the marker line
//!
//! ```text
//! <!-- synopsis: checked against --help -->
//! ```
//!
//! every `keylab COMMAND ...` line (indented lines continue it) names only options the
//! command has, and together the lines of a command name every option it has, except
//! `--help` and `--verbose` (every command's) and hidden test-only ones. A line whose
//! options follow `...` is an excerpt: its options must exist, it claims no completeness.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::CommandFactory as _;

const MARKER: &str = "<!-- synopsis: checked against --help -->";

/// One command's synopsis: its path and the options its lines name.
#[derive(Default)]
struct Synopsis {
    options: BTreeSet<String>,
    /// Whether one of its lines is complete (not an excerpt after `...`).
    complete: bool,
}

/// The synopses in `readme`, by command path.
fn synopses(readme: &str) -> BTreeMap<Vec<String>, Synopsis> {
    let root = harness::cli::Cli::command();
    let lines: Vec<&str> = readme.lines().collect();
    let mut found: BTreeMap<Vec<String>, Synopsis> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() != MARKER {
            continue;
        }
        let mut current: Option<Vec<String>> = None;
        for l in lines[i + 2..].iter().take_while(|l| !l.starts_with("```")) {
            let words: Vec<&str> = l.split_whitespace().collect();
            let rest = if l.starts_with("keylab ") {
                let (path, rest) = command_path(&root, &words[1..]);
                let entry = found.entry(path.clone()).or_default();
                entry.complete |= rest.first() != Some(&"...");
                current = Some(path);
                rest
            } else {
                &words[..]
            };
            let path = current.clone().expect("a synopsis line starts with keylab");
            let entry = found.entry(path).or_default();
            entry
                .options
                .extend(rest.iter().flat_map(|w| options_in(w)));
        }
    }
    found
}

/// The longest run of `words` naming a subcommand path, and the words after it.
fn command_path<'a>(root: &clap::Command, words: &'a [&'a str]) -> (Vec<String>, &'a [&'a str]) {
    let mut cmd = root;
    let mut path = Vec::new();
    for (n, w) in words.iter().enumerate() {
        match cmd.find_subcommand(w) {
            Some(sub) => {
                path.push((*w).to_owned());
                cmd = sub;
            }
            None => return (path, &words[n..]),
        }
    }
    (path, &[])
}

/// The options a synopsis word names: `[--a|--b]`, `(--c`, `--d]...`.
fn options_in(word: &str) -> Vec<String> {
    word.split(['|', '[', ']', '(', ')', ','])
        .filter(|w| w.starts_with('-') && w.len() > 1 && !w.starts_with("-h"))
        .map(|w| w.trim_end_matches("...").to_owned())
        .filter(|w| w != "--help")
        .collect()
}

/// The options of a command: `--long` and `-s` names, without `--help`/`--verbose`/
/// `--version`, hidden ones left out.
fn options_of(cmd: &clap::Command) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut all = BTreeSet::new();
    let mut shown = BTreeSet::new();
    for arg in cmd.get_arguments() {
        if matches!(arg.get_id().as_str(), "help" | "verbose" | "version") {
            continue;
        }
        let names: Vec<String> = arg
            .get_long()
            .map(|l| format!("--{l}"))
            .into_iter()
            .chain(arg.get_short().map(|s| format!("-{s}")))
            .collect();
        all.extend(names.iter().cloned());
        if !arg.is_hide_set()
            && let Some(first) = names.first()
        {
            shown.insert(first.clone());
        }
    }
    (all, shown)
}

fn find<'a>(root: &'a clap::Command, path: &[String]) -> &'a clap::Command {
    path.iter().fold(root, |cmd, name| {
        cmd.find_subcommand(name)
            .unwrap_or_else(|| panic!("no command {name}"))
    })
}

#[test]
fn readme_synopses_name_every_option_and_only_real_ones() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let found = synopses(&readme);
    assert!(found.len() >= 10, "only {} synopses found", found.len());
    let root = harness::cli::Cli::command();
    let mut problems = Vec::new();
    for (path, synopsis) in &found {
        let (all, shown) = options_of(find(&root, path));
        let name = path.join(" ");
        for o in synopsis.options.difference(&all) {
            problems.push(format!(
                "keylab {name}: the README names {o}, which does not exist"
            ));
        }
        if synopsis.complete {
            for o in shown.iter().filter(|o| {
                // An option is named by its long or its short form.
                !synopsis.options.contains(*o)
            }) {
                let arg = find(&root, path)
                    .get_arguments()
                    .find(|a| a.get_long().map(|l| format!("--{l}")).as_ref() == Some(o));
                let short = arg.and_then(clap::Arg::get_short).map(|s| format!("-{s}"));
                if short.is_none_or(|s| !synopsis.options.contains(&s)) {
                    problems.push(format!("keylab {name}: the README's synopsis lacks {o}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn synopsis_words_name_options() {
    assert_eq!(options_in("[--a|--b]"), ["--a", "--b"]);
    assert_eq!(options_in("(--server"), ["--server"]);
    assert_eq!(options_in("[--alpn"), ["--alpn"]);
    assert_eq!(options_in("NAME]..."), Vec::<String>::new());
    assert_eq!(options_in("-m"), ["-m"]);
}
