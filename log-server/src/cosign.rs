//! Witnessing rounds: pushing the latest checkpoint to every witness that
//! has not cosigned it yet, all in parallel, then storing what came back —
//! the cosignatures on the checkpoint note, each witness's size, and the
//! newest checkpoint the trust policy counts as witnessed — in one synced
//! write.
//!
//! This module owns what witnessing stores. It never signs or changes a
//! checkpoint's text: it only adds verified cosignature lines to it.

use std::sync::Arc;

use delego_spec::note::{Note, NoteSignature};
use rocksdb::WriteBatch;
use tokio::task::JoinSet;

use crate::error::LogError;
use crate::log::{lock, open_own_checkpoint, Log, SignedCheckpoint};
use crate::store::{witness_meta_key, META_WITNESSED};
use crate::witness::{self, WitnessError};

/// What a round changes for one witness.
struct Outcome {
    slot: usize,
    signature: Option<NoteSignature>,
    known_size: Option<u64>,
}

impl Log {
    /// One witnessing round for the latest checkpoint (the sequencer runs
    /// one per tick). Failures are logged and counted per witness; only a
    /// storage failure is returned.
    pub async fn witness_now(&self, client: &reqwest::Client) -> Result<(), LogError> {
        let latest = self.latest_checkpoint();
        let size = latest.checkpoint.size;
        let stored = Note::parse(latest.note.as_bytes())?;
        // Witnesses get the checkpoint with the log's signature only.
        let mut bare = Note::new(stored.text())?;
        for line in stored.signatures() {
            if line.name() == self.inner.vkey.name() && line.key_id() == self.inner.vkey.key_id() {
                bare.add_signature(line.clone());
            }
        }
        let mut pushes = JoinSet::new();
        for (slot, witness) in self.inner.witnesses.iter().enumerate() {
            let key = &witness.config.key;
            let cosigned = stored
                .signatures()
                .iter()
                .any(|line| line.name() == key.name() && line.key_id() == key.key_id());
            if cosigned {
                continue;
            }
            let old = lock(&witness.report).known_size.min(size);
            let (log, client, note) = (self.clone(), client.clone(), bare.clone());
            let (config, checkpoint) = (witness.config.clone(), latest.checkpoint.clone());
            pushes.spawn(async move {
                let proof_from = |old| log.consistency_proof(old, checkpoint.size);
                let pushed =
                    witness::push(&client, &config, &note, &checkpoint, old, proof_from).await;
                (slot, pushed)
            });
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = pushes.join_next().await {
            let Ok((slot, pushed)) = joined else {
                tracing::error!("a witness push task failed to complete");
                continue;
            };
            outcomes.push(self.account(slot, size, pushed));
        }
        if outcomes
            .iter()
            .all(|o| o.signature.is_none() && o.known_size.is_none())
        {
            return Ok(());
        }
        let log = self.clone();
        tokio::task::spawn_blocking(move || log.store_cosignatures(&latest, outcomes))
            .await
            .map_err(|_| LogError::Corrupt("storing cosignatures was interrupted".into()))?
    }

    /// Counts a push in its witness's report and says what to store.
    fn account(&self, slot: usize, size: u64, pushed: witness::Pushed) -> Outcome {
        let Some(witness) = self.inner.witnesses.get(slot) else {
            return Outcome {
                slot,
                signature: None,
                known_size: None,
            };
        };
        let mut report = lock(&witness.report);
        // A size beyond this checkpoint is the witness's claim, not a size
        // to prove consistency from.
        let learned = pushed.learned_size.filter(|learned| *learned <= size);
        if pushed.learned_size.is_some() {
            report.conflicts += 1;
        }
        let signature = match pushed.result {
            Ok(signature) => {
                report.cosigned += 1;
                report.last_error = None;
                Some(signature)
            }
            Err(error) => {
                match &error {
                    WitnessError::Refused { .. } => report.refused += 1,
                    WitnessError::ConflictAgain(_) | WitnessError::WitnessAhead { .. } => {}
                    _ => report.failures += 1,
                }
                tracing::error!(witness = %witness.config.name, size, %error, "witness did not cosign");
                report.last_error = Some(error.to_string());
                None
            }
        };
        let known_size = if signature.is_some() {
            Some(size)
        } else {
            learned
        };
        if let Some(known) = known_size {
            report.known_size = known;
        }
        Outcome {
            slot,
            signature,
            known_size,
        }
    }

    /// Adds cosignatures to the stored note of `latest` and records witness
    /// sizes and the witnessed head, in one synced write.
    fn store_cosignatures(
        &self,
        latest: &SignedCheckpoint,
        outcomes: Vec<Outcome>,
    ) -> Result<(), LogError> {
        let inner = &self.inner;
        let _serialised = lock(&inner.cosigning);
        let size = latest.checkpoint.size;
        let stored = inner
            .store
            .checkpoint(size)?
            .ok_or_else(|| LogError::Corrupt(format!("checkpoint {size} is missing")))?;
        let mut note = Note::parse(&stored)?;
        let mut batch = WriteBatch::default();
        for outcome in &outcomes {
            let Some(witness) = inner.witnesses.get(outcome.slot) else {
                continue;
            };
            if let Some(signature) = &outcome.signature {
                note.add_signature(signature.clone());
            }
            if let Some(known) = outcome.known_size {
                let key = witness_meta_key(&witness.config.key.to_string());
                inner
                    .store
                    .put_meta(&mut batch, &key, &known.to_be_bytes())?;
            }
        }
        let text = note.encode()?;
        let updated = Arc::new(open_own_checkpoint(text.as_bytes(), &inner.vkey)?);
        let cosigners = self.cosigners(&updated.checkpoint, &note);
        let quorum = inner.policy.quorum_satisfied(&cosigners);
        let witnessed_before = lock(&inner.heads)
            .witnessed
            .as_ref()
            .map(|w| w.checkpoint.size);
        let advances = quorum && witnessed_before.is_none_or(|before| before <= size);
        inner
            .store
            .put_checkpoint(&mut batch, size, text.as_bytes())?;
        if advances {
            inner
                .store
                .put_meta(&mut batch, META_WITNESSED, &size.to_be_bytes())?;
        }
        inner.store.write(batch)?;
        let mut heads = lock(&inner.heads);
        if heads.latest.checkpoint.size == size {
            heads.latest = updated.clone();
        }
        if advances {
            heads.witnessed = Some(updated);
        }
        drop(heads);
        inner.heads_changed.notify_all();
        Ok(())
    }
}
