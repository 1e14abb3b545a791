//! The log handle: opening a log over its store, its current heads (latest
//! and latest witnessed checkpoint), integration on demand, and the reads
//! every client needs (proofs, tiles, entry bundles, leaf lookup).
//!
//! Appends, witnessing and the sequencer loop extend this handle in their own
//! modules. The handle is cheap to clone; clones share one state. Heads are
//! only ever replaced after the write that made them durable.

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use delego_spec::merkle::{
    self, EntryBundle, Frontier, Hash, NodeSource as _, ProofError, Tile, EMPTY_ROOT,
};
use delego_spec::note::{
    open_checkpoint, Checkpoint, Note, PolicyName, SignerKey, TlogProof, TrustPolicy, VerifierKey,
};
use rocksdb::WriteBatch;
use sha2::{Digest, Sha256};

use crate::config::{LogConfig, WitnessConfig};
use crate::error::LogError;
use crate::integrate::{decode_frontier, encode_frontier, Integrator, Signing, Step};
use crate::store::{
    witness_meta_key, LogStore, META_FRONTIER, META_LOG_KEY, META_ORIGIN, META_WITNESSED,
};
use crate::tree::{entry_bundle_bytes, tile_bytes, StoredTree};

/// A checkpoint the log signed, with the note as stored (its signature and
/// whatever cosignatures it has gathered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The signed note, ready to serve.
    pub note: String,
}

/// What the log knows about one witness, for operators and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitnessReport {
    pub name: String,
    pub url: String,
    /// The size the witness last cosigned, as far as the log knows.
    pub known_size: u64,
    /// Cosignatures received and verified.
    pub cosigned: u64,
    /// 409 answers (each followed by one retry from the size it named).
    pub conflicts: u64,
    /// 400, 403, 404 and 422 answers.
    pub refused: u64,
    /// Timeouts, connection errors, malformed or invalid responses.
    pub failures: u64,
    pub last_error: Option<String>,
}

pub(crate) struct WitnessSlot {
    pub config: WitnessConfig,
    pub report: Mutex<WitnessReport>,
}

pub(crate) struct Heads {
    pub latest: Arc<SignedCheckpoint>,
    pub witnessed: Option<Arc<SignedCheckpoint>>,
}

pub(crate) struct Inner {
    pub store: LogStore,
    pub origin: String,
    pub key: SignerKey,
    pub vkey: VerifierKey,
    pub policy: TrustPolicy,
    pub witnesses: Vec<WitnessSlot>,
    pub witness_timeout: Duration,
    pub interval: Duration,
    pub max_leaves_per_step: u64,
    /// SHA-256 of the append token; only the hash is kept.
    pub append_token: Option<[u8; 32]>,
    pub integrator: Mutex<Integrator>,
    pub heads: Mutex<Heads>,
    pub heads_changed: Condvar,
    /// The next entry index a standalone log accepts.
    pub next_entry: Mutex<u64>,
    /// Serialises read-modify-write of stored checkpoint notes.
    pub cosigning: Mutex<()>,
    /// Wakes the sequencer before its interval ends.
    pub nudge: tokio::sync::Notify,
}

/// A transparency log over a [`LogStore`]; see the crate documentation.
#[derive(Clone)]
pub struct Log {
    pub(crate) inner: Arc<Inner>,
}

/// Locks a mutex, recovering it if a panicking thread poisoned it: every
/// guarded state here is replaced whole, never left half-updated.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn proof_error(error: ProofError<LogError>) -> LogError {
    match error {
        ProofError::IndexOutOfRange { index, size } => LogError::IndexOutOfRange { index, size },
        ProofError::SizesOutOfOrder { old, new } => LogError::SizesOutOfOrder { old, new },
        ProofError::EmptyOldTree => LogError::EmptyOldTree,
        ProofError::Source(error) => error,
    }
}

/// Opens one of the log's own stored checkpoints, checking its signature.
pub(crate) fn open_own_checkpoint(
    note: &[u8],
    vkey: &VerifierKey,
) -> Result<SignedCheckpoint, LogError> {
    let opened = open_checkpoint(note, std::slice::from_ref(vkey))
        .map_err(|e| LogError::Corrupt(format!("a stored checkpoint does not verify: {e}")))?;
    let note = String::from_utf8(note.to_vec())
        .map_err(|_| LogError::Corrupt("a stored checkpoint is not UTF-8".into()))?;
    Ok(SignedCheckpoint {
        checkpoint: opened.checkpoint,
        note,
    })
}

