//! Durability under `kill -9`: a separate process proposes from many threads
//! into a RocksDB ledger and prints each decision only after the firewall
//! acknowledged it. The test kills it with SIGKILL mid-stream, three times,
//! and checks that every acknowledged receipt is in the store with the
//! action it acknowledged, that the chain still verifies, and that the next
//! process continues the chain.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use delego_firewall::engine::{EngineParts, Firewall};
use delego_firewall::evaluate::CompiledPolicy;
use delego_firewall::store::{LedgerStore, RocksStore};
use delego_spec::chain::ChainVerifier;
use delego_spec::keys::SigningKey;

const KEY_SEED: [u8; 32] = [7; 32];

/// Runs the writer until it has acknowledged at least `at_least` decisions,
/// then SIGKILLs it; returns every (seq, fingerprint) it printed.
fn run_and_kill(dir: &std::path::Path, at_least: usize) -> Vec<(u64, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_durability_writer"))
        .arg(dir)
        .arg("16")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start durability_writer");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(line) => {
                    if lines.send(line).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    let mut acks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acks.len() < at_least {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => acks.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("only {} acknowledgements before the deadline", acks.len());
            }
        }
    }
    child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
    child.wait().expect("reap");
    reader.join().expect("reader");
    // Lines printed before the kill were acknowledged too.
    acks.extend(received.try_iter());
    acks.iter()
        .map(|line| {
            let mut words = line.split(' ');
            assert_eq!(words.next(), Some("ack"), "{line}");
            let seq = words.next().and_then(|s| s.parse().ok()).expect("seq");
            (seq, words.next().expect("fingerprint").to_owned())
        })
        .collect()
}

#[test]
fn every_acknowledged_receipt_survives_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut acknowledged = Vec::new();
    for round in 0..3 {
        let acks = run_and_kill(dir.path(), 1_500);
        assert!(acks.len() >= 1_500);
        acknowledged.extend(acks);
        let store = RocksStore::open(dir.path()).expect("reopen after SIGKILL");
        let head = store.head().expect("head").expect("a ledger");
        let receipts = store.receipts(0, usize::MAX).expect("receipts");
        assert_eq!(
            receipts.len() as u64,
            head.seq + 1,
            "round {round}: no holes"
        );
        for (seq, fingerprint) in &acknowledged {
            let receipt = &receipts[usize::try_from(*seq).expect("seq")];
            assert_eq!(
                &receipt.payload.action_fingerprint, fingerprint,
                "seq {seq}"
            );
        }
        let key = SigningKey::from_bytes(&KEY_SEED).verifying_key();
        let mut verifier = ChainVerifier::new(&key, None);
        for receipt in &receipts {
            verifier.push_line(&receipt.to_reference_line());
        }
        let report = verifier.finish();
        assert!(
            report.problems.is_empty(),
            "round {round}: {:?}",
            report.problems
        );
    }
    // The next process continues the chain.
    let store = Arc::new(RocksStore::open(dir.path()).expect("reopen"));
    let head = store.head().expect("head").expect("a ledger");
    let parts = EngineParts::local(SigningKey::from_bytes(&KEY_SEED));
    let firewall = Firewall::start(store, CompiledPolicy::deny_all(), parts).expect("restart");
    let action = delego_spec::ProposedAction::from_value(
        &delego_spec::json::parse(
            r#"{"instruction":"i","method":"GET","url":"https://h/x","params":{}}"#,
        )
        .expect("json"),
    )
    .expect("action");
    let decision = firewall.propose(action).expect("propose");
    assert_eq!(decision.receipt_seq, Some(head.seq + 1));
}
