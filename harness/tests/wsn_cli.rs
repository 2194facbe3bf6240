//! `keylab wsn ...` as a user runs it: output, JSON shape, usage errors, plots.
//!
//! The binary is a debug build here, so deployments stay small (at most 1,000 nodes).

mod support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use predist::analysis::ln_choose;
use serde_json::Value;
use support::{assert_mentions, run_keylab, run_with_timeout, stderr, stdout};

/// `keylab wsn` with a whitespace-separated command line.
fn wsn(line: &str) -> Output {
    let mut all = vec!["wsn"];
    all.extend(line.split_whitespace());
    run_keylab(&all)
}

/// `keylab wsn LINE` is refused: exit 2, `message` on stderr, nothing on stdout.
#[track_caller]
fn assert_refused(line: &str, message: &str) {
    let o = wsn(line);
    assert_eq!(o.status.code(), Some(2), "{line}: {}", stderr(&o));
    assert!(stderr(&o).contains(message), "{line}: {}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{line}");
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    let text = stdout(o);
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "one JSON object on one line: {text}"
    );
    serde_json::from_str(&text).expect("valid JSON")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Eschenauer–Gligor 2002: 1 − C(P−k, k)/C(P, k), from log-gamma binomials.
fn eg_p(pool: u64, ring: u64) -> f64 {
    1.0 - (ln_choose(pool - ring, ring) - ln_choose(pool, ring)).exp()
}

#[test]
fn simulate_json_has_the_documented_shape_and_agrees_with_the_paper() {
    let v = json(&wsn(
        "simulate --scheme eg --nodes 600 --pool 1000 --ring 30 --range 0.15 \
                       --capture 20 --seed 5 --json",
    ));
    assert_eq!(v["scheme"], "eg");
    assert_eq!(v["nodes"], 600);
    assert_eq!(v["seed"], 5);
    assert_eq!(v["range"], 0.15);
    let pairs = v["neighbour_pairs"].as_u64().expect("neighbour_pairs");
    let lc = &v["local_connectivity"];
    let (measured, analytic) = (f(&lc["measured"]), f(&lc["analytic"]));
    let p = eg_p(1000, 30);
    assert!((analytic - p).abs() < 1e-9, "{analytic} vs {p}");
    // Pair outcomes are pairwise independent: standard error sqrt(p(1−p)/pairs); 5 of them
    // (a correct build fails with probability below 1e-6; the seed is fixed anyway).
    let se = (p * (1.0 - p) / pairs as f64).sqrt();
    assert!(
        (measured - p).abs() <= 5.0 * se,
        "{measured} vs {p} ± {}",
        5.0 * se
    );
    let lcc = f(&v["largest_component_fraction"]);
    assert!(lcc > 0.0 && lcc <= 1.0);
    // Analytic compromised fraction: 1 − (1 − k/P)^x.
    let cf = &v["compromised_fraction"];
    assert!((f(&cf["analytic"]) - (1.0 - (1.0 - 30.0 / 1000.0f64).powi(20))).abs() < 1e-12);
    let ratio = f(&v["compromised_links"]) / f(&v["links_between_uncaptured"]);
    assert!((f(&cf["measured"]) - ratio).abs() < 1e-12);
    let links = v["links"].as_u64().expect("links");
    assert_eq!(
        v["path_keys"]["unsecured_pairs"].as_u64(),
        Some(pairs - links)
    );
}

#[test]
fn compromised_fraction_only_with_capture() {
    let v = json(&wsn(
        "simulate --scheme qcomposite --nodes 300 --pool 500 --ring 30 --q 2 --seed 1 --json",
    ));
    assert_eq!(v["scheme"], "qcomposite");
    assert_eq!(v["q"], 2);
    assert!(v["range"].is_null());
    assert!(v.get("compromised_fraction").is_none(), "{v}");
}

#[test]
fn blundo_is_exact_at_the_threshold() {
    for (x, want) in [(8, 0.0), (9, 1.0)] {
        let v = json(&wsn(&format!(
            "simulate --scheme blundo --nodes 200 --degree 8 --capture {x} --seed 3 --json"
        )));
        assert_eq!(v["degree"], 8);
        assert_eq!(v["keys_per_node"], 9);
        assert_eq!(f(&v["local_connectivity"]["measured"]), 1.0);
        assert_eq!(f(&v["compromised_fraction"]["measured"]), want, "x = {x}");
        assert_eq!(f(&v["compromised_fraction"]["analytic"]), want, "x = {x}");
    }
}

