//! The DevTools driver itself, on a small `file://` page: console errors and network
//! requests are reported, selectors counted, and focusing one element changes another's
//! text — what the `--html` report test relies on.

mod support;

use support::browser::{chromium, run_driver};

#[test]
fn the_driver_reports_errors_requests_counts_and_focus() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("page.html");
    std::fs::write(
        &page,
        "<!doctype html><html><head><title>driver</title></head><body>\
         <span class=\"b\" tabindex=\"0\" data-f=\"one\">01</span>\
         <span class=\"b\" tabindex=\"0\" data-f=\"two\">02</span><p id=\"shown\">none</p>\
         <script>for (const b of document.querySelectorAll('.b')) b.addEventListener('focus', \
         e => document.getElementById('shown').textContent = e.target.dataset.f);\
         console.error('deliberate');</script></body></html>",
    )
    .expect("write the page");
    let url = format!("file://{}", page.display());
    let report = run_driver(
        &chromium,
        &[
            "--count",
            ".b",
            "--count",
            "table",
            "--focus",
            ".b:nth-of-type(2)",
            "--read",
            "#shown",
            &url,
        ],
    );
    assert_eq!(report["title"], "driver");
    assert_eq!(report["counts"][".b"], 2);
    assert_eq!(report["counts"]["table"], 0);
    assert_eq!(report["focused"]["active"], true);
    assert_eq!(report["focused"]["read"], "two");
    assert_eq!(report["console_errors"], serde_json::json!(["deliberate"]));
    let requests = report["requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 1, "only the page itself: {requests:?}");
    assert_eq!(requests[0]["url"], url.as_str());
}