/// Checks that the store belongs to this origin and key.
fn check_identity(store: &LogStore, origin: &str, vkey: &VerifierKey) -> Result<(), LogError> {
    if let Some(stored) = store.meta(META_ORIGIN)? {
        if stored != origin.as_bytes() {
            return Err(LogError::OriginMismatch {
                stored: String::from_utf8_lossy(&stored).into_owned(),
                configured: origin.to_owned(),
            });
        }
    }
    if let Some(stored) = store.meta(META_LOG_KEY)? {
        let configured = vkey.to_string();
        if stored != configured.as_bytes() {
            return Err(LogError::KeyMismatch {
                stored: String::from_utf8_lossy(&stored).into_owned(),
                configured,
            });
        }
    }
    Ok(())
}

/// Creates an empty log: identity, the empty frontier and the size-0
/// checkpoint, in one synced batch.
fn initialize(store: &LogStore, signing: &Signing<'_>, vkey: &VerifierKey) -> Result<(), LogError> {
    if store.latest_checkpoint()?.is_some() {
        return Err(LogError::Corrupt(
            "checkpoints are stored but the frontier is missing".into(),
        ));
    }
    let checkpoint = Checkpoint {
        origin: signing.origin.to_owned(),
        size: 0,
        root: EMPTY_ROOT,
        extensions: Vec::new(),
    };
    let note = checkpoint.sign(signing.key)?.encode()?;
    let mut batch = WriteBatch::default();
    store.put_meta(&mut batch, META_ORIGIN, signing.origin.as_bytes())?;
    store.put_meta(&mut batch, META_LOG_KEY, vkey.to_string().as_bytes())?;
    store.put_meta(
        &mut batch,
        META_FRONTIER,
        &encode_frontier(&Frontier::new()),
    )?;
    store.put_checkpoint(&mut batch, 0, note.as_bytes())?;
    if signing.witnessed_on_write {
        store.put_meta(&mut batch, META_WITNESSED, &0u64.to_be_bytes())?;
    }
    store.write(batch)
}

