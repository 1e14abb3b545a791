//! Publishing to the transparency log before acknowledging: every answered
//! decision's receipt is already in the log; a log outage refuses answers
//! without losing receipts, which are published first when it returns (also
//! across a restart); a log ahead of the ledger is refused; anchored
//! durability holds an execution's report until a witnessed checkpoint
//! covers its receipt.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use delego_firewall::broker::NullBroker;
use delego_firewall::engine::{Clock, EngineParts, Firewall, FirewallError, OsEntropy};
use delego_firewall::policy_file::load_policy;
use delego_firewall::sink::{ReceiptSink, SinkError};
use delego_firewall::store::{LedgerStore, MemoryStore};
use delego_spec::json::parse;
use delego_spec::keys::SigningKey;
use delego_spec::{Outcome, ProposedAction, Receipt};

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_micros(&self) -> i64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

/// An in-memory log: contiguous appends only, an outage switch, and a
/// witnessed size the test moves.
#[derive(Default)]
struct FakeLog {
    leaves: Mutex<Vec<String>>,
    down: AtomicBool,
    witnessed: AtomicU64,
}

impl ReceiptSink for FakeLog {
    fn size(&self) -> Result<u64, SinkError> {
        Ok(self.leaves.lock().unwrap().len() as u64)
    }

