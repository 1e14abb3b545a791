//! Roots and proofs (RFC 9162 §2.1.3.1 and §2.1.4.1) computed from stored
//! complete subtrees.
//!
//! A proof's hashes are complete subtrees, except at most one "ephemeral"
//! hash whose subtree the tree's size cuts short; that one is rebuilt from
//! the complete subtrees it spans. Every function here reads O(log n) nodes
//! and none reads a node twice.

use super::hash::{node_hash, Hash, EMPTY_ROOT};
use super::source::NodeSource;

/// Why a proof cannot be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesOutOfOrder { old: u64, new: u64 },
    #[error("there is no consistency proof from the empty tree")]
    EmptyOldTree,
    #[error("reading a stored node: {0}")]
    Source(#[source] E),
}

impl<E> From<E> for ProofError<E> {
    fn from(error: E) -> Self {
        ProofError::Source(error)
    }
}

/// The root (MTH) of the tree's first `size` leaves: one read per set bit
/// of `size`.
pub fn root<S: NodeSource + ?Sized>(size: u64, source: &S) -> Result<Hash, S::Error> {
    Ok(range_hash(0, size, source)?.unwrap_or(EMPTY_ROOT))
}

/// The audit path of leaf `index` in the tree of `size` leaves
/// (RFC 9162 §2.1.3.1), bottom up.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    index: u64,
    size: u64,
    source: &S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    node_path(0, index, size, source, &mut proof)?;
    Ok(proof)
}

/// The proof that the tree of `old` leaves is a prefix of the tree of `new`
/// leaves (RFC 9162 §2.1.4.1). Equal sizes need no hashes. An old size of
/// 0 is refused: RFC 9162 defines no such proof, and verifiers refuse it.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    old: u64,
    new: u64,
    source: &S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old > new {
        return Err(ProofError::SizesOutOfOrder { old, new });
    }
    if old == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    let mut proof = Vec::new();
    if old == new {
        return Ok(proof);
    }
    // The proof is the path, in the new tree, of the old tree's last
    // complete subtree, headed by that subtree's own hash unless it is the
    // whole old tree (old a power of two): the verifier has that as the old
    // root.
    let level = old.trailing_zeros();
    let index = (old - 1) >> level;
    if index != 0 {
        proof.push(source.node(level as u8, index)?);
    }
    node_path(level, index, new, source, &mut proof)?;
    Ok(proof)
}

/// Appends the sibling hashes from complete node (level, index) up to the
/// root of the tree of `size` leaves. The node must be complete in that
/// tree: `(index + 1)·2^level <= size`.
fn node_path<S: NodeSource + ?Sized>(
    level: u32,
    index: u64,
    size: u64,
    source: &S,
    proof: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    // Climb while the node's sibling is complete: up to the "fork" where
    // the path to the node parts from the path to leaf `size`. Below the
    // fork, both paths share every ancestor, so no sibling crosses `size`.
    let climb = (index ^ (size >> level)).checked_ilog2().unwrap_or(0);
    for step in 0..climb {
        proof.push(source.node((level + step) as u8, (index >> step) ^ 1)?);
    }
    let fork_level = level + climb;
    let fork_begin = (index >> climb) << fork_level;
    let fork_end = fork_begin + (1 << fork_level);
    // The fork's right sibling is cut short by `size` (ephemeral): rebuild it
    // from the complete subtrees it spans. It is absent when the fork ends
    // the tree, which RFC 6962 then lifts a level unchanged.
    if let Some(ephemeral) = range_hash(fork_end, size - fork_end, source)? {
        proof.push(ephemeral);
    }
    // Above the fork the path runs along the tree's right edge, so the
    // remaining siblings are the complete subtrees left of the fork,
    // smallest (nearest) first.
    let mut rest = fork_begin;
    while rest != 0 {
        let level = rest.trailing_zeros();
        proof.push(source.node(level as u8, (rest >> level) - 1)?);
        rest &= rest - 1;
    }
    Ok(())
}

/// The MTH of leaves `[begin, begin + len)`, or `None` when empty. `begin`
/// must be a multiple of the largest power of two not above `len`, so that
/// the range splits into complete subtrees by the set bits of `len`,
/// largest first, the shape RFC 6962 gives a tree of `len` leaves.
fn range_hash<S: NodeSource + ?Sized>(
    begin: u64,
    len: u64,
    source: &S,
) -> Result<Option<Hash>, S::Error> {
    let mut acc: Option<Hash> = None;
    let mut rest = len;
    // Right to left: the smallest subtree first, each folded under the
    // next one to its left.
    while rest != 0 {
        let level = rest.trailing_zeros();
        rest &= rest - 1;
        let hash = source.node(level as u8, (begin + rest) >> level)?;
        acc = Some(match acc {
            None => hash,
            Some(right) => node_hash(&hash, &right),
        });
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::{leaf_hash, mth};
    use crate::merkle::source::{MemoryTree, MissingNode};

    fn tree(n: u8) -> (Vec<Hash>, MemoryTree) {
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&[i])).collect();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        (leaves, tree)
    }

    #[test]
    fn roots_of_every_prefix() {
        let (leaves, tree) = tree(21);
        for size in 0..=21 {
            assert_eq!(root(size as u64, &tree), Ok(mth(&leaves[..size])));
        }
        assert_eq!(
            root(22, &tree),
            Err(MissingNode {
                level: 1,
                index: 10
            })
        );
    }

    #[test]
    fn refuses_impossible_requests() {
        let (_, tree) = tree(4);
        assert_eq!(
            inclusion_proof(4, 4, &tree),
            Err(ProofError::IndexOutOfRange { index: 4, size: 4 })
        );
        assert_eq!(
            consistency_proof(3, 2, &tree),
            Err(ProofError::SizesOutOfOrder { old: 3, new: 2 })
        );
        assert_eq!(
            consistency_proof(0, 4, &tree),
            Err(ProofError::EmptyOldTree)
        );
        assert_eq!(consistency_proof(3, 3, &tree), Ok(vec![]));
        assert_eq!(
            inclusion_proof(0, 5, &tree),
            Err(ProofError::Source(MissingNode { level: 0, index: 4 }))
        );
    }

    #[test]
    fn the_rfc_6962_tree_of_seven() {
        // RFC 6962 §2.1.3's example tree: d0..d6.
        let (l, tree) = tree(7);
        let (a, b) = (node_hash(&l[0], &l[1]), node_hash(&l[2], &l[3]));
        let (c, i) = (node_hash(&l[4], &l[5]), node_hash(&a, &b));
        let j = node_hash(&c, &l[6]);
        assert_eq!(inclusion_proof(0, 7, &tree), Ok(vec![l[1], b, j]));
        assert_eq!(inclusion_proof(3, 7, &tree), Ok(vec![l[2], a, j]));
        assert_eq!(inclusion_proof(4, 7, &tree), Ok(vec![l[5], l[6], i]));
        assert_eq!(inclusion_proof(6, 7, &tree), Ok(vec![c, i]));
        // §2.1.4's consistency examples.
        assert_eq!(consistency_proof(3, 7, &tree), Ok(vec![l[2], l[3], a, j]));
        assert_eq!(consistency_proof(4, 7, &tree), Ok(vec![j]));
        assert_eq!(consistency_proof(6, 7, &tree), Ok(vec![c, l[6], i]));
    }
}
