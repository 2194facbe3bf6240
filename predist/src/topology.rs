//! Where the nodes are and who can hear whom: uniform placement in the unit square and the
//! neighbour pairs within radio range, found with a spatial grid.

use std::sync::atomic::{AtomicU64, Ordering};

use rand_core::Rng;

use crate::analysis;
use crate::error::Error;
use crate::pairs::{PairList, Piece};
use crate::sampling;

/// Most nodes a deployment may have.
pub const MAX_NODES: u32 = 1_000_000;

/// Largest radio range accepted.
pub const MAX_RANGE: f64 = 1.5;

/// Most neighbour pairs (candidate links) a deployment may have. A pair costs at most
/// [`BYTES_PER_PAIR`] bytes at the peak of a simulation, so this many take about 8 GB —
/// where a machine of 16 GB starts to run out, with the key rings beside them.
pub const MAX_PAIRS: u64 = 400_000_000;

/// What one neighbour pair costs at the peak of a simulation, in bytes: its `u32` in the
/// neighbour lists (4), in the secured or unsecured links (4), the Eschenauer–Gligor link
/// key id (4) and both directions of the secure adjacency that path keys search (8).
pub const BYTES_PER_PAIR: u64 = 20;

/// Nodes in the unit square and their neighbour pairs.
#[derive(Clone, Debug)]
pub struct Topology {
    range: Option<f64>,
    positions: Vec<(f64, f64)>,
    /// Each pair `(u, v)` once, under its smaller node `u`.
    pairs: PairList,
    /// Every node once, those near each other close together (by grid cell): passes over
    /// all pairs visit nodes in this order so that the data of neighbours stays in cache.
    order: Vec<u32>,
}

impl Topology {
    /// Places `nodes` nodes uniformly at random in the unit square. With a `range`, two
    /// nodes are neighbours when their distance is at most `range`; without one, every pair
    /// is (the complete graph, the setting of Eschenauer–Gligor's analysis). Uses every
    /// core; the result does not depend on how many there are.
    pub fn random<R: Rng + ?Sized>(
        nodes: u32,
        range: Option<f64>,
        rng: &mut R,
    ) -> Result<Self, Error> {
        Self::random_on(nodes, range, rng, crate::available_threads())
    }

    /// [`Topology::random`] on at most `threads` threads.
    pub fn random_on<R: Rng + ?Sized>(
        nodes: u32,
        range: Option<f64>,
        rng: &mut R,
        threads: usize,
    ) -> Result<Self, Error> {
        if nodes == 0 || nodes > MAX_NODES {
            return Err(Error::parameter(
                "--nodes",
                format!("between 1 and {MAX_NODES}"),
                nodes,
            ));
        }
        if let Some(r) = range {
            // Beyond the diagonal (√2) every pair is in range; larger values add nothing.
            if !(r > 0.0 && r <= MAX_RANGE) {
                return Err(Error::parameter(
                    "--range",
                    format!(
                        "above 0 and at most {MAX_RANGE} (the unit square's diagonal is 1.414)"
                    ),
                    format!("{r:?}"),
                ));
            }
        }
        if let Some(r) = range {
            // Far beyond the limit on average: refused before anything is allocated (the
            // count's spread is far below a quarter of its mean at these sizes).
            let n = f64::from(nodes);
            let expected = n * (n - 1.0) / 2.0 * analysis::neighbour_probability(r);
            if expected > 1.25 * MAX_PAIRS as f64 {
                return Err(too_many(nodes, range));
            }
        }
        let positions: Vec<(f64, f64)> = (0..nodes)
            .map(|_| (sampling::unit(rng), sampling::unit(rng)))
            .collect();
        let (pairs, order) = match range {
            Some(r) => grid_neighbours(&positions, r, threads)?,
            None => (complete(nodes)?, (0..nodes).collect()),
        };
        Ok(Self {
            range,
            positions,
            pairs,
            order,
        })
    }