    fn publish(&self, first_seq: u64, receipts: &[Receipt]) -> Result<(), SinkError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SinkError("log unreachable".into()));
        }
        let mut leaves = self.leaves.lock().unwrap();
        for (seq, receipt) in (first_seq..).zip(receipts) {
            let leaf = receipt.canonical_json();
            match leaves.get(seq as usize) {
                Some(held) if *held == leaf => {}
                Some(_) => return Err(SinkError(format!("leaf {seq} conflicts"))),
                None if seq as usize == leaves.len() => leaves.push(leaf),
                None => return Err(SinkError(format!("leaf {seq} leaves a gap"))),
            }
        }
        Ok(())
    }

    fn wait_witnessed(&self, seq: u64, timeout: Duration) -> Result<(), SinkError> {
        let deadline = Instant::now() + timeout;
        while self.witnessed.load(Ordering::SeqCst) <= seq {
            if Instant::now() >= deadline {
                return Err(SinkError(format!("receipt {seq} not witnessed in time")));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }
}

fn start(
    store: Arc<MemoryStore>,
    log: Arc<FakeLog>,
    anchored: Option<Duration>,
) -> Result<Firewall<MemoryStore>, FirewallError> {
    let parts = EngineParts {
        signer: SigningKey::from_bytes(&[9u8; 32]),
        broker: Arc::new(NullBroker),
        clock: Arc::new(TestClock(AtomicI64::new(1_780_000_000_000_000))),
        entropy: Arc::new(OsEntropy),
        tokens: None,
        sink: Some(log),
        anchored,
    };
    let policy = "version: 1\ndefault: deny\nrules:\n  - name: reads\n    decision: allow\n    match: {method: GET, host: h}\n";
    Firewall::start(store, load_policy(policy, "test").unwrap(), parts)
}

fn read(n: u32) -> ProposedAction {
    let text =
        format!(r#"{{"instruction":"i","method":"GET","url":"https://h/{n}","params":{{}}}}"#);
    ProposedAction::from_value(&parse(&text).unwrap()).unwrap()
}

fn ledger_leaves(store: &MemoryStore) -> Vec<String> {
    store
        .receipts(0, usize::MAX)
        .unwrap()
        .iter()
        .map(Receipt::canonical_json)
        .collect()
}

#[test]
fn an_answered_receipt_is_already_in_the_log() {
    let (store, log) = (Arc::new(MemoryStore::new()), Arc::new(FakeLog::default()));
    let fw = start(store.clone(), log.clone(), None).unwrap();
    for n in 0..20 {
        let decision = fw.propose(read(n)).unwrap();
        let seq = decision.receipt_seq.unwrap();
        assert!(
            log.size().unwrap() > seq,
            "receipt {seq} answered before it was logged"
        );
    }
    assert_eq!(*log.leaves.lock().unwrap(), ledger_leaves(&store));
}

#[test]
fn a_log_outage_refuses_answers_and_loses_nothing() {
    let (store, log) = (Arc::new(MemoryStore::new()), Arc::new(FakeLog::default()));
    let fw = start(store.clone(), log.clone(), None).unwrap();
    fw.propose(read(0)).unwrap();
    log.down.store(true, Ordering::SeqCst);
    for n in 1..4 {
        let refused = fw.propose(read(n));
        assert!(matches!(refused, Err(FirewallError::Log(_))), "{refused:?}");
    }
    // Recorded in the ledger, not in the log.
    assert_eq!(store.receipts(0, 100).unwrap().len(), 4);
    assert_eq!(log.size().unwrap(), 1);
    log.down.store(false, Ordering::SeqCst);
    fw.propose(read(4)).unwrap();
    assert_eq!(*log.leaves.lock().unwrap(), ledger_leaves(&store));

    // Down again, then the process stops: the next start publishes first.
    log.down.store(true, Ordering::SeqCst);
    assert!(fw.propose(read(5)).is_err());
    fw.shutdown();
    log.down.store(false, Ordering::SeqCst);
    let restarted = start(store.clone(), log.clone(), None).unwrap();
    assert_eq!(log.size().unwrap(), 6);
    restarted.propose(read(6)).unwrap();
    assert_eq!(*log.leaves.lock().unwrap(), ledger_leaves(&store));
}

#[test]
fn a_log_ahead_of_the_ledger_is_not_its_log() {
    let log = Arc::new(FakeLog::default());
    log.leaves.lock().unwrap().push("{}".into());
    let refused = start(Arc::new(MemoryStore::new()), log, None);
    assert!(
        matches!(&refused, Err(FirewallError::Log(e)) if e.0.contains("not this ledger's log")),
        "{:?}",
        refused.err()
    );
}

#[test]
fn anchored_durability_reports_an_execution_once_witnessed() {
    let (store, log) = (Arc::new(MemoryStore::new()), Arc::new(FakeLog::default()));
    let fw = Arc::new(start(store, log.clone(), Some(Duration::from_secs(5))).unwrap());
    let witness = {
        let log = log.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            log.witnessed.store(log.size().unwrap(), Ordering::SeqCst);
        })
    };
    let started = Instant::now();
    let decision = fw.propose(read(0)).unwrap();
    assert!(decision.executed);
    assert!(
        started.elapsed() >= Duration::from_millis(140),
        "reported before witnessed"
    );
    witness.join().unwrap();
    // Denials are not executions: not held.
    let denied = fw
        .propose(
            ProposedAction::from_value(
                &parse(r#"{"instruction":"i","method":"POST","url":"https://h/x","params":{}}"#)
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(denied.outcome, Outcome::Deny);

    // Never witnessed: the execution is not reported.
    let fw = start(
        Arc::new(MemoryStore::new()),
        Arc::new(FakeLog::default()),
        Some(Duration::from_millis(100)),
    )
    .unwrap();
    let unreported = fw.propose(read(1));
    assert!(
        matches!(unreported, Err(FirewallError::Log(_))),
        "{unreported:?}"
    );
}

#[test]
fn anchored_durability_needs_a_log() {
    let parts = EngineParts {
        signer: SigningKey::from_bytes(&[9u8; 32]),
        broker: Arc::new(NullBroker),
        clock: Arc::new(TestClock(AtomicI64::new(0))),
        entropy: Arc::new(OsEntropy),
        tokens: None,
        sink: None,
        anchored: Some(Duration::from_secs(1)),
    };
    let refused = Firewall::start(
        Arc::new(MemoryStore::new()),
        delego_firewall::evaluate::CompiledPolicy::deny_all(),
        parts,
    );
    assert!(matches!(refused, Err(FirewallError::Log(_))));
}
