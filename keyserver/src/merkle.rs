//! The transparency log's Merkle tree: RFC 6962 §2.1 hashing, audit (inclusion) paths and
//! consistency proofs, and their verification by the RFC 9162 §2.1.3.2 / §2.1.4.2
//! algorithms.
//!
//! ```text
//! MTH({})       = SHA-256()
//! MTH({d0})     = SHA-256(0x00 || d0)                                 leaf hash
//! MTH(D[n])     = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))         node hash
//!                 k = the largest power of two smaller than n
//! ```
//!
//! [`Tree`] keeps the leaf hashes and the root of every complete, aligned subtree of
//! 2^j leaves, so any `MTH(D[a:b])` the proofs need costs O(log n) hashes and a proof
//! O(log² n), whatever the size of the log.

use sha2::{Digest as _, Sha256};

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// RFC 6962 §2.1: the hash of a leaf, `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// RFC 6962 §2.1: the hash of an interior node, `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 6962 §2.1: the hash of the empty tree, `SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Why a proof was not given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf {index} is not in a tree of {size} leaves")]
    NoSuchLeaf {
        /// The leaf index asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// A tree size larger than the log.
    #[error("the log has {have} entries, not {asked}")]
    TooLarge {
        /// The size asked for.
        asked: u64,
        /// The log's size.
        have: u64,
    },
    /// The sizes of a consistency proof are out of order or zero.
    #[error(
        "a consistency proof needs 0 < first <= second, got first = {first}, second = {second}"
    )]
    BadRange {
        /// The older tree size.
        first: u64,
        /// The newer tree size.
        second: u64,
    },
}

/// The leaf hashes of a log and the roots of its complete aligned subtrees.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// `levels[j][i]` = MTH of leaves `[i·2^j, (i+1)·2^j)`; `levels[0]` holds the leaves.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf by its hash ([`leaf_hash`] of the entry).
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(node);
            // A row of even length just completed a subtree one level up.
            if !row.len().is_multiple_of(2) {
                break;
            }
            node = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            level += 1;
        }
    }

    /// Drops leaves from the end until `size` remain (undoing pushes whose storage failed).
    pub fn truncate(&mut self, size: u64) {
        for (level, row) in self.levels.iter_mut().enumerate() {
            let keep = usize::try_from(size >> level).unwrap_or(usize::MAX);
            row.truncate(keep);
        }
        while self.levels.last().is_some_and(Vec::is_empty) {
            self.levels.pop();
        }
    }

    /// The hash of leaf `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        let row = self.levels.first()?;
        row.get(usize::try_from(index).ok()?).copied()
    }

    /// The root of the first `size` leaves (`MTH(D[0:size])`).
    pub fn root(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size(size)?;
        Ok(if size == 0 {
            empty_root()
        } else {
            self.subtree(0, size)
        })
    }

    /// RFC 6962 §2.1.1: the audit path of leaf `index` in the tree of the first `size`
    /// leaves, from the leaf's sibling up to the root's child.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size)?;
        if index >= size {
            return Err(ProofError::NoSuchLeaf { index, size });
        }
        let mut path = Vec::new();
        self.path(index, 0, size, &mut path);
        Ok(path)
    }

    /// RFC 6962 §2.1.2: the consistency proof between the trees of the first `first` and
    /// the first `second` leaves.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(second)?;
        if first == 0 || first > second {
            return Err(ProofError::BadRange { first, second });
        }
        let mut proof = Vec::new();
        self.subproof(first, 0, second, true, &mut proof);
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        if size > self.size() {
            return Err(ProofError::TooLarge {
                asked: size,
                have: self.size(),
            });
        }
        Ok(())
    }

    /// `MTH(D[start : start + len])`, `len >= 1`, all leaves present.
    fn subtree(&self, start: u64, len: u64) -> Hash {
        if len.is_power_of_two() && start.is_multiple_of(len) {
            let level = len.trailing_zeros() as usize;
            let cached = self
                .levels
                .get(level)
                .and_then(|row| row.get(usize::try_from(start >> level).ok()?));
            if let Some(hash) = cached {
                return *hash;
            }
        }
        let k = split_point(len);
        node_hash(&self.subtree(start, k), &self.subtree(start + k, len - k))
    }

    /// `PATH(m, D[start : start + n])` appended to `out` (RFC 6962 §2.1.1).
    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) {
        if n == 1 {
            return;
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, out);
            out.push(self.subtree(start, k));
        }
    }

    /// `SUBPROOF(m, D[start : start + n], b)` appended to `out` (RFC 6962 §2.1.2).
    fn subproof(&self, m: u64, start: u64, n: u64, whole: bool, out: &mut Vec<Hash>) {
        if m == n {
            if !whole {
                out.push(self.subtree(start, n));
            }
            return;
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, k, whole, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.subproof(m - k, start + k, n - k, false, out);
            out.push(self.subtree(start, k));
        }
    }
}

