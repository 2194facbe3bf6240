//! Key setup and shared-key discovery on every neighbour pair, and the per-link work node
//! capture repeats: split over threads by ranges of nodes, joined in node order, so the
//! result is the same on any number of threads.

use std::sync::atomic::{AtomicU32, Ordering};

use rand_core::CryptoRng;

use crate::blundo::{Polynomial, Share};
use crate::error::Error;
use crate::pairs::{PairList, Piece};
use crate::parallel;
use crate::sampling;
use crate::topology::Topology;

/// Key rings, flat, stored in the topology's spatial order: the ring of node `u` is
/// `ids[slot[u]·k..(slot[u] + 1)·k]`, ascending, so that neighbours' rings sit close
/// together in memory.
pub(crate) struct Rings {
    pub(crate) pool: u32,
    pub(crate) ring: u32,
    ids: Vec<u32>,
    slot: Vec<u32>,
}

impl Rings {
    /// Key pre-distribution (Eschenauer–Gligor 2002 §2.1): each node, in id order, draws its
    /// ring from the pool. One random stream, so this part stays on one thread.
    pub(crate) fn draw<R: CryptoRng + ?Sized>(
        order: &[u32],
        pool: u32,
        ring: u32,
        rng: &mut R,
    ) -> Self {
        let (nodes, k) = (order.len(), ring as usize);
        let mut slot = vec![0u32; nodes];
        for (at, &u) in order.iter().enumerate() {
            slot[u as usize] = at as u32;
        }
        let mut ids = vec![0u32; nodes * k];
        let mut marks = vec![0u32; pool as usize];
        let mut one = Vec::with_capacity(k);
        for node in 0..nodes as u32 {
            one.clear();
            sampling::distinct_sorted_into(rng, pool, ring, &mut marks, node + 1, &mut one);
            let at = slot[node as usize] as usize * k;
            ids[at..at + k].copy_from_slice(&one);
        }
        Self {
            pool,
            ring,
            ids,
            slot,
        }
    }

    /// The ring of node `u`.
    pub(crate) fn of(&self, u: u32) -> &[u32] {
        let (k, at) = (self.ring as usize, self.slot[u as usize] as usize);
        &self.ids[at * k..(at + 1) * k]
    }

    /// Per-thread scratch: one bit per pool key (1.25 KB for a pool of 10,000: it stays
    /// in the fastest cache while a node's neighbours are scanned).
    pub(crate) fn marks(&self) -> Marks {
        Marks(vec![0u64; (self.pool as usize).div_ceil(64)])
    }

    /// Marks the keys of `u` (and only them) in `marks`, clearing those of `before`.
    pub(crate) fn mark(&self, u: u32, before: Option<u32>, marks: &mut Marks) {
        if let Some(b) = before {
            for &id in self.of(b) {
                marks.0[id as usize / 64] = 0;
            }
        }
        for &id in self.of(u) {
            marks.0[id as usize / 64] |= 1 << (id % 64);
        }
    }
}

/// A set of pool keys, one bit each.
pub(crate) struct Marks(Vec<u64>);

impl Marks {
    /// Whether `id` is in the set.
    pub(crate) fn has(&self, id: u32) -> bool {
        self.0[id as usize / 64] >> (id % 64) & 1 == 1
    }
}

/// What shared-key discovery found.
pub(crate) struct Found {
    /// Neighbour pairs that secured a direct link.
    pub(crate) links: PairList,
    /// Neighbour pairs without one.
    pub(crate) unsecured: PairList,
    /// Eschenauer–Gligor only: per link, in link order, its key id (the smallest id the two
    /// rings share). q-composite stores nothing per link: node capture recomputes the shared
    /// ids from the two rings ([`exposed_qcomposite`]).
    pub(crate) key_ids: Vec<u32>,
}

/// One thread's share of discovery.
#[derive(Default)]
struct FoundPiece {
    links: Piece,
    unsecured: Piece,
    key_ids: Vec<u32>,
}

