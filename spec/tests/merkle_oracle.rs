//! Differential tests against an independent RFC 6962 implementation, the
//! `ct-merkle` crate (array-indexed trees, its own proof code): roots for
//! every size to 2000, and inclusion and consistency proofs byte for byte,
//! all pairs for small trees and a sample for large ones. Every proof must
//! verify on both sides, and every single-byte flip, truncation or
//! extension of it must fail ours.

use std::cell::RefCell;
use std::collections::HashSet;

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use delego_spec::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
    Frontier, Hash, MemoryTree, MissingNode, NodeSource, VerifyError,
};
use sha2::Sha256;

type Oracle = MemoryBackedTree<Sha256, Vec<u8>>;

const MAX_SIZE: u64 = 2000;
/// Up to this size every (index, size) and (old, new) pair is checked.
const ALL_PAIRS: u64 = 64;
/// Up to this size every byte of every proof is flipped; above it, one
/// random byte of each hash.
const EVERY_BYTE: u64 = 16;

/// Leaf data of varying lengths, empty included.
fn leaf_data(i: u64) -> Vec<u8> {
    let mut data = format!("receipt {i}").into_bytes();
    data.truncate((i % 13) as usize);
    data
}

/// splitmix64: a fixed, dependency-free sample of indices.
struct Sampler(u64);

impl Sampler {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % bound
    }
}

fn oracle_root(oracle: &Oracle) -> Hash {
    oracle
        .root()
        .as_bytes()
        .as_slice()
        .try_into()
        .expect("32 bytes")
}

fn hashes_from(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks(32)
        .map(|chunk| chunk.try_into().expect("whole hashes"))
        .collect()
}

fn concat(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// Every way of damaging a proof that must make it fail: a byte flipped
/// (each byte, or one random byte of each hash), the first or last hash
/// dropped, and a hash added at either end.
fn damaged(proof: &[Hash], every_byte: bool, sampler: &mut Sampler) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    let positions: Vec<usize> = if every_byte {
        (0..proof.len() * 32).collect()
    } else {
        (0..proof.len())
            .map(|h| h * 32 + sampler.below(32) as usize)
            .collect()
    };
    for position in positions {
        let mut flipped = proof.to_vec();
        flipped[position / 32][position % 32] ^= 1 << (position % 8);
        out.push(flipped);
    }
    if let Some((_, rest)) = proof.split_first() {
        out.push(rest.to_vec());
    }
    if let Some((_, rest)) = proof.split_last() {
        out.push(rest.to_vec());
    }
    let extra = leaf_hash(b"extra");
    out.push([proof, &[extra]].concat());
    out.push([&[extra], proof].concat());
    out
}

#[test]
fn roots_match_the_oracle_for_every_size() {
    let mut oracle = Oracle::new();
    let mut tree = MemoryTree::new();
    let mut frontier = Frontier::new();
    let mut roots = vec![oracle_root(&oracle)];
    assert_eq!(frontier.root(), roots[0]);
    for i in 0..MAX_SIZE {
        let data = leaf_data(i);
        oracle.push(data.clone());
        tree.push(leaf_hash(&data));
        let finished = frontier.push(leaf_hash(&data)).expect("room").to_vec();
        // Every subtree the frontier reports finished is the stored one.
        for node in finished {
            assert_eq!(tree.node(node.level, node.index), Ok(node.hash));
        }
        let size = i + 1;
        let want = oracle_root(&oracle);
        assert_eq!(frontier.root(), want, "frontier, size {size}");
        assert_eq!(root(size, &tree), Ok(want), "memory tree, size {size}");
        roots.push(want);
    }
    // Prefix roots stay computable from the grown tree's stored nodes.
    for (size, want) in roots.iter().enumerate() {
        assert_eq!(root(size as u64, &tree), Ok(*want), "prefix {size}");
    }
}

#[test]
fn inclusion_proofs_match_the_oracle() {
    let mut oracle = Oracle::new();
    let mut tree = MemoryTree::new();
    let mut sampler = Sampler(1);
    let (mut proofs, mut damages) = (0usize, 0usize);
    for size in 1..=MAX_SIZE {
        let data = leaf_data(size - 1);
        oracle.push(data.clone());
        tree.push(leaf_hash(&data));
        let oracle_root = oracle.root();
        let root_hash: Hash = oracle_root
            .as_bytes()
            .as_slice()
            .try_into()
            .expect("32 bytes");
        let indices: Vec<u64> = if size <= ALL_PAIRS {
            (0..size).collect()
        } else {
            vec![
                0,
                size / 2,
                size - 1,
                sampler.below(size),
                sampler.below(size),
            ]
        };
        for index in indices {
            let ours = inclusion_proof(index, size, &tree).expect("proof");
            let theirs = oracle.prove_inclusion(index as usize);
            assert_eq!(concat(&ours), theirs.as_bytes(), "({index}, {size})");
            let leaf = leaf_hash(&leaf_data(index));
            assert_eq!(
                verify_inclusion(&leaf, index, size, &ours, &root_hash),
                Ok(())
            );
            let bytes = InclusionProof::<Sha256>::from_digests(ours.iter().map(|h| h.into()));
            assert!(oracle_root
                .verify_inclusion(&leaf_data(index), index, &bytes)
                .is_ok());
            proofs += 1;
            for bad in damaged(&ours, size <= EVERY_BYTE, &mut sampler) {
                assert!(
                    verify_inclusion(&leaf, index, size, &bad, &root_hash).is_err(),
                    "damaged proof accepted for ({index}, {size})"
                );
                damages += 1;
            }
            // The right proof for the wrong leaf or index fails too. (A
            // wrong size need not: the root, which a checkpoint binds to its
            // size, is what pins the tree.)
            let other = leaf_hash(b"not this leaf");
            assert_eq!(
                verify_inclusion(&other, index, size, &ours, &root_hash),
                Err(VerifyError::RootMismatch)
            );
            if size > 1 {
                assert!(verify_inclusion(&leaf, index ^ 1, size, &ours, &root_hash).is_err());
            }
            assert_eq!(
                verify_inclusion(&leaf, size, size, &ours, &root_hash),
                Err(VerifyError::IndexOutOfRange { index: size, size })
            );
        }
    }
    // All pairs to 64, then five indices per size.
    assert_eq!(proofs, 2080 + 1936 * 5);
    assert!(damages > 150_000, "{damages} damaged proofs");
}

