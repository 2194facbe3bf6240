//! Every shell session in the README is real: a code block after the marker line
//!
//! ```text
//! <!-- session: checked -->
//! ```
//!
//! is run command by command in a fresh directory (with a fresh `HOME`, `keylab` on the
//! `PATH`), and what each command prints (stdout and stderr together) must match the lines
//! shown under it. In the block:
//!
//! - `$ COMMAND` runs `COMMAND` with `sh`; a line ending in `\` continues on the next one.
//!   A command ending in `&` runs in the background (stopped at the end); the lines under it
//!   are the first lines it prints.
//! - `# server log: TEXT` is a line the background command prints at some point after the
//!   command above it (waited for up to 10 seconds).
//! - `...` skips any number of lines; `  # ...` after an output line is a comment.
//! - Values that differ from run to run match by shape: a run of 5 or more hex digits (a
//!   fingerprint, a time) matches any run of the same length, `abcd…ef` (a shortened
//!   fingerprint) any hex run at least that long, and `~` the session's `HOME`. The ports
//!   of `127.0.0.1:PORT` below 32768 are replaced by free ones; higher ones are a client's
//!   ephemeral port, which matches any (as a run of 5 digits).
//! - The session's directory has `fixtures` linked to the repository's fixtures.

mod support;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use regex::Regex;

const MARKER: &str = "<!-- session: checked -->";

/// A line of a session block.
#[derive(Debug)]
enum Line {
    /// `$ COMMAND`, continuation lines joined.
    Command(String),
    /// `# server log: TEXT`.
    Background(String),
    /// An output line, or `...`.
    Output(String),
}

/// The sessions in `readme`: (line of the marker, lines of the block).
fn sessions(readme: &str) -> Vec<(usize, Vec<Line>)> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() != MARKER {
            continue;
        }
        assert!(
            lines.get(i + 1).is_some_and(|l| l.starts_with("```")),
            "README line {}: a session marker must be followed by a code block",
            i + 1
        );
        let block = lines[i + 2..].iter().take_while(|l| !l.starts_with("```"));
        found.push((i + 1, parse(block.copied())));
    }
    found
}

fn parse<'a>(block: impl Iterator<Item = &'a str>) -> Vec<Line> {
    let mut parsed = Vec::new();
    let mut pending: Option<String> = None;
    for line in block {
        if let Some(mut command) = pending.take() {
            command.push_str(line.trim_start());
            pending = continued(command, &mut parsed);
        } else if let Some(command) = line.strip_prefix("$ ") {
            pending = continued(command.to_owned(), &mut parsed);
        } else if let Some(text) = line.strip_prefix("# server log: ") {
            parsed.push(Line::Background(text.to_owned()));
        } else {
            parsed.push(Line::Output(uncommented(line).to_owned()));
        }
    }
    parsed
}

/// A command ending in `\` waits for its next line; otherwise it is complete.
fn continued(mut command: String, parsed: &mut Vec<Line>) -> Option<String> {
    if let Some(stripped) = command.strip_suffix('\\') {
        command = format!("{} ", stripped.trim_end());
        return Some(command);
    }
    parsed.push(Line::Command(command));
    None
}

/// An output line without a trailing `  # comment`.
fn uncommented(line: &str) -> &str {
    match line.find("  # ") {
        Some(at) => line[..at].trim_end(),
        None => line.trim_end(),
    }
}

/// The pattern an expected line stands for.
fn pattern(expected: &str, home: &str) -> Regex {
    let shortened = Regex::new("[0-9a-f]{4,}…[0-9a-f]{4,}").expect("regex");
    let hex = Regex::new("[0-9a-f]{5,}").expect("regex");
    let mut out = String::from("^");
    let mut rest = expected;
    while !rest.is_empty() {
        let next = [shortened.find(rest), hex.find(rest)]
            .into_iter()
            .flatten()
            .min_by_key(|m| (m.start(), std::cmp::Reverse(m.end())));
        let Some(m) = next else {
            out.push_str(&literal(rest, home));
            break;
        };
        out.push_str(&literal(&rest[..m.start()], home));
        let len = m.as_str().chars().filter(|c| *c != '…').count();
        if m.as_str().contains('…') {
            out.push_str(&format!("[0-9a-f]{{{len},}}"));
        } else {
            out.push_str(&format!("[0-9a-f]{{{len}}}"));
        }
        rest = &rest[m.end()..];
    }
    out.push('$');
    Regex::new(&out).expect("pattern")
}

fn literal(text: &str, home: &str) -> String {
    regex::escape(text).replace('~', &regex::escape(home))
}

/// Free loopback ports for the README's ports, and the text with them replaced.
struct Ports(HashMap<String, String>);

impl Ports {
    fn replace(&mut self, text: &str) -> String {
        let port = Regex::new(r"127\.0\.0\.1([:_])(\d{2,5})").expect("regex");
        port.replace_all(text, |c: &regex::Captures<'_>| {
            if c[2].parse::<u32>().is_ok_and(|p| p >= 32768) {
                return c[0].to_owned();
            }
            let free = self.0.entry(c[2].to_owned()).or_insert_with(|| {
                let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                socket.local_addr().expect("address").port().to_string()
            });
            format!("127.0.0.1{}{free}", &c[1])
        })
        .into_owned()
    }
}

/// A background command and the lines it has printed.
struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Background {
    /// The next line matching `want`, waiting up to 10 seconds.
    fn expect(&self, want: &Regex) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if want.is_match(&line) => return Ok(()),
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        Err(format!(
            "the background command printed:\n{}",
            seen.join("\n")
        ))
    }
}

