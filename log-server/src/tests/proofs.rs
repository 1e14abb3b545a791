//! Proofs from the stored tiles equal the spec crate's proofs over an
//! in-memory tree of the same leaves, and verify against the roots the log
//! signs, for many (index, size) and (old, new) pairs.

use delego_spec::merkle::{self, leaf_hash, mth, verify_consistency, verify_inclusion, MemoryTree};
use delego_spec::note::open_checkpoint;

use super::{leaf, leaf_hashes, log_key, memory_tree, open_db, open_log, write_leaves};
use crate::LogError;

const LEAVES: u64 = 1_300;

fn sizes() -> Vec<u64> {
    let mut sizes: Vec<u64> = (1..=40).collect();
    sizes.extend([
        63, 64, 65, 127, 128, 129, 255, 256, 257, 300, 511, 512, 513, 777, 1024,
    ]);
    sizes.extend([1025, 1299, 1300]);
    sizes
}

fn indexes(size: u64) -> Vec<u64> {
    if size <= 40 {
        return (0..size).collect();
    }
    let mut out = vec![0, 1, size / 3, size / 2, size - 2, size - 1];
    out.extend((0..size).step_by(37));
    out
}

#[test]
fn inclusion_proofs_match_the_memory_tree_and_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(&dir.path().join("db"));
    write_leaves(&db, 0, LEAVES);
    // Uneven steps: many checkpoints, tiles left partial at odd widths.
    let log = open_log(&db, 97);
    log.integrate_now().expect("integrate");
    let tree: MemoryTree = memory_tree(LEAVES);
    let hashes = leaf_hashes(LEAVES);
    for size in sizes() {
        let root = mth(&hashes[..size as usize]);
        assert_eq!(log.root(size).expect("root"), root, "size {size}");
        for index in indexes(size) {
            let proof = log.inclusion_proof(index, size).expect("proof");
            assert_eq!(
                Ok(proof.clone()),
                merkle::inclusion_proof(index, size, &tree),
                "index {index}, size {size}"
            );
            verify_inclusion(&leaf_hash(&leaf(index)), index, size, &proof, &root)
                .expect("verifies");
        }
    }
}

#[test]
fn inclusion_proofs_verify_against_the_signed_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(&dir.path().join("db"));
    write_leaves(&db, 0, LEAVES);
    let log = open_log(&db, 500);
    log.integrate_now().expect("integrate");
    let signed = log.latest_checkpoint();
    let opened = open_checkpoint(signed.note.as_bytes(), &[log_key().verifier_key()])
        .expect("signature verifies");
    let checkpoint = opened.checkpoint;
    assert_eq!(checkpoint.size, LEAVES);
    for index in indexes(LEAVES) {
        let proof = log.inclusion_proof(index, checkpoint.size).expect("proof");
        verify_inclusion(
            &leaf_hash(&leaf(index)),
            index,
            checkpoint.size,
            &proof,
            &checkpoint.root,
        )
        .expect("verifies against the checkpoint root");
    }
}

#[test]
fn consistency_proofs_match_the_memory_tree_and_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(&dir.path().join("db"));
    write_leaves(&db, 0, LEAVES);
    let log = open_log(&db, 211);
    log.integrate_now().expect("integrate");
    let tree = memory_tree(LEAVES);
    let hashes = leaf_hashes(LEAVES);
    let sizes = sizes();
    for &old in &sizes {
        for &new in sizes.iter().filter(|&&new| new >= old) {
            let proof = log.consistency_proof(old, new).expect("proof");
            assert_eq!(
                Ok(proof.clone()),
                merkle::consistency_proof(old, new, &tree),
                "{old} -> {new}"
            );
            let (old_root, new_root) = (mth(&hashes[..old as usize]), mth(&hashes[..new as usize]));
            verify_consistency(old, new, &proof, &old_root, &new_root).expect("verifies");
        }
    }
}

#[test]
fn impossible_proofs_are_precise_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(&dir.path().join("db"));
    write_leaves(&db, 0, 10);
    let log = open_log(&db, 100);
    log.integrate_now().expect("integrate");
    write_leaves(&db, 10, 20); // stored, not integrated
    assert!(matches!(
        log.inclusion_proof(10, 10),
        Err(LogError::IndexOutOfRange {
            index: 10,
            size: 10
        })
    ));
    assert!(matches!(
        log.inclusion_proof(0, 11),
        Err(LogError::SizeBeyondTree {
            size: 11,
            tree_size: 10
        })
    ));
    assert!(matches!(
        log.consistency_proof(5, 4),
        Err(LogError::SizesOutOfOrder { old: 5, new: 4 })
    ));
    assert!(matches!(
        log.consistency_proof(0, 4),
        Err(LogError::EmptyOldTree)
    ));
    assert!(matches!(
        log.consistency_proof(4, 12),
        Err(LogError::SizeBeyondTree { .. })
    ));
    assert!(log.consistency_proof(7, 7).expect("empty proof").is_empty());
}

#[test]
fn tlog_proofs_carry_the_leaf_its_inclusion_and_the_witnessed_checkpoint() {
    use delego_spec::note::TlogProof;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(&dir.path().join("db"));
    write_leaves(&db, 0, 40);
    let log = open_log(&db, 500);
    log.integrate_now().expect("integrate");
    // Entries the sequencer has not integrated yet, and no entry at all.
    write_leaves(&db, 40, 45);
    for index in [0, 1, 17, 39] {
        let text = log.tlog_proof(index).expect("a proof");
        let proof = TlogProof::parse(text.as_bytes()).expect("a tlog-proof");
        assert_eq!(proof.index(), index);
        assert_eq!(proof.extra(), Some(leaf(index).as_slice()));
        let note = proof.note().encode().expect("the note encodes");
        let opened = open_checkpoint(note.as_bytes(), &[log_key().verifier_key()])
            .expect("the log's signature verifies");
        assert_eq!(opened.checkpoint.size, 40);
        verify_inclusion(
            &leaf_hash(&leaf(index)),
            index,
            40,
            proof.inclusion_proof(),
            &opened.checkpoint.root,
        )
        .expect("inclusion verifies");
    }
    assert!(matches!(
        log.tlog_proof(42),
        Err(LogError::NotWitnessedYet {
            index: 42,
            witnessed: 40
        })
    ));
    assert!(matches!(
        log.tlog_proof(45),
        Err(LogError::IndexOutOfRange { index: 45, .. })
    ));
}
