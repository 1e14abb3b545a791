//! The witness proper: the logs it follows, the last checkpoint it cosigned
//! for each, and `add-checkpoint` from request body to cosignature.
//!
//! Each log has one lock around its last cosigned checkpoint. A request
//! takes it after its log signature verified and holds it while it checks
//! the old size and the consistency proof, cosigns, and durably stores the
//! new checkpoint; only then is the cosignature returned. Two requests for
//! one log can therefore never both advance it from the same state, and a
//! crash after an answer never forgets what was answered. Requests for
//! different logs do not wait for each other.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use delego_spec::note::{
    cosign, format_cosignature_lines, open_checkpoint_note, origin_hash, AddCheckpointRequest,
    Checkpoint, KeyType, Note, NoteError, NoteSignature, OpenedCheckpoint, SignerKey, VerifierKey,
    Verifiers,
};

use crate::check::check_against_latest;
use crate::clock::Clock;
use crate::evidence::{evidence_key, Evidence};
use crate::refusal::{Refusal, WitnessError};
use crate::store::{Latest, StoreError, WitnessStore};

/// A cosigned checkpoint, as `add-checkpoint` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    pub checkpoint: Checkpoint,
    /// The witness's cosignature/v1 line.
    pub cosignature: NoteSignature,
    /// Its timestamp, POSIX seconds (never 0).
    pub timestamp: u64,
    /// The 200 body: the cosignature line(s).
    pub body: String,
}

/// One followed log, as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSummary {
    pub origin: String,
    pub keys: Vec<VerifierKey>,
    pub latest: Option<Latest>,
    /// How many evidence records are kept for it.
    pub evidence: usize,
}

/// A log that cannot be followed as asked.
#[derive(Debug, thiserror::Error)]
pub enum AddLogError {
    #[error("the key is named {key:?} but the origin is {origin:?}; a log's key name must be its origin")]
    NameNotOrigin { key: String, origin: String },
    #[error("a log signs checkpoints with an Ed25519 (0x01) key, not an {0} key")]
    NotALogKey(KeyType),
    #[error(transparent)]
    Ambiguous(NoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the witness's log table is unavailable after a panic while it was held")]
    Poisoned,
}

struct FollowedLog {
    origin: String,
    keys: RwLock<Vec<VerifierKey>>,
    /// The last cosigned checkpoint. Held from the old-size check until the
    /// new one is durable (see the module documentation).
    latest: Mutex<Option<Latest>>,
}

impl FollowedLog {
    fn lock_latest(&self) -> Result<MutexGuard<'_, Option<Latest>>, WitnessError> {
        self.latest
            .lock()
            .map_err(|_| WitnessError::Poisoned(self.origin.clone()))
    }

    fn keys(&self) -> Result<Vec<VerifierKey>, WitnessError> {
        self.keys
            .read()
            .map(|keys| keys.clone())
            .map_err(|_| WitnessError::Poisoned(self.origin.clone()))
    }
}

#[derive(Default)]
struct Logs {
    by_origin: BTreeMap<String, Arc<FollowedLog>>,
    /// The monitoring API names a log by the hex SHA-256 of its origin.
    by_hash: BTreeMap<String, Arc<FollowedLog>>,
}

impl Logs {
    fn insert(&mut self, log: FollowedLog) {
        let log = Arc::new(log);
        self.by_hash
            .insert(origin_hash(&log.origin), Arc::clone(&log));
        self.by_origin.insert(log.origin.clone(), log);
    }
}

/// See the module documentation.
pub struct Witness {
    store: WitnessStore,
    key: SignerKey,
    clock: Arc<dyn Clock>,
    logs: RwLock<Logs>,
}