/// Shared-key discovery between all neighbour pairs: Eschenauer–Gligor (`q` is `None`) or
/// q-composite. Node `u` marks its ids, then each neighbour's ring is scanned in ascending
/// order, so the first shared id found is the Eschenauer–Gligor link key, and a q-composite
/// scan stops as soon as `q` shared ids are seen.
///
/// Nodes are visited in spatial order, so the rings being scanned are those of the last
/// few cells, in cache; each pair's outcome goes to its own slot (the link key id + 1, or
/// 0 without a link), and a second pass in id order gathers the lists.
pub(crate) fn ring_links(
    topology: &Topology,
    rings: &Rings,
    q: Option<u32>,
    threads: usize,
) -> Found {
    let pairs = topology.pair_list();
    let order = topology.spatial_order();
    let outcome: Vec<AtomicU32> = (0..pairs.len()).map(|_| AtomicU32::new(0)).collect();
    let ranges = parallel::split_even(order.len() as u32, threads);
    let scratch = || (rings.marks(), None);
    parallel::map(ranges.len(), threads, scratch, |(marks, before), i| {
        let range = ranges[i].start as usize..ranges[i].end as usize;
        for &u in &order[range] {
            rings.mark(u, before.replace(u), marks);
            for (at, &v) in pairs.span(u).zip(pairs.of(u)) {
                let mut shared = rings.of(v).iter().filter(|&&id| marks.has(id));
                let result = match q {
                    None => shared.next().map_or(0, |&id| id + 1),
                    Some(q) => u32::from(shared.take(q as usize).count() == q as usize),
                };
                outcome[at].store(result, Ordering::Relaxed);
            }
        }
    });
    let ranges = parallel::split_weighted(pairs.offsets(), threads);
    let pieces = parallel::map(
        ranges.len(),
        threads,
        || (),
        |(), i| {
            let mut piece = FoundPiece::default();
            for u in ranges[i].clone() {
                for (at, &v) in pairs.span(u).zip(pairs.of(u)) {
                    match outcome[at].load(Ordering::Relaxed) {
                        0 => piece.unsecured.push(v),
                        result => {
                            piece.links.push(v);
                            if q.is_none() {
                                piece.key_ids.push(result - 1);
                            }
                        }
                    }
                }
                piece.links.end_node();
                piece.unsecured.end_node();
            }
            piece
        },
    );
    drop(outcome);
    join(topology.nodes(), pieces)
}

fn join(nodes: u32, pieces: Vec<FoundPiece>) -> Found {
    let mut key_ids = Vec::with_capacity(pieces.iter().map(|p| p.key_ids.len()).sum());
    let (mut links, mut unsecured) = (Vec::new(), Vec::new());
    for piece in pieces {
        key_ids.extend_from_slice(&piece.key_ids);
        links.push(piece.links);
        unsecured.push(piece.unsecured);
    }
    Found {
        links: PairList::concat(nodes, links),
        unsecured: PairList::concat(nodes, unsecured),
        key_ids,
    }
}

/// Counts, over the links between uncaptured nodes, those whose key the adversary can
/// compute, with `exposed(scratch, u, v, l)` deciding for link `l = (u, v)` (after
/// `start_node(scratch, u)`). Nodes are visited in `order` (spatial: neighbours' data in
/// cache); the counts do not depend on it. Returns `(links, exposed)`.
pub(crate) fn count_exposed<S>(
    links: &PairList,
    order: &[u32],
    captured: &[bool],
    threads: usize,
    init: impl Fn() -> S + Sync,
    start_node: impl Fn(&mut S, u32) + Sync,
    exposed: impl Fn(&mut S, u32, u32, usize) -> bool + Sync,
) -> (u64, u64) {
    let ranges = parallel::split_even(order.len() as u32, threads);
    let counts = parallel::map(ranges.len(), threads, init, |state, i| {
        let (mut free, mut bad) = (0u64, 0u64);
        let range = ranges[i].start as usize..ranges[i].end as usize;
        for &u in order[range].iter().filter(|&&u| !captured[u as usize]) {
            start_node(state, u);
            for (l, &v) in links.span(u).zip(links.of(u)) {
                if !captured[v as usize] {
                    free += 1;
                    bad += u64::from(exposed(state, u, v, l));
                }
            }
        }
        (free, bad)
    });
    counts
        .into_iter()
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
}

/// q-composite node capture (Chan–Perrig–Song 2003, §4.1): the link `(u, v)` is exposed
/// when every key its two rings share is `known`. The shared ids are recomputed from the
/// rings rather than stored: `marks` holds `u`'s ring ([`Rings::mark`]).
pub(crate) fn exposed_qcomposite(rings: &Rings, known: &[bool], marks: &Marks, v: u32) -> bool {
    rings
        .of(v)
        .iter()
        .all(|&id| !marks.has(id) || known[id as usize])
}

/// Blundo setup: one share per node; every neighbour pair computes its key from both ends
/// and counts as linked when the two agree (they always should: f is symmetric). The link
/// keys are not kept: node capture computes them again from the shares.
pub(crate) fn blundo_links<R: CryptoRng + ?Sized>(
    topology: &Topology,
    degree: u32,
    rng: &mut R,
    threads: usize,
) -> Result<(Vec<Share>, Found), Error> {
    let polynomial = Polynomial::random(degree, rng)?;
    let shares: Vec<Share> = (0..topology.nodes()).map(|i| polynomial.share(i)).collect();
    let pairs = topology.pair_list();
    let ranges = parallel::split_weighted(pairs.offsets(), threads);
    let pieces = parallel::map(
        ranges.len(),
        threads,
        || (),
        |(), i| {
            let mut piece = FoundPiece::default();
            for u in ranges[i].clone() {
                for &v in pairs.of(u) {
                    let agree =
                        shares[u as usize].key_material(v) == shares[v as usize].key_material(u);
                    if agree {
                        piece.links.push(v);
                    } else {
                        piece.unsecured.push(v);
                    }
                }
                piece.links.end_node();
                piece.unsecured.end_node();
            }
            piece
        },
    );
    Ok((shares, join(topology.nodes(), pieces)))
}
