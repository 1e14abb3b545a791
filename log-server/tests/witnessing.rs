//! Witnessing against in-test witnesses over real HTTP: checkpoints get
//! cosigned from the right old size with proofs the witness checks, a 409
//! teaches the log the witness's size, refusals, bad cosignatures and
//! timeouts are counted and never stored, the trust policy decides what is
//! witnessed, and the sequencer does all of it on its own.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use delego_log::{Log, LogConfig, LogError, LogStore, WitnessConfig};
use delego_spec::merkle::{leaf_hash, MemoryTree};
use delego_spec::note::{TrustPolicy, VerifierKey};
use support::fake_witness::{Behaviour, FakeWitness};
use support::{commit, embedded_log, log_key, receipts, ORIGIN, RECEIPTS};

fn vkey() -> VerifierKey {
    log_key().verifier_key()
}

async fn witness(name: &str, seed: u8) -> (Arc<FakeWitness>, WitnessConfig) {
    let fake = FakeWitness::new(&format!("witness.test/{name}"), seed, vkey());
    let url = fake.serve().await;
    let config = WitnessConfig::parse(&fake.flag(name, &url)).expect("witness flag");
    (fake, config)
}

fn config(witnesses: &[&WitnessConfig]) -> LogConfig {
    let mut config = LogConfig::new(ORIGIN, log_key());
    config.witnesses = witnesses.iter().map(|w| (*w).clone()).collect();
    config.witness_timeout = Duration::from_millis(500);
    config
}

/// A policy over the log and these witnesses with the given quorum lines.
fn policy(witnesses: &[(&str, &Arc<FakeWitness>)], quorum: &str) -> TrustPolicy {
    let mut text = format!("log {}\n", vkey());
    for (name, fake) in witnesses {
        text.push_str(&format!("witness {name} {}\n", fake.key.verifier_key()));
    }
    text.push_str(quorum);
    TrustPolicy::parse(text.as_bytes()).expect("policy")
}

