//! Seeded one-call runs: reproducibility, the report's bookkeeping, sweeps and their plots.

mod common;

use std::ops::ControlFlow;

use common::{assert_proportion, eg_p};
use predist::{Config, Scheme, SweepConfig, SweepEvent, Vary, simulate, sweep, sweep_with};

fn config(seed: u64) -> Config {
    Config {
        scheme: Scheme::QComposite {
            pool: 2000,
            ring: 60,
            q: 2,
        },
        nodes: 800,
        range: Some(0.12),
        capture: Some(25),
        seed,
    }
}

#[test]
fn same_seed_same_report_other_seed_other_report() {
    let a = simulate(&config(11)).expect("simulate");
    assert_eq!(a, simulate(&config(11)).expect("simulate"));
    let b = simulate(&config(12)).expect("simulate");
    assert_ne!(a.links, b.links);
}

#[test]
fn report_bookkeeping_is_consistent() {
    let r = simulate(&config(13)).expect("simulate");
    assert_eq!(r.keys_per_node, 60);
    let measured = r.local_connectivity.measured.expect("pairs");
    assert_eq!(measured, r.links as f64 / r.neighbour_pairs as f64);
    assert!((r.mean_degree - 2.0 * r.neighbour_pairs as f64 / 800.0).abs() < 1e-12);
    let pk = r.path_keys;
    assert_eq!(pk.unsecured_pairs, r.neighbour_pairs - r.links);
    assert_eq!(pk.examined, pk.two_hops + pk.three_hops + pk.beyond);
    let c = r.capture.expect("capture asked for");
    assert_eq!(c.captured, 25);
    assert!(c.links <= r.links && c.compromised <= c.links);
    assert_eq!(
        c.fraction.measured,
        Some(c.compromised as f64 / c.links as f64)
    );
    assert_eq!(
        c.fraction.analytic,
        config(13).scheme.compromised_fraction(25)
    );
    assert!(r.largest_component_fraction > 0.0 && r.largest_component_fraction <= 1.0);
}

#[test]
fn bad_parameters_are_errors_not_panics() {
    let mut c = config(1);
    c.capture = Some(801);
    assert_eq!(
        simulate(&c).unwrap_err().to_string(),
        "--capture must be at most the number of nodes (800), got 801"
    );
    let q = "--q must be between 1 and the ring size 10";
    for (scheme, message) in [
        (
            Scheme::Eg { pool: 10, ring: 11 },
            "--ring must be between 1 and the pool size 10, got 11".to_owned(),
        ),
        (
            Scheme::Eg { pool: 0, ring: 0 },
            "--pool must be between 1 and 100000000, got 0".to_owned(),
        ),
        (
            Scheme::QComposite {
                pool: 100,
                ring: 10,
                q: 11,
            },
            format!("{q}, got 11"),
        ),
        (
            Scheme::QComposite {
                pool: 100,
                ring: 10,
                q: 0,
            },
            format!("{q}, got 0"),
        ),
        (
            Scheme::Blundo { degree: 1_000_000 },
            "--degree must be at most 4096, got 1000000".to_owned(),
        ),
    ] {
        let c = Config {
            scheme,
            capture: None,
            ..config(1)
        };
        assert_eq!(simulate(&c).unwrap_err().to_string(), message, "{scheme:?}");
    }
    let c = Config {
        nodes: 30_000,
        range: None,
        capture: None,
        ..config(1)
    };
    assert!(matches!(
        simulate(&c),
        Err(predist::Error::TooManyPairs { .. })
    ));
}

#[test]
fn ring_sweep_follows_the_curve_and_plots() {
    let pool = 1000;
    let cfg = SweepConfig {
        schemes: vec![
            Scheme::Eg { pool, ring: 1 },
            Scheme::QComposite {
                pool,
                ring: 1,
                q: 2,
            },
        ],
        nodes: 300,
        range: None,
        vary: Vary::Ring,
        from: 10,
        to: 60,
        step: 10,
        seed: 3,
    };
    let mut calls = Vec::new();
    let s = sweep(&cfg, &mut |done, total| calls.push((done, total))).expect("sweep");
    assert_eq!(calls.last(), Some(&(12, 12)));
    assert_eq!(s.series.len(), 2);
    for series in &s.series {
        assert_eq!(series.points.len(), 6);
        assert_eq!(series.curve.len(), 51);
        assert!(
            series.curve.windows(2).all(|w| w[0].1 <= w[1].1),
            "connectivity grows with k"
        );
        for p in &series.points {
            let analytic = p.value.analytic.expect("formula");
            // Each point measures 44,850 pairwise-independent pairs (see common/mod.rs).
            assert_proportion(
                "sweep point",
                p.value.measured.expect("pairs"),
                analytic,
                44_850,
            );
        }
    }
    let eg = &s.series[0];
    assert!((eg.points[2].value.analytic.unwrap_or(0.0) - eg_p(pool, 30)).abs() < 1e-9);

    let svg = predist::plot::sweep_svg(&s).expect("plot");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(
        svg.matches("<circle").count(),
        12,
        "one marker per simulated point"
    );
    assert!(svg.contains("Eschenauer–Gligor (pool 1000)"));
    assert!(svg.contains("q-composite (pool 1000, q 2)"));
}

