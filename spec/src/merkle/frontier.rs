//! The frontier (compact range) of a growing tree: the hashes of the
//! complete subtrees along its right edge, one per set bit of the size, so
//! that appending a leaf and computing the root cost O(log n) with no other
//! storage.
//!
//! Each append reports the complete subtrees it finished, so that a log can
//! persist every full node (and from them its tiles) as it goes; after a
//! restart it rebuilds the frontier from those stored nodes.

use super::hash::{node_hash, Hash, EMPTY_ROOT};
use super::source::NodeSource;

/// A complete subtree's hash: the subtree covering leaves
/// `[index·2^level, (index+1)·2^level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Node {
    pub level: u8,
    pub index: u64,
    pub hash: Hash,
}

/// Why a frontier cannot be built or grown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontierError {
    #[error("a tree of size {size} has {want} frontier hashes, got {got}")]
    WrongHashCount { size: u64, got: usize, want: usize },
    #[error("the tree is full: it cannot hold more than 2^64 - 1 leaves")]
    Full,
}

/// The right edge of a tree: the complete subtrees, largest (leftmost)
/// first, whose sizes are the set bits of the tree size.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
    /// Scratch for the nodes the last push finished, reused so that an
    /// append allocates nothing once warm.
    finished: Vec<Node>,
}

impl PartialEq for Frontier {
    fn eq(&self, other: &Self) -> bool {
        self.size == other.size && self.hashes == other.hashes
    }
}

impl Eq for Frontier {}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores a frontier from its size and [`Frontier::hashes`], as a log
    /// persisted them; the count must be the number of set bits of `size`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, FrontierError> {
        let want = size.count_ones() as usize;
        if hashes.len() != want {
            return Err(FrontierError::WrongHashCount {
                size,
                got: hashes.len(),
                want,
            });
        }
        Ok(Frontier {
            size,
            hashes,
            finished: Vec::new(),
        })
    }

    /// Rebuilds the frontier of a tree of `size` leaves from stored complete
    /// subtrees: one read per set bit of `size`.
    pub fn from_source<S: NodeSource + ?Sized>(size: u64, source: &S) -> Result<Self, S::Error> {
        let hashes = frontier_ids(size)
            .map(|(level, index)| source.node(level, index))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Frontier {
            size,
            hashes,
            finished: Vec::new(),
        })
    }

    /// The number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier's hashes, largest subtree first (what
    /// [`Frontier::from_parts`] takes back).
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The frontier as nodes with their coordinates, largest subtree first.
    pub fn nodes(&self) -> impl Iterator<Item = Node> + '_ {
        frontier_ids(self.size)
            .zip(&self.hashes)
            .map(|((level, index), hash)| Node {
                level,
                index,
                hash: *hash,
            })
    }

    /// The tree's root (RFC 6962 MTH): the frontier folded from the right.
    pub fn root(&self) -> Hash {
        let mut from_right = self.hashes.iter().rev();
        match from_right.next() {
            None => EMPTY_ROOT,
            Some(last) => from_right.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// Appends a leaf hash and returns the complete subtrees it finished,
    /// bottom up: the leaf itself at level 0, then one node per level for
    /// as long as the new leaf completes a left sibling's pair.
    pub fn push(&mut self, leaf: Hash) -> Result<&[Node], FrontierError> {
        if self.size == u64::MAX {
            return Err(FrontierError::Full);
        }
        self.finished.clear();
        let mut node = Node {
            level: 0,
            index: self.size,
            hash: leaf,
        };
        self.finished.push(node);
        // The new leaf merges with one frontier subtree per trailing one bit
        // of the old size, smallest first.
        let merges = self.size.trailing_ones() as usize;
        let keep = self.hashes.len().saturating_sub(merges);
        for left in self.hashes.drain(keep..).rev() {
            node = Node {
                level: node.level + 1,
                index: node.index >> 1,
                hash: node_hash(&left, &node.hash),
            };
            self.finished.push(node);
        }
        self.hashes.push(node.hash);
        self.size += 1;
        Ok(&self.finished)
    }
}

/// The (level, index) of each frontier subtree of a tree of `size` leaves,
/// largest first.
fn frontier_ids(size: u64) -> impl Iterator<Item = (u8, u64)> {
    (0..64u8)
        .rev()
        .filter(move |level| size >> level & 1 == 1)
        .map(move |level| (level, (size >> level) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;

    #[test]
    fn push_reports_every_finished_subtree() {
        let mut frontier = Frontier::new();
        let leaves: Vec<Hash> = (0u8..4).map(|i| leaf_hash(&[i])).collect();
        assert_eq!(frontier.push(leaves[0]).map(<[Node]>::len), Ok(1));
        let finished = frontier.push(leaves[1]).map(<[Node]>::to_vec);
        let pair = node_hash(&leaves[0], &leaves[1]);
        assert_eq!(
            finished,
            Ok(vec![
                Node {
                    level: 0,
                    index: 1,
                    hash: leaves[1]
                },
                Node {
                    level: 1,
                    index: 0,
                    hash: pair
                },
            ])
        );
        assert_eq!(frontier.push(leaves[2]).map(<[Node]>::len), Ok(1));
        let finished = frontier.push(leaves[3]).map(<[Node]>::to_vec);
        let right = node_hash(&leaves[2], &leaves[3]);
        assert_eq!(
            finished.map(|nodes| nodes.iter().map(|n| (n.level, n.index)).collect::<Vec<_>>()),
            Ok(vec![(0, 3), (1, 1), (2, 0)])
        );
        assert_eq!(frontier.root(), node_hash(&pair, &right));
        assert_eq!(frontier.hashes(), &[node_hash(&pair, &right)]);
    }

    #[test]
    fn from_parts_checks_the_hash_count() {
        assert_eq!(
            Frontier::from_parts(5, vec![EMPTY_ROOT]),
            Err(FrontierError::WrongHashCount {
                size: 5,
                got: 1,
                want: 2
            })
        );
        assert_eq!(Frontier::from_parts(0, vec![]), Ok(Frontier::new()));
    }

    #[test]
    fn a_full_tree_refuses_another_leaf() {
        let hashes = vec![EMPTY_ROOT; 64];
        let mut frontier = Frontier::from_parts(u64::MAX, hashes).expect("64 hashes");
        assert_eq!(frontier.push(EMPTY_ROOT), Err(FrontierError::Full));
        let ids: Vec<_> = frontier
            .nodes()
            .map(|n| (n.level, n.index))
            .take(2)
            .collect();
        assert_eq!(ids, vec![(63, 0), (62, 2)]);
    }

    #[test]
    fn the_tallest_merge_reaches_level_63() {
        let size = (1u64 << 63) - 1;
        let mut frontier = Frontier::from_parts(size, vec![EMPTY_ROOT; 63]).expect("63 hashes");
        let finished = frontier.push(EMPTY_ROOT).map(<[Node]>::len);
        assert_eq!(finished, Ok(64));
        let ids: Vec<_> = frontier.nodes().map(|n| (n.level, n.index)).collect();
        assert_eq!(ids, vec![(63, 0)]);
    }
}
