//! A deployed network: every node loaded with its key material, the direct links found by
//! shared-key discovery, path keys through secure neighbours, and node capture.
//!
//! The random-pool schemes are simulated on key ids (what a real node would learn from
//! shared-key discovery); the Blundo scheme computes real field elements, from both ends of
//! every pair.

use rand_core::{CryptoRng, Rng};

use crate::blundo::{Coalition, Polynomial, Share};
use crate::error::Error;
use crate::field::Fe;
use crate::sampling;
use crate::scheme::Scheme;
use crate::topology::Topology;

/// Most key ids all rings together may hold (`nodes × ring`): 400 MB of `u32`.
pub const MAX_RING_STORAGE: u64 = 100_000_000;

/// Path keys are searched up to this many secure hops (Eschenauer–Gligor 2002 §3.2 find
/// that paths of two or three links serve almost every pair).
pub const MAX_PATH_HOPS: u32 = 3;

/// A deployed network.
pub struct Network {
    scheme: Scheme,
    nodes: u32,
    pairs: u64,
    /// Secured direct links `(u, v)`, `u < v`, ordered by `u` then `v`.
    links: Vec<(u32, u32)>,
    /// Neighbour pairs without a direct key, same order.
    unsecured: Vec<(u32, u32)>,
    material: Material,
}

enum Material {
    /// Random-pool schemes: all rings, flat (`ring` ids per node, sorted), and per link the
    /// shared ids (`shared[shared_at[l]..shared_at[l + 1]]`, ascending).
    Rings {
        pool: u32,
        ring: u32,
        rings: Vec<u32>,
        shared_at: Vec<u32>,
        shared: Vec<u32>,
    },
    /// Blundo: every node's share, and each link's key material `f(u+1, v+1)`.
    Shares { shares: Vec<Share>, keys: Vec<Fe> },
}

/// Path-key establishment for neighbours without a direct key (Eschenauer–Gligor 2002,
/// §2.1 "path-key establishment"): how many secure links the shortest path through secure
/// neighbours takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathKeyStats {
    /// Neighbour pairs without a direct key.
    pub unsecured_pairs: u64,
    /// How many of them were examined (all, or a uniform sample when there are many).
    pub examined: u64,
    /// Examined pairs joined through one intermediate node.
    pub two_hops: u64,
    /// Examined pairs joined through two intermediate nodes.
    pub three_hops: u64,
    /// Examined pairs with no path of at most [`MAX_PATH_HOPS`] secure links.
    pub beyond: u64,
}

/// What the adversary learns by capturing nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureOutcome {
    /// Nodes captured.
    pub captured: u32,
    /// Secured direct links whose two ends are both uncaptured.
    pub links: u64,
    /// How many of those links the adversary can compute the key of.
    pub compromised: u64,
}

impl CaptureOutcome {
    /// `compromised / links`, or `None` without links.
    pub fn fraction(&self) -> Option<f64> {
        (self.links > 0).then(|| self.compromised as f64 / self.links as f64)
    }
}

impl Network {
    /// Loads every node of `topology` with key material for `scheme` (drawn from `rng`) and
    /// runs shared-key discovery between all neighbour pairs.
    pub fn deploy<R: CryptoRng + ?Sized>(
        topology: &Topology,
        scheme: Scheme,
        rng: &mut R,
    ) -> Result<Network, Error> {
        scheme.validate()?;
        let nodes = topology.nodes();
        let (links, unsecured, material) = match scheme {
            Scheme::Eg { pool, ring } => ring_links(topology, pool, ring, 1, rng)?,
            Scheme::QComposite { pool, ring, q } => ring_links(topology, pool, ring, q, rng)?,
            Scheme::Blundo { degree } => blundo_links(topology, degree, rng)?,
        };
        Ok(Network {
            scheme,
            nodes,
            pairs: topology.pair_count(),
            links,
            unsecured,
            material,
        })
    }

    /// The scheme deployed.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Number of nodes.
    pub fn nodes(&self) -> u32 {
        self.nodes
    }

    /// Number of neighbour pairs (candidate links).
    pub fn neighbour_pairs(&self) -> u64 {
        self.pairs
    }

    /// The secured direct links `(u, v)`, `u < v`.
    pub fn links(&self) -> &[(u32, u32)] {
        &self.links
    }

