//! Headless Chromium against `keylab teach` (issue #17, test (b)): the page loads over
//! TLS 1.3 with keylab's leaf trusted for the session (the SPKI flag), names the groups
//! Chromium offered, the path taken and the ALPN protocol chosen (http/1.1), and shows the
//! client random keylab received (compared with `/explain.json`). A screenshot goes to `target/teach-page.png`.
//!
//! The driver is `tests/browser/cdp.py` (Python standard library, DevTools protocol over
//! `--remote-debugging-pipe`). Without Chromium (or python3) the test is skipped with a
//! notice, except under `CI=true`, where it fails.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::browser::{chromium, driver, target_dir};
use support::{keylab, lines, start};

#[test]
fn chromium_loads_the_teach_page_over_tls13_and_sees_its_own_client_random() {
    let Some(chromium) = chromium() else { return };
    let data = tempfile::tempdir().expect("tempdir");
    let mut cmd = keylab();
    cmd.args(["teach", "--listen", "127.0.0.1:0"])
        .env("XDG_DATA_HOME", data.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let (mut teach, addr, out) = start(cmd, |l| {
        l.strip_prefix("listening on ")
            .and_then(|rest| rest.split_once(": "))
            .map(|(addr, _)| addr.to_owned())
    });
    let log = lines(teach.stderr.take().expect("stderr"));
    let spki = std::iter::from_fn(|| out.recv_timeout(Duration::from_secs(5)).ok())
        .find_map(|l| l.strip_prefix("spki: ").map(str::to_owned))
        .expect("teach prints the leaf's SPKI hash");
    let port = addr.rsplit(':').next().expect("port");
    let screenshot = target_dir().join("teach-page.png");
    let _ = std::fs::remove_file(&screenshot);

    let page_js = "JSON.stringify({id: document.getElementById('connection-id').textContent, \
                   random: document.getElementById('client-random').textContent, \
                   text: document.body.innerText})";
    let json_js = "fetch(document.querySelector('a[href^=\"/explain.json\"]').getAttribute('href'))\
                   .then(r => r.text())";
    let output = Command::new("python3")
        .arg(driver())
        .args(["--chromium", &chromium, "--spki", &spki])
        .arg("--screenshot")
        .arg(&screenshot)
        .args(["--eval", page_js, "--eval", json_js])
        .arg(format!("https://localhost:{port}/hello"))
        .stdin(Stdio::null())
        .output()
        .expect("run the driver");
    let log: Vec<String> = log.try_iter().collect();
    assert!(
        output.status.success(),
        "driver failed: {}\nkeylab log: {log:#?}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("driver JSON");

    let page_response = report["responses"]
        .as_array()
        .and_then(|r| {
            r.iter()
                .find(|r| r["url"].as_str().is_some_and(|u| u.ends_with("/hello")))
        })
        .unwrap_or_else(|| panic!("no response for the page: {report:#}"));
    assert_eq!(page_response["status"], 200);
    let security = &page_response["security"];
    assert_eq!(security["protocol"], "TLS 1.3", "{security:#}");
    assert_eq!(security["subjectName"], "localhost", "{security:#}");
    assert_eq!(
        report["console_errors"].as_array().map(Vec::len),
        Some(0),
        "{:#}",
        report["console_errors"]
    );

    let evals = report["evals"].as_array().expect("evals");
    let page: serde_json::Value =
        serde_json::from_str(evals[0].as_str().expect("page values")).expect("page JSON");
    let model: serde_json::Value =
        serde_json::from_str(evals[1].as_str().expect("explain.json text")).expect("model JSON");
    let text = page["text"].as_str().expect("page text");
    let random = page["random"].as_str().expect("shown client random");

    // The client random on the page is the one keylab received: the model's, taken from
    // the ClientHello the server decoded, and the bytes of its `random` field.
    assert_eq!(model["offered"]["client_random"], random);
    let hello_random = model["explanation"]["steps"]
        .as_array()
        .and_then(|steps| {
            steps
                .iter()
                .find(|s| s["kind"] == "message" && s["name"] == "ClientHello")
        })
        .and_then(|hello| hello["fields"].as_array())
        .and_then(|fields| fields.iter().find(|f| f["name"] == "random"))
        .and_then(|f| f["hex"].as_str())
        .map(|h| h.replace(' ', ""));
    assert_eq!(hello_random.as_deref(), Some(random));

    // Chromium's offered groups are named, with the one keylab chose, and the path.
    let groups: Vec<&str> = model["offered"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(groups.contains(&"x25519"), "{groups:?}");
    for g in groups.iter().filter(|g| **g != "GREASE") {
        assert!(
            text.contains(g),
            "the page does not name the offered group {g}"
        );
    }
    let path = model["explanation"]["path"].as_str().expect("path");
    assert!(
        text.contains(path),
        "the page does not name the path {path}"
    );
    assert!(
        model["summary"]
            .as_str()
            .is_some_and(|s| s.contains("group=x25519")),
        "{model:#}"
    );
    assert!(text.contains("GET /hello"));

    // ALPN (RFC 7301): Chromium offers h2 and http/1.1; keylab speaks HTTP/1.1 only, so it
    // chose http/1.1, and the page says so and why.
    let offered_alpn = &model["offered"]["alpn"];
    assert!(
        offered_alpn
            .as_array()
            .is_some_and(|a| a.iter().any(|n| n == "http/1.1") && a.iter().any(|n| n == "h2")),
        "{offered_alpn}"
    );
    assert_eq!(model["offered"]["alpn_chosen"], "http/1.1");
    assert!(
        text.contains("keylab chose \"http/1.1\"") && text.contains("does not implement HTTP/2"),
        "the page does not name the chosen ALPN"
    );
    assert!(
        model["summary"]
            .as_str()
            .is_some_and(|s| s.contains("alpn=\"http/1.1\"")),
        "{}",
        model["summary"]
    );

    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", screenshot.display());
}