fn cosigners(log: &Log, policy: &TrustPolicy) -> (usize, bool) {
    let verdict = policy
        .verify_checkpoint(log.latest_checkpoint().note.as_bytes())
        .expect("the stored note verifies");
    (verdict.cosigners.len(), verdict.quorum_satisfied)
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoints_are_cosigned_from_the_last_cosigned_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, a_config) = witness("a", 11).await;
    let (b, b_config) = witness("b", 12).await;
    let leaves = receipts(500);
    let log = embedded_log(dir.path(), &leaves[..300], config(&[&a_config, &b_config]));
    assert!(log.latest_witnessed().is_none());
    let client = log.witness_client().expect("client");
    log.witness_now(&client).await.expect("round");
    let both = policy(&[("a", &a), ("b", &b)], "group ab all a b\nquorum ab\n");
    assert_eq!(cosigners(&log, &both), (2, true));
    assert_eq!(
        log.latest_witnessed().expect("witnessed").checkpoint.size,
        300
    );

    commit(log.store().db(), 300, &leaves[300..]);
    log.integrate_now().expect("integrate");
    assert_eq!(
        log.latest_witnessed().expect("witnessed").checkpoint.size,
        300
    );
    log.witness_now(&client).await.expect("round");
    assert_eq!(cosigners(&log, &both), (2, true));
    let witnessed = log.latest_witnessed().expect("witnessed");
    assert_eq!(witnessed.checkpoint.size, 500);
    // The second request proved consistency from 300, and the witness checked it.
    for fake in [&a, &b] {
        assert_eq!(fake.seen(), vec![(0, 300, 200), (300, 500, 200)]);
        assert_eq!(fake.state().0, 500);
    }
    // A round with nothing new sends nothing.
    log.witness_now(&client).await.expect("round");
    assert_eq!(a.seen().len(), 2);
    let reports = log.witness_reports();
    assert!(reports
        .iter()
        .all(|r| r.cosigned == 2 && r.known_size == 500));

    // The anchored-durability wait.
    let waiter = log.clone();
    let covered = tokio::task::spawn_blocking(move || waiter.wait_witnessed(499, Duration::ZERO))
        .await
        .expect("join")
        .expect("leaf 499 is witnessed");
    assert_eq!(covered.checkpoint.size, 500);
    let waiter = log.clone();
    let started = Instant::now();
    let missing =
        tokio::task::spawn_blocking(move || waiter.wait_witnessed(500, Duration::from_millis(200)))
            .await
            .expect("join");
    assert!(matches!(
        missing,
        Err(LogError::WitnessTimeout {
            index: 500,
            witnessed: 500
        })
    ));
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conflict_teaches_the_log_the_witness_size_and_it_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, a_config) = witness("a", 21).await;
    let leaves = receipts(400);
    // The witness already cosigned size 100 of this log (say, before the
    // log's database was restored from a backup).
    let tree = MemoryTree::from_leaf_hashes(leaves.iter().map(|l| leaf_hash(l)));
    a.set_state(100, delego_spec::merkle::root(100, &tree).expect("root"));
    let log = embedded_log(dir.path(), &leaves[..250], config(&[&a_config]));
    let client = log.witness_client().expect("client");
    log.witness_now(&client).await.expect("round");
    assert_eq!(a.seen(), vec![(0, 250, 409), (100, 250, 200)]);
    let report = &log.witness_reports()[0];
    assert_eq!(
        (report.conflicts, report.cosigned, report.known_size),
        (1, 1, 250)
    );
    assert_eq!(
        log.latest_witnessed().expect("witnessed").checkpoint.size,
        250
    );

    // Restart: the witness's size was persisted, so no conflict this time.
    let db = log.store().db().clone();
    drop(log);
    commit(&db, 250, &leaves[250..]);
    let store = LogStore::attach(db, RECEIPTS).expect("attach");
    let log = Log::open(store, config(&[&a_config])).expect("reopen");
    assert_eq!(log.witness_reports()[0].known_size, 250);
    assert_eq!(log.latest_witnessed().expect("kept").checkpoint.size, 250);
    log.integrate_now().expect("integrate");
    log.witness_now(&client).await.expect("round");
    assert_eq!(a.seen().last(), Some(&(250, 400, 200)));
    assert_eq!(log.witness_reports()[0].conflicts, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_and_bad_cosignatures_are_counted_and_never_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, a_config) = witness("a", 31).await;
    let (b, b_config) = witness("b", 32).await;
    let (c, c_config) = witness("c", 33).await;
    *b.behaviour.lock().expect("lock") = Behaviour::Refuse(422);
    *c.behaviour.lock().expect("lock") = Behaviour::BadSignature;
    let leaves = receipts(40);
    let all = policy(
        &[("a", &a), ("b", &b), ("c", &c)],
        "group abc all a b c\nquorum abc\n",
    );
    let mut strict = config(&[&a_config, &b_config, &c_config]);
    strict.policy = Some(all.clone());
    let log = embedded_log(dir.path(), &leaves, strict);
    let client = log.witness_client().expect("client");
    log.witness_now(&client).await.expect("round");
    assert_eq!(cosigners(&log, &all), (1, false));
    assert!(log.latest_witnessed().is_none());
    let reports = log.witness_reports();
    assert_eq!((reports[0].cosigned, reports[0].refused), (1, 0));
    assert_eq!((reports[1].cosigned, reports[1].refused), (0, 1));
    assert!(reports[1]
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("422"));
    assert_eq!((reports[2].cosigned, reports[2].failures), (0, 1));
    assert!(reports[2]
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("does not verify"));
    // Only the missing witnesses are asked again.
    log.witness_now(&client).await.expect("round");
    assert_eq!(a.seen().len(), 1);
    assert_eq!(b.seen().len(), 2);

    // Under a policy needing any one of them, the same log is witnessed.
    drop(log);
    let second_dir = tempfile::tempdir().expect("tempdir");
    let db = support::embedded_db(second_dir.path(), &leaves);
    let mut any = config(&[&a_config, &b_config]);
    any.policy = Some(policy(
        &[("a", &a), ("b", &b)],
        "group ab any a b\nquorum ab\n",
    ));
    a.set_state(0, delego_spec::merkle::EMPTY_ROOT);
    let log = Log::open(LogStore::attach(db, RECEIPTS).expect("attach"), any).expect("open");
    log.integrate_now().expect("integrate");
    log.witness_now(&client).await.expect("round");
    assert_eq!(
        log.latest_witnessed().expect("witnessed").checkpoint.size,
        40
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_witness_is_cut_off_at_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, a_config) = witness("a", 41).await;
    *a.behaviour.lock().expect("lock") = Behaviour::Slow(Duration::from_secs(5));
    let log = embedded_log(dir.path(), &receipts(3), config(&[&a_config]));
    let client = log.witness_client().expect("client");
    let started = Instant::now();
    log.witness_now(&client).await.expect("round");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let report = &log.witness_reports()[0];
    assert_eq!((report.cosigned, report.failures), (0, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sequencer_integrates_and_gets_witnessed_on_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, a_config) = witness("a", 51).await;
    let leaves = receipts(1_000);
    let mut config = config(&[&a_config]);
    config.interval = Duration::from_millis(50);
    let log = embedded_log(dir.path(), &[], config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sequencer = log.spawn_sequencer(async move {
        let _ = stopped.await;
    });
    for chunk in 0..4u64 {
        let (from, to) = (chunk * 250, (chunk + 1) * 250);
        commit(log.store().db(), from, &leaves[from as usize..to as usize]);
        log.nudge();
        let waiter = log.clone();
        let witnessed = tokio::task::spawn_blocking(move || {
            waiter.wait_witnessed(to - 1, Duration::from_secs(20))
        })
        .await
        .expect("join")
        .expect("witnessed in time");
        assert!(witnessed.checkpoint.size >= to);
    }
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), sequencer)
        .await
        .expect("the sequencer stops")
        .expect("join");
    // Every request the witness saw continued its previous state.
    let seen = a.seen();
    assert!(seen.iter().all(|(_, _, status)| *status == 200), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].1 == w[1].0), "{seen:?}");
    assert_eq!(a.state().0, 1_000);
}
