//! A log in memory, for tests and benchmarks of witnesses: an Ed25519 log
//! key named for its origin, and a Merkle tree of made-up leaves. It signs
//! checkpoints and builds `add-checkpoint` bodies exactly as a C2SP log
//! would, through `delego-spec` (`MemoryTree`, `consistency_proof`,
//! `Checkpoint::sign`, `AddCheckpointRequest`). It never talks to anything.

use delego_spec::merkle::{
    consistency_proof, leaf_hash, root, Hash, MemoryTree, MissingNode, ProofError,
};
use delego_spec::note::{
    AddCheckpointError, AddCheckpointRequest, Checkpoint, CheckpointError, KeyType, Note,
    NoteError, SignerKey, VerifierKey,
};
use rand_core::CryptoRngCore;

/// Something the test log cannot do.
#[derive(Debug, thiserror::Error)]
pub enum TestLogError {
    #[error("the log has {have} leaves, fewer than {want}")]
    TooSmall { have: u64, want: u64 },
    #[error(transparent)]
    Key(#[from] NoteError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Proof(#[from] ProofError<MissingNode>),
    #[error(transparent)]
    Request(#[from] AddCheckpointError),
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct TestLog {
    key: SignerKey,
    /// Names this log's leaves, so two logs with one key can differ.
    tag: String,
    leaves: Vec<Hash>,
    tree: MemoryTree,
}

impl TestLog {
    /// An empty log named `origin` with a fresh key.
    pub fn new(origin: &str, rng: &mut impl CryptoRngCore) -> Result<TestLog, TestLogError> {
        Ok(TestLog::with_key(
            SignerKey::generate(origin, KeyType::Ed25519, rng)?,
            "leaf",
        ))
    }

    /// An empty log signing with `key` (named for the origin), its leaves
    /// named after `tag`.
    pub fn with_key(key: SignerKey, tag: &str) -> TestLog {
        TestLog {
            key,
            tag: tag.to_owned(),
            leaves: Vec::new(),
            tree: MemoryTree::new(),
        }
    }

    /// The same key and the first `keep` leaves, then leaves named after
    /// `tag`: a split view once it grows past `keep`.
    pub fn fork(&self, keep: u64, tag: &str) -> TestLog {
        let keep = usize::try_from(keep)
            .unwrap_or(usize::MAX)
            .min(self.leaves.len());
        let leaves = self.leaves[..keep].to_vec();
        TestLog {
            key: self.key.clone(),
            tag: tag.to_owned(),
            tree: MemoryTree::from_leaf_hashes(leaves.iter().copied()),
            leaves,
        }
    }

    pub fn origin(&self) -> &str {
        self.key.name()
    }

    pub fn key(&self) -> &SignerKey {
        &self.key
    }

    pub fn verifier_key(&self) -> VerifierKey {
        self.key.verifier_key()
    }

    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Appends leaves until the log has `size`.
    pub fn grow_to(&mut self, size: u64) {
        while self.tree.size() < size {
            let leaf = leaf_hash(format!("{} {}", self.tag, self.tree.size()).as_bytes());
            self.leaves.push(leaf);
            self.tree.push(leaf);
        }
    }

    fn check_size(&self, size: u64) -> Result<(), TestLogError> {
        if size > self.tree.size() {
            return Err(TestLogError::TooSmall {
                have: self.tree.size(),
                want: size,
            });
        }
        Ok(())
    }

    /// The checkpoint of the first `size` leaves.
    pub fn checkpoint(&self, size: u64) -> Result<Checkpoint, TestLogError> {
        self.check_size(size)?;
        Ok(Checkpoint {
            origin: self.origin().to_owned(),
            size,
            root: root(size, &self.tree).map_err(ProofError::Source)?,
            extensions: Vec::new(),
        })
    }

    /// That checkpoint, signed by the log.
    pub fn signed(&self, size: u64) -> Result<Note, TestLogError> {
        Ok(self.checkpoint(size)?.sign(&self.key)?)
    }

    /// The consistency proof from `old` to `size` (empty from 0).
    pub fn proof(&self, old: u64, size: u64) -> Result<Vec<Hash>, TestLogError> {
        self.check_size(size)?;
        if old == 0 {
            return Ok(Vec::new());
        }
        Ok(consistency_proof(old, size, &self.tree)?)
    }

    /// The `add-checkpoint` body asking to go from `old` to `size`.
    pub fn request(&self, old: u64, size: u64) -> Result<String, TestLogError> {
        let request = AddCheckpointRequest::new(old, self.proof(old, size)?, self.signed(size)?)?;
        Ok(request.encode()?)
    }
}
