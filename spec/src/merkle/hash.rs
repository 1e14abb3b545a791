//! RFC 6962 §2.1 tree hashing: leaves and interior nodes are hashed under
//! different one-byte prefixes so that no leaf can pass for a node (the
//! second-preimage attack on unprefixed Merkle trees).

use sha2::{Digest, Sha256};

/// A SHA-256 tree hash: a leaf hash, an interior node or a root.
pub type Hash = [u8; 32];

/// The root of the empty tree, SHA-256 of the empty string (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// The hash of a leaf's data: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The Merkle Tree Hash of a sequence of hashes taken as the leaves' hashes
/// (RFC 6962's MTH, or the root of a tile's subtree over its hashes).
///
/// Pairing neighbours level by level and carrying an odd last hash up
/// unchanged builds the same tree as RFC 6962's split at the largest power
/// of two below the length.
pub fn mth(hashes: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        let mut pairs = level.chunks_exact(2);
        let mut next: Vec<Hash> = pairs
            .by_ref()
            .filter_map(|pair| match pair {
                [left, right] => Some(node_hash(left, right)),
                _ => None,
            })
            .collect();
        next.extend_from_slice(pairs.remainder());
        level = next;
    }
    level.first().copied().unwrap_or(EMPTY_ROOT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let digest: Hash = Sha256::digest(b"").into();
        assert_eq!(EMPTY_ROOT, digest);
        assert_eq!(mth(&[]), EMPTY_ROOT);
    }

    #[test]
    fn prefixes_separate_leaves_from_nodes() {
        // RFC 6962 test vector: the leaf hash of the empty string.
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut concatenated = a.to_vec();
        concatenated.extend_from_slice(&b);
        assert_ne!(node_hash(&a, &b), leaf_hash(&concatenated));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }

    #[test]
    fn mth_splits_at_the_largest_power_of_two() {
        let h: Vec<Hash> = (0u8..7).map(|i| leaf_hash(&[i])).collect();
        let left = node_hash(&node_hash(&h[0], &h[1]), &node_hash(&h[2], &h[3]));
        let right = node_hash(&node_hash(&h[4], &h[5]), &h[6]);
        assert_eq!(mth(&h), node_hash(&left, &right));
        assert_eq!(mth(&h[..1]), h[0]);
    }
}
