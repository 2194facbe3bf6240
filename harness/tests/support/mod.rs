//! Shared helpers for the harness's process-level tests: running `keylab` and `openssl`,
//! reading the address a server prints, and stopping child processes.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub fn keylab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keylab"))
}

pub fn fixture(rel: &str) -> String {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/data")).join(rel);
    p.to_str().expect("utf-8 path").to_owned()
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

/// A child process killed (by its own pid) when dropped.
pub struct Running {
    pub child: Child,
    pub stderr: Option<ChildStderr>,
    pub stdout: Option<ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

/// Starts `keylab server ARGS --listen 127.0.0.1:0` and returns it with its address.
pub fn keylab_server(args: &[&str]) -> (Running, String, mpsc::Receiver<String>) {
    let mut child = keylab()
        .args(["server", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keylab server");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take();
    let (addr, _) = wait_for_line(stdout, |l| {
        l.strip_prefix("listening on ").map(str::to_owned)
    });
    let mut running = Running {
        child,
        stderr: None,
        stdout: None,
    };
    let addr = addr.unwrap_or_else(|| {
        let _ = running.child.kill();
        panic!("keylab server did not print its address");
    });
    (running, addr, lines(stderr.expect("stderr")))
}

/// Starts `openssl s_server -accept 127.0.0.1:0 ARGS` and returns it with its port.
pub fn openssl_server(args: &[&str]) -> (Running, u16, mpsc::Receiver<String>) {
    let mut child = Command::new("openssl")
        .args(["s_server", "-accept", "127.0.0.1:0", "-tls1_3"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl s_server");
    let stdout = child.stdout.take().expect("stdout");
    let (port, out) = wait_for_line(stdout, |l| {
        l.strip_prefix("ACCEPT 127.0.0.1:")
            .and_then(|p| p.trim().parse().ok())
    });
    let stderr = child.stderr.take();
    let running = Running {
        child,
        stderr,
        stdout: None,
    };
    (
        running,
        port.expect("openssl s_server did not print its port"),
        out,
    )
}

/// Runs a command with a time limit; returns its output.
pub fn run_with_timeout(mut cmd: Command, input: Option<&[u8]>, limit: Duration) -> Output {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write;
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
            // Keep stdin open a moment: s_client quits at EOF on stdin.
            std::thread::sleep(Duration::from_millis(1500));
        });
    }
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "command timed out after {limit:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
