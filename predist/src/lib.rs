//! Key predistribution for wireless sensor networks: the classic schemes, a deployment
//! simulator whose measurements are checked against the published analysis, and plots.
//!
//! Sensor nodes are too weak for a public-key handshake with every neighbour, so keys are
//! loaded into them before deployment. Three answers:
//!
//! | scheme | stored per node | two neighbours get a key when | paper |
//! |---|---|---|---|
//! | [`Scheme::Eg`] | `k` keys drawn from a pool of `P` | their rings share a key | Eschenauer–Gligor 2002 |
//! | [`Scheme::QComposite`] | `k` keys from a pool of `P` | they share at least `q` keys (key = hash of all shared) | Chan–Perrig–Song 2003 |
//! | [`Scheme::Blundo`] | `t + 1` field elements | always (`f(i, j) = f(j, i)`) | Blundo et al. 1992 |
//!
//! The pieces:
//!
//! - [`keys`]: real key material for the pool schemes ([`keys::KeyPool`], [`keys::KeyRing`],
//!   [`keys::eg_link_key`], [`keys::qcomposite_link_key`]) and the [`keys::LinkKey`] a
//!   pair ends up with.
//! - [`blundo`]: the symmetric bivariate polynomial over F_p, p = 2^127 − 1 ([`field`]),
//!   node shares, HKDF link keys, and the interpolating adversary.
//! - [`Topology`]: nodes placed uniformly in the unit square, neighbours within a radio
//!   range (spatial grid), or the complete graph.
//! - [`Network`]: a deployment — shared-key discovery on every neighbour pair, the secure
//!   graph's largest component, path keys through secure neighbours, node capture.
//! - [`analysis`]: the formulas of the papers, with binomials through log-gamma.
//! - [`simulate()`] and [`sweep()`]: seeded one-call runs that put measurements beside the
//!   formulas ([`sweep_with`] reports each point as soon as it is done); [`plot::sweep_svg`] draws a sweep (`predist/docs/` has two, with the commands
//!   that made them).
//!
//! ```
//! use predist::{Config, Scheme, simulate};
//!
//! let report = simulate(&Config {
//!     scheme: Scheme::Eg { pool: 1000, ring: 40 },
//!     nodes: 300,
//!     range: Some(0.15),
//!     capture: Some(10),
//!     seed: 7,
//! })?;
//! let p = report.local_connectivity;
//! assert!((p.measured.unwrap() - p.analytic.unwrap()).abs() < 0.05);
//! # Ok::<(), predist::Error>(())
//! ```
//!
//! Nothing here reads the clock or the operating system's randomness: every random choice
//! comes from a seed or an injected RNG.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analysis;
pub mod blundo;
mod budget;
mod discovery;
mod error;
pub mod field;
pub mod keys;
mod network;
mod pairs;
mod parallel;
pub mod plot;
mod sampling;
mod scheme;
mod simulate;
mod sweep;
mod topology;

pub use budget::{
    MAX_DISCOVERY_WORK, MAX_FIELD_MULTIPLICATIONS, MAX_RING_STORAGE, MAX_SHARE_ELEMENTS,
};
pub use error::Error;
pub use network::{CaptureOutcome, MAX_PATH_HOPS, Network, PathKeyStats};
pub use parallel::available_threads;
pub use scheme::{MAX_POOL, Scheme};
pub use simulate::{
    CaptureReport, Config, Estimate, PATH_KEY_SAMPLE, Report, simulate, simulate_on,
};
pub use sweep::{
    MAX_SWEEP_POINTS, Point, Series, Sweep, SweepConfig, SweepEvent, Vary, sweep, sweep_on,
    sweep_with,
};
pub use topology::{BYTES_PER_PAIR, MAX_NODES, MAX_PAIRS, MAX_RANGE, Topology};
