//! Lists of node pairs in compressed form: a pair `(u, v)` with `u < v` costs one `u32` (its
//! `v`), grouped by `u`, instead of two.

use std::ops::Range;

/// Pairs `(u, v)`, `u < v`, ordered by `u` then `v`: the `v` of node `u` are
/// `targets[offsets[u]..offsets[u + 1]]`, ascending.
#[derive(Clone, Debug, Default)]
pub(crate) struct PairList {
    offsets: Vec<usize>,
    targets: Vec<u32>,
}

impl PairList {
    /// An empty list over `nodes` nodes, to be filled node by node with [`Self::push_node`].
    pub(crate) fn with_nodes(nodes: u32) -> Self {
        let mut offsets = Vec::with_capacity(nodes as usize + 1);
        offsets.push(0);
        Self {
            offsets,
            targets: Vec::new(),
        }
    }

    /// Appends the next node's partners (ascending, each larger than the node).
    pub(crate) fn push_node(&mut self, partners: &[u32]) {
        self.targets.extend_from_slice(partners);
        self.offsets.push(self.targets.len());
    }

    /// Joins the lists of consecutive node ranges, in order, each freed once copied so that
    /// the pieces and the whole never all exist at once.
    pub(crate) fn concat(nodes: u32, pieces: Vec<Piece>) -> Self {
        let total = pieces.iter().map(|p| p.targets.len()).sum();
        let mut offsets = Vec::with_capacity(nodes as usize + 1);
        let mut targets = Vec::with_capacity(total);
        offsets.push(0);
        for piece in pieces {
            let base = targets.len();
            offsets.extend(piece.ends.iter().map(|&e| base + e));
            targets.extend_from_slice(&piece.targets);
        }
        Self { offsets, targets }
    }

    /// Number of pairs.
    pub(crate) fn len(&self) -> usize {
        self.targets.len()
    }

    /// Number of nodes the list is over.
    pub(crate) fn nodes(&self) -> u32 {
        self.offsets.len().saturating_sub(1) as u32
    }

    /// The partners `v > u` of `u`, ascending.
    pub(crate) fn of(&self, u: u32) -> &[u32] {
        &self.targets[self.offsets[u as usize]..self.offsets[u as usize + 1]]
    }

    /// Where the pairs of `u` sit in pair order.
    pub(crate) fn span(&self, u: u32) -> Range<usize> {
        self.offsets[u as usize]..self.offsets[u as usize + 1]
    }

    /// The prefix sums over nodes (`nodes + 1` of them).
    pub(crate) fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// The pair at position `index` in pair order (`index < len()`).
    pub(crate) fn get(&self, index: usize) -> (u32, u32) {
        // The last node whose pairs start at or before `index`.
        let u = self.offsets.partition_point(|&o| o <= index) - 1;
        (u as u32, self.targets[index])
    }

    /// Every pair, by `u` then `v`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u32)> + Clone + '_ {
        (0..self.nodes()).flat_map(move |u| self.of(u).iter().map(move |&v| (u, v)))
    }
}

/// The pairs of one range of consecutive nodes, built by one thread.
#[derive(Debug, Default)]
pub(crate) struct Piece {
    /// Per node of the range, the end of its partners in `targets`.
    ends: Vec<usize>,
    targets: Vec<u32>,
}

impl Piece {
    /// Appends the next node's partners.
    #[cfg(test)]
    pub(crate) fn push_node(&mut self, partners: impl IntoIterator<Item = u32>) {
        self.targets.extend(partners);
        self.ends.push(self.targets.len());
    }

    /// Adds one partner to the node being built; [`Self::end_node`] closes it.
    pub(crate) fn push(&mut self, v: u32) {
        self.targets.push(v);
    }

    /// Closes the node being built.
    pub(crate) fn end_node(&mut self) {
        self.ends.push(self.targets.len());
    }

    /// Pairs so far.
    pub(crate) fn len(&self) -> usize {
        self.targets.len()
    }

    /// The partners pushed since the last closed node, to be sorted in place.
    pub(crate) fn open_node(&mut self) -> &mut [u32] {
        let from = self.ends.last().copied().unwrap_or(0);
        &mut self.targets[from..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concatenated_pieces_list_the_pairs_in_order() {
        let mut a = Piece::default();
        a.push_node([1, 2]);
        a.push_node([]);
        let mut b = Piece::default();
        b.push_node([3]);
        b.push(5);
        b.push(4);
        b.open_node().sort_unstable();
        b.end_node();
        let list = PairList::concat(4, vec![a, b]);
        let want = [(0, 1), (0, 2), (2, 3), (3, 4), (3, 5)];
        assert_eq!(list.iter().collect::<Vec<_>>(), want);
        for (i, &pair) in want.iter().enumerate() {
            assert_eq!(list.get(i), pair);
        }
        assert_eq!((list.len(), list.nodes(), list.span(3)), (5, 4, 3..5));
    }
}
