//! Where the nodes are and who can hear whom: uniform placement in the unit square and the
//! neighbour pairs within radio range, found with a spatial grid.

use rand_core::Rng;

use crate::error::Error;
use crate::sampling;

/// Most nodes a deployment may have.
pub const MAX_NODES: u32 = 1_000_000;

/// Largest radio range accepted.
pub const MAX_RANGE: f64 = 1.5;

/// Most neighbour pairs (candidate links) a deployment may have; bounds memory and time.
/// 5,000,000 pairs is a complete graph of 3,162 nodes, or 100,000 nodes at range 0.018.
pub const MAX_PAIRS: u64 = 5_000_000;

/// Nodes in the unit square and their neighbour pairs.
#[derive(Clone, Debug)]
pub struct Topology {
    range: Option<f64>,
    positions: Vec<(f64, f64)>,
    /// Compressed adjacency: the neighbours `v > u` of node `u` are
    /// `above[offsets[u]..offsets[u + 1]]`, ascending.
    offsets: Vec<usize>,
    above: Vec<u32>,
}

impl Topology {
    /// Places `nodes` nodes uniformly at random in the unit square. With a `range`, two
    /// nodes are neighbours when their distance is at most `range`; without one, every pair
    /// is (the complete graph, the setting of Eschenauer–Gligor's analysis).
    pub fn random<R: Rng + ?Sized>(
        nodes: u32,
        range: Option<f64>,
        rng: &mut R,
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
        let positions: Vec<(f64, f64)> = (0..nodes)
            .map(|_| (sampling::unit(rng), sampling::unit(rng)))
            .collect();
        let (offsets, above) = match range {
            Some(r) => grid_neighbours(&positions, r)?,
            None => complete(nodes)?,
        };
        Ok(Self {
            range,
            positions,
            offsets,
            above,
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
        self.above.len() as u64
    }

    /// Mean number of neighbours per node.
    pub fn mean_degree(&self) -> f64 {
        2.0 * self.above.len() as f64 / self.positions.len() as f64
    }

    /// The neighbours of `u` with a larger id, ascending (each pair appears once).
    pub fn neighbours_above(&self, u: u32) -> &[u32] {
        let u = u as usize;
        &self.above[self.offsets[u]..self.offsets[u + 1]]
    }

    /// Every neighbour pair `(u, v)` with `u < v`, by `u` then `v`.
    pub fn pairs(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.nodes()).flat_map(move |u| self.neighbours_above(u).iter().map(move |&v| (u, v)))
    }
}

fn too_many(nodes: u32, range: Option<f64>) -> Error {
    Error::TooManyPairs {
        nodes,
        range,
        limit: MAX_PAIRS,
    }
}

fn complete(nodes: u32) -> Result<(Vec<usize>, Vec<u32>), Error> {
    let n = u64::from(nodes);
    if n * (n - 1) / 2 > MAX_PAIRS {
        return Err(too_many(nodes, None));
    }
    let mut offsets = Vec::with_capacity(nodes as usize + 1);
    let mut above = Vec::with_capacity((n * (n - 1) / 2) as usize);
    for u in 0..nodes {
        offsets.push(above.len());
        above.extend(u + 1..nodes);
    }
    offsets.push(above.len());
    Ok((offsets, above))
}

/// Neighbours within `r` via a grid of square cells of side at least `r`: a node's
/// neighbours lie in its own cell or the eight around it, so the work per node is the
/// number of nodes in nine cells, and the whole pass grows linearly with the node count at
/// a fixed density.
fn grid_neighbours(points: &[(f64, f64)], r: f64) -> Result<(Vec<usize>, Vec<u32>), Error> {
    let n = points.len();
    // Side 1/m ≥ r, and no more cells than about one per node.
    let m = ((1.0 / r).floor() as usize).clamp(1, (n as f64).sqrt().ceil() as usize + 1);
    let cell_of = |(x, y): (f64, f64)| {
        let cx = ((x * m as f64) as usize).min(m - 1);
        let cy = ((y * m as f64) as usize).min(m - 1);
        (cx, cy)
    };
    // Counting sort of node ids by cell; within a cell, ids stay ascending.
    let mut start = vec![0usize; m * m + 1];
    for &p in points {
        let (cx, cy) = cell_of(p);
        start[cy * m + cx + 1] += 1;
    }
    for i in 0..m * m {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut members = vec![0u32; n];
    for (id, &p) in points.iter().enumerate() {
        let (cx, cy) = cell_of(p);
        members[fill[cy * m + cx]] = id as u32;
        fill[cy * m + cx] += 1;
    }

    let r2 = r * r;
    let mut offsets = Vec::with_capacity(n + 1);
    let mut above: Vec<u32> = Vec::new();
    for (u, &p) in points.iter().enumerate() {
        offsets.push(above.len());
        let from = above.len();
        let (cx, cy) = cell_of(p);
        for ny in cy.saturating_sub(1)..=(cy + 1).min(m - 1) {
            for nx in cx.saturating_sub(1)..=(cx + 1).min(m - 1) {
                let cell = ny * m + nx;
                for &v in &members[start[cell]..start[cell + 1]] {
                    let q = points[v as usize];
                    let (dx, dy) = (p.0 - q.0, p.1 - q.1);
                    if v as usize > u && dx * dx + dy * dy <= r2 {
                        above.push(v);
                    }
                }
            }
        }
        above[from..].sort_unstable();
        if above.len() as u64 > MAX_PAIRS {
            return Err(too_many(n as u32, Some(r)));
        }
    }
    offsets.push(above.len());
    Ok((offsets, above))
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
            Topology::random(4000, None, &mut rng),
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
