//! Evaluating a trust policy: whether a set of witnesses satisfies the
//! quorum, and the whole check of a cosigned checkpoint against a policy —
//! a log's signature, every policy witness's cosignature, the quorum.

use std::collections::BTreeSet;

use super::checkpoint::{Checkpoint, CheckpointError};
use super::key::KeyType;
use super::policy::{Member, PolicyName, Quorum, TrustPolicy};
use super::signed::Note;
use super::verify::VerifiedNote;

/// A policy witness whose cosignature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigner {
    pub witness: PolicyName,
    /// The cosignature's signed time (POSIX seconds); the policy itself
    /// places no constraint on it.
    pub timestamp: u64,
}

/// A checkpoint signed by a policy log, with the witnesses that cosigned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVerdict {
    pub checkpoint: Checkpoint,
    pub note: VerifiedNote,
    /// In signature-line order, each witness once.
    pub cosigners: Vec<Cosigner>,
    pub quorum_satisfied: bool,
}

impl TrustPolicy {
    /// Whether the witnesses named in `cosigned` satisfy the quorum. Names
    /// that are not witnesses of this policy count for nothing.
    pub fn quorum_satisfied(&self, cosigned: &BTreeSet<PolicyName>) -> bool {
        let Some(quorum) = self.quorum_member() else {
            return matches!(self.quorum(), Quorum::None);
        };
        let witnessed: Vec<bool> = self
            .witnesses()
            .iter()
            .map(|w| cosigned.contains(&w.name))
            .collect();
        // Groups only refer to earlier groups, so one pass in definition
        // order evaluates every member before the group that uses it.
        let mut satisfied: Vec<bool> = Vec::with_capacity(self.groups().len());
        let holds = |member: Member, satisfied: &[bool]| match member {
            Member::Witness(i) => witnessed.get(i).copied().unwrap_or(false),
            Member::Group(i) => satisfied.get(i).copied().unwrap_or(false),
        };
        for group in self.groups() {
            let count = group
                .resolved()
                .iter()
                .filter(|&&m| holds(m, &satisfied))
                .count();
            satisfied.push(count >= group.threshold().required(group.members().len()));
        }
        holds(quorum, &satisfied)
    }

    /// Parses a signed checkpoint and checks it against the policy; see
    /// [`TrustPolicy::verify_checkpoint_note`].
    pub fn verify_checkpoint(&self, message: &[u8]) -> Result<PolicyVerdict, CheckpointError> {
        self.verify_checkpoint_note(&Note::parse(message)?)
    }

    /// Checks a signed checkpoint against the policy: it must be signed by a
    /// policy log whose key name is its origin, and every signature line from
    /// a policy key must verify. Returns which witnesses cosigned and whether
    /// they satisfy the quorum; a checkpoint below quorum is not an error
    /// here, so callers can report who did cosign.
    pub fn verify_checkpoint_note(&self, note: &Note) -> Result<PolicyVerdict, CheckpointError> {
        let checkpoint = Checkpoint::parse(note.text())?;
        if !self
            .logs()
            .iter()
            .any(|l| l.key.name() == checkpoint.origin)
        {
            return Err(CheckpointError::UnknownOrigin(checkpoint.origin));
        }
        let verified = note.verify(&self.verifiers()?)?;
        let log_signed = verified
            .verified
            .iter()
            .any(|v| v.key.key_type() == KeyType::Ed25519 && v.key.name() == checkpoint.origin);
        if !log_signed {
            return Err(CheckpointError::NoLogSignature);
        }
        let cosigners: Vec<Cosigner> = verified
            .verified
            .iter()
            .filter_map(|v| {
                let timestamp = v.timestamp?;
                let witness = self.witnesses().iter().find(|w| w.key == v.key)?;
                Some(Cosigner {
                    witness: witness.name.clone(),
                    timestamp,
                })
            })
            .collect();
        let names: BTreeSet<PolicyName> = cosigners.iter().map(|c| c.witness.clone()).collect();
        Ok(PolicyVerdict {
            quorum_satisfied: self.quorum_satisfied(&names),
            checkpoint,
            note: verified,
            cosigners,
        })
    }
}