    /// Local connectivity: the fraction of neighbour pairs that secured a link directly;
    /// `None` when there are no neighbour pairs.
    pub fn local_connectivity(&self) -> Option<f64> {
        (self.pairs > 0).then(|| self.links.len() as f64 / self.pairs as f64)
    }

    /// Size of the largest connected component of the secure-link graph, over all nodes.
    /// Path keys add links only between nodes already connected, so they do not change it.
    pub fn largest_component_fraction(&self) -> f64 {
        let mut parent: Vec<u32> = (0..self.nodes).collect();
        let mut size = vec![1u32; self.nodes as usize];
        for &(u, v) in &self.links {
            let (a, b) = (find(&mut parent, u), find(&mut parent, v));
            if a != b {
                // Union by size keeps the trees shallow.
                let (big, small) = if size[a as usize] >= size[b as usize] {
                    (a, b)
                } else {
                    (b, a)
                };
                parent[small as usize] = big;
                size[big as usize] += size[small as usize];
            }
        }
        let largest = (0..self.nodes)
            .filter(|&x| parent[x as usize] == x)
            .map(|x| size[x as usize])
            .max()
            .unwrap_or(0);
        f64::from(largest) / f64::from(self.nodes.max(1))
    }

    /// Path-key establishment for the neighbour pairs without a direct key: the number of
    /// secure hops of the shortest path between them, up to [`MAX_PATH_HOPS`]. When there are
    /// more than `max_examined` such pairs a uniform sample of that many (drawn from `rng`)
    /// is examined.
    pub fn path_keys<R: Rng + ?Sized>(&self, max_examined: usize, rng: &mut R) -> PathKeyStats {
        let adjacency = SecureAdjacency::new(self.nodes, &self.links);
        let mut chosen = self.unsecured.clone();
        let examined = chosen.len().min(max_examined);
        if examined < chosen.len() {
            sampling::partial_shuffle(rng, &mut chosen, examined);
        }
        let mut stats = PathKeyStats {
            unsecured_pairs: self.unsecured.len() as u64,
            examined: examined as u64,
            ..PathKeyStats::default()
        };
        for &(u, v) in &chosen[..examined] {
            match adjacency.hops(u, v) {
                Some(2) => stats.two_hops += 1,
                Some(3) => stats.three_hops += 1,
                _ => stats.beyond += 1,
            }
        }
        stats
    }

    /// A random order of all node ids (from `rng`); capturing `x` nodes means capturing the
    /// first `x` of it, so larger captures contain smaller ones.
    pub fn capture_order<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.nodes).collect();
        let n = order.len();
        sampling::partial_shuffle(rng, &mut order, n);
        order
    }

    /// Captures the given nodes and counts the secured links between uncaptured nodes whose
    /// key the adversary can then compute:
    /// - Eschenauer–Gligor: the link key (the smallest shared id) is in a captured ring;
    /// - q-composite: every shared key is in a captured ring (Chan–Perrig–Song 2003, §4.1);
    /// - Blundo: the adversary's interpolation from the captured shares gives the link's key
    ///   (it does exactly when more than `t` distinct nodes are captured).
    ///
    /// Ids outside the network are ignored.
    pub fn capture(&self, captured: &[u32]) -> CaptureOutcome {
        let mut is_captured = vec![false; self.nodes as usize];
        for &c in captured {
            if let Some(flag) = is_captured.get_mut(c as usize) {
                *flag = true;
            }
        }
        let count = is_captured.iter().filter(|&&c| c).count() as u32;
        let free = |&(_, &(u, v)): &(usize, &(u32, u32))| {
            !is_captured[u as usize] && !is_captured[v as usize]
        };
        let (mut links, mut compromised) = (0u64, 0u64);
        match &self.material {
            Material::Rings {
                pool,
                ring,
                rings,
                shared_at,
                shared,
            } => {
                let k = *ring as usize;
                let mut known = vec![false; *pool as usize];
                for (node, _) in is_captured.iter().enumerate().filter(|(_, c)| **c) {
                    for &id in &rings[node * k..(node + 1) * k] {
                        known[id as usize] = true;
                    }
                }
                let all_shared = matches!(self.scheme, Scheme::QComposite { .. });
                for (l, _) in self.links.iter().enumerate().filter(free) {
                    links += 1;
                    let ids = &shared[shared_at[l] as usize..shared_at[l + 1] as usize];
                    let exposed = if all_shared {
                        ids.iter().all(|&id| known[id as usize])
                    } else {
                        ids.first().is_some_and(|&id| known[id as usize])
                    };
                    compromised += u64::from(exposed);
                }
            }
            Material::Shares { shares, keys } => {
                let taken: Vec<Share> = is_captured
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c)
                    .map(|(node, _)| shares[node].clone())
                    .collect();
                let coalition = Coalition::new(&taken);
                let mut guess: Option<Share> = None;
                for (l, &(u, v)) in self.links.iter().enumerate().filter(free) {
                    links += 1;
                    // Links are ordered by u, so each guessed share is computed once.
                    if guess.as_ref().is_none_or(|g| g.id() != u) {
                        guess = Some(coalition.guess_share(u));
                    }
                    let exposed = guess.as_ref().is_some_and(|g| g.key_material(v) == keys[l]);
                    compromised += u64::from(exposed);
                }
            }
        }
        CaptureOutcome {
            captured: count,
            links,
            compromised,
        }
    }
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("scheme", &self.scheme)
            .field("nodes", &self.nodes)
            .field("links", &self.links.len())
            .finish_non_exhaustive()
    }
}