impl Witness {
    /// A witness over `store`, cosigning with `key` (a cosignature/v1 key)
    /// at `clock`'s time. Loads every followed log and its state.
    pub fn new(
        store: WitnessStore,
        key: SignerKey,
        clock: Arc<dyn Clock>,
    ) -> Result<Witness, WitnessError> {
        if key.key_type() != KeyType::CosignatureV1 {
            return Err(WitnessError::NotACosignatureKey(key.key_type()));
        }
        let mut logs = Logs::default();
        for (origin, keys) in store.logs()? {
            let latest = store.latest(&origin)?;
            logs.insert(FollowedLog {
                origin,
                keys: RwLock::new(keys),
                latest: Mutex::new(latest),
            });
        }
        Ok(Witness {
            store,
            key,
            clock,
            logs: RwLock::new(logs),
        })
    }

    /// The key clients verify this witness's cosignatures with.
    pub fn verifier_key(&self) -> VerifierKey {
        self.key.verifier_key()
    }

    /// Follows the log `origin`, trusting `key` for it (a second key for a
    /// followed log is added beside the first, for key rotation). Returns
    /// whether anything changed.
    pub fn add_log(&self, origin: &str, key: VerifierKey) -> Result<bool, AddLogError> {
        if key.name() != origin {
            return Err(AddLogError::NameNotOrigin {
                key: key.name().to_owned(),
                origin: origin.to_owned(),
            });
        }
        if key.key_type() != KeyType::Ed25519 {
            return Err(AddLogError::NotALogKey(key.key_type()));
        }
        let mut logs = self.logs.write().map_err(|_| AddLogError::Poisoned)?;
        let Some(log) = logs.by_origin.get(origin) else {
            self.store.put_log(origin, std::slice::from_ref(&key))?;
            logs.insert(FollowedLog {
                origin: origin.to_owned(),
                keys: RwLock::new(vec![key]),
                latest: Mutex::new(None),
            });
            return Ok(true);
        };
        let mut keys = log.keys.write().map_err(|_| AddLogError::Poisoned)?;
        if keys.contains(&key) {
            return Ok(false);
        }
        let mut extended = keys.clone();
        extended.push(key);
        // Two keys with one name and key ID: no signature line could say which.
        Verifiers::new(extended.iter().cloned()).map_err(AddLogError::Ambiguous)?;
        self.store.put_log(origin, &extended)?;
        *keys = extended;
        Ok(true)
    }

    /// Every followed log with its last cosigned checkpoint, by origin.
    pub fn logs(&self) -> Result<Vec<LogSummary>, WitnessError> {
        let followed: Vec<Arc<FollowedLog>> = self
            .logs
            .read()
            .map_err(|_| WitnessError::Poisoned(String::new()))?
            .by_origin
            .values()
            .cloned()
            .collect();
        followed
            .iter()
            .map(|log| {
                Ok(LogSummary {
                    origin: log.origin.clone(),
                    keys: log.keys()?,
                    latest: log.lock_latest()?.clone(),
                    evidence: self.store.evidence(&log.origin)?.len(),
                })
            })
            .collect()
    }

    /// The evidence kept for `origin`.
    pub fn evidence(&self, origin: &str) -> Result<Vec<Evidence>, StoreError> {
        self.store.evidence(origin)
    }

    fn log(&self, origin: &str) -> Result<Option<Arc<FollowedLog>>, WitnessError> {
        Ok(self
            .logs
            .read()
            .map_err(|_| WitnessError::Poisoned(origin.to_owned()))?
            .by_origin
            .get(origin)
            .cloned())
    }

    /// The cosigned checkpoint note served to monitors for the log whose
    /// origin hashes to `origin_hash` (lowercase hex SHA-256); `None` if no
    /// followed log has that hash or none of its checkpoints was cosigned.
    pub fn cosigned_note_by_hash(&self, origin_hash: &str) -> Result<Option<String>, WitnessError> {
        let log = self
            .logs
            .read()
            .map_err(|_| WitnessError::Poisoned(String::new()))?
            .by_hash
            .get(origin_hash)
            .cloned();
        match log {
            None => Ok(None),
            Some(log) => Ok(log.lock_latest()?.as_ref().map(|l| l.note.clone())),
        }
    }