    /// Number of nodes.
    pub fn nodes(&self) -> u32 {
        self.positions.len() as u32
    }

    /// The radio range, or `None` for the complete graph.
    pub fn range(&self) -> Option<f64> {
        self.range
    }

    /// Node positions, indexed by node id.
    pub fn positions(&self) -> &[(f64, f64)] {
        &self.positions
    }

    /// Number of neighbour pairs.
    pub fn pair_count(&self) -> u64 {
        self.pairs.len() as u64
    }

    /// Mean number of neighbours per node.
    pub fn mean_degree(&self) -> f64 {
        2.0 * self.pairs.len() as f64 / self.positions.len() as f64
    }

    /// The neighbours of `u` with a larger id, ascending (each pair appears once).
    pub fn neighbours_above(&self, u: u32) -> &[u32] {
        self.pairs.of(u)
    }

    /// Every neighbour pair `(u, v)` with `u < v`, by `u` then `v`.
    pub fn pairs(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.pairs.iter()
    }

    /// The neighbour pairs in compressed form.
    pub(crate) fn pair_list(&self) -> &PairList {
        &self.pairs
    }

    /// Every node id once, neighbours close together.
    pub(crate) fn spatial_order(&self) -> &[u32] {
        &self.order
    }
}

fn too_many(nodes: u32, range: Option<f64>) -> Error {
    Error::TooManyPairs {
        nodes,
        range,
        limit: MAX_PAIRS,
    }
}

fn complete(nodes: u32) -> Result<PairList, Error> {
    let n = u64::from(nodes);
    if n * (n - 1) / 2 > MAX_PAIRS {
        return Err(too_many(nodes, None));
    }
    let mut pairs = PairList::with_nodes(nodes);
    let all: Vec<u32> = (0..nodes).collect();
    for u in 0..nodes as usize {
        pairs.push_node(&all[u + 1..]);
    }
    Ok(pairs)
}

/// Nodes sorted by the grid cell they fall in: a node's neighbours lie in its own cell or
/// the eight around it.
struct Grid {
    /// Cells per side; a cell's side `1/m` is at least the range.
    m: usize,
    /// The nodes of cell `c` are `members[start[c]..start[c + 1]]`, ascending...
    start: Vec<usize>,
    members: Vec<u32>,
    /// ...and their positions, in the same order, so that a scan reads memory in order.
    at: Vec<(f64, f64)>,
}

impl Grid {
    fn new(points: &[(f64, f64)], r: f64) -> Self {
        let n = points.len();
        // Side 1/m ≥ r, and no more cells than about one per node.
        let m = ((1.0 / r).floor() as usize).clamp(1, (n as f64).sqrt().ceil() as usize + 1);
        let mut grid = Self {
            m,
            start: vec![0usize; m * m + 1],
            members: vec![0u32; n],
            at: vec![(0.0, 0.0); n],
        };
        // Counting sort of node ids by cell; within a cell, ids stay ascending.
        for &p in points {
            let c = grid.cell(p);
            grid.start[c + 1] += 1;
        }
        for i in 0..m * m {
            grid.start[i + 1] += grid.start[i];
        }
        let mut fill = grid.start.clone();
        for (id, &p) in points.iter().enumerate() {
            let c = grid.cell(p);
            grid.members[fill[c]] = id as u32;
            grid.at[fill[c]] = p;
            fill[c] += 1;
        }
        grid
    }

    fn cell_xy(&self, (x, y): (f64, f64)) -> (usize, usize) {
        let m = self.m;
        (
            ((x * m as f64) as usize).min(m - 1),
            ((y * m as f64) as usize).min(m - 1),
        )
    }

    fn cell(&self, p: (f64, f64)) -> usize {
        let (cx, cy) = self.cell_xy(p);
        cy * self.m + cx
    }