type Discovery = (Vec<(u32, u32)>, Vec<(u32, u32)>, Material);

/// Eschenauer–Gligor / q-composite key setup and shared-key discovery.
fn ring_links<R: CryptoRng + ?Sized>(
    topology: &Topology,
    pool: u32,
    ring: u32,
    q: u32,
    rng: &mut R,
) -> Result<Discovery, Error> {
    let nodes = topology.nodes();
    if u64::from(nodes) * u64::from(ring) > MAX_RING_STORAGE {
        return Err(Error::parameter(
            "--nodes × --ring",
            format!("at most {MAX_RING_STORAGE}"),
            u64::from(nodes) * u64::from(ring),
        ));
    }
    // Key pre-distribution (EG 2002 §2.1): each node draws its ring from the pool.
    let mut rings = Vec::with_capacity(nodes as usize * ring as usize);
    let mut marks = vec![0u32; pool as usize];
    for node in 0..nodes {
        sampling::distinct_sorted_into(rng, pool, ring, &mut marks, node + 1, &mut rings);
    }
    // Shared-key discovery: mark u's ids, then scan each neighbour's ring. The scan visits
    // the neighbour's ids in ascending order, so shared ids come out sorted.
    let k = ring as usize;
    let mut owner = vec![u32::MAX; pool as usize];
    let (mut links, mut unsecured) = (Vec::new(), Vec::new());
    let (mut shared_at, mut shared) = (vec![0u32], Vec::new());
    for u in 0..nodes {
        for &id in &rings[u as usize * k..(u as usize + 1) * k] {
            owner[id as usize] = u;
        }
        for &v in topology.neighbours_above(u) {
            let before = shared.len();
            for &id in &rings[v as usize * k..(v as usize + 1) * k] {
                if owner[id as usize] == u {
                    shared.push(id);
                }
            }
            if shared.len() - before >= q as usize {
                links.push((u, v));
                shared_at.push(shared.len() as u32);
            } else {
                shared.truncate(before);
                unsecured.push((u, v));
            }
        }
    }
    let material = Material::Rings {
        pool,
        ring,
        rings,
        shared_at,
        shared,
    };
    Ok((links, unsecured, material))
}

/// Blundo setup: one share per node; every neighbour pair computes its key from both ends
/// and counts as linked when the two agree (they always should: f is symmetric).
fn blundo_links<R: CryptoRng + ?Sized>(
    topology: &Topology,
    degree: u32,
    rng: &mut R,
) -> Result<Discovery, Error> {
    let polynomial = Polynomial::random(degree, rng)?;
    let shares: Vec<Share> = (0..topology.nodes()).map(|i| polynomial.share(i)).collect();
    let (mut links, mut unsecured, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for (u, v) in topology.pairs() {
        let key = shares[u as usize].key_material(v);
        if key == shares[v as usize].key_material(u) {
            links.push((u, v));
            keys.push(key);
        } else {
            unsecured.push((u, v));
        }
    }
    Ok((links, unsecured, Material::Shares { shares, keys }))
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        // Path halving.
        let grand = parent[parent[x as usize] as usize];
        parent[x as usize] = grand;
        x = grand;
    }
    x
}

