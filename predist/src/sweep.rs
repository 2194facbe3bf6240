//! Parameter sweeps for plotting: many deployments or captures of one placement, their
//! points computed on every core and reported in order.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::budget::check_budget;
use crate::error::Error;
use crate::network::Network;
use crate::scheme::Scheme;
use crate::simulate::{Estimate, Stream, check_capture, rng};
use crate::topology::Topology;

/// The parameter a sweep varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vary {
    /// Ring size k (random-pool schemes): local connectivity against k.
    Ring,
    /// Captured nodes x: compromised fraction against x.
    Capture,
}

/// A sweep: one series per scheme, `from..=to` in steps of `step`.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepConfig {
    /// The schemes, one series each (for [`Vary::Ring`], their ring size is replaced).
    pub schemes: Vec<Scheme>,
    /// Number of nodes.
    pub nodes: u32,
    /// Radio range; `None` for the complete graph.
    pub range: Option<f64>,
    /// What to vary.
    pub vary: Vary,
    /// First value.
    pub from: u32,
    /// Last value (included when the steps land on it).
    pub to: u32,
    /// Step, at least 1.
    pub step: u32,
    /// Seed.
    pub seed: u64,
}

/// One simulated point of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// The varied parameter.
    pub x: u32,
    /// Measured and analytic values at `x`.
    pub value: Estimate,
}

/// The points of one scheme, and its analytic curve at every integer `x` in the range.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The scheme (for a ring sweep, with the ring of the first point).
    pub scheme: Scheme,
    /// Simulated points.
    pub points: Vec<Point>,
    /// `(x, analytic value)` at every integer `x` from `from` to `to`.
    pub curve: Vec<(u32, f64)>,
}

/// The result of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// What was swept.
    pub config: SweepConfig,
    /// One series per scheme, in the order given.
    pub series: Vec<Series>,
}

/// What [`sweep_with`] reports while it runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SweepEvent<'a> {
    /// The parameters are checked and nothing is simulated yet: the scheme of each series
    /// (as [`Series::scheme`] will hold it) and the number of points to simulate.
    Started {
        /// The series' schemes, in order.
        schemes: &'a [Scheme],
        /// Points to simulate, over all series.
        total: usize,
    },
    /// A point is done. Points come row by row: every series at one `x`, in the order of
    /// the schemes, then every series at the next `x`.
    Point {
        /// Index of the point's series.
        series: usize,
        /// The point.
        point: Point,
        /// Points done so far, this one included.
        done: usize,
        /// Points to simulate, over all series.
        total: usize,
    },
}

/// Runs a sweep, calling `progress(done, total)` after each simulated point.
pub fn sweep(config: &SweepConfig, progress: &mut dyn FnMut(usize, usize)) -> Result<Sweep, Error> {
    sweep_with(config, &mut |event| {
        if let SweepEvent::Point { done, total, .. } = event {
            progress(done, total);
        }
        ControlFlow::Continue(())
    })
}