    /// Handles an `add-checkpoint` request body: the cosignature, or why not.
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<Cosigned, Refusal> {
        let request = AddCheckpointRequest::parse(body).map_err(Refusal::Malformed)?;
        let origin = request.checkpoint().origin.as_str();
        let log = self.log(origin)?.ok_or(Refusal::UnknownOrigin)?;
        let opened =
            open_checkpoint_note(request.note(), &log.keys()?).map_err(Refusal::Signature)?;
        let mut latest = log.lock_latest()?;
        if let Err(refusal) = check_against_latest(&request, latest.as_ref().map(|l| &l.checkpoint))
        {
            self.keep_evidence(&request, body, &refusal, latest.as_ref());
            return Err(refusal);
        }
        let timestamp = self.clock.now_unix_seconds();
        if timestamp == 0 {
            return Err(WitnessError::NoTime.into());
        }
        let cosignature =
            cosign(request.checkpoint(), &self.key, timestamp).map_err(WitnessError::from)?;
        let next = Latest {
            checkpoint: request.checkpoint().clone(),
            note: served_note(&opened, &cosignature).map_err(WitnessError::from)?,
        };
        let body = format_cosignature_lines(std::slice::from_ref(&cosignature))
            .map_err(WitnessError::from)?;
        // Durable before anyone is told: see the module documentation.
        self.store.put_latest(&next).map_err(WitnessError::from)?;
        *latest = Some(next);
        drop(latest);
        tracing::info!(
            origin,
            old = request.old_size(),
            size = request.checkpoint().size,
            "cosigned"
        );
        Ok(Cosigned {
            checkpoint: request.checkpoint().clone(),
            cosignature,
            timestamp,
            body,
        })
    }

    /// Keeps a refused request whose log signature verified, when the
    /// refusal is about consistency (409, 422). A store failure here is
    /// logged: the refusal stands either way.
    fn keep_evidence(
        &self,
        request: &AddCheckpointRequest,
        body: &[u8],
        refusal: &Refusal,
        latest: Option<&Latest>,
    ) {
        let checkpoint = request.checkpoint();
        let reason = match (refusal, latest) {
            (Refusal::Conflict { .. }, Some(latest))
                if latest.checkpoint.size == checkpoint.size
                    && latest.checkpoint.root != checkpoint.root =>
            {
                format!(
                    "split view: the log signed a root for size {} other than the one the witness cosigned ({refusal})",
                    checkpoint.size
                )
            }
            (Refusal::Conflict { .. } | Refusal::Inconsistent(_), _) => refusal.to_string(),
            _ => return,
        };
        let status = refusal.http_code();
        tracing::warn!(
            origin = checkpoint.origin,
            status,
            reason,
            "refused a signed checkpoint"
        );
        let Ok(text) = checkpoint.to_text() else {
            return;
        };
        let evidence = Evidence {
            origin: checkpoint.origin.clone(),
            received_at: self.clock.now_unix_seconds(),
            status,
            reason,
            request: String::from_utf8_lossy(body).into_owned(),
            witness_latest: latest.map(|l| l.note.clone()),
        };
        let key = evidence_key(&checkpoint.origin, &text, status);
        if let Err(error) = self.store.add_evidence(&key, &evidence) {
            tracing::error!(origin = checkpoint.origin, %error, "cannot keep evidence");
        }
    }
}

/// The note served to monitors: the checkpoint text, the log signatures
/// that verified (lines from unknown keys are dropped: anyone can add
/// those), and the witness's cosignature.
fn served_note(
    opened: &OpenedCheckpoint,
    cosignature: &NoteSignature,
) -> Result<String, NoteError> {
    let mut note = Note::new(opened.note.text())?;
    for verified in &opened.note.verified {
        note.add_signature(verified.signature.clone());
    }
    note.add_signature(cosignature.clone());
    note.encode()
}
