//! The witness's durable state: it survives reopening and a simulated
//! crash at the moment a cosignature is returned, the witness continues
//! from it, and following logs is validated. Also the home directory and
//! key file.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;

use common::{harness, verify_body, NOW, ORIGIN};
use delego_spec::note::{KeyType, SignerKey};
use delego_witness::home::HomeError;
use delego_witness::{AddLogError, FixedClock, Refusal, TestLog, WitnessHome, WitnessStore};
use rand_core::OsRng;

/// Copies the files of a live RocksDB directory as they are on disk right
/// now: what a crash at this instant would leave behind.
fn copy_files(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "LOCK" && entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_cosigned_checkpoint_is_on_disk_before_the_answer() {
    let mut h = harness();
    let before = h.dir.path().join("before-crash");
    copy_files(&h.home.state_path(), &before);

    let cosigned = h.submit(0, 9).expect("cosigned");
    // The witness is still running: nothing was closed or flushed since.
    let crashed = h.dir.path().join("crashed");
    copy_files(&h.home.state_path(), &crashed);

    let store = WitnessStore::open(&crashed).unwrap();
    let latest = store
        .latest(ORIGIN)
        .unwrap()
        .expect("the checkpoint survived");
    assert_eq!(latest.checkpoint, cosigned.checkpoint);
    assert!(latest.note.contains(&cosigned.cosignature.to_line()));
    // The control: the earlier copy does not have it.
    assert_eq!(
        WitnessStore::open(&before).unwrap().latest(ORIGIN).unwrap(),
        None
    );
}

#[test]
fn the_witness_continues_from_its_state_after_reopening() {
    let mut h = harness();
    h.submit(0, 5).unwrap();
    h.submit(5, 12).unwrap();
    let mut fork = h.log.fork(8, "fork");
    fork.grow_to(12);
    let fork_body = fork.request(12, 12).unwrap();
    assert!(matches!(
        h.witness.add_checkpoint(fork_body.as_bytes()),
        Err(Refusal::Inconsistent(_))
    ));
    let key = h.witness.verifier_key();
    drop(h.witness);

    let clock = Arc::new(FixedClock::new(NOW + 60));
    let witness = h.home.open(clock).unwrap();
    assert_eq!(witness.verifier_key(), key);
    let logs = witness.logs().unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].keys, [h.log.verifier_key()]);
    assert_eq!(
        logs[0].latest.as_ref().unwrap().checkpoint,
        h.log.checkpoint(12).unwrap()
    );
    assert_eq!(logs[0].evidence, 1);

    // A stale old size is still a conflict, the fork still refused.
    h.log.grow_to(20);
    match witness.add_checkpoint(h.log.request(5, 20).unwrap().as_bytes()) {
        Err(Refusal::Conflict { old: 5, latest: 12 }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        witness.add_checkpoint(fork_body.as_bytes()),
        Err(Refusal::Inconsistent(_))
    ));
    let cosigned = witness
        .add_checkpoint(h.log.request(12, 20).unwrap().as_bytes())
        .unwrap();
    assert_eq!(
        verify_body(&cosigned.body, &h.log.checkpoint(20).unwrap(), &key),
        NOW + 60
    );
}

#[test]
fn following_a_log_is_checked() {
    let h = harness();
    let other = TestLog::new("example.org/other", &mut OsRng).unwrap();
    assert!(matches!(
        h.witness.add_log(ORIGIN, other.verifier_key()),
        Err(AddLogError::NameNotOrigin { .. })
    ));
    let cosigning = SignerKey::generate(ORIGIN, KeyType::CosignatureV1, &mut OsRng).unwrap();
    assert!(matches!(
        h.witness.add_log(ORIGIN, cosigning.verifier_key()),
        Err(AddLogError::NotALogKey(KeyType::CosignatureV1))
    ));
    // The same key again changes nothing.
    assert!(!h.witness.add_log(ORIGIN, h.log.verifier_key()).unwrap());
}

