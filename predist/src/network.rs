//! A deployed network: every node loaded with its key material, the direct links found by
//! shared-key discovery, path keys through secure neighbours, and node capture.
//!
//! The random-pool schemes are simulated on key ids (what a real node would learn from
//! shared-key discovery); the Blundo scheme computes real field elements, from both ends of
//! every pair.

use rand_core::{CryptoRng, Rng};

use crate::blundo::{Coalition, Share};
use crate::budget::check_budget;
use crate::discovery::{self, Found, Rings};
use crate::error::Error;
use crate::pairs::PairList;
use crate::sampling;
use crate::scheme::Scheme;
use crate::topology::Topology;

/// Path keys are searched up to this many secure hops (Eschenauer–Gligor 2002 §3.2 find
/// that paths of two or three links serve almost every pair).
pub const MAX_PATH_HOPS: u32 = 3;

/// A deployed network.
pub struct Network {
    scheme: Scheme,
    nodes: u32,
    pairs: u64,
    /// Secured direct links `(u, v)`, `u < v`, ordered by `u` then `v`.
    links: PairList,
    /// Neighbour pairs without a direct key, same order.
    unsecured: PairList,
    material: Material,
    /// The topology's spatial order of the nodes, for the passes over all links.
    order: Vec<u32>,
    /// Threads for the passes over all links.
    threads: usize,
}

enum Material {
    /// Random-pool schemes: all rings, and for Eschenauer–Gligor each link's key id (the
    /// smallest shared id), in link order. q-composite keeps no per-link ids.
    Rings { rings: Rings, key_ids: Vec<u32> },
    /// Blundo: every node's share.
    Shares(Vec<Share>),
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
    /// runs shared-key discovery between all neighbour pairs, on every core (the result
    /// does not depend on how many there are).
    pub fn deploy<R: CryptoRng + ?Sized>(
        topology: &Topology,
        scheme: Scheme,
        rng: &mut R,
    ) -> Result<Network, Error> {
        Self::deploy_on(topology, scheme, rng, crate::available_threads())
    }

