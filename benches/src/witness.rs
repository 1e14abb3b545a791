//! A witness fixture for the add-checkpoint benchmarks: a witness over a
//! fresh RocksDB state in a temporary directory, following one in-memory
//! log that already has about a million leaves, so consistency proofs have
//! the ~20 hashes a real log's do. Keys come from fixed seeds.

use std::sync::Arc;

use delego_spec::keys::SigningKey;
use delego_spec::merkle::verify_consistency;
use delego_spec::note::{
    cosign, open_checkpoint_note, AddCheckpointRequest, Checkpoint, KeyType, NoteSignature,
    SignerKey,
};
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
    witness_key: SignerKey,
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
        let witness = Witness::new(
            store,
            witness_key.clone(),
            Arc::new(FixedClock::new(1_700_000_000)),
        )
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
            witness_key,
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

    /// What the witness computes for `body` without touching its state:
    /// parse, log signature, consistency proof from `previous`, cosignature.
    /// The benchmarks subtract this from the full handling to show the
    /// synced write's share.
    pub fn compute_only(&self, previous: &Checkpoint, body: &str) -> (Checkpoint, NoteSignature) {
        let request = AddCheckpointRequest::parse(body.as_bytes()).expect("parse");
        open_checkpoint_note(request.note(), &[self.log.verifier_key()]).expect("log signature");
        let new = request.checkpoint();
        verify_consistency(
            previous.size,
            new.size,
            request.proof(),
            &previous.root,
            &new.root,
        )
        .expect("consistency");
        let cosignature = cosign(new, &self.witness_key, 1_700_000_000).expect("cosign");
        (new.clone(), cosignature)
    }

    /// The checkpoint at `size` (for [`Self::compute_only`]).
    pub fn checkpoint(&self, size: u64) -> Checkpoint {
        self.log.checkpoint(size).expect("checkpoint")
    }
}

impl Default for WitnessFixture {
    fn default() -> Self {
        Self::new()
    }
}