#[test]
fn a_second_log_key_is_trusted_beside_the_first() {
    let mut h = harness();
    h.submit(0, 4).unwrap();
    let rotated = SignerKey::generate(ORIGIN, KeyType::Ed25519, &mut OsRng).unwrap();
    assert!(h.witness.add_log(ORIGIN, rotated.verifier_key()).unwrap());

    // The same tree, now signed with the new key only.
    let mut log = TestLog::with_key(rotated, "leaf");
    log.grow_to(9);
    assert_eq!(log.checkpoint(4).unwrap(), h.log.checkpoint(4).unwrap());
    h.witness
        .add_checkpoint(log.request(4, 9).unwrap().as_bytes())
        .expect("signed by the second key");
    // Both keys are remembered across a restart.
    drop(h.witness);
    let witness = h.home.open(Arc::new(FixedClock::new(NOW))).unwrap();
    assert_eq!(witness.logs().unwrap()[0].keys.len(), 2);
}

#[test]
fn two_logs_keep_separate_state() {
    let mut h = harness();
    let mut second = TestLog::new("example.org/second", &mut OsRng).unwrap();
    h.witness
        .add_log(second.origin(), second.verifier_key())
        .unwrap();
    h.submit(0, 7).unwrap();
    second.grow_to(3);
    h.witness
        .add_checkpoint(second.request(0, 3).unwrap().as_bytes())
        .unwrap();
    let sizes: Vec<(String, u64)> = h
        .witness
        .logs()
        .unwrap()
        .into_iter()
        .map(|l| (l.origin, l.latest.map_or(0, |l| l.checkpoint.size)))
        .collect();
    assert_eq!(
        sizes,
        [
            ("example.com/log".to_owned(), 7),
            ("example.org/second".to_owned(), 3)
        ]
    );
}

#[test]
fn init_creates_a_private_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = WitnessHome::new(dir.path().join("w"));
    assert!(matches!(
        home.open(Arc::new(FixedClock::new(NOW))),
        Err(HomeError::NotInitialised(_))
    ));
    let first = home.init(Some("witness.example/w1"), &mut OsRng).unwrap();
    assert!(first.created);
    assert_eq!(first.key.key_type(), KeyType::CosignatureV1);
    assert_eq!(first.key.name(), "witness.example/w1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(home.key_path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = fs::read_to_string(home.key_path()).unwrap();
    assert_eq!(text, format!("{}\n", first.key.to_skey_string()));

    // Again: the same key, whether or not the name is repeated.
    for name in [None, Some("witness.example/w1")] {
        let again = home.init(name, &mut OsRng).unwrap();
        assert!(!again.created);
        assert_eq!(again.key.verifier_key(), first.key.verifier_key());
    }
    assert!(matches!(
        home.init(Some("witness.example/w2"), &mut OsRng),
        Err(HomeError::NameMismatch { .. })
    ));
    // A bad name is refused before anything is written.
    let other = WitnessHome::new(dir.path().join("bad"));
    assert!(other.init(Some("has space"), &mut OsRng).is_err());
    assert!(!other.key_path().exists());
}

#[test]
fn the_default_name_is_a_valid_key_name() {
    let name = delego_witness::home::default_witness_name().unwrap();
    assert!(name.starts_with("witness."), "{name}");
    delego_spec::note::check_key_name(&name).unwrap();
}

#[test]
fn a_log_key_is_not_a_witness_key() {
    let dir = tempfile::tempdir().unwrap();
    let home = WitnessHome::new(dir.path());
    let log_key = SignerKey::generate("w", KeyType::Ed25519, &mut OsRng).unwrap();
    fs::write(home.key_path(), format!("{}\n", log_key.to_skey_string())).unwrap();
    let error = home.key().unwrap_err().to_string();
    assert!(error.contains("cosignature/v1"), "{error}");
}