#[test]
fn text_output_puts_measured_beside_analytic() {
    let line = "simulate --scheme eg --nodes 400 --pool 1000 --ring 30 --range 0.2 --capture 10 \
                --seed 9";
    let o = wsn(line);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_mentions(
        &out,
        &[
            "Eschenauer–Gligor (pool 1000, ring 30)",
            "measured",
            "analytic",
            "local connectivity",
            "largest secure component",
            "compromised fraction (x = 10)",
            "seed       9",
            &format!("{:.4}", eg_p(1000, 30)),
        ],
    );
    // Seeded runs repeat exactly.
    assert_eq!(stdout(&wsn(line)), out);
    // Without --seed a random one is chosen and printed.
    let o = wsn("simulate --scheme eg --nodes 50 --ring 20");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).lines().any(|l| l.starts_with("seed ")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn flags_that_do_not_apply_are_usage_errors() {
    let cases = [
        (
            "simulate --scheme eg --nodes 10 --q 2",
            "--q does not apply to --scheme eg",
        ),
        (
            "simulate --scheme eg --nodes 10 --degree 3",
            "--degree does not apply",
        ),
        (
            "simulate --scheme qcomposite --nodes 10 --degree 3",
            "--degree does not apply",
        ),
        (
            "simulate --scheme blundo --nodes 10 --pool 100",
            "--pool does not apply",
        ),
        (
            "simulate --scheme blundo --nodes 10 --ring 5",
            "--ring does not apply",
        ),
        (
            "simulate --scheme blundo --nodes 10 --q 2",
            "--q does not apply",
        ),
        (
            "sweep --scheme eg --nodes 10 --vary capture --from 0 --to 5 --degree 2",
            "--degree does not apply to any of --scheme eg",
        ),
        (
            "sweep --scheme eg --nodes 10 --vary ring --from 1 --to 5 --ring 3",
            "drop --ring",
        ),
        (
            "sweep --scheme eg,blundo --nodes 10 --vary ring --from 1 --to 5",
            "--vary ring does not apply to --scheme blundo",
        ),
    ];
    for (line, message) in cases {
        assert_refused(line, message);
    }
}

#[test]
fn bad_values_are_input_errors() {
    let cases = [
        ("simulate --scheme eg --nodes 10 --capture 11", "--capture"),
        ("simulate --scheme eg --nodes 0", "--nodes"),
        ("simulate --scheme eg --nodes 10 --range=-1", "--range"),
        ("simulate --scheme eg --nodes 10 --range 0", "--range"),
        (
            "simulate --scheme eg --nodes 10 --pool 50 --ring 60",
            "--ring",
        ),
        (
            "simulate --scheme qcomposite --nodes 10 --ring 5 --q 6",
            "--q",
        ),
        ("simulate --scheme eg --nodes 30000", "neighbour pairs"),
        (
            "sweep --scheme eg --nodes 10 --vary capture --from 0 --to 11",
            "--capture",
        ),
        (
            "sweep --scheme eg --nodes 10 --vary capture --from 0 --to 5 --step 0",
            "--step",
        ),
        (
            "sweep --scheme eg --nodes 10 --vary capture --from 6 --to 5",
            "--from",
        ),
        ("simulate --scheme rsa --nodes 10", "invalid value"),
        ("simulate --scheme eg", "--nodes"),
    ];
    for (line, message) in cases {
        assert_refused(line, message);
    }
}

#[test]
fn sweep_prints_a_table_writes_a_plot_and_keeps_existing_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let svg = dir.path().join("ring.svg");
    let mut args: Vec<&str> = "wsn sweep --scheme eg,qcomposite --nodes 300 --pool 1000 --q 2 \
                               --vary ring --from 10 --to 50 --step 20 --seed 2 --plot"
        .split_whitespace()
        .collect();
    args.push(p(&svg));
    let o = run_keylab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("eg measured") && out.contains("qcomposite analytic"),
        "{out}"
    );
    assert!(out.contains(&format!("{:.4}", eg_p(1000, 30))), "{out}");
    let plot = std::fs::read_to_string(&svg).expect("plot written");
    assert!(plot.starts_with("<svg") && plot.contains("</svg>"));
    assert_eq!(plot.matches("<circle").count(), 6, "3 points × 2 schemes");
    // The table is the data; the status line goes to stderr.
    assert!(!out.contains("plot written"), "{out}");
    assert!(
        stderr(&o).contains(&format!("plot written to {}", svg.display())),
        "{}",
        stderr(&o)
    );

    let o = run_keylab(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pass --force"), "{}", stderr(&o));
    args.push("--force");
    assert!(run_keylab(&args).status.success());
}

