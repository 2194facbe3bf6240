//! Memory and time budgets, checked before anything large is allocated. The memory budgets
//! are set from what each stored item really costs, so that a refused deployment is one
//! that would have run a machine of 16 GB out of memory, not merely a large one.

use crate::error::Error;
use crate::scheme::Scheme;
use crate::topology::Topology;

/// Most key ids all rings together may hold (`nodes × ring`). A key id is a `u32` (4 bytes),
/// so the rings take at most 4 GB: 1,000,000 nodes of 1,000 keys.
pub const MAX_RING_STORAGE: u64 = 1_000_000_000;

/// Most key ids shared-key discovery may compare (`neighbour pairs × ring`): it scans one
/// ring per neighbour pair, about a nanosecond per id on one core. 1,000,000 nodes with
/// about 80 neighbours each at ring 100 take 4 × 10^9; this limit is about a minute of work
/// on two cores.
pub const MAX_DISCOVERY_WORK: u64 = 100_000_000_000;

/// Most Blundo field elements all shares together may hold (`nodes × (t + 1)`): 400 MB of
/// 16-byte elements. The reference deployment at degree 99 holds 1,000,000.
pub const MAX_SHARE_ELEMENTS: u64 = 25_000_000;

/// Most field multiplications a Blundo deployment may take: `nodes × (t + 1)²` to compute
/// the shares, plus `2 × neighbour pairs × (t + 1)` to evaluate every link from both ends.
/// The reference deployment at degree 99 takes about 175,000,000.
pub const MAX_FIELD_MULTIPLICATIONS: u64 = 1_000_000_000;

/// Checks, before anything is allocated, that deploying `scheme` on `topology` stays
/// within the memory and time budgets: [`MAX_RING_STORAGE`] and [`MAX_DISCOVERY_WORK`] for
/// the random-pool schemes, [`MAX_SHARE_ELEMENTS`] and [`MAX_FIELD_MULTIPLICATIONS`] for
/// Blundo. (The neighbour pairs were bounded when the topology was made:
/// [`crate::MAX_PAIRS`].) The parameters are assumed valid ([`Scheme::validate`]).
pub(crate) fn check_budget(topology: &Topology, scheme: Scheme) -> Result<(), Error> {
    let nodes = u64::from(topology.nodes());
    let pairs = topology.pair_count();
    // Products of u32 values and pair counts (at most MAX_PAIRS) fit in u128 with room.
    let within = |name: &'static str, value: u128, limit: u64, why: &str| {
        if value > u128::from(limit) {
            Err(Error::parameter(
                name,
                format!("at most {limit} ({why})"),
                value,
            ))
        } else {
            Ok(())
        }
    };
    match scheme {
        Scheme::Eg { ring, .. } | Scheme::QComposite { ring, .. } => {
            let ring = u128::from(ring);
            within(
                "--nodes × --ring",
                u128::from(nodes) * ring,
                MAX_RING_STORAGE,
                "key ids all rings together hold, 4 bytes each; use fewer nodes or a smaller \
                 --ring",
            )?;
            within(
                "neighbour pairs × --ring",
                u128::from(pairs) * ring,
                MAX_DISCOVERY_WORK,
                "key ids shared-key discovery compares; use fewer nodes, a smaller --range \
                 or a smaller --ring",
            )
        }
        Scheme::Blundo { degree } => {
            let width = u128::from(degree) + 1;
            within(
                "--nodes × (--degree + 1)",
                u128::from(nodes) * width,
                MAX_SHARE_ELEMENTS,
                "field elements all shares together hold",
            )?;
            within(
                "field multiplications (--nodes × (--degree + 1)² + 2 × neighbour pairs × \
                 (--degree + 1))",
                u128::from(nodes) * width * width + 2 * u128::from(pairs) * width,
                MAX_FIELD_MULTIPLICATIONS,
                "use fewer nodes, a smaller --range or a smaller --degree",
            )
        }
    }
}