/// Secure links as sorted adjacency lists, both directions.
struct SecureAdjacency {
    offsets: Vec<usize>,
    targets: Vec<u32>,
}

impl SecureAdjacency {
    fn new(nodes: u32, links: &[(u32, u32)]) -> Self {
        let mut offsets = vec![0usize; nodes as usize + 1];
        for &(u, v) in links {
            offsets[u as usize + 1] += 1;
            offsets[v as usize + 1] += 1;
        }
        for i in 0..nodes as usize {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; links.len() * 2];
        // Links are sorted by (u, v): node x first receives its smaller neighbours (as v,
        // in ascending u), then its larger ones (as u, ascending v), so lists come out sorted.
        for &(u, v) in links {
            targets[fill[u as usize]] = v;
            fill[u as usize] += 1;
            targets[fill[v as usize]] = u;
            fill[v as usize] += 1;
        }
        Self { offsets, targets }
    }

    fn of(&self, x: u32) -> &[u32] {
        &self.targets[self.offsets[x as usize]..self.offsets[x as usize + 1]]
    }

    /// Secure hops between two nodes without a direct link: 2, 3, or `None` beyond.
    fn hops(&self, u: u32, v: u32) -> Option<u32> {
        let (nu, nv) = (self.of(u), self.of(v));
        if intersects(nu, nv) {
            return Some(2);
        }
        nu.iter().any(|&a| intersects(self.of(a), nv)).then_some(3)
    }
}

/// Whether two ascending lists have an element in common.
fn intersects(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn hops_on_a_path_graph() {
        // 0 - 1 - 2 - 3 - 4 (secure links), asking about unlinked pairs.
        let adj = SecureAdjacency::new(5, &[(0, 1), (1, 2), (2, 3), (3, 4)]);
        assert_eq!(adj.hops(0, 2), Some(2));
        assert_eq!(adj.hops(0, 3), Some(3));
        assert_eq!(adj.hops(0, 4), None);
        assert_eq!(adj.of(2), &[1, 3]);
    }

    #[test]
    fn components_match_a_breadth_first_search() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let topology = Topology::random(300, Some(0.08), &mut rng).unwrap();
        let net = Network::deploy(
            &topology,
            Scheme::Eg {
                pool: 1000,
                ring: 12,
            },
            &mut rng,
        )
        .unwrap();
        // Independent count: BFS over the adjacency lists.
        let adj = SecureAdjacency::new(net.nodes(), net.links());
        let mut seen = vec![false; 300];
        let mut largest = 0;
        for s in 0..300u32 {
            if seen[s as usize] {
                continue;
            }
            let (mut queue, mut size) = (vec![s], 0);
            seen[s as usize] = true;
            while let Some(x) = queue.pop() {
                size += 1;
                for &y in adj.of(x) {
                    if !seen[y as usize] {
                        seen[y as usize] = true;
                        queue.push(y);
                    }
                }
            }
            largest = largest.max(size);
        }
        let want = f64::from(largest) / 300.0;
        assert_eq!(net.largest_component_fraction(), want);
        // The setting is sparse enough that the answer is not trivially 1.
        assert!(want < 1.0, "{want}");
    }

    #[test]
    fn links_agree_with_real_key_rings() {
        use crate::keys::{KeyPool, KeyRing, qcomposite_link_key};
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let topology = Topology::random(60, None, &mut rng).unwrap();
        let scheme = Scheme::QComposite {
            pool: 200,
            ring: 20,
            q: 2,
        };
        let net = Network::deploy(&topology, scheme, &mut rng).unwrap();
        let Material::Rings { rings, .. } = &net.material else {
            panic!("ring material expected")
        };
        let pool = KeyPool::new(200, [1; 32]).unwrap();
        let ring_of =
            |n: u32| KeyRing::from_ids(rings[n as usize * 20..(n as usize + 1) * 20].to_vec());
        let linked: Vec<(u32, u32)> = topology
            .pairs()
            .filter(|&(u, v)| qcomposite_link_key(&pool, &ring_of(u), &ring_of(v), 2).is_some())
            .collect();
        assert_eq!(net.links(), &linked[..]);
    }
}
