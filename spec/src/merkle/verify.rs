//! Checking proofs with nothing but hashes: RFC 9162 §2.1.3.2 (inclusion)
//! and §2.1.4.2 (consistency), as the RFC writes them.
//!
//! A proof's length is fixed by the sizes involved, so it is checked first
//! and a wrong one is reported as too short or too long rather than as a
//! root mismatch: a client can then tell a truncated response from a
//! forged one.

use super::hash::{node_hash, Hash};

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesOutOfOrder { old: u64, new: u64 },
    #[error("a consistency proof from the empty tree proves nothing and is refused")]
    EmptyOldTree,
    #[error("proof has {got} hashes, {want} expected")]
    ProofTooShort { got: usize, want: usize },
    #[error("proof has {got} hashes, {want} expected")]
    ProofTooLong { got: usize, want: usize },
    #[error("trees of equal size have different roots")]
    SameSizeDifferentRoots,
    #[error("the inclusion proof leads to a different root")]
    RootMismatch,
    #[error("the consistency proof leads to a different old root")]
    OldRootMismatch,
    #[error("the consistency proof leads to a different new root")]
    NewRootMismatch,
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves
/// whose root is `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if root_from_inclusion(leaf_hash, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// The root that an inclusion proof implies for leaf `index` of a tree of
/// `size` leaves (for a caller that looks the root up afterwards).
pub fn root_from_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    check_length(proof.len(), inclusion_proof_len(index, size))?;
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(too_long(proof.len(), index, size));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // A right edge node without a sibling is lifted unchanged.
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(VerifyError::ProofTooShort {
            got: proof.len(),
            want: inclusion_proof_len(index, size),
        });
    }
    Ok(r)
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`.
///
/// Equal sizes need an empty proof and equal roots. An old size of 0 is
/// refused, as RFC 9162 defines no proof from the empty tree and a
/// "consistency" with it would vouch for nothing.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), VerifyError> {
    if old_size > new_size {
        return Err(VerifyError::SizesOutOfOrder {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 {
        return Err(VerifyError::EmptyOldTree);
    }
    if old_size == new_size {
        check_length(proof.len(), 0)?;
        return if old_root == new_root {
            Ok(())
        } else {
            Err(VerifyError::SameSizeDifferentRoots)
        };
    }
    let want = consistency_proof_len(old_size, new_size);
    check_length(proof.len(), want)?;
    // The proof omits the old tree's last complete subtree when that is
    // the whole old tree: its hash is then the old root.
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            None => return Err(VerifyError::ProofTooShort { got: 0, want }),
        }
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if s == 0 {
            return Err(VerifyError::ProofTooLong {
                got: proof.len(),
                want,
            });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(VerifyError::ProofTooShort {
            got: proof.len(),
            want,
        });
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(VerifyError::NewRootMismatch);
    }
    Ok(())
}

/// The number of hashes in the audit path of leaf `index < size`: one per
/// level below the point where the paths to `index` and to the last leaf
/// meet, plus one per left sibling above it.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = bit_length(index ^ (size - 1));
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The number of hashes in a consistency proof for `0 < old < new`: the
/// audit path of the old tree's last complete subtree, plus that subtree's
/// hash unless it is the whole old tree.
fn consistency_proof_len(old: u64, new: u64) -> usize {
    let shift = old.trailing_zeros();
    let inner = bit_length((old - 1) ^ (new - 1));
    let border = (old - 1).checked_shr(inner).unwrap_or(0).count_ones();
    let seed = usize::from(!old.is_power_of_two());
    seed + (inner.saturating_sub(shift) + border) as usize
}

fn bit_length(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

fn check_length(got: usize, want: usize) -> Result<(), VerifyError> {
    match got.cmp(&want) {
        std::cmp::Ordering::Less => Err(VerifyError::ProofTooShort { got, want }),
        std::cmp::Ordering::Greater => Err(VerifyError::ProofTooLong { got, want }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

fn too_long(got: usize, index: u64, size: u64) -> VerifyError {
    VerifyError::ProofTooLong {
        got,
        want: inclusion_proof_len(index, size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::{leaf_hash, EMPTY_ROOT};

    #[test]
    fn precise_errors() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let root = node_hash(&a, &b);
        assert_eq!(verify_inclusion(&a, 0, 2, &[b], &root), Ok(()));
        assert_eq!(verify_inclusion(&b, 1, 2, &[a], &root), Ok(()));
        assert_eq!(
            verify_inclusion(&a, 2, 2, &[b], &root),
            Err(VerifyError::IndexOutOfRange { index: 2, size: 2 })
        );
        assert_eq!(
            verify_inclusion(&a, 0, 2, &[], &root),
            Err(VerifyError::ProofTooShort { got: 0, want: 1 })
        );
        assert_eq!(
            verify_inclusion(&a, 0, 2, &[b, b], &root),
            Err(VerifyError::ProofTooLong { got: 2, want: 1 })
        );
        assert_eq!(
            verify_inclusion(&b, 0, 2, &[a], &root),
            Err(VerifyError::RootMismatch)
        );
        assert_eq!(verify_inclusion(&a, 0, 1, &[], &a), Ok(()));
    }

    #[test]
    fn consistency_edge_cases() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let root2 = node_hash(&a, &b);
        assert_eq!(verify_consistency(1, 2, &[b], &a, &root2), Ok(()));
        assert_eq!(
            verify_consistency(1, 2, &[a], &a, &root2),
            Err(VerifyError::NewRootMismatch)
        );
        // A power-of-two old tree is its own seed: a wrong old root shows up
        // in the new root.
        assert_eq!(
            verify_consistency(1, 2, &[b], &b, &root2),
            Err(VerifyError::NewRootMismatch)
        );
        let c = leaf_hash(b"c");
        let root3 = node_hash(&root2, &c);
        let root4 = node_hash(&root2, &node_hash(&c, &c));
        assert_eq!(
            verify_consistency(3, 4, &[c, c, root2], &root3, &root4),
            Ok(())
        );
        assert_eq!(
            verify_consistency(3, 4, &[c, c, root2], &root2, &root4),
            Err(VerifyError::OldRootMismatch)
        );
        assert_eq!(verify_consistency(2, 2, &[], &root2, &root2), Ok(()));
        assert_eq!(
            verify_consistency(2, 2, &[a], &root2, &root2),
            Err(VerifyError::ProofTooLong { got: 1, want: 0 })
        );
        assert_eq!(
            verify_consistency(2, 2, &[], &root2, &a),
            Err(VerifyError::SameSizeDifferentRoots)
        );
        assert_eq!(
            verify_consistency(0, 2, &[], &EMPTY_ROOT, &root2),
            Err(VerifyError::EmptyOldTree)
        );
        assert_eq!(
            verify_consistency(0, 0, &[], &EMPTY_ROOT, &EMPTY_ROOT),
            Err(VerifyError::EmptyOldTree)
        );
        assert_eq!(
            verify_consistency(3, 2, &[], &a, &a),
            Err(VerifyError::SizesOutOfOrder { old: 3, new: 2 })
        );
        assert_eq!(
            verify_consistency(1, 2, &[], &a, &root2),
            Err(VerifyError::ProofTooShort { got: 0, want: 1 })
        );
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let leaf = leaf_hash(b"x");
        let long = vec![leaf; 64];
        for (index, size) in [(0, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX)] {
            let want = inclusion_proof_len(index, size);
            assert!(want <= 64);
            assert!(matches!(
                verify_inclusion(&leaf, index, size, &long[..want], &leaf),
                Err(VerifyError::RootMismatch)
            ));
        }
        let want = consistency_proof_len(u64::MAX - 1, u64::MAX);
        assert!(matches!(
            verify_consistency(u64::MAX - 1, u64::MAX, &long[..want], &leaf, &leaf),
            Err(VerifyError::OldRootMismatch)
        ));
    }
}