    /// [`Network::deploy`] on at most `threads` threads (this network's later passes too).
    pub fn deploy_on<R: CryptoRng + ?Sized>(
        topology: &Topology,
        scheme: Scheme,
        rng: &mut R,
        threads: usize,
    ) -> Result<Network, Error> {
        scheme.validate()?;
        check_budget(topology, scheme)?;
        let nodes = topology.nodes();
        let (found, material) = match scheme {
            Scheme::Eg { pool, ring } | Scheme::QComposite { pool, ring, .. } => {
                let q = match scheme {
                    Scheme::QComposite { q, .. } => Some(q),
                    _ => None,
                };
                let rings = Rings::draw(topology.spatial_order(), pool, ring, rng);
                let mut found = discovery::ring_links(topology, &rings, q, threads);
                let key_ids = std::mem::take(&mut found.key_ids);
                (found, Material::Rings { rings, key_ids })
            }
            Scheme::Blundo { degree } => {
                let (shares, found) = discovery::blundo_links(topology, degree, rng, threads)?;
                (found, Material::Shares(shares))
            }
        };
        let Found {
            links, unsecured, ..
        } = found;
        Ok(Network {
            scheme,
            nodes,
            pairs: topology.pair_count(),
            links,
            unsecured,
            material,
            order: topology.spatial_order().to_vec(),
            threads: threads.max(1),
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

    /// Number of secured direct links.
    pub fn link_count(&self) -> u64 {
        self.links.len() as u64
    }

    /// The secured direct links `(u, v)`, `u < v`, by `u` then `v`.
    pub fn links(&self) -> impl Iterator<Item = (u32, u32)> + Clone + '_ {
        self.links.iter()
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
        for (u, v) in self.links.iter() {
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
        let total = self.unsecured.len();
        let examined = total.min(max_examined);
        // Which unsecured pairs, by their position in pair order: the first `examined` of
        // a partial shuffle of all positions, or all of them in order.
        let chosen: Vec<usize> = if examined < total {
            sampling::partial_shuffle_indices(rng, total, examined)
        } else {
            (0..total).collect()
        };
        let adjacency = SecureAdjacency::new(self.nodes, self.links.iter());
        let hops = crate::parallel::map(
            chosen.len().div_ceil(PATH_CHUNK),
            self.threads,
            || (),
            |(), i| {
                let mut counts = [0u64; 3];
                let part = &chosen[i * PATH_CHUNK..((i + 1) * PATH_CHUNK).min(chosen.len())];
                for &at in part {
                    let (u, v) = self.unsecured.get(at);
                    match adjacency.hops(u, v) {
                        Some(2) => counts[0] += 1,
                        Some(3) => counts[1] += 1,
                        _ => counts[2] += 1,
                    }
                }
                counts
            },
        );
        let sum = |k: usize| hops.iter().map(|c| c[k]).sum();
        PathKeyStats {
            unsecured_pairs: total as u64,
            examined: examined as u64,
            two_hops: sum(0),
            three_hops: sum(1),
            beyond: sum(2),
        }
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
    /// - q-composite: every shared key is in a captured ring (Chan–Perrig–Song 2003, §4.1),
    ///   the shared keys recomputed from the two rings;
    /// - Blundo: the adversary's interpolation from the captured shares gives the link's key
    ///   (it does exactly when more than `t` distinct nodes are captured).
    ///
    /// Ids outside the network are ignored.
    pub fn capture(&self, captured: &[u32]) -> CaptureOutcome {
        self.capture_on(captured, self.threads)
    }

    /// [`Network::capture`] on at most `threads` threads.
    pub fn capture_on(&self, captured: &[u32], threads: usize) -> CaptureOutcome {
        let threads = threads.max(1);
        let mut is_captured = vec![false; self.nodes as usize];
        for &c in captured {
            if let Some(flag) = is_captured.get_mut(c as usize) {
                *flag = true;
            }
        }
        let count = is_captured.iter().filter(|&&c| c).count() as u32;
        let taken = || (0..self.nodes).filter(|&n| is_captured[n as usize]);
        let (links, compromised) = match &self.material {
            Material::Rings { rings, key_ids } => {
                let mut known = vec![false; rings.pool as usize];
                for node in taken() {
                    for &id in rings.of(node) {
                        known[id as usize] = true;
                    }
                }
                if let Scheme::QComposite { .. } = self.scheme {
                    discovery::count_exposed(
                        &self.links,
                        &self.order,
                        &is_captured,
                        threads,
                        || (rings.marks(), None),
                        |(marks, before), u| rings.mark(u, before.replace(u), marks),
                        |(marks, _), _, v, _| {
                            discovery::exposed_qcomposite(rings, &known, marks, v)
                        },
                    )
                } else {
                    discovery::count_exposed(
                        &self.links,
                        &self.order,
                        &is_captured,
                        threads,
                        || (),
                        |(), _| {},
                        |(), _, _, l| known[key_ids[l] as usize],
                    )
                }
            }
            Material::Shares(shares) => {
                let stolen: Vec<Share> = taken().map(|n| shares[n as usize].clone()).collect();
                let coalition = Coalition::new(&stolen);
                discovery::count_exposed(
                    &self.links,
                    &self.order,
                    &is_captured,
                    threads,
                    || None,
                    // Links are grouped by u: each guessed share is computed once.
                    |guess: &mut Option<Share>, u| *guess = Some(coalition.guess_share(u)),
                    |guess, u, v, _| {
                        guess.as_ref().is_some_and(|g| {
                            g.key_material(v) == shares[u as usize].key_material(v)
                        })
                    },
                )
            }
        };
        CaptureOutcome {
            captured: count,
            links,
            compromised,
        }
    }
}

/// Path-key pairs examined per piece of work.
const PATH_CHUNK: usize = 4096;

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("scheme", &self.scheme)
            .field("nodes", &self.nodes)
            .field("links", &self.links.len())
            .finish_non_exhaustive()
    }
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
    fn new(nodes: u32, links: impl Iterator<Item = (u32, u32)> + Clone) -> Self {
        let mut offsets = vec![0usize; nodes as usize + 1];
        for (u, v) in links.clone() {
            offsets[u as usize + 1] += 1;
            offsets[v as usize + 1] += 1;
        }
        for i in 0..nodes as usize {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; offsets[nodes as usize]];
        // Links are sorted by (u, v): node x first receives its smaller neighbours (as v,
        // in ascending u), then its larger ones (as u, ascending v), so lists come out sorted.
        for (u, v) in links {
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
        let adj = SecureAdjacency::new(5, [(0, 1), (1, 2), (2, 3), (3, 4)].into_iter());
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
    fn the_documented_deployments_are_within_budget() {
        // predist/docs: 10,000 nodes at range 0.05, rings up to 200, Blundo degree 99; the
        // benchmark's 20,000 nodes at the same density with ring 100.
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let docs = Topology::random(10_000, Some(0.05), &mut rng).unwrap();
        for scheme in [
            Scheme::Eg {
                pool: 10_000,
                ring: 200,
            },
            Scheme::QComposite {
                pool: 10_000,
                ring: 200,
                q: 2,
            },
            Scheme::Blundo { degree: 99 },
        ] {
            check_budget(&docs, scheme).unwrap();
        }
        let bench = Topology::random(20_000, Some(0.05 * 0.5f64.sqrt()), &mut rng).unwrap();
        let eg = Scheme::Eg {
            pool: 10_000,
            ring: 100,
        };
        check_budget(&bench, eg).unwrap();
    }

    #[test]
    fn eg_keeps_the_smallest_shared_id_of_each_link() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let topology = Topology::random(80, None, &mut rng).unwrap();
        let net = Network::deploy(
            &topology,
            Scheme::Eg {
                pool: 300,
                ring: 20,
            },
            &mut rng,
        )
        .unwrap();
        let Material::Rings { rings, key_ids } = &net.material else {
            panic!("eg ring material expected")
        };
        let ring_of = |n: u32| rings.of(n);
        let links: Vec<(u32, u32)> = net.links().collect();
        let mut linked = 0;
        for (u, v) in topology.pairs() {
            let smallest = ring_of(u).iter().find(|id| ring_of(v).contains(id));
            if let Some(&id) = smallest {
                assert_eq!(links[linked], (u, v));
                assert_eq!(key_ids[linked], id);
                linked += 1;
            }
        }
        assert_eq!((linked, key_ids.len()), (links.len(), linked));
        assert!(linked > 0 && (linked as u64) < topology.pair_count());
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
        let ring_of = |n: u32| KeyRing::from_ids(rings.of(n).to_vec());
        let linked: Vec<(u32, u32)> = topology
            .pairs()
            .filter(|&(u, v)| qcomposite_link_key(&pool, &ring_of(u), &ring_of(v), 2).is_some())
            .collect();
        assert_eq!(net.links().collect::<Vec<_>>(), linked);
    }

    #[test]
    fn qcomposite_capture_matches_a_direct_count_over_the_rings() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let topology = Topology::random(300, Some(0.2), &mut rng).unwrap();
        let scheme = Scheme::QComposite {
            pool: 500,
            ring: 30,
            q: 2,
        };
        let net = Network::deploy_on(&topology, scheme, &mut rng, 3).unwrap();
        let Material::Rings { rings, .. } = &net.material else {
            panic!("ring material expected")
        };
        let taken: Vec<u32> = (0..300).step_by(7).collect();
        let mut known = vec![false; 500];
        for &c in &taken {
            for &id in rings.of(c) {
                known[id as usize] = true;
            }
        }
        let (mut links, mut exposed) = (0, 0);
        for (u, v) in net.links() {
            if taken.contains(&u) || taken.contains(&v) {
                continue;
            }
            links += 1;
            let shared: Vec<u32> = rings
                .of(u)
                .iter()
                .filter(|id| rings.of(v).contains(id))
                .copied()
                .collect();
            assert!(shared.len() >= 2, "{u}-{v}: {shared:?}");
            exposed += u64::from(shared.iter().all(|&id| known[id as usize]));
        }
        let got = net.capture(&taken);
        assert_eq!((got.links, got.compromised), (links, exposed));
        assert!(exposed > 0 && exposed < links, "{exposed} of {links}");
    }
}