#[test]
fn consistency_proofs_match_the_oracle() {
    let mut oracle = Oracle::new();
    let mut tree = MemoryTree::new();
    let mut roots: Vec<RootHash<Sha256>> = vec![oracle.root()];
    let mut sampler = Sampler(2);
    let (mut proofs, mut damages) = (0usize, 0usize);
    for new in 1..=MAX_SIZE {
        let data = leaf_data(new - 1);
        oracle.push(data.clone());
        tree.push(leaf_hash(&data));
        roots.push(oracle.root());
        let olds: Vec<u64> = if new <= ALL_PAIRS {
            (1..=new).collect()
        } else {
            let mut olds = vec![1, new / 2, new - 1, new, 1 + sampler.below(new)];
            // The largest power of two below `new`: an old tree that is
            // its own seed.
            olds.push(1 << (new - 1).ilog2());
            olds
        };
        let new_root = &roots[new as usize];
        let new_hash: Hash = new_root.as_bytes().as_slice().try_into().expect("32 bytes");
        for old in olds {
            let old_root = &roots[old as usize];
            let old_hash: Hash = old_root.as_bytes().as_slice().try_into().expect("32 bytes");
            let ours = consistency_proof(old, new, &tree).expect("proof");
            let theirs = oracle.prove_consistency((new - old) as usize);
            assert_eq!(concat(&ours), theirs.as_bytes(), "({old}, {new})");
            assert_eq!(hashes_from(theirs.as_bytes()), ours);
            assert_eq!(
                verify_consistency(old, new, &ours, &old_hash, &new_hash),
                Ok(())
            );
            let bytes = ConsistencyProof::<Sha256>::from_digests(ours.iter().map(|h| h.into()));
            assert!(new_root.verify_consistency(old_root, &bytes).is_ok());
            proofs += 1;
            for bad in damaged(&ours, new <= EVERY_BYTE, &mut sampler) {
                assert!(
                    verify_consistency(old, new, &bad, &old_hash, &new_hash).is_err(),
                    "damaged proof accepted for ({old}, {new})"
                );
                damages += 1;
            }
            // Swapped roots only agree when the trees are the same.
            let swapped = verify_consistency(old, new, &ours, &new_hash, &old_hash);
            assert_eq!(swapped.is_ok(), old_hash == new_hash, "({old}, {new})");
        }
    }
    // All pairs to 64, then six old sizes per new size.
    assert_eq!(proofs, 2080 + 1936 * 6);
    assert!(damages > 140_000, "{damages} damaged proofs");
}

/// A source that counts and records its reads.
struct Counting<'a> {
    tree: &'a MemoryTree,
    reads: RefCell<Vec<(u8, u64)>>,
}

impl NodeSource for Counting<'_> {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        self.reads.borrow_mut().push((level, index));
        self.tree.node(level, index)
    }
}

impl Counting<'_> {
    /// The reads since the last call: asserted distinct, then counted.
    fn take(&self) -> usize {
        let reads = std::mem::take(&mut *self.reads.borrow_mut());
        let distinct: HashSet<_> = reads.iter().collect();
        assert_eq!(
            distinct.len(),
            reads.len(),
            "a node was read twice: {reads:?}"
        );
        reads.len()
    }
}

#[test]
fn proofs_read_logarithmically_many_nodes() {
    let size_max = 600u64;
    let tree = MemoryTree::from_leaf_hashes((0..size_max).map(|i| leaf_hash(&leaf_data(i))));
    let source = Counting {
        tree: &tree,
        reads: RefCell::new(Vec::new()),
    };
    let bits = |n: u64| (u64::BITS - n.leading_zeros()) as usize;
    for size in 1..=size_max {
        root(size, &source).expect("root");
        assert_eq!(source.take(), size.count_ones() as usize);
        for index in (0..size).step_by(7).chain([size - 1]) {
            let proof = inclusion_proof(index, size, &source).expect("proof");
            let reads = source.take();
            // One read per proof hash, but for the one ephemeral hash,
            // which is rebuilt from at most log2(size) complete subtrees.
            assert!(
                reads >= proof.len() && reads < proof.len() + bits(size),
                "({index}, {size})"
            );
        }
        for old in (1..=size).step_by(5) {
            let proof = consistency_proof(old, size, &source).expect("proof");
            let reads = source.take();
            assert!(
                reads >= proof.len() && reads < proof.len() + bits(size),
                "({old}, {size})"
            );
        }
    }
}