/// Runs `command` with `sh` in `dir`, in the session's environment.
fn shell(command: &str, dir: &Path, home: &Path) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_keylab"))
        .parent()
        .expect("bin dir");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SSLKEYLOGFILE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Checks that `printed` shows `expected` (with `...` skips), line patterns in order.
fn matches(printed: &str, expected: &[String], home: &str) -> bool {
    let lines: Vec<&str> = printed.lines().map(str::trim_end).collect();
    let mut at = 0;
    for piece in expected.split(|l| l == "...") {
        let patterns: Vec<Regex> = piece.iter().map(|l| pattern(l, home)).collect();
        let found = (at..=lines.len().saturating_sub(patterns.len())).find(|&start| {
            patterns
                .iter()
                .zip(&lines[start..])
                .all(|(p, l)| p.is_match(l))
        });
        match found {
            Some(start) if !patterns.is_empty() => at = start + patterns.len(),
            Some(_) => {}
            None => return false,
        }
    }
    true
}

/// Runs one session; the error says which command printed what.
fn run(block: &[Line]) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let home = dir.path().join("home");
    std::fs::create_dir(&home).map_err(|e| e.to_string())?;
    let home_text = home.display().to_string();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    std::os::unix::fs::symlink(&fixtures, dir.path().join("fixtures"))
        .map_err(|e| e.to_string())?;
    let mut ports = Ports(HashMap::new());
    let mut backgrounds: Vec<Background> = Vec::new();
    let mut i = 0;
    while i < block.len() {
        let Line::Command(command) = &block[i] else {
            return Err(format!("expected a `$ command`, found {:?}", block[i]));
        };
        let command = ports.replace(command);
        let mut expected = Vec::new();
        let mut logs = Vec::new();
        i += 1;
        while let Some(line) = block.get(i) {
            match line {
                Line::Command(_) => break,
                Line::Output(text) => expected.push(ports.replace(text)),
                Line::Background(text) => logs.push(ports.replace(text)),
            }
            i += 1;
        }
        if let Some(bg) = command.trim_end().strip_suffix('&') {
            let started = start_background(bg, dir.path(), &home)?;
            for line in expected.iter().filter(|l| *l != "...") {
                started
                    .expect(&pattern(line, &home_text))
                    .map_err(|e| format!("`{bg}` did not print {line:?}; {e}"))?;
            }
            backgrounds.push(started);
        } else {
            let printed = foreground(&command, dir.path(), &home)?;
            if !matches(&printed, &expected, &home_text) {
                return Err(format!(
                    "`{command}` should print\n{}\n--- it printed:\n{printed}",
                    expected.join("\n")
                ));
            }
        }
        for log in &logs {
            let Some(bg) = backgrounds.last() else {
                return Err(format!("`# server log:` with no background command: {log}"));
            };
            bg.expect(&pattern(log, &home_text))
                .map_err(|e| format!("no server log line {log:?}; {e}"))?;
        }
    }
    Ok(())
}

fn start_background(command: &str, dir: &Path, home: &Path) -> Result<Background, String> {
    let mut child = shell(&format!("exec 2>&1\nexec {command}"), dir, home)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{command}`: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line.trim_end().to_owned()).is_err() {
                break;
            }
        }
    });
    Ok(Background { child, lines })
}

fn foreground(command: &str, dir: &Path, home: &Path) -> Result<String, String> {
    let out = support::run_with_timeout(
        shell(&format!("{{ {command}\n}} 2>&1"), dir, home),
        None,
        Duration::from_secs(60),
    );
    Ok(support::text(&out.stdout))
}

#[test]
fn every_checked_readme_session_runs_as_shown() {
    if !support::have_openssl() {
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let sessions = sessions(&readme);
    assert!(!sessions.is_empty(), "no checked sessions in the README");
    let failures: Vec<String> = sessions
        .iter()
        .filter_map(|(line, block)| run(block).err().map(|e| format!("README line {line}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn patterns_match_varying_values_by_shape_only() {
    let p = |s: &str| pattern(s, "/home/u");
    assert!(
        p("log key 44ffb041…c34ee3 (pinned)")
            .is_match(&format!("log key {} (pinned)", "ab".repeat(32)))
    );
    assert!(!p("log key 44ffb041…c34ee3 (pinned)").is_match("log key abc (pinned)"));
    assert!(
        p("key:a84cf5af…eeff67:ed25519:1767225600:current").is_match(&format!(
            "key:{}:ed25519:1767229999:current",
            "0f".repeat(32)
        ))
    );
    // Short numbers (sizes, counts) are exact.
    assert!(p("tree size 3: unchanged").is_match("tree size 3: unchanged"));
    assert!(!p("tree size 3: unchanged").is_match("tree size 4: unchanged"));
    assert!(!p("ClientHello 184").is_match("ClientHello 190"));
    assert!(p("state ~/.config/x").is_match("state /home/u/.config/x"));
    let lines = |s: &[&str]| s.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    assert!(matches("a\nb\nc\n", &lines(&["a", "...", "c"]), "/h"));
    assert!(!matches("a\nb\nc\n", &lines(&["c", "...", "a"]), "/h"));
    let parsed = parse(
        [
            "$ keylab x \\",
            "    --y  # note",
            "out  # comment",
            "# server log: s",
        ]
        .into_iter(),
    );
    assert!(matches!(&parsed[0], Line::Command(c) if c == "keylab x --y  # note"));
    assert!(matches!(&parsed[1], Line::Output(o) if o == "out"));
    assert!(matches!(&parsed[2], Line::Background(b) if b == "s"));
}