/// Runs a sweep on every core, reporting its start and then each point, in order, as soon
/// as it and the points before it are done (so that a caller can print a table row by
/// row). The points are those of [`sweep`]: each is computed from the seed alone, whatever
/// the order or the number of threads. When `on` breaks (say, its reader went away), the
/// sweep stops there with [`Error::Stopped`].
///
/// A capture sweep deploys each scheme's network first and keeps them all until the last
/// point; a ring sweep deploys one network per point, as many at once as threads.
pub fn sweep_with(
    config: &SweepConfig,
    on: &mut dyn FnMut(SweepEvent<'_>) -> ControlFlow<()>,
) -> Result<Sweep, Error> {
    sweep_on(config, crate::available_threads(), on)
}

/// [`sweep_with`] on at most `threads` threads: the same events with the same points for
/// any number.
pub fn sweep_on(
    config: &SweepConfig,
    threads: usize,
    on: &mut dyn FnMut(SweepEvent<'_>) -> ControlFlow<()>,
) -> Result<Sweep, Error> {
    let threads = threads.max(1);
    let xs = sweep_values(config)?;
    let topology = Topology::random_on(
        config.nodes,
        config.range,
        &mut rng(config.seed, Stream::Placement),
        threads,
    )?;
    // Every deployment of the sweep within budget before any is made (for a ring sweep,
    // the largest ring is the costliest).
    let last = *xs.last().unwrap_or(&config.from);
    for &scheme in &config.schemes {
        match config.vary {
            Vary::Ring => check_budget(&topology, with_ring(scheme, last)?)?,
            Vary::Capture => {
                scheme.validate()?;
                check_budget(&topology, scheme)?;
            }
        }
    }
    let schemes = config
        .schemes
        .iter()
        .map(|&scheme| match config.vary {
            Vary::Ring => with_ring(scheme, xs[0]),
            Vary::Capture => Ok(scheme),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let total = xs.len() * schemes.len();
    if on(SweepEvent::Started {
        schemes: &schemes,
        total,
    })
    .is_break()
    {
        return Err(Error::Stopped);
    }
    let series_count = schemes.len();
    // Threads left to each point when as many points run at once as there are threads.
    let inner = (threads / total.max(1)).max(1);
    let captures = match config.vary {
        Vary::Ring => Vec::new(),
        Vary::Capture => config
            .schemes
            .iter()
            .map(|&scheme| CaptureSeries::deploy(&topology, scheme, config.seed, threads))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let compute = |p: usize| {
        let (x, series) = (xs[p / series_count], p % series_count);
        match config.vary {
            Vary::Ring => ring_point(&topology, config.schemes[series], x, config.seed, inner),
            Vary::Capture => Ok(captures[series].point(x, inner)),
        }
    };
    let mut points = vec![Vec::with_capacity(xs.len()); series_count];
    let mut failed = None;
    in_order(total, threads, compute, |p, value| {
        let value = match value {
            Ok(value) => value,
            Err(e) => {
                failed = Some(e);
                return ControlFlow::Break(());
            }
        };
        let (series, point) = (
            p % series_count,
            Point {
                x: xs[p / series_count],
                value,
            },
        );
        points[series].push(point);
        let event = SweepEvent::Point {
            series,
            point,
            done: p + 1,
            total,
        };
        if on(event).is_break() {
            failed = Some(Error::Stopped);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let series = schemes
        .into_iter()
        .zip(&config.schemes)
        .zip(points)
        .map(|((scheme, &given), points)| Series {
            scheme,
            points,
            curve: curve(config, given, last),
        })
        .collect();
    Ok(Sweep {
        config: config.clone(),
        series,
    })
}

/// Computes `compute(p)` for `p` in `0..total` on up to `threads` threads and hands each
/// result to `emit` on the calling thread in the order of `p`, as soon as it and every
/// earlier one are done. When `emit` breaks, no new point is started and the call returns
/// once the points being computed are finished.
fn in_order<T: Send>(
    total: usize,
    threads: usize,
    compute: impl Fn(usize) -> T + Sync,
    mut emit: impl FnMut(usize, T) -> ControlFlow<()>,
) {
    let workers = threads.clamp(1, total.max(1));
    if workers == 1 {
        for p in 0..total {
            if emit(p, compute(p)).is_break() {
                return;
            }
        }
        return;
    }
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let (next, stop, compute) = (&next, &stop, &compute);
    std::thread::scope(|scope| {
        let (sender, results) = mpsc::channel();
        for _ in 0..workers {
            let sender = sender.clone();
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let p = next.fetch_add(1, Ordering::Relaxed);
                    if p >= total || sender.send((p, compute(p))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut waiting = BTreeMap::new();
        let mut wanted = 0;
        for (p, result) in results {
            waiting.insert(p, result);
            while let Some(result) = waiting.remove(&wanted) {
                if emit(wanted, result).is_break() {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
                wanted += 1;
            }
        }
    });
}

/// The point of a ring sweep at ring size `ring`: a deployment of its own.
fn ring_point(
    topology: &Topology,
    scheme: Scheme,
    ring: u32,
    seed: u64,
    threads: usize,
) -> Result<Estimate, Error> {
    let s = with_ring(scheme, ring)?;
    let network = Network::deploy_on(topology, s, &mut rng(seed, Stream::Keys), threads)?;
    Ok(Estimate {
        measured: network.local_connectivity(),
        analytic: Some(s.connection_probability()),
    })
}

/// One scheme of a capture sweep: its deployment and the order its nodes are captured in.
struct CaptureSeries {
    scheme: Scheme,
    network: Network,
    order: Vec<u32>,
}

impl CaptureSeries {
    fn deploy(
        topology: &Topology,
        scheme: Scheme,
        seed: u64,
        threads: usize,
    ) -> Result<Self, Error> {
        let network = Network::deploy_on(topology, scheme, &mut rng(seed, Stream::Keys), threads)?;
        let order = network.capture_order(&mut rng(seed, Stream::Capture));
        Ok(Self {
            scheme,
            network,
            order,
        })
    }

    /// The links exposed by capturing the first `x` nodes of the order, on `threads`.
    fn point(&self, x: u32, threads: usize) -> Estimate {
        let outcome = self.network.capture_on(&self.order[..x as usize], threads);
        Estimate {
            measured: outcome.fraction(),
            analytic: self.scheme.compromised_fraction(x),
        }
    }
}

/// The analytic curve of `scheme` from `config.from` to `last`.
fn curve(config: &SweepConfig, scheme: Scheme, last: u32) -> Vec<(u32, f64)> {
    curve_points(config.from, last, scheme)
        .into_iter()
        .filter_map(|x| {
            let y = match config.vary {
                Vary::Ring => with_ring(scheme, x).ok()?.connection_probability(),
                Vary::Capture => scheme.compromised_fraction(x)?,
            };
            Some((x, y))
        })
        .collect()
}

/// Most points of an analytic curve.
const CURVE_POINTS: u32 = 1000;

/// Where to evaluate the analytic curve: every integer from `from` to `to` when there are
/// at most [`CURVE_POINTS`], else that many evenly spaced ones, plus the Blundo threshold
/// `t, t + 1` so that its step is drawn where it is.
fn curve_points(from: u32, to: u32, scheme: Scheme) -> Vec<u32> {
    let span = u64::from(to - from);
    let mut xs: Vec<u32> = if span <= u64::from(CURVE_POINTS) {
        (from..=to).collect()
    } else {
        (0..=u64::from(CURVE_POINTS))
            .map(|i| from + (span * i / u64::from(CURVE_POINTS)) as u32)
            .collect()
    };
    if let Scheme::Blundo { degree } = scheme {
        xs.extend(
            [degree, degree.saturating_add(1)]
                .into_iter()
                .filter(|x| (from..=to).contains(x)),
        );
        xs.sort_unstable();
        xs.dedup();
    }
    xs
}

/// Most points one sweep may simulate per scheme.
pub const MAX_SWEEP_POINTS: usize = 1000;

/// The simulated x values, `from..=to` in steps of `step`, once the range is checked: its
/// bounds against the pool or the nodes, and its length against [`MAX_SWEEP_POINTS`] (both
/// before anything is built).
fn sweep_values(config: &SweepConfig) -> Result<Vec<u32>, Error> {
    if config.schemes.is_empty() {
        return Err(Error::parameter("--scheme", "at least one scheme", "none"));
    }
    if config.step == 0 {
        return Err(Error::parameter("--step", "at least 1", 0));
    }
    if config.from > config.to {
        return Err(Error::parameter(
            "--from",
            format!("at most --to ({})", config.to),
            config.from,
        ));
    }
    match config.vary {
        Vary::Ring => {
            // A q-composite ring smaller than q could never connect; say so up front.
            let least = config
                .schemes
                .iter()
                .map(|s| match *s {
                    Scheme::QComposite { q, .. } => q,
                    _ => 1,
                })
                .max()
                .unwrap_or(1);
            let pool = config
                .schemes
                .iter()
                .filter_map(|s| match *s {
                    Scheme::Eg { pool, .. } | Scheme::QComposite { pool, .. } => Some(pool),
                    Scheme::Blundo { .. } => None,
                })
                .min()
                .unwrap_or(u32::MAX);
            if config.to > pool {
                return Err(Error::parameter(
                    "--to",
                    format!("at most the pool size {pool} (a ring is drawn from the pool)"),
                    config.to,
                ));
            }
            if config.from < least {
                let why = if least > 1 {
                    "the --q of qcomposite"
                } else {
                    "a ring holds at least one key"
                };
                return Err(Error::parameter(
                    "--from",
                    format!("at least {least} ({why})"),
                    config.from,
                ));
            }
        }
        Vary::Capture => check_capture(Some(config.to), config.nodes)?,
    }
    // from <= to, so this neither underflows nor (in u64) overflows.
    let count = u64::from(config.to - config.from) / u64::from(config.step) + 1;
    if count > MAX_SWEEP_POINTS as u64 {
        return Err(Error::parameter(
            "--step",
            format!(
                "large enough for at most {MAX_SWEEP_POINTS} points from --from {} to --to {} \
                 ({count} points)",
                config.from, config.to
            ),
            config.step,
        ));
    }
    Ok((config.from..=config.to)
        .step_by(config.step as usize)
        .collect())
}

fn with_ring(scheme: Scheme, ring: u32) -> Result<Scheme, Error> {
    let s = scheme.with_ring(ring).ok_or_else(|| {
        Error::parameter(
            "--vary ring",
            "a scheme with a key ring (eg, qcomposite)",
            scheme.name(),
        )
    })?;
    s.validate()?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_are_dense_or_evenly_spaced_and_keep_the_blundo_step() {
        let eg = Scheme::Eg { pool: 10, ring: 1 };
        assert_eq!(curve_points(3, 7, eg), vec![3, 4, 5, 6, 7]);
        let xs = curve_points(0, 100_000, Scheme::Blundo { degree: 4_321 });
        assert_eq!(xs.len() as u32, CURVE_POINTS + 3);
        assert_eq!((xs[0], xs[xs.len() - 1]), (0, 100_000));
        assert!(xs.contains(&4_321) && xs.contains(&4_322));
        assert!(xs.windows(2).all(|w| w[0] < w[1]));
    }
}