#[test]
fn capture_sweep_shows_blundo_threshold() {
    let cfg = SweepConfig {
        schemes: vec![
            Scheme::Eg {
                pool: 1000,
                ring: 30,
            },
            Scheme::Blundo { degree: 12 },
        ],
        nodes: 150,
        range: None,
        vary: Vary::Capture,
        from: 0,
        to: 30,
        step: 3,
        seed: 4,
    };
    let s = sweep(&cfg, &mut |_, _| {}).expect("sweep");
    let blundo = &s.series[1];
    for p in &blundo.points {
        let want = if p.x > 12 { 1.0 } else { 0.0 };
        assert_eq!(p.value.measured, Some(want), "x={}", p.x);
        assert_eq!(p.value.analytic, Some(want));
    }
    let eg = &s.series[0];
    assert_eq!(eg.points[0].value.measured, Some(0.0));
    assert!(
        eg.points
            .windows(2)
            .all(|w| w[0].value.measured <= w[1].value.measured)
    );
    assert!(
        predist::plot::sweep_svg(&s)
            .expect("plot")
            .contains("Blundo polynomial (degree 12)")
    );

    let blundo_ring = SweepConfig {
        vary: Vary::Ring,
        from: 1,
        ..cfg
    };
    assert_eq!(
        sweep(&blundo_ring, &mut |_, _| {}).unwrap_err().to_string(),
        "--vary ring must be a scheme with a key ring (eg, qcomposite), got blundo",
        "Blundo has no ring to vary"
    );
}

#[test]
fn sweep_with_reports_row_by_row_what_sweep_returns() {
    for vary in [Vary::Ring, Vary::Capture] {
        let cfg = SweepConfig {
            schemes: vec![
                Scheme::Eg {
                    pool: 500,
                    ring: 10,
                },
                Scheme::QComposite {
                    pool: 500,
                    ring: 10,
                    q: 2,
                },
            ],
            nodes: 120,
            range: Some(0.3),
            vary,
            from: 10,
            to: 40,
            step: 15,
            seed: 9,
        };
        let mut started = None;
        let mut points = Vec::new();
        let s = sweep_with(&cfg, &mut |event| {
            match event {
                SweepEvent::Started { schemes, total } => {
                    assert!(points.is_empty(), "Started comes first");
                    started = Some((schemes.to_vec(), total));
                }
                SweepEvent::Point {
                    series,
                    point,
                    done,
                    total,
                } => {
                    assert_eq!((done, total), (points.len() + 1, 6));
                    points.push((series, point));
                }
            }
            ControlFlow::Continue(())
        })
        .expect("sweep");
        assert_eq!(s, sweep(&cfg, &mut |_, _| {}).expect("sweep"), "{vary:?}");
        let schemes: Vec<Scheme> = s.series.iter().map(|series| series.scheme).collect();
        assert_eq!(started, Some((schemes, 6)));
        // Row by row: (eg, qcomposite) at x = 10, then at 25, then at 40.
        let order: Vec<(usize, u32)> = points.iter().map(|(i, p)| (*i, p.x)).collect();
        assert_eq!(
            order,
            [(0, 10), (1, 10), (0, 25), (1, 25), (0, 40), (1, 40)]
        );
        for (i, point) in points {
            assert!(s.series[i].points.contains(&point));
        }
    }
}

#[test]
fn a_sweep_stops_when_its_caller_says_so() {
    let cfg = SweepConfig {
        schemes: vec![Scheme::Blundo { degree: 3 }],
        nodes: 40,
        range: None,
        vary: Vary::Capture,
        from: 0,
        to: 20,
        step: 1,
        seed: 1,
    };
    let mut seen = 0;
    let err = sweep_with(&cfg, &mut |event| {
        if matches!(event, SweepEvent::Point { .. }) {
            seen += 1;
        }
        if seen == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap_err();
    assert_eq!(err, predist::Error::Stopped);
    assert_eq!(seen, 3, "no point after the break");
}