#[test]
fn sweep_json_lists_each_series() {
    let v = json(&wsn(
        "sweep --scheme eg,blundo --nodes 120 --ring 20 --pool 500 --degree 6 --vary capture \
         --from 0 --to 12 --step 3 --seed 4 --json",
    ));
    assert_eq!(v["vary"], "capture");
    let series = v["series"].as_array().expect("series");
    assert_eq!(series.len(), 2);
    assert_eq!(series[1]["scheme"], "blundo");
    for point in series[1]["points"].as_array().expect("points") {
        let x = point["x"].as_u64().expect("x");
        let want = if x > 6 { 1.0 } else { 0.0 };
        assert_eq!(f(&point["measured"]), want, "x = {x}");
    }
    let eg = series[0]["points"].as_array().expect("points");
    assert_eq!(eg.len(), 5);
    for point in eg {
        let x = point["x"].as_u64().expect("x") as i32;
        let want = 1.0 - (1.0 - 20.0 / 500.0f64).powi(x);
        assert!((f(&point["analytic"]) - want).abs() < 1e-12);
    }
}

#[test]
fn a_scheme_given_twice_is_a_usage_error() {
    for line in [
        "sweep --scheme eg,blundo,eg --nodes 10 --vary capture --from 0 --to 5",
        "sweep --scheme eg --scheme blundo --scheme eg --nodes 10 --vary capture --from 0 --to 5",
        "sweep --scheme eg,eg --nodes 10 --vary ring --from 1 --to 5",
    ] {
        assert_refused(line, "--scheme eg is given more than once");
    }
}

#[test]
fn absurd_sizes_are_refused_up_front() {
    let cases = [
        (
            "sweep --scheme eg --nodes 10 --vary capture --from 0 --to 4294967295",
            "--capture must be at most the number of nodes (10)",
        ),
        (
            "sweep --scheme eg --nodes 10 --pool 100000000 --vary ring --from 1 --to 100000000",
            "--step must be large enough for at most 1000 points",
        ),
        (
            "simulate --scheme eg --nodes 3000 --pool 100000 --ring 30000 --seed 1",
            "neighbour pairs × --ring must be at most 100000000000",
        ),
        (
            "simulate --scheme qcomposite --nodes 3000 --pool 1000000 --ring 400000 --seed 1",
            "--nodes × --ring must be at most 1000000000 (key ids all rings together hold, 4 \
             bytes each",
        ),
        (
            "simulate --scheme eg --nodes 1000000 --range 0.1 --seed 1",
            "1000000 nodes with range 0.1 give more than 400000000 neighbour pairs (20 bytes \
             each at the peak of a simulation, 8 GB)",
        ),
        (
            "simulate --scheme blundo --nodes 3000 --degree 4096 --seed 1",
            "field multiplications",
        ),
    ];
    for (line, message) in cases {
        assert_refused(line, message);
    }
}

#[test]
fn handshake_keys_a_real_psk_handshake_with_the_link_key() {
    for scheme in ["eg", "qcomposite", "blundo"] {
        let line = format!("handshake --scheme {scheme} --seed 11 --json");
        let v = json(&wsn(&line));
        assert_eq!(v["scheme"], scheme);
        assert_eq!(v["ok"], true, "{v}");
        // Each node derived the key on its own; they agree.
        assert_eq!(v["key_a_sha256_prefix"], v["key_b_sha256_prefix"], "{v}");
        for side in ["client", "server"] {
            assert_eq!(v[side]["path"], "psk+dhe", "{v}");
        }
        assert_eq!(
            v["client"]["transcript_hash"],
            v["server"]["transcript_hash"]
        );
        let identity = v["psk_identity"].as_str().expect("identity");
        assert_eq!(
            identity,
            format!("wsn-link-{}-{}", v["node_a"], v["node_b"])
        );
    }
    // Same seed, same output (text too); another seed, other nodes.
    let a = wsn("handshake --seed 11");
    let b = wsn("handshake --seed 11");
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(stdout(&a), stdout(&b));
    assert!(stdout(&a).contains("path=psk+dhe"), "{}", stdout(&a));
    assert!(
        stdout(&a).contains("ok: the predistributed link key authenticated both nodes"),
        "{}",
        stdout(&a)
    );
    assert_ne!(stdout(&a), stdout(&wsn("handshake --seed 12")));
}

#[test]
fn handshake_usage_errors_and_impossible_links() {
    for (line, needle) in [
        (
            "handshake --scheme blundo --ring 5",
            "--ring does not apply",
        ),
        ("handshake --scheme eg --q 2", "--q does not apply"),
        (
            "handshake --scheme eg --degree 3",
            "--degree does not apply",
        ),
        (
            "handshake --ring 20 --pool 10",
            "need 1 <= q <= ring <= pool",
        ),
        (
            "handshake --scheme qcomposite --q 9 --ring 5",
            "need 1 <= q",
        ),
    ] {
        assert_refused(line, needle);
    }
    // Two keys out of 100,000 with q = 2: no pair links; the command says so.
    let o = wsn("handshake --scheme qcomposite --pool 100000 --ring 2 --q 2 --seed 1");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("shared 2 key(s) in 10000 draws"),
        "{}",
        stderr(&o)
    );
}

