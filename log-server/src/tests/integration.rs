//! Integration across restarts: the tree resumes from the persisted
//! frontier, every checkpoint ever signed is consistent with every later
//! one, and what integration reads and holds stays O(log n).

use delego_spec::merkle::{mth, verify_consistency};
use delego_spec::note::{open_checkpoint, Checkpoint, KeyType, SignerKey};

use super::{leaf_hashes, log_key, open_db, open_log, write_leaves, ORIGIN};
use crate::{LogConfig, LogError, LogStore};

/// Hashes a tile level can hold while being filled, plus the frontier.
const FOOTPRINT_BOUND: usize = 8 * 510 + 64;

fn verified(note: &str) -> Checkpoint {
    let vkey = log_key().verifier_key();
    open_checkpoint(note.as_bytes(), &[vkey])
        .expect("the log's signature verifies")
        .checkpoint
}

#[test]
fn restarts_resume_and_every_checkpoint_is_consistent_with_the_next() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    let mut written = 0;
    // Each round is a process lifetime: open, integrate some, drop.
    for add in [300u64, 1, 0, 700, 4_000, 255, 1] {
        let db = open_db(&path);
        write_leaves(&db, written, written + add);
        written += add;
        let log = open_log(&db, 257);
        assert_eq!(log.size(), checkpoints.last().map_or(0, |c| c.size));
        assert_eq!(log.integrate_now().expect("integrate"), written);
        let latest = verified(&log.latest_checkpoint().note);
        assert_eq!(latest.size, written);
        assert_eq!(latest.root, mth(&leaf_hashes(written)));
        checkpoints.push(latest);
    }
    let db = open_db(&path);
    let log = open_log(&db, 257);
    for pair in checkpoints.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        if old.size == 0 {
            continue;
        }
        let proof = log.consistency_proof(old.size, new.size).expect("proof");
        verify_consistency(old.size, new.size, &proof, &old.root, &new.root)
            .expect("consistent checkpoints");
    }
}

#[test]
fn a_crash_between_steps_resumes_from_the_last_durable_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = open_db(&path);
        write_leaves(&db, 0, 1_000);
        let log = open_log(&db, 100);
        // Three durable steps, then the process "dies" mid-integration.
        assert_eq!(log.integrate_steps(3).expect("steps"), 300);
    }
    let db = open_db(&path);
    let log = open_log(&db, 100);
    assert_eq!(log.size(), 300);
    let at_300 = verified(&log.latest_checkpoint().note);
    assert_eq!(log.integrate_now().expect("resume"), 1_000);
    let at_1000 = verified(&log.latest_checkpoint().note);
    assert_eq!(at_1000.root, mth(&leaf_hashes(1_000)));
    let proof = log.consistency_proof(300, 1_000).expect("proof");
    verify_consistency(300, 1_000, &proof, &at_300.root, &at_1000.root).expect("consistent");
    // Nothing new: no new checkpoint is signed.
    let before = log.latest_checkpoint();
    assert_eq!(log.integrate_now().expect("idle"), 1_000);
    assert_eq!(log.latest_checkpoint(), before);
}

#[test]
fn integration_reads_and_holds_o_log_n_hashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let db = open_db(&path);
    // Past 65,536 leaves, so that tiles at levels 0, 1 and 2 are filling.
    write_leaves(&db, 0, 70_000);
    for (round, target) in [(0, 30_000u64), (1, 70_000)] {
        let log = open_log(&db, 1_000);
        let opened_with = log.store().tile_reads();
        assert!(
            opened_with <= 8,
            "round {round}: opening read {opened_with} tiles"
        );
        let mut size = log.size();
        while size < target {
            size = log.integrate_steps(1).expect("step");
            assert!(
                log.integration_footprint() <= FOOTPRINT_BOUND,
                "holding {} hashes at size {size}",
                log.integration_footprint()
            );
        }
        assert_eq!(
            log.store().tile_reads(),
            opened_with,
            "integration must not read tiles back"
        );
    }
}

#[test]
fn a_store_of_another_origin_or_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(&dir.path().join("db"));
    drop(open_log(&db, 10));
    let store = || LogStore::attach(db.clone(), "receipts").expect("attach");
    let other = SignerKey::new(
        "other.test/log",
        KeyType::Ed25519,
        ed25519_dalek::SigningKey::from_bytes(&[2; 32]),
    )
    .expect("key");
    let refused = crate::Log::open(store(), LogConfig::new("other.test/log", other));
    assert!(matches!(refused, Err(LogError::OriginMismatch { .. })));
    let rotated = SignerKey::new(
        ORIGIN,
        KeyType::Ed25519,
        ed25519_dalek::SigningKey::from_bytes(&[3; 32]),
    )
    .expect("key");
    let refused = crate::Log::open(store(), LogConfig::new(ORIGIN, rotated));
    assert!(matches!(refused, Err(LogError::KeyMismatch { .. })));
    let misnamed = crate::Log::open(store(), LogConfig::new("another", log_key()));
    assert!(matches!(misnamed, Err(LogError::KeyNotForOrigin { .. })));
    let missing = LogStore::attach(db.clone(), "no-such-family");
    assert!(matches!(missing, Err(LogError::MissingFamily(_))));
}

#[test]
fn leaf_hashes_find_their_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(&dir.path().join("db"));
    write_leaves(&db, 0, 600);
    let log = open_log(&db, 128);
    log.integrate_now().expect("integrate");
    let hashes = leaf_hashes(600);
    for index in [0u64, 1, 255, 256, 599] {
        let hash = hashes[index as usize];
        assert_eq!(log.leaf_index(&hash).expect("found"), index);
        assert_eq!(log.leaf_hash(index).expect("integrated"), hash);
    }
    assert!(matches!(
        log.leaf_index(&[0; 32]),
        Err(LogError::UnknownLeafHash)
    ));
    assert!(matches!(
        log.leaf_hash(600),
        Err(LogError::IndexOutOfRange { .. })
    ));
}
