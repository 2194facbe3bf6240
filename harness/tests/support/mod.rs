//! Shared helpers for the harness's process-level tests: running `keylab` and `openssl`,
//! starting servers and reading the address they print, checking exit codes and messages,
//! and stopping child processes.
#![allow(dead_code, reason = "each test binary uses a different part")]

pub mod browser;
pub mod keylab_peer;
pub mod pcap;
pub mod rustls_echo;
pub mod rustls_peer;

use std::io::{BufRead, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The `keylab` binary under test, for arguments to follow.
pub fn keylab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keylab"))
}

/// Runs `keylab ARGS` to the end, stdin closed.
pub fn run_keylab(args: &[&str]) -> Output {
    keylab().args(args).output().expect("run keylab")
}

/// `keylab client --connect ADDR --server-name localhost`, for more arguments to follow.
pub fn keylab_client(addr: &str) -> Command {
    let mut cmd = keylab();
    cmd.args(["client", "--connect", addr, "--server-name", "localhost"]);
    cmd
}

/// The path of a file under `fixtures/data` (`rsa/root.pem`).
pub fn fixture(rel: &str) -> String {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/data")).join(rel);
    p.to_str().expect("utf-8 path").to_owned()
}

/// A file of the Ed25519 fixture hierarchy (`root.pem`, `server.key`, ...).
pub fn ed25519(file: &str) -> String {
    fixture(&format!("ed25519/{file}"))
}

/// The RSA or the Ed25519 fixture hierarchy.
pub fn hierarchy(rsa: bool) -> fixtures::Hierarchy {
    if rsa {
        fixtures::RSA
    } else {
        fixtures::ED25519
    }
}

/// True when `openssl` runs; under `CI=true` its absence fails the test instead.
pub fn have_openssl() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is required under CI=true"
        );
        eprintln!("skipping: no `openssl` binary on PATH");
    }
    ok
}

/// Renders a Graphviz document with `dot -Tsvg` and checks that it renders cleanly
/// (success, nothing on stderr, one `<svg` element); returns the SVG. `None` (with a
/// printed notice) when `dot` is not installed, except under `CI=true`, where that fails.
pub fn render_dot(dot: &str) -> Option<String> {
    let child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "dot (graphviz) is required under CI=true"
            );
            eprintln!("skipping the rendering: no `dot` binary on PATH (apt-get install graphviz)");
            return None;
        }
        Err(e) => panic!("cannot start dot: {e}"),
    };
    let mut stdin = child.stdin.take().expect("dot stdin");
    let input = dot.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("dot output");
    writer.join().expect("writer thread").expect("write to dot");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "dot: {stderr}\n{dot}"
    );
    let svg = String::from_utf8(out.stdout).expect("SVG is UTF-8");
    assert_eq!(svg.matches("<svg").count(), 1, "one picture: {svg}");
    Some(svg)
}

