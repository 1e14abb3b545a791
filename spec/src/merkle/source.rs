//! Where proofs read hashes from: any store of complete-subtree hashes (a
//! database of full nodes, a tile cache, memory), behind one trait, plus the
//! in-memory store that tests and benchmarks use.

use super::hash::{node_hash, Hash};

/// A store of complete-subtree hashes.
pub trait NodeSource {
    type Error;

    /// The hash of the complete subtree covering leaves
    /// `[index·2^level, (index+1)·2^level)`; level 0 is a leaf hash.
    /// Callers only ask for subtrees that are complete in the tree they
    /// are proving against.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }
}

/// A node that a [`MemoryTree`] does not hold: the subtree is not complete
/// in the tree as appended so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no complete subtree at level {level}, index {index}")]
pub struct MissingNode {
    pub level: u8,
    pub index: u64,
}

/// Every complete subtree of an append-only tree, level by level, in
/// memory: about 2n hashes for n leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    /// `levels[l][i]` is the hash of complete subtree (l, i).
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes, in order.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        leaves.into_iter().for_each(|leaf| tree.push(leaf));
        tree
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Appends a leaf hash and every subtree it completes.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        for level in 0.. {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                return;
            };
            row.push(hash);
            // A row of odd length ends in a left child awaiting its sibling.
            match row.as_slice() {
                [.., left, right] if row.len() % 2 == 0 => hash = node_hash(left, right),
                _ => return,
            }
        }
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        let row = self.levels.get(usize::from(level));
        let position = usize::try_from(index).ok();
        row.zip(position)
            .and_then(|(row, position)| row.get(position))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;

    #[test]
    fn holds_exactly_the_complete_subtrees() {
        let leaves: Vec<Hash> = (0u8..5).map(|i| leaf_hash(&[i])).collect();
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        assert_eq!(tree.size(), 5);
        assert_eq!(tree.node(0, 4), Ok(leaves[4]));
        assert_eq!(tree.node(1, 1), Ok(node_hash(&leaves[2], &leaves[3])));
        assert!(tree.node(2, 0).is_ok());
        // Leaves 4..6 and 4..8 are not complete in a tree of five.
        assert_eq!(tree.node(1, 2), Err(MissingNode { level: 1, index: 2 }));
        assert_eq!(tree.node(3, 0), Err(MissingNode { level: 3, index: 0 }));
        assert_eq!(
            tree.node(0, u64::MAX),
            Err(MissingNode {
                level: 0,
                index: u64::MAX
            })
        );
    }
}