/// A ring sweep of the reference deployment (10,000 nodes at range 0.05): under half a
/// second per point in a debug build, 101 points.
const SLOW_SWEEP: &str =
    "wsn sweep --scheme eg --nodes 10000 --range 0.05 --vary ring --from 100 --to 200 --seed 1";

#[test]
fn an_unwritable_plot_is_refused_before_the_sweep() {
    for (plot, message) in [
        ("/nonexistent/x.svg", "/nonexistent does not exist"),
        ("/tmp", "/tmp is a directory; name a file to write"),
    ] {
        let mut cmd = support::keylab();
        cmd.args(SLOW_SWEEP.split_whitespace())
            .args(["--plot", plot]);
        let started = Instant::now();
        let o = run_with_timeout(cmd, None, Duration::from_secs(20));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{plot}: not up front"
        );
        support::assert_fails(&o, 2, message);
    }
}

#[test]
fn a_plot_that_would_not_be_svg_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    for (name, message) in [
        (
            "out.png",
            "keylab draws plots in SVG only, not PNG; name the file FILE.svg",
        ),
        (
            "plot",
            "keylab draws plots in SVG only; name the file FILE.svg",
        ),
    ] {
        let path = dir.path().join(name);
        let line = format!(
            "sweep --scheme eg --nodes 50 --vary ring --from 1 --to 5 --seed 1 --plot {}",
            p(&path)
        );
        assert_refused(&line, message);
        assert!(!path.exists(), "nothing written to {name}");
    }
    // Upper case is still SVG.
    let svg = dir.path().join("OUT.SVG");
    let o = wsn(&format!(
        "sweep --scheme eg --nodes 50 --vary ring --from 1 --to 5 --seed 1 --plot {}",
        p(&svg)
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(&svg)
            .expect("plot")
            .starts_with("<svg")
    );
}

#[test]
fn plot_dash_writes_svg_to_stdout_and_the_table_to_stderr() {
    let line = "sweep --scheme eg,qcomposite --nodes 300 --pool 1000 --vary ring --from 10 \
                --to 50 --step 20 --seed 2";
    let table = wsn(line);
    assert!(table.status.success(), "{}", stderr(&table));
    let o = wsn(&format!("{line} --plot -"));
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = stdout(&o);
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    assert_eq!(svg.matches("<circle").count(), 6);
    assert_eq!(stderr(&o), stdout(&table), "the same table, on stderr");
    let o = wsn(&format!("{line} --plot - --json"));
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("a JSON error");
    assert_eq!(v["error"]["kind"], "input");
    let message = v["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("--plot - and --json would both write to stdout"),
        "{message}"
    );
}

#[test]
fn sweep_rows_are_printed_as_their_points_finish() {
    let mut child = support::keylab()
        .args(SLOW_SWEEP.split_whitespace())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn keylab");
    let out = child.stdout.take().expect("stdout");
    let running = support::Running {
        child,
        stderr: None,
    };
    let lines = support::lines(out);
    let mut seen = Vec::new();
    // The header (what is swept, the series, a blank line, the column headings), then
    // the first two rows.
    while seen.len() < 6 {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no row within 30 s; got {seen:?}"));
        seen.push(line);
    }
    let mut running = running;
    assert!(
        running.child.try_wait().expect("wait").is_none(),
        "rows arrived only at the end: {seen:?}"
    );
    assert!(seen[3].trim_start().starts_with("ring"), "{seen:?}");
    assert!(seen[4].trim_start().starts_with("100 "), "{seen:?}");
    assert!(seen[5].trim_start().starts_with("101 "), "{seen:?}");
    // Stopped early (as by Ctrl-C), it has still printed those rows in full.
    drop(running);
}

#[test]
fn sweep_progress_shows_points_and_time_left_on_request() {
    let line = "sweep --scheme eg --nodes 200 --vary ring --from 10 --to 40 --step 10 --seed 3";
    let quiet = wsn(line);
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert!(
        stderr(&quiet).is_empty(),
        "no bar when stderr is not a terminal"
    );
    let o = wsn(&format!("{line} --progress always"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), stdout(&quiet), "the same table");
    let bar = stderr(&o);
    assert_mentions(
        &bar,
        &["] 0/4 points", "] 1/4 points", "left", "] 4/4 points"],
    );
    assert!(wsn(&format!("{line} --progress never")).stderr.is_empty());
}

#[test]
fn sweep_help_documents_every_option() {
    let o = run_keylab(&["wsn", "sweep", "--help"]);
    let help = stdout(&o);
    assert_mentions(
        &help,
        &[
            "--progress <WHEN>",
            "auto = when stderr is a terminal",
            "--plot <FILE.svg>",
            "`-` writes it to stdout, and the table to stderr",
            "Other formats (PNG) are refused",
            "Ctrl-C",
            "--force",
            "--json",
        ],
    );
}