/// A child process killed (by its own pid) when dropped.
pub struct Running {
    pub child: Child,
    /// Held open so that the child can write to it.
    pub stderr: Option<ChildStderr>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` with stdout piped and waits (at most 10 seconds) for a line of it that
/// `pick` accepts; returns the child, the picked value and the lines after it. A child
/// that prints no such line is killed and the test fails.
pub fn start<T: Send + 'static>(
    mut cmd: Command,
    pick: impl Fn(&str) -> Option<T> + Send + 'static,
) -> (Running, T, mpsc::Receiver<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take();
    let running = Running { child, stderr };
    let (picked, rest) = wait_for_line(stdout, pick);
    let picked = picked.unwrap_or_else(|| panic!("{cmd:?} did not print what it listens on"));
    (running, picked, rest)
}

/// Starts a keylab command that prints `listening on ADDR`; returns it with ADDR.
pub fn start_listening(cmd: Command) -> (Running, String) {
    let (running, addr, _) = start(cmd, |l| l.strip_prefix("listening on ").map(str::to_owned));
    (running, addr)
}

/// Reads lines from `pipe` until `pick` returns a value, for at most 10 seconds.
pub fn wait_for_line<R: std::io::Read + Send + 'static, T: Send + 'static>(
    pipe: R,
    pick: impl Fn(&str) -> Option<T> + Send + 'static,
) -> (Option<T>, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let (found_tx, found_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut found = Some(found_tx);
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Some(v) = found.as_ref().and_then(|_| pick(&line))
                && let Some(f) = found.take()
            {
                let _ = f.send(v);
            }
            let _ = tx.send(line);
        }
    });
    (found_rx.recv_timeout(Duration::from_secs(10)).ok(), rx)
}

/// Forwards the lines of `pipe` to a channel.
pub fn lines<R: std::io::Read + Send + 'static>(pipe: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Starts `keylab server --listen 127.0.0.1:0 ARGS` and returns it with its address and
/// the lines of its log (stderr).
pub fn keylab_server(args: &[&str]) -> (Running, String, mpsc::Receiver<String>) {
    let mut cmd = keylab();
    cmd.args(["server", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let (mut running, addr) = start_listening(cmd);
    let log = lines(running.stderr.take().expect("stderr"));
    (running, addr, log)
}

/// [`keylab_server`] with the Ed25519 fixture server's certificate and key, then `ARGS`.
pub fn ed25519_server(args: &[&str]) -> (Running, String, mpsc::Receiver<String>) {
    let (cert, key) = (ed25519("server.pem"), ed25519("server.key"));
    keylab_server(&[&["--cert", &cert, "--key", &key][..], args].concat())
}

/// Starts `openssl s_server -accept 127.0.0.1:0 ARGS` and returns it with its port.
pub fn openssl_server(args: &[&str]) -> (Running, u16, mpsc::Receiver<String>) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-tls1_3"])
        .args(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped());
    start(cmd, |l| {
        l.strip_prefix("ACCEPT 127.0.0.1:")
            .and_then(|p| p.trim().parse().ok())
    })
}

/// [`openssl_server`] with the Ed25519 fixture server's certificate, key and
/// intermediate, then `ARGS`.
pub fn ed25519_openssl_server(args: &[&str]) -> (Running, u16, mpsc::Receiver<String>) {
    let (cert, key) = (ed25519("server.pem"), ed25519("server.key"));
    let chain = ed25519("intermediate.pem");
    openssl_server(
        &[
            &["-cert", &cert, "-key", &key, "-cert_chain", &chain][..],
            args,
        ]
        .concat(),
    )
}

/// Runs a command with a time limit; returns its output. `input` is written to its stdin,
/// which then stays open a moment (s_client quits at EOF on stdin).
pub fn run_with_timeout(mut cmd: Command, input: Option<&[u8]>, limit: Duration) -> Output {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = spawn_with_output(cmd);
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
            std::thread::sleep(Duration::from_millis(1500));
        });
    }
    wait_within(child, limit)
}

/// Runs a command with a time limit, `input` written to its stdin and stdin closed at once.
pub fn run_with_input(mut cmd: Command, input: &[u8], limit: Duration) -> Output {
    cmd.stdin(Stdio::piped());
    let mut child = spawn_with_output(cmd);
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input may close the pipe first: fine.
        let _ = stdin.write_all(input);
    }
    wait_within(child, limit)
}

fn spawn_with_output(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"))
}

/// Waits for `child` to exit; kills it and fails the test after `limit`. Its stdout and
/// stderr are drained meanwhile, so a command that prints more than a pipe holds does not
/// block.
fn wait_within(mut child: Child, limit: Duration) -> Output {
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<_>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<_>));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "command timed out after {limit:?}\nstdout: {}\nstderr: {}",
                text(&stdout.join().unwrap_or_default()),
                text(&stderr.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Output bytes as text (lossy).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What a command printed on stdout.
pub fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

/// What a command printed on stderr.
pub fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// The command succeeded; returns its stdout.
#[track_caller]
pub fn assert_ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// The command exited with `code`, said `message` on stderr and printed nothing on stdout.
#[track_caller]
pub fn assert_fails(o: &Output, code: i32, message: &str) {
    assert_eq!(o.status.code(), Some(code), "stderr: {}", stderr(o));
    assert!(stderr(o).contains(message), "stderr: {}", stderr(o));
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(o));
}

/// `text` holds every one of `needles`.
#[track_caller]
pub fn assert_mentions(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

/// Runs `program` with `args` (stdin empty) within `limit`: its output, or `None` (with a
/// notice) when it is not installed. Under `CI=true` a missing program fails the test.
pub fn external(program: &str, args: &[&str], limit: Duration) -> Option<Output> {
    match Command::new(program).arg("--version").output() {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "{program} is required under CI"
            );
            eprintln!("{program} is not installed: skipping its checks");
            return None;
        }
        Err(e) => panic!("running {program}: {e}"),
    }
    let mut cmd = Command::new(program);
    cmd.args(args);
    Some(run_with_input(cmd, b"", limit))
}