impl Log {
    /// Opens the log in `store` (creating it when empty), resuming from the
    /// persisted frontier. Refuses a store that belongs to another origin or
    /// key, or whose tree and latest checkpoint disagree.
    pub fn open(store: LogStore, config: LogConfig) -> Result<Log, LogError> {
        config.check()?;
        let policy = config.effective_policy()?;
        let vkey = config.key.verifier_key();
        check_identity(&store, &config.origin, &vkey)?;
        let signing = Signing {
            origin: &config.origin,
            key: &config.key,
            witnessed_on_write: policy.quorum_satisfied(&BTreeSet::new()),
        };
        let frontier = match store.meta(META_FRONTIER)? {
            Some(bytes) => decode_frontier(&bytes)?,
            None => {
                initialize(&store, &signing, &vkey)?;
                Frontier::new()
            }
        };
        let integrator = Integrator::restore(&store, frontier)?;
        let (_, note) = store
            .latest_checkpoint()?
            .ok_or_else(|| LogError::Corrupt("no checkpoint is stored".into()))?;
        let latest = open_own_checkpoint(&note, &vkey)?;
        if latest.checkpoint.size != integrator.size()
            || latest.checkpoint.root != integrator.root()
        {
            return Err(LogError::Corrupt(format!(
                "the latest checkpoint (size {}) does not match the stored tree (size {})",
                latest.checkpoint.size,
                integrator.size()
            )));
        }
        let witnessed = match store.meta_u64(META_WITNESSED)? {
            None => None,
            Some(size) => {
                let note = store.checkpoint(size)?.ok_or_else(|| {
                    LogError::Corrupt(format!("witnessed checkpoint {size} is missing"))
                })?;
                Some(Arc::new(open_own_checkpoint(&note, &vkey)?))
            }
        };
        let mut witnesses = Vec::with_capacity(config.witnesses.len());
        for witness in &config.witnesses {
            if !policy.witnesses().iter().any(|w| w.key == witness.key) {
                tracing::warn!(
                    witness = %witness.name,
                    "witness is not in the trust policy: its cosignatures count for no quorum"
                );
            }
            let known = store
                .meta_u64(&witness_meta_key(&witness.key.to_string()))?
                .unwrap_or(0);
            witnesses.push(WitnessSlot {
                config: witness.clone(),
                report: Mutex::new(WitnessReport {
                    name: witness.name.clone(),
                    url: witness.url.clone(),
                    known_size: known,
                    ..WitnessReport::default()
                }),
            });
        }
        let next_entry = if store.is_standalone() {
            let end = store.entries_end()?;
            if end < integrator.size() {
                return Err(LogError::Corrupt(format!(
                    "{end} entries are stored but {} are integrated",
                    integrator.size()
                )));
            }
            end
        } else {
            0
        };
        let append_token = config
            .append_token
            .as_ref()
            .map(|token| Sha256::digest(token.as_bytes()).into());
        Ok(Log {
            inner: Arc::new(Inner {
                store,
                origin: config.origin,
                key: config.key,
                vkey,
                policy,
                witnesses,
                witness_timeout: config.witness_timeout,
                interval: config.interval,
                max_leaves_per_step: config.max_leaves_per_step,
                append_token,
                integrator: Mutex::new(integrator),
                heads: Mutex::new(Heads {
                    latest: Arc::new(latest),
                    witnessed,
                }),
                heads_changed: Condvar::new(),
                next_entry: Mutex::new(next_entry),
                cosigning: Mutex::new(()),
                nudge: tokio::sync::Notify::new(),
            }),
        })
    }

    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The key that verifies this log's checkpoints.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.inner.vkey
    }

    pub fn store(&self) -> &LogStore {
        &self.inner.store
    }

    /// The integrated size: the size of the latest checkpoint.
    pub fn size(&self) -> u64 {
        self.latest_checkpoint().checkpoint.size
    }

    pub fn latest_checkpoint(&self) -> Arc<SignedCheckpoint> {
        lock(&self.inner.heads).latest.clone()
    }

    /// The newest checkpoint whose cosignatures satisfy the trust policy.
    pub fn latest_witnessed(&self) -> Option<Arc<SignedCheckpoint>> {
        lock(&self.inner.heads).witnessed.clone()
    }

    /// Blocks until a witnessed checkpoint covers leaf `index` (its size is
    /// above `index`), or `timeout` passes.
    pub fn wait_witnessed(
        &self,
        index: u64,
        timeout: Duration,
    ) -> Result<Arc<SignedCheckpoint>, LogError> {
        let deadline = Instant::now() + timeout;
        let mut heads = lock(&self.inner.heads);
        loop {
            if let Some(witnessed) = heads.witnessed.as_ref() {
                if witnessed.checkpoint.size > index {
                    return Ok(witnessed.clone());
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(LogError::WitnessTimeout {
                    index,
                    witnessed: heads.witnessed.as_ref().map_or(0, |w| w.checkpoint.size),
                });
            }
            heads = self
                .inner
                .heads_changed
                .wait_timeout(heads, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Asks the sequencer to integrate now rather than at its next tick.
    pub fn nudge(&self) {
        self.inner.nudge.notify_one();
    }

    /// Integrates every entry stored past the integrated size, in batches
    /// of at most `max_leaves_per_step`, each one synced write with its
    /// checkpoint. Returns the new size.
    pub fn integrate_now(&self) -> Result<u64, LogError> {
        self.integrate_steps(usize::MAX)
    }

    /// [`Log::integrate_now`], stopping after `max_steps` batches.
    pub(crate) fn integrate_steps(&self, max_steps: usize) -> Result<u64, LogError> {
        let inner = &self.inner;
        let signing = Signing {
            origin: &inner.origin,
            key: &inner.key,
            witnessed_on_write: inner.policy.quorum_satisfied(&BTreeSet::new()),
        };
        let mut integrator = lock(&inner.integrator);
        for _ in 0..max_steps {
            let before = integrator.size();
            let Some(step) = integrator.step(&inner.store, &signing, inner.max_leaves_per_step)?
            else {
                break;
            };
            let caught_up = step.checkpoint.size - before < inner.max_leaves_per_step;
            self.publish(step, signing.witnessed_on_write);
            if caught_up {
                break;
            }
        }
        Ok(integrator.size())
    }

    fn publish(&self, step: Step, witnessed: bool) {
        let signed = Arc::new(SignedCheckpoint {
            checkpoint: step.checkpoint,
            note: step.note,
        });
        let mut heads = lock(&self.inner.heads);
        heads.latest = signed.clone();
        if witnessed {
            heads.witnessed = Some(signed);
        }
        drop(heads);
        self.inner.heads_changed.notify_all();
    }

    /// Hashes held in memory by integration between steps.
    pub fn integration_footprint(&self) -> usize {
        lock(&self.inner.integrator).hashes_held()
    }

    /// Refuses a tree size beyond the integrated tree.
    pub fn check_size(&self, size: u64) -> Result<(), LogError> {
        let tree_size = self.size();
        if size > tree_size {
            return Err(LogError::SizeBeyondTree { size, tree_size });
        }
        Ok(())
    }

    /// The root of the tree's first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, LogError> {
        self.check_size(size)?;
        merkle::root(size, &StoredTree::new(&self.inner.store))
    }

    /// The audit path of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        self.check_size(size)?;
        merkle::inclusion_proof(index, size, &StoredTree::new(&self.inner.store))
            .map_err(proof_error)
    }

    /// The proof that the tree of `old` leaves is a prefix of that of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        self.check_size(new)?;
        merkle::consistency_proof(old, new, &StoredTree::new(&self.inner.store))
            .map_err(proof_error)
    }

    /// The hash of integrated leaf `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash, LogError> {
        let size = self.size();
        if index >= size {
            return Err(LogError::IndexOutOfRange { index, size });
        }
        StoredTree::new(&self.inner.store).node(0, index)
    }

    /// The index of the integrated leaf with this leaf hash. Receipts are
    /// unique, so each hash has one index; were a leaf repeated, the index
    /// of its latest integration is kept.
    pub fn leaf_index(&self, leaf_hash: &Hash) -> Result<u64, LogError> {
        self.inner
            .store
            .leaf_index(leaf_hash)?
            .ok_or(LogError::UnknownLeafHash)
    }

    /// A `c2sp.org/tlog-proof@v1` proof that leaf `index` is in the log:
    /// the leaf itself as the proof's extra data (for a delego log, the
    /// receipt), its inclusion proof, and the newest witnessed checkpoint
    /// with its cosignatures. An auditor checks it offline with public keys.
    pub fn tlog_proof(&self, index: u64) -> Result<String, LogError> {
        let witnessed = self.latest_witnessed();
        let witnessed = match witnessed {
            Some(w) if w.checkpoint.size > index => w,
            other => {
                if index >= self.inner.store.entries_end()? {
                    return Err(LogError::IndexOutOfRange {
                        index,
                        size: self.size(),
                    });
                }
                return Err(LogError::NotWitnessedYet {
                    index,
                    witnessed: other.map_or(0, |w| w.checkpoint.size),
                });
            }
        };
        let leaf =
            self.inner.store.entries(index, 1)?.pop().ok_or_else(|| {
                LogError::Corrupt(format!("integrated leaf {index} has no entry"))
            })?;
        let proof = self.inclusion_proof(index, witnessed.checkpoint.size)?;
        let note = Note::parse(witnessed.note.as_bytes())?;
        TlogProof::new(Some(leaf), index, proof, note)
            .and_then(|p| p.encode())
            .map_err(|e| LogError::Proof(e.to_string()))
    }

    /// A tile's hashes as the latest checkpoint's tree has them; `None` if
    /// that tree has no such tile.
    pub fn tile(&self, tile: Tile) -> Result<Option<Vec<u8>>, LogError> {
        tile_bytes(&self.inner.store, tile, self.size())
    }

    /// An entry bundle as the latest checkpoint's tree has it; `None` if that
    /// tree has no such bundle.
    pub fn entry_bundle(&self, bundle: EntryBundle) -> Result<Option<Vec<u8>>, LogError> {
        entry_bundle_bytes(&self.inner.store, bundle, self.size())
    }

    /// What the log knows about each witness.
    pub fn witness_reports(&self) -> Vec<WitnessReport> {
        self.inner
            .witnesses
            .iter()
            .map(|w| lock(&w.report).clone())
            .collect()
    }

    /// The policy witnesses whose cosignatures on `checkpoint` are in the
    /// note and verify.
    pub(crate) fn cosigners(
        &self,
        checkpoint: &Checkpoint,
        note: &delego_spec::note::Note,
    ) -> BTreeSet<PolicyName> {
        self.inner
            .policy
            .witnesses()
            .iter()
            .filter(|w| {
                note.signatures().iter().any(|line| {
                    line.name() == w.key.name()
                        && line.key_id() == w.key.key_id()
                        && delego_spec::note::verify_cosignature(checkpoint, line, &w.key).is_ok()
                })
            })
            .map(|w| w.name.clone())
            .collect()
    }
}
