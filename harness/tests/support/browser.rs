//! Headless Chromium for the browser tests: finding it (skip with a notice, or fail under
//! `CI=true`), the DevTools driver `tests/browser/cdp.py` (Python standard library; run
//! `python3 tests/browser/cdp.py --help`), and `target/` for screenshots.
//!
//! ```text
//! let Some(chromium) = chromium() else { return };
//! let report = run_driver(&chromium, &["--count", ".byte", "file:///.../report.html"]);
//! report["console_errors"], report["requests"], report["counts"][".byte"], ...
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Chromium binary: `$CHROMIUM`, else the first of the usual names that runs.
pub fn chromium() -> Option<String> {
    let candidates: Vec<String> = match std::env::var("CHROMIUM") {
        Ok(c) => vec![c],
        Err(_) => ["chromium", "chromium-browser", "google-chrome"]
            .map(str::to_owned)
            .to_vec(),
    };
    let found = candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found.is_none() || !python {
        let what = if python { "chromium" } else { "python3" };
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{what} is required under CI=true (Debian: apt-get install chromium)"
        );
        eprintln!("skipping: no {what} (Debian: apt-get install chromium)");
        return None;
    }
    found
}

/// `target/`, where screenshots go.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .to_path_buf()
}

/// `tests/browser/cdp.py`.
pub fn driver() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/cdp.py")
}

/// Runs the driver with `args` (URL last) and returns its JSON report; fails the test
/// with the driver's error output when it does not succeed.
pub fn run_driver(chromium: &str, args: &[&str]) -> serde_json::Value {
    let output = Command::new("python3")
        .arg(driver())
        .args(["--chromium", chromium])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the DevTools driver");
    assert!(
        output.status.success(),
        "driver failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the driver's JSON report")
}
