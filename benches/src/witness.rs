//! A witness fixture for the add-checkpoint benchmarks: a witness over a
//! fresh RocksDB state in a temporary directory, following one in-memory
//! log that already has about a million leaves, so consistency proofs have
//! the ~20 hashes a real log's do. Keys come from fixed seeds.

use std::sync::Arc;

use delego_spec::keys::SigningKey;
use delego_spec::note::{KeyType, SignerKey};
use delego_witness::{FixedClock, TestLog, Witness, WitnessStore};
use tempfile::TempDir;

/// The log's size when the witness first cosigns it: 2^20 + 7 leaves.
pub const START_SIZE: u64 = (1 << 20) + 7;
/// Leaves added between consecutive checkpoints.
pub const STEP: u64 = 17;
const ORIGIN: &str = "bench.example/log";

/// See the module documentation.
pub struct WitnessFixture {
    /// Holds the state directory for as long as the witness runs.
    _dir: TempDir,
    pub witness: Witness,
    log: TestLog,
    /// The size the witness cosigned last.
    size: u64,
}

impl WitnessFixture {
    /// A witness that has cosigned the log at [`START_SIZE`].
    pub fn new() -> WitnessFixture {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = WitnessStore::open(&dir.path().join("state")).expect("open the state");
        let witness_key = SignerKey::new(
            "witness.bench/w1",
            KeyType::CosignatureV1,
            SigningKey::from_bytes(&[0x77; 32]),
        )
        .expect("witness key");
        let log_key = SignerKey::new(
            ORIGIN,
            KeyType::Ed25519,
            SigningKey::from_bytes(&[0x42; 32]),
        )
        .expect("log key");
        let witness = Witness::new(store, witness_key, Arc::new(FixedClock::new(1_700_000_000)))
            .expect("witness");
        let mut log = TestLog::with_key(log_key, "bench");
        witness
            .add_log(ORIGIN, log.verifier_key())
            .expect("follow the log");
        log.grow_to(START_SIZE);
        let first = log.request(0, START_SIZE).expect("first request");
        witness
            .add_checkpoint(first.as_bytes())
            .expect("the first checkpoint is cosigned");
        WitnessFixture {
            _dir: dir,
            witness,
            log,
            size: START_SIZE,
        }
    }

    /// The next `count` request bodies, each [`STEP`] leaves on from the
    /// one before; they must be submitted in order.
    pub fn next_requests(&mut self, count: usize) -> Vec<String> {
        let mut bodies = Vec::with_capacity(count);
        for _ in 0..count {
            let next = self.size + STEP;
            self.log.grow_to(next);
            bodies.push(self.log.request(self.size, next).expect("request"));
            self.size = next;
        }
        bodies
    }

    /// Submits one body, which must be cosigned.
    pub fn submit(&self, body: &str) {
        if let Err(refusal) = self.witness.add_checkpoint(body.as_bytes()) {
            panic!("the witness refused a consistent checkpoint: {refusal}");
        }
    }
}

impl Default for WitnessFixture {
    fn default() -> Self {
        Self::new()
    }
}
