//! The transparency log (delego-log), embedded in a firewall database as the
//! firewall will run it:
//!
//! - `log/integrate_100k_receipts`: durable integration of 100,000 real
//!   signed receipts that the firewall's `RocksStore` committed (synced) to
//!   its `receipts` family: leaf hashes, tiles, leaf index, frontier and a
//!   signed checkpoint per batch, every batch one synced write. The log keeps
//!   growing across iterations. Target: ≥ 100,000 leaves/s.
//! - `log/inclusion_proof_10m`: an inclusion proof for a random leaf of a
//!   10,000,000-leaf log, read from its stored tiles. Target: ≤ 100 µs.
//! - `log/verify_proof_and_checkpoint`: offline check of one inclusion proof
//!   from that log plus the checkpoint's Ed25519 signature. Target: ≤ 1 ms.
//!
//! The 10M-leaf log (small synthetic leaves: proof cost does not depend on
//! leaf size) is built once per run in a temporary directory, or once ever in
//! `$DELEGO_BENCH_LOG_DIR` if set; building it also prints the integration
//! rate at that scale.
//!
//! Run: `cargo bench -p delego-benches --bench log`.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{
    black_box, criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput,
};
use delego_benches::{ledger_identities, ledger_payload, signing_key};
use delego_firewall::store::{Batch, LedgerStore, RocksStore};
use delego_log::{Log, LogConfig, LogStore, COLUMN_FAMILIES};
use delego_spec::merkle::{leaf_hash, verify_inclusion};
use delego_spec::note::{open_checkpoint, KeyType, SignerKey};
use delego_spec::GENESIS;

const ORIGIN: &str = "bench.example/log";
const BATCH: u64 = 100_000;
const BIG_LOG: u64 = 10_000_000;
/// Receipts per firewall commit while filling the receipts family.
const COMMIT: usize = 10_000;

fn log_key() -> SignerKey {
    SignerKey::new(ORIGIN, KeyType::Ed25519, signing_key()).expect("valid log key")
}

fn open_embedded(path: &Path) -> (RocksStore, Log) {
    let store = RocksStore::open_with(path, COLUMN_FAMILIES).expect("open the firewall store");
    let attached =
        LogStore::attach(store.db().clone(), RocksStore::RECEIPTS_FAMILY).expect("attach the log");
    let log = Log::open(attached, LogConfig::new(ORIGIN, log_key())).expect("open the log");
    (store, log)
}

fn integration(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, log) = open_embedded(&dir.path().join("db"));
    let key = signing_key();
    let identities = ledger_identities();
    let mut prev_hash = GENESIS.to_owned();
    let mut next_seq = 0u64;
    // The firewall's commits of the next BATCH receipts (not measured).
    let mut commit_receipts = || {
        let mut left = BATCH;
        while left > 0 {
            let count = left.min(COMMIT as u64);
            let mut receipts = Vec::with_capacity(COMMIT);
            for _ in 0..count {
                let receipt = ledger_payload(next_seq, prev_hash.clone(), &identities).sign(&key);
                prev_hash = receipt.entry_hash.clone();
                receipts.push(receipt);
                next_seq += 1;
            }
            let batch = Batch {
                receipts,
                approvals: Vec::new(),
                reserved: Vec::new(),
                settled: Vec::new(),
            };
            store.commit(&batch).expect("commit receipts");
            left -= count;
        }
    };
    let mut group = c.benchmark_group("log");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("integrate_100k_receipts", |b| {
        b.iter_batched(
            &mut commit_receipts,
            |()| log.integrate_now().expect("integrate"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    eprintln!("log: integrated {} receipts in total", log.size());
}

fn big_leaf(i: u64) -> Vec<u8> {
    format!("{{\"bench_leaf\":{i}}}").into_bytes()
}

/// The 10M-leaf log: built on first use, reused afterwards.
fn big_log() -> (Option<tempfile::TempDir>, RocksStore, Log) {
    let (temp, path) = match std::env::var_os("DELEGO_BENCH_LOG_DIR") {
        Some(dir) => (None, Path::new(&dir).join("db")),
        None => {
            let temp = tempfile::tempdir().expect("tempdir");
            let path = temp.path().join("db");
            (Some(temp), path)
        }
    };
    let (store, log) = open_embedded(&path);
    if log.size() < BIG_LOG {
        let db = store.db().clone();
        let family = db
            .cf_handle(RocksStore::RECEIPTS_FAMILY)
            .expect("receipts family");
        let started = Instant::now();
        let mut unsynced = rocksdb::WriteOptions::default();
        unsynced.disable_wal(true);
        for from in (log.size()..BIG_LOG).step_by(BATCH as usize) {
            let mut batch = rocksdb::WriteBatch::default();
            for i in from..(from + BATCH).min(BIG_LOG) {
                batch.put_cf(family, i.to_be_bytes(), big_leaf(i));
            }
            db.write_opt(batch, &unsynced).expect("write leaves");
        }
        db.flush_cf(family).expect("flush leaves");
        eprintln!("log: wrote {BIG_LOG} leaves in {:.1?}", started.elapsed());
        let started = Instant::now();
        let from = log.size();
        log.integrate_now().expect("integrate");
        let took = started.elapsed();
        eprintln!(
            "log: integrated {} leaves in {took:.1?} ({:.0} leaves/s, durable batches of {})",
            BIG_LOG - from,
            (BIG_LOG - from) as f64 / took.as_secs_f64(),
            LogConfig::DEFAULT_MAX_LEAVES_PER_STEP
        );
    }
    (temp, store, log)
}

fn proofs(c: &mut Criterion) {
    let (_temp, _store, log) = big_log();
    assert_eq!(log.size(), BIG_LOG);
    let mut group = c.benchmark_group("log");
    // A fixed-seed LCG: a different, reproducible leaf every iteration.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    group.bench_function("inclusion_proof_10m", |b| {
        b.iter(|| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let index = (state >> 11) % BIG_LOG;
            log.inclusion_proof(black_box(index), BIG_LOG)
                .expect("proof")
        })
    });

    let signed = log.latest_checkpoint();
    let vkey = log.verifier_key().clone();
    let index = 7_654_321;
    let proof = log.inclusion_proof(index, BIG_LOG).expect("proof");
    let leaf = leaf_hash(&big_leaf(index));
    group.bench_function("verify_proof_and_checkpoint", |b| {
        b.iter(|| {
            let checkpoint = open_checkpoint(
                black_box(signed.note.as_bytes()),
                std::slice::from_ref(&vkey),
            )
            .expect("signature verifies")
            .checkpoint;
            verify_inclusion(
                &leaf,
                index,
                checkpoint.size,
                black_box(&proof),
                &checkpoint.root,
            )
            .expect("proof verifies")
        })
    });
    group.finish();
}

criterion_group!(benches, integration, proofs);
criterion_main!(benches);