/// RFC 9162 §2.1.3.2: whether `path` proves that the leaf with hash `leaf` sits at
/// `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                // Skip the levels where this node is a lone right-most child.
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: whether `proof` shows that the tree of `first` leaves with root
/// `first_root` is a prefix of the tree of `second` leaves with root `second_root`.
///
/// Equal sizes need an empty proof and equal roots; the empty tree (whose root must be
/// `SHA-256()`, RFC 6962 §2.1) is a prefix of every tree, with an empty proof.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 {
        // Any other "root" for size 0 is a head no honest log signs.
        return proof.is_empty() && *first_root == empty_root();
    }
    if proof.is_empty() {
        return false;
    }
    // Step 2: when the old tree is a complete subtree, its root starts the path.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == *first_root && sr == *second_root && sn == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MTH straight from the RFC 6962 §2.1 definition, over the leaf data.
    fn naive_root(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    /// PATH(m, D[n]) straight from RFC 6962 §2.1.1.
    fn naive_path(m: usize, leaves: &[Vec<u8>]) -> Vec<Hash> {
        if leaves.len() <= 1 {
            return Vec::new();
        }
        let k = split_point(leaves.len() as u64) as usize;
        if m < k {
            let mut p = naive_path(m, &leaves[..k]);
            p.push(naive_root(&leaves[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &leaves[k..]);
            p.push(naive_root(&leaves[..k]));
            p
        }
    }

    /// SUBPROOF(m, D[n], b) straight from RFC 6962 §2.1.2.
    fn naive_subproof(m: usize, leaves: &[Vec<u8>], whole: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if whole {
                Vec::new()
            } else {
                vec![naive_root(leaves)]
            };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = naive_subproof(m, &leaves[..k], whole);
            p.push(naive_root(&leaves[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &leaves[k..], false);
            p.push(naive_root(&leaves[..k]));
            p
        }
    }

    fn data(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("entry {i}").into_bytes()).collect()
    }

    fn tree(leaves: &[Vec<u8>]) -> Tree {
        let mut t = Tree::new();
        for d in leaves {
            t.push(leaf_hash(d));
        }
        t
    }

    fn flip(h: &Hash) -> Hash {
        let mut h = *h;
        h[7] ^= 0x10;
        h
    }

    #[test]
    fn roots_and_inclusion_match_the_definition_for_every_size_up_to_64() {
        let leaves = data(64);
        let t = tree(&leaves);
        assert_eq!(t.root(0), Ok(empty_root()));
        for n in 1..=64u64 {
            let root = naive_root(&leaves[..n as usize]);
            assert_eq!(t.root(n), Ok(root), "root of {n}");
            for m in 0..n {
                let path = t.inclusion_proof(m, n).expect("proof");
                assert_eq!(
                    path,
                    naive_path(m as usize, &leaves[..n as usize]),
                    "{m}/{n}"
                );
                let leaf = leaf_hash(&leaves[m as usize]);
                assert!(verify_inclusion(&leaf, m, n, &path, &root), "{m}/{n}");
                // Tampering anywhere is detected.
                assert!(!verify_inclusion(&flip(&leaf), m, n, &path, &root));
                assert!(!verify_inclusion(&leaf, m, n, &path, &flip(&root)));
                for i in 0..path.len() {
                    let mut bad = path.clone();
                    bad[i] = flip(&bad[i]);
                    assert!(!verify_inclusion(&leaf, m, n, &bad, &root), "{m}/{n} @{i}");
                }
                if !path.is_empty() {
                    assert!(!verify_inclusion(&leaf, m, n, &path[1..], &root));
                }
                let mut longer = path.clone();
                longer.push(root);
                assert!(!verify_inclusion(&leaf, m, n, &longer, &root));
                if n > 1 {
                    let other = (m + 1) % n;
                    assert!(
                        !verify_inclusion(&leaf, other, n, &path, &root),
                        "{m}->{other}/{n}"
                    );
                }
                assert!(!verify_inclusion(&leaf, n, n, &path, &root));
            }
        }
    }

    #[test]
    fn consistency_proofs_match_the_definition_for_every_pair_up_to_64() {
        let leaves = data(64);
        let t = tree(&leaves);
        for n in 1..=64u64 {
            let second = naive_root(&leaves[..n as usize]);
            for m in 1..=n {
                let first = naive_root(&leaves[..m as usize]);
                let proof = t.consistency_proof(m, n).expect("proof");
                assert_eq!(
                    proof,
                    naive_subproof(m as usize, &leaves[..n as usize], true),
                    "{m}/{n}"
                );
                assert!(verify_consistency(m, n, &first, &second, &proof), "{m}/{n}");
                assert!(!verify_consistency(m, n, &flip(&first), &second, &proof));
                assert!(!verify_consistency(m, n, &first, &flip(&second), &proof));
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i]);
                    assert!(
                        !verify_consistency(m, n, &first, &second, &bad),
                        "{m}/{n} @{i}"
                    );
                }
                if !proof.is_empty() {
                    assert!(!verify_consistency(m, n, &first, &second, &proof[1..]));
                    assert!(!verify_consistency(m, n, &first, &second, &[]));
                }
                if m < n {
                    assert!(!verify_consistency(m + 1, n, &first, &second, &proof));
                }
                assert!(!verify_consistency(
                    n,
                    m.saturating_sub(1),
                    &second,
                    &first,
                    &proof
                ));
            }
            assert!(verify_consistency(0, n, &empty_root(), &second, &[]));
            // A size-0 head with another root is no prefix of anything.
            assert!(!verify_consistency(
                0,
                n,
                &flip(&empty_root()),
                &second,
                &[]
            ));
            assert!(!verify_consistency(0, n, &second, &second, &[]));
        }
    }

    #[test]
    fn a_rewritten_entry_breaks_consistency_with_the_old_head() {
        let leaves = data(20);
        let honest = tree(&leaves);
        let old_root = honest.root(13).expect("root");
        let mut forged = leaves.clone();
        forged[5] = b"entry 5, rewritten".to_vec();
        let forged = tree(&forged);
        let proof = forged.consistency_proof(13, 20).expect("proof");
        let new_root = forged.root(20).expect("root");
        assert!(!verify_consistency(13, 20, &old_root, &new_root, &proof));
    }

    #[test]
    fn truncate_undoes_pushes() {
        let leaves = data(37);
        let mut t = tree(&leaves);
        for size in (0..37).rev() {
            t.truncate(size);
            assert_eq!(t.size(), size);
            assert_eq!(t.root(size), Ok(naive_root(&leaves[..size as usize])));
        }
        let t2 = tree(&leaves[..5]);
        let mut t3 = tree(&leaves);
        t3.truncate(5);
        t3.push(leaf_hash(&leaves[5]));
        assert_eq!(t3.root(6), Ok(naive_root(&leaves[..6])));
        assert_eq!(t2.size(), 5);
    }

    #[test]
    fn bad_requests_are_errors() {
        let t = tree(&data(5));
        assert_eq!(
            t.inclusion_proof(5, 5),
            Err(ProofError::NoSuchLeaf { index: 5, size: 5 })
        );
        assert_eq!(
            t.inclusion_proof(0, 6),
            Err(ProofError::TooLarge { asked: 6, have: 5 })
        );
        assert_eq!(
            t.consistency_proof(0, 3),
            Err(ProofError::BadRange {
                first: 0,
                second: 3
            })
        );
        assert_eq!(
            t.consistency_proof(4, 3),
            Err(ProofError::BadRange {
                first: 4,
                second: 3
            })
        );
    }
}
