//! The RocksDB store: state survives reopening, the chain continues, indexes
//! answer like the in-memory store, and a second process cannot open a home
//! that one already holds.
#![cfg(feature = "rocksdb")]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use delego_firewall::broker::NullBroker;
use delego_firewall::engine::{Clock, EngineParts, Firewall, OsEntropy};
use delego_firewall::policy_file::load_policy;
use delego_firewall::store::{LedgerStore, RocksStore};
use delego_spec::chain::verify_chain;
use delego_spec::json::parse;
use delego_spec::keys::SigningKey;
use delego_spec::{Outcome, ProposedAction};

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_micros(&self) -> i64 {
        self.0.fetch_add(1_000, Ordering::SeqCst)
    }
}

const POLICY: &str = "version: 1\ndefault: deny\nrules:\n  - name: reads\n    decision: allow\n    match: { method: GET, host: h }\n    constraints:\n      rate_limit: { max: 3, per: minute }\n  - name: writes\n    decision: needs_approval\n    match: { method: POST, host: h }\n";

fn start(store: Arc<RocksStore>, clock: Arc<TestClock>) -> Firewall<RocksStore> {
    let parts = EngineParts {
        signer: SigningKey::from_bytes(&[5u8; 32]),
        broker: Arc::new(NullBroker),
        clock,
        entropy: Arc::new(OsEntropy),
        tokens: None,
        sink: None,
        anchored: None,
    };
    Firewall::start(store, load_policy(POLICY, "test").unwrap(), parts).unwrap()
}

fn action(method: &str) -> ProposedAction {
    ProposedAction::from_value(
        &parse(&format!(
            r#"{{"instruction":"i","method":"{method}","url":"https://h/x","params":{{}}}}"#
        ))
        .unwrap(),
    )
    .unwrap()
}

#[test]
fn state_survives_reopening_and_the_chain_continues() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(1_780_000_000_000_000)));
    let approval_id;
    {
        let store = Arc::new(RocksStore::open(dir.path()).unwrap());
        let fw = start(store.clone(), clock.clone());
        for _ in 0..2 {
            assert_eq!(fw.propose(action("GET")).unwrap().outcome, Outcome::Allow);
        }
        approval_id = fw.propose(action("POST")).unwrap().approval_id.unwrap();
        assert!(
            RocksStore::open(dir.path()).is_err(),
            "a second open of a held store must fail"
        );
        fw.shutdown();
    }
    let store = Arc::new(RocksStore::open(dir.path()).unwrap());
    assert_eq!(store.head().unwrap().unwrap().seq, 2);
    assert_eq!(store.pending_approvals().unwrap().len(), 1);
    assert_eq!(store.count_allows("reads", 0, 100).unwrap(), 2);
    assert_eq!(
        store.count_allows("reads", 0, 1).unwrap(),
        1,
        "counting stops at the limit"
    );
    assert_eq!(store.count_allows("writes", 0, 100).unwrap(), 0);
    let fw = start(store.clone(), clock);
    assert_eq!(
        fw.propose(action("GET")).unwrap().reasons,
        ["rate_limit: 3/3 per minute"]
    );
    assert_eq!(
        fw.propose(action("GET")).unwrap().reasons,
        ["rate_limit: 3/3 per minute already used"]
    );
    fw.decide(&approval_id, true, "alice", None).unwrap();
    assert!(store.pending_approvals().unwrap().is_empty());
    assert!(fw.resolve(&approval_id, action("POST")).unwrap().executed);
    assert_eq!(
        store
            .approval(&approval_id)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "consumed"
    );

    let text: String = store
        .receipts(0, usize::MAX)
        .unwrap()
        .iter()
        .map(|r| r.to_reference_line() + "\n")
        .collect();
    let report = verify_chain(
        &text,
        &SigningKey::from_bytes(&[5u8; 32]).verifying_key(),
        None,
    );
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.seqs.len(), 6);
    assert_eq!(store.receipts(4, 10).unwrap().len(), 2);
}

