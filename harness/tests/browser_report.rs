//! `keylab demo --html FILE` as a reader opens it: one self-contained page that Chromium
//! renders offline without errors or requests, with a record per record of the model and
//! a byte explorer that names the field of a focused byte.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::browser::{chromium, run_driver, target_dir};
use support::{assert_ok, keylab, run_with_timeout};

/// `keylab demo --path all --seed 5 ARGS`; its stdout.
fn demo(args: &[&str]) -> String {
    let mut cmd = keylab();
    cmd.args(["demo", "--path", "all", "--seed", "5"])
        .args(args)
        .env_remove("SSLKEYLOGFILE");
    assert_ok(&run_with_timeout(cmd, None, Duration::from_secs(60)))
}

/// Writes the report of `--path all --seed 5` to a fresh file; returns it with its bytes.
fn report(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, Vec<u8>) {
    let file = dir.join(name);
    demo(&["--html", file.to_str().expect("utf-8 path")]);
    let bytes = std::fs::read(&file).expect("the report");
    (file, bytes)
}

#[test]
fn the_report_is_self_contained_small_and_repeatable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, a) = report(dir.path(), "a.html");
    let (_, b) = report(dir.path(), "b.html");
    assert_eq!(a, b, "the same seed gives the same page");
    assert!(a.len() < 2 * 1024 * 1024, "{} bytes", a.len());
    let page = String::from_utf8(a).expect("utf-8");
    for external in ["src=\"http", "href=\"http", "@import", "url(http", "<link "] {
        assert!(
            !page.contains(external),
            "refers outside the page: {external}"
        );
    }
    assert!(page.contains("<style>") && page.contains("<script>"));
    // Without the script everything is still there: every record and message has its
    // field table.
    assert!(page.matches("<table id=\"f-").count() > 100);
}

#[test]
fn chromium_renders_every_record_and_explains_a_focused_byte() {
    let Some(chromium) = chromium() else { return };
    let model: Value = serde_json::from_str(&demo(&["--explain", "--json"])).expect("JSON");
    let records = model["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .flat_map(|run| run["steps"].as_array().expect("steps"))
        .filter(|step| step["kind"] == "record")
        .count();
    assert!(records > 40, "{records} records");

    let dir = tempfile::tempdir().expect("tempdir");
    let (file, _) = report(dir.path(), "report.html");
    let url = format!("file://{}", file.display());
    let screenshot = target_dir().join("report-page.png");
    // The tenth byte of the first CertificateVerify lies in its signature (4 bytes of
    // header, 2 of algorithm, 2 of length).
    let verify = "article.message[data-message=\"CertificateVerify\"]";
    let report = run_driver(
        &chromium,
        &[
            "--count",
            "article.record",
            "--count",
            "svg",
            "--focus",
            &format!("{verify} .grid i:nth-of-type(10)"),
            "--read",
            &format!("{verify} .detail"),
            "--screenshot",
            screenshot.to_str().expect("utf-8 path"),
            &url,
        ],
    );
    assert_eq!(report["console_errors"], serde_json::json!([]), "{report}");
    let requests = report["requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 1, "only the file itself: {requests:?}");
    assert_eq!(report["counts"]["article.record"], records, "{report}");
    assert!(report["counts"]["svg"].as_u64() >= Some(6 * 3), "{report}");
    assert_eq!(report["focused"]["active"], true, "{report}");
    let shown = report["focused"]["read"].as_str().expect("detail text");
    assert!(shown.starts_with("signature"), "{shown}");
    assert!(screenshot.exists());
}
