//! One-call simulations: a deployment measured against the analysis ([`simulate`]), and a
//! parameter sweep for plotting ([`sweep`]).
//!
//! Every run is reproducible from its seed. Independent ChaCha20 streams of the one seed
//! drive the placement, the key material, the capture order and the path-key sample, so
//! changing one (say, the ring size in a sweep) leaves the others as they were: a ring sweep
//! keeps the same node positions at every point.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::error::Error;
use crate::network::{Network, PathKeyStats};
use crate::scheme::Scheme;
use crate::topology::Topology;

/// Path-key statistics examine at most this many unsecured pairs (a uniform sample beyond).
pub const PATH_KEY_SAMPLE: usize = 50_000;

/// What to simulate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// The scheme and its parameters.
    pub scheme: Scheme,
    /// Number of nodes.
    pub nodes: u32,
    /// Radio range in the unit square; `None` for the complete graph.
    pub range: Option<f64>,
    /// Number of nodes to capture, if any.
    pub capture: Option<u32>,
    /// Seed of every random choice.
    pub seed: u64,
}

/// A measured value beside its analytic counterpart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The simulation's value; `None` when nothing was there to measure.
    pub measured: Option<f64>,
    /// The published formula's value; `None` where no formula applies.
    pub analytic: Option<f64>,
}

/// The node-capture part of a [`Report`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CaptureReport {
    /// Nodes captured.
    pub captured: u32,
    /// Secured links between uncaptured nodes.
    pub links: u64,
    /// Of those, the links whose key the adversary can compute.
    pub compromised: u64,
    /// The compromised fraction, measured and analytic.
    pub fraction: Estimate,
}

/// Measurements of one simulated deployment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// What was simulated.
    pub config: Config,
    /// Key material per node (ring size, or `t + 1` field elements).
    pub keys_per_node: u32,
    /// Neighbour pairs.
    pub neighbour_pairs: u64,
    /// Mean neighbours per node.
    pub mean_degree: f64,
    /// Secured direct links.
    pub links: u64,
    /// Fraction of neighbour pairs with a direct key, measured and analytic.
    pub local_connectivity: Estimate,
    /// Fraction of nodes in the largest component of the secure graph (no closed formula:
    /// it depends on the geometry).
    pub largest_component_fraction: f64,
    /// Path-key hops for neighbours without a direct key.
    pub path_keys: PathKeyStats,
    /// Node capture, when asked for.
    pub capture: Option<CaptureReport>,
}

/// The independent random streams of one seed.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Placement = 0,
    Keys = 1,
    Capture = 2,
    PathSample = 3,
}

pub(crate) fn rng(seed: u64, stream: Stream) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// Deploys, measures and compares with the analysis, on every core.
pub fn simulate(config: &Config) -> Result<Report, Error> {
    simulate_on(config, crate::available_threads())
}

/// [`simulate`] on at most `threads` threads; the report is the same for any number.
pub fn simulate_on(config: &Config, threads: usize) -> Result<Report, Error> {
    config.scheme.validate()?;
    check_capture(config.capture, config.nodes)?;
    let topology = Topology::random_on(
        config.nodes,
        config.range,
        &mut rng(config.seed, Stream::Placement),
        threads,
    )?;
    let network = Network::deploy_on(
        &topology,
        config.scheme,
        &mut rng(config.seed, Stream::Keys),
        threads,
    )?;
    let (neighbour_pairs, mean_degree) = (topology.pair_count(), topology.mean_degree());
    // The neighbour lists are not needed any more: free them before the path-key search
    // builds its adjacency.
    drop(topology);
    let path_keys = network.path_keys(PATH_KEY_SAMPLE, &mut rng(config.seed, Stream::PathSample));
    let capture = config.capture.map(|x| {
        let order = network.capture_order(&mut rng(config.seed, Stream::Capture));
        let outcome = network.capture(&order[..x as usize]);
        CaptureReport {
            captured: outcome.captured,
            links: outcome.links,
            compromised: outcome.compromised,
            fraction: Estimate {
                measured: outcome.fraction(),
                analytic: config.scheme.compromised_fraction(x),
            },
        }
    });
    Ok(Report {
        config: *config,
        keys_per_node: config.scheme.keys_per_node(),
        neighbour_pairs,
        mean_degree,
        links: network.link_count(),
        local_connectivity: Estimate {
            measured: network.local_connectivity(),
            analytic: Some(config.scheme.connection_probability()),
        },
        largest_component_fraction: network.largest_component_fraction(),
        path_keys,
        capture,
    })
}

pub(crate) fn check_capture(capture: Option<u32>, nodes: u32) -> Result<(), Error> {
    match capture {
        Some(x) if x > nodes => Err(Error::parameter(
            "--capture",
            format!("at most the number of nodes ({nodes})"),
            x,
        )),
        _ => Ok(()),
    }
}