#[test]
fn in_flight_reservations_survive_reopening_and_are_settled_at_start() {
    use delego_firewall::reservation::{Reservation, INTERRUPTED};
    use delego_firewall::store::Batch;
    let dir = tempfile::tempdir().unwrap();
    let reservation = Reservation {
        id: 3,
        rule: Some("reads".into()),
        reasons: vec!["rate_limit: 1/3 per minute".into()],
        intent_hash: "a".repeat(64),
        action_fingerprint: "b".repeat(64),
        action_summary: "GET h/x {}".into(),
        approval_id: None,
        reserved_micros: 1_780_000_000_000_000,
    };
    {
        let store = RocksStore::open(dir.path()).unwrap();
        store
            .commit(&Batch {
                reserved: vec![reservation.clone()],
                ..Batch::default()
            })
            .unwrap();
    }
    let store = Arc::new(RocksStore::open(dir.path()).unwrap());
    assert_eq!(store.inflight().unwrap(), [reservation]);
    let clock = Arc::new(TestClock(AtomicI64::new(1_780_000_001_000_000)));
    let fw = start(store.clone(), clock);
    assert!(store.inflight().unwrap().is_empty());
    let receipts = store.receipts(0, 10).unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].payload.outcome, Outcome::Deny);
    assert_eq!(receipts[0].payload.reasons[1], INTERRUPTED);
    // The settled execution was a deny: it no longer counts toward the cap.
    for _ in 0..3 {
        assert_eq!(fw.propose(action("GET")).unwrap().outcome, Outcome::Allow);
    }
    assert_eq!(fw.propose(action("GET")).unwrap().outcome, Outcome::Deny);
}

/// A clock the test moves by hand, backwards as well as forwards.
struct SetClock(AtomicI64);

impl Clock for SetClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn counts_from_memory_match_counts_from_disk_when_the_clock_steps_back() {
    const UNCAPPED: &str = "version: 1\ndefault: deny\nrules:\n  - name: reads\n    decision: allow\n    match: { method: GET, host: h }\n    constraints:\n      rate_limit: { max: 1000000, per: minute }\n";
    const T0: i64 = 1_780_000_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    // Times of the proposals, in order: forwards, one step back, forwards.
    let times = [0, 10, 20, 30, 15, 40, 50, 45, 60];
    let sinces = [0, 12, 20, 16, 33, 46, 5, 61];
    let mut from_memory = Vec::new();
    {
        let store = Arc::new(RocksStore::open(dir.path()).unwrap());
        let clock = Arc::new(SetClock(AtomicI64::new(T0)));
        let parts = EngineParts {
            signer: SigningKey::from_bytes(&[5u8; 32]),
            broker: Arc::new(NullBroker),
            clock: clock.clone(),
            entropy: Arc::new(OsEntropy),
            tokens: None,
            sink: None,
            anchored: None,
        };
        let fw =
            Firewall::start(store.clone(), load_policy(UNCAPPED, "test").unwrap(), parts).unwrap();
        // Counted once before any allow, so later allows are recorded in memory.
        assert_eq!(store.count_allows("reads", T0, 100).unwrap(), 0);
        for t in times {
            clock.0.store(T0 + t * 1_000_000, Ordering::SeqCst);
            assert_eq!(fw.propose(action("GET")).unwrap().outcome, Outcome::Allow);
        }
        fw.shutdown();
        for since in sinces {
            from_memory.push(
                store
                    .count_allows("reads", T0 + since * 1_000_000, 100)
                    .unwrap(),
            );
        }
    }
    let expected: Vec<u64> = sinces
        .iter()
        .map(|since| times.iter().filter(|t| **t >= *since).count() as u64)
        .collect();
    assert_eq!(from_memory, expected);
    // A freshly opened store counts from disk.
    for (since, want) in sinces.iter().zip(&expected) {
        let store = RocksStore::open(dir.path()).unwrap();
        assert_eq!(
            store
                .count_allows("reads", T0 + since * 1_000_000, 100)
                .unwrap(),
            *want
        );
    }
}
