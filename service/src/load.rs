//! A closed-loop load generator for the services' tests and benchmarks: `clients` threads
//! each send requests back to back for a while, and the latencies make a [`LoadReport`].
//! A benchmark tool, not a timed test: tests assert on errors and leaks, never on speed.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// What a load run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadReport {
    /// Requests that succeeded.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// The first failure, for the message of a test that fails.
    pub first_error: Option<String>,
    /// Median latency of the successful requests.
    pub p50: Duration,
    /// 99th-percentile latency of the successful requests.
    pub p99: Duration,
    /// Successful requests per second over the whole run.
    pub per_second: f64,
}

/// Runs `clients` threads for `duration`; thread `i` calls `setup(i)` once (its own
/// connection pool, say) and then `request(&mut state)` back to back until the time is up.
pub fn run<S, E: Display>(
    clients: usize,
    duration: Duration,
    setup: impl Fn(usize) -> S + Sync,
    request: impl Fn(&mut S) -> Result<(), E> + Sync,
) -> LoadReport {
    let started = Instant::now();
    let results: Vec<(Vec<Duration>, u64, Option<String>)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..clients)
            .map(|i| {
                let (setup, request) = (&setup, &request);
                scope.spawn(move || one_client(setup(i), started + duration, request))
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| (Vec::new(), 1, Some("a client panicked".into())))
            })
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64().max(f64::EPSILON);
    let mut latencies: Vec<Duration> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    latencies.sort_unstable();
    let requests = latencies.len() as u64;
    LoadReport {
        requests,
        errors: results.iter().map(|r| r.1).sum(),
        first_error: results.iter().find_map(|r| r.2.clone()),
        p50: percentile(&latencies, 50),
        p99: percentile(&latencies, 99),
        per_second: requests as f64 / elapsed,
    }
}

fn one_client<S, E: Display>(
    mut state: S,
    until: Instant,
    request: &(impl Fn(&mut S) -> Result<(), E> + Sync),
) -> (Vec<Duration>, u64, Option<String>) {
    let (mut latencies, mut errors, mut first) = (Vec::new(), 0, None);
    while Instant::now() < until {
        let start = Instant::now();
        match request(&mut state) {
            Ok(()) => latencies.push(start.elapsed()),
            Err(e) => {
                errors += 1;
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
    (latencies, errors, first)
}

/// The `p`-th percentile (nearest rank) of sorted `values`; zero when there are none.
fn percentile(values: &[Duration], p: usize) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = (values.len() * p).div_ceil(100).max(1);
    values[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        let values = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&values, 50), Duration::from_millis(50));
        assert_eq!(percentile(&values, 99), Duration::from_millis(99));
        assert_eq!(percentile(&ms(&[7]), 99), Duration::from_millis(7));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }

    #[test]
    fn a_run_counts_successes_and_failures() {
        let report = run(
            3,
            Duration::from_millis(50),
            |i| i,
            |i: &mut usize| {
                std::thread::sleep(Duration::from_millis(1));
                if *i == 2 {
                    Err("client 2 always fails")
                } else {
                    Ok(())
                }
            },
        );
        assert!(report.requests >= 2, "{report:?}");
        assert!(report.errors >= 1, "{report:?}");
        assert_eq!(report.first_error.as_deref(), Some("client 2 always fails"));
        assert!(report.p50 >= Duration::from_millis(1) && report.p99 >= report.p50);
        assert!(report.per_second > 0.0);
    }
}