    /// Pushes the nodes above `u` within `r` of `p` (its position), unsorted.
    fn near(&self, u: u32, p: (f64, f64), r2: f64, out: &mut Piece) {
        let (m, (cx, cy)) = (self.m, self.cell_xy(p));
        for ny in cy.saturating_sub(1)..=(cy + 1).min(m - 1) {
            let row = ny * m;
            let cells = row + cx.saturating_sub(1)..row + (cx + 1).min(m - 1) + 1;
            // Adjacent cells of one row are adjacent in `members`: one run.
            let run = self.start[cells.start]..self.start[cells.end];
            for (&v, q) in self.members[run.clone()].iter().zip(&self.at[run]) {
                let (dx, dy) = (p.0 - q.0, p.1 - q.1);
                if v > u && dx * dx + dy * dy <= r2 {
                    out.push(v);
                }
            }
        }
    }
}

/// Neighbours within `r` through a [`Grid`]: the work per node is the number of nodes in
/// nine cells, so the whole pass grows linearly with the node count at a fixed density.
/// Ranges of nodes are searched on separate threads and joined in node order.
/// Returns the pairs and the nodes in grid order.
fn grid_neighbours(
    points: &[(f64, f64)],
    r: f64,
    threads: usize,
) -> Result<(PairList, Vec<u32>), Error> {
    let grid = Grid::new(points, r);
    let r2 = r * r;
    let nodes = points.len() as u32;
    let found = AtomicU64::new(0);
    let ranges = crate::parallel::split_even(nodes, threads);
    let pieces = crate::parallel::map(
        ranges.len(),
        threads,
        || (),
        |(), i| {
            let mut piece = Piece::default();
            for u in ranges[i].clone() {
                let before = piece.len();
                grid.near(u, points[u as usize], r2, &mut piece);
                piece.open_node().sort_unstable();
                piece.end_node();
                let total = found.fetch_add((piece.len() - before) as u64, Ordering::Relaxed);
                if total > MAX_PAIRS {
                    return None;
                }
            }
            Some(piece)
        },
    );
    let pieces: Option<Vec<Piece>> = pieces.into_iter().collect();
    match pieces {
        Some(pieces) if found.load(Ordering::Relaxed) <= MAX_PAIRS => {
            Ok((PairList::concat(nodes, pieces), grid.members))
        }
        _ => Err(too_many(nodes, Some(r))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn grid_finds_exactly_the_brute_force_pairs() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for (nodes, r) in [(400, 0.07), (50, 0.5), (30, 1.5), (300, 0.0011)] {
            let t = Topology::random(nodes, Some(r), &mut rng).unwrap();
            let p = t.positions();
            let mut want = Vec::new();
            for u in 0..nodes as usize {
                for v in u + 1..nodes as usize {
                    if (p[u].0 - p[v].0).hypot(p[u].1 - p[v].1) <= r {
                        want.push((u as u32, v as u32));
                    }
                }
            }
            assert_eq!(t.pairs().collect::<Vec<_>>(), want, "n={nodes} r={r}");
        }
    }

    #[test]
    fn complete_graph_and_limits() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let t = Topology::random(5, None, &mut rng).unwrap();
        assert_eq!(t.pair_count(), 10);
        assert_eq!(t.neighbours_above(3), &[4]);
        assert!(matches!(
            Topology::random(30_000, None, &mut rng),
            Err(Error::TooManyPairs { .. })
        ));
        let refusal = |nodes, range, rng: &mut ChaCha20Rng| {
            Topology::random(nodes, range, rng)
                .map(drop)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refusal(0, None, &mut rng),
            "--nodes must be between 1 and 1000000, got 0"
        );
        let range = "--range must be above 0 and at most 1.5 (the unit square's diagonal is 1.414)";
        for (bad, got) in [(f64::NAN, "NaN"), (-1.0, "-1.0"), (1.6, "1.6")] {
            assert_eq!(
                refusal(10, Some(bad), &mut rng),
                format!("{range}, got {got}")
            );
        }
    }
}
