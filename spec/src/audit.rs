//! The auditor's offline checks, built from the wire formats: a receipt's
//! proof of logging (c2sp.org/tlog-proof@v1 carrying the receipt as its
//! extra data) and a ledger against a witnessed checkpoint.
//!
//! Everything here needs only public keys and the files at hand; it never
//! fetches anything and never trusts a claim it can recompute.

use crate::json::parse;
use crate::keys::VerifyingKey;
use crate::merkle::{leaf_hash, verify_inclusion, Frontier};
use crate::note::{Checkpoint, PolicyVerdict, TlogProof, TrustPolicy};
use crate::receipt::Receipt;

/// Input an audit cannot start from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditInputError {
    #[error(
        "--quorum must be between 1 and the number of witness keys ({witnesses}), got {quorum}"
    )]
    Quorum { quorum: usize, witnesses: usize },
    #[error("trust keys: {0}")]
    Policy(String),
    #[error("proof: {0}")]
    Proof(String),
}

/// A trust policy from key strings: one log, the witnesses, and a quorum of
/// `quorum` of them (all of them by default; none when there are none).
pub fn trust_policy_from_keys(
    log_key: &str,
    witness_keys: &[String],
    quorum: Option<usize>,
) -> Result<TrustPolicy, AuditInputError> {
    let mut text = format!("log {}\n", log_key.trim());
    for (i, key) in witness_keys.iter().enumerate() {
        text.push_str(&format!("witness w{i} {}\n", key.trim()));
    }
    let witnesses = witness_keys.len();
    match (witnesses, quorum.unwrap_or(witnesses)) {
        (0, 0) => text.push_str("quorum none\n"),
        (_, k) if k == 0 || k > witnesses => {
            return Err(AuditInputError::Quorum {
                quorum: k,
                witnesses,
            })
        }
        (_, k) => {
            let members: Vec<String> = (0..witnesses).map(|i| format!("w{i}")).collect();
            text.push_str(&format!(
                "group trusted {k} {}\nquorum trusted\n",
                members.join(" ")
            ));
        }
    }
    TrustPolicy::parse(text.as_bytes()).map_err(|e| AuditInputError::Policy(e.to_string()))
}

/// One named check and what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub result: Result<String, String>,
}

/// Every check of one receipt proof; verified only if all passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptProofReport {
    pub index: u64,
    pub tree_size: u64,
    pub checks: Vec<Check>,
}

impl ReceiptProofReport {
    pub fn verified(&self) -> bool {
        self.checks.iter().all(|c| c.result.is_ok())
    }
}

/// The receipt a proof carries, as the leaf bytes it must be.
fn carried_receipt(proof: &TlogProof) -> Result<(Receipt, &[u8]), String> {
    let extra = proof
        .extra()
        .ok_or("the proof carries no receipt (no extra data)")?;
    let text = std::str::from_utf8(extra).map_err(|_| "the receipt is not UTF-8")?;
    let value = parse(text).map_err(|e| format!("the receipt is not JSON: {e}"))?;
    let receipt = Receipt::from_value(&value).map_err(|e| format!("not a receipt: {e}"))?;
    if receipt.canonical_json().as_bytes() != extra {
        return Err("the receipt is not in canonical form, so it is not the logged leaf".into());
    }
    Ok((receipt, extra))
}

/// Checks a receipt's proof of logging fully offline: the receipt (leaf
/// data) and its seq, its signature by `receipt_key`, its inclusion in the
/// checkpoint's tree, the log's signature and the witnesses' quorum.
pub fn verify_receipt_proof(
    proof_text: &[u8],
    policy: &TrustPolicy,
    receipt_key: &VerifyingKey,
) -> Result<ReceiptProofReport, AuditInputError> {
    let proof = TlogProof::parse(proof_text).map_err(|e| AuditInputError::Proof(e.to_string()))?;
    let checkpoint = proof.checkpoint();
    let mut checks = Vec::new();
    let carried = carried_receipt(&proof);
    let seq_check = match &carried {
        Ok((receipt, _)) if receipt.payload.seq == proof.index() => Ok(format!(
            "receipt seq {} is leaf {}",
            receipt.payload.seq,
            proof.index()
        )),
        Ok((receipt, _)) => Err(format!(
            "receipt seq {} is not the proof's leaf index {}",
            receipt.payload.seq,
            proof.index()
        )),
        Err(e) => Err(e.clone()),
    };
    checks.push(Check {
        name: "receipt",
        result: seq_check,
    });
    checks.push(Check {
        name: "receipt signature",
        result: match &carried {
            Ok((receipt, _)) => receipt
                .verify(receipt_key)
                .map(|()| "signed by the ledger key".to_owned())
                .map_err(|e| e.to_string()),
            Err(_) => Err("no receipt to check".into()),
        },
    });
    checks.push(Check {
        name: "inclusion",
        result: match &carried {
            Ok((_, leaf)) => verify_inclusion(
                &leaf_hash(leaf),
                proof.index(),
                checkpoint.size,
                proof.inclusion_proof(),
                &checkpoint.root,
            )
            .map(|()| {
                format!(
                    "leaf {} is in the tree of size {}",
                    proof.index(),
                    checkpoint.size
                )
            })
            .map_err(|e| e.to_string()),
            Err(_) => Err("no leaf to check".into()),
        },
    });
    let verdict = policy.verify_checkpoint_note(proof.note());
    checks.push(Check {
        name: "log signature",
        result: verdict
            .as_ref()
            .map(|v| format!("checkpoint of {} signed by the log", v.checkpoint.origin))
            .map_err(|e| e.to_string()),
    });
    checks.push(Check {
        name: "witnesses",
        result: match &verdict {
            Ok(v) => quorum_result(v),
            Err(_) => Err("no verified checkpoint to count cosignatures on".into()),
        },
    });
    Ok(ReceiptProofReport {
        index: proof.index(),
        tree_size: checkpoint.size,
        checks,
    })
}

fn cosigner_names(verdict: &PolicyVerdict) -> String {
    let names: Vec<String> = verdict
        .cosigners
        .iter()
        .map(|c| String::from_utf8_lossy(c.witness.as_bytes()).into_owned())
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// The quorum check's line.
pub fn quorum_result(verdict: &PolicyVerdict) -> Result<String, String> {
    if verdict.quorum_satisfied {
        Ok(format!(
            "quorum met (cosigned by {})",
            cosigner_names(verdict)
        ))
    } else {
        Err(format!(
            "quorum not met (cosigned by {})",
            cosigner_names(verdict)
        ))
    }
}

/// Why a ledger does not match a witnessed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointMismatch {
    #[error("the ledger holds {held} receipts but the witnessed checkpoint covers {size}: receipts the witnesses saw are missing (truncated ledger)")]
    Truncated { held: u64, size: u64 },
    #[error("the Merkle root of the first {size} receipts differs from the witnessed checkpoint's root: the ledger was rewritten")]
    Rewritten { size: u64 },
}

/// Recomputes the Merkle root of a ledger's first `checkpoint.size`
/// receipts, leaf by leaf, in O(log n) memory.
pub struct CheckpointMatcher {
    size: u64,
    root: [u8; 32],
    frontier: Frontier,
}

impl CheckpointMatcher {
    pub fn new(checkpoint: &Checkpoint) -> CheckpointMatcher {
        CheckpointMatcher {
            size: checkpoint.size,
            root: checkpoint.root,
            frontier: Frontier::new(),
        }
    }

    /// Feeds the next receipt's leaf bytes (its canonical JSON); leaves past
    /// the checkpoint are not its concern.
    pub fn push_leaf(&mut self, leaf: &[u8]) {
        if self.frontier.size() < self.size {
            // A Frontier below u64::MAX leaves always has room.
            let _ = self.frontier.push(leaf_hash(leaf));
        }
    }

    pub fn finish(self) -> Result<(), CheckpointMismatch> {
        if self.frontier.size() < self.size {
            return Err(CheckpointMismatch::Truncated {
                held: self.frontier.size(),
                size: self.size,
            });
        }
        if self.frontier.root() != self.root {
            return Err(CheckpointMismatch::Rewritten { size: self.size });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::SignerKey;

    fn witness_key(seed: u8, name: &str) -> String {
        let signer = SignerKey::new(
            name,
            crate::note::KeyType::CosignatureV1,
            crate::keys::SigningKey::from_bytes(&[seed; 32]),
        )
        .unwrap();
        signer.verifier_key().to_string()
    }

    #[test]
    fn quorum_defaults_to_every_witness_and_is_bounded() {
        let log = SignerKey::new(
            "example.com/log",
            crate::note::KeyType::Ed25519,
            crate::keys::SigningKey::from_bytes(&[1; 32]),
        )
        .unwrap()
        .verifier_key()
        .to_string();
        let witnesses = vec![witness_key(2, "w.example/a"), witness_key(3, "w.example/b")];
        assert!(trust_policy_from_keys(&log, &witnesses, None).is_ok());
        assert!(trust_policy_from_keys(&log, &witnesses, Some(1)).is_ok());
        assert!(trust_policy_from_keys(&log, &[], None).is_ok());
        for k in [0, 3] {
            assert_eq!(
                trust_policy_from_keys(&log, &witnesses, Some(k)).err(),
                Some(AuditInputError::Quorum {
                    quorum: k,
                    witnesses: 2
                })
            );
        }
        assert!(matches!(
            trust_policy_from_keys("not a key", &witnesses, None),
            Err(AuditInputError::Policy(_))
        ));
    }

    #[test]
    fn the_matcher_tells_truncation_from_rewriting() {
        let leaves: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 3]).collect();
        let mut tree = crate::merkle::MemoryTree::new();
        for leaf in &leaves[..7] {
            tree.push(leaf_hash(leaf));
        }
        let checkpoint = Checkpoint {
            origin: "o".into(),
            size: 7,
            root: crate::merkle::root(7, &tree).unwrap(),
            extensions: vec![],
        };
        let run = |leaves: &[Vec<u8>]| {
            let mut matcher = CheckpointMatcher::new(&checkpoint);
            leaves.iter().for_each(|l| matcher.push_leaf(l));
            matcher.finish()
        };
        assert_eq!(run(&leaves), Ok(()));
        assert_eq!(run(&leaves[..7]), Ok(()));
        assert_eq!(
            run(&leaves[..6]),
            Err(CheckpointMismatch::Truncated { held: 6, size: 7 })
        );
        let mut rewritten = leaves.clone();
        rewritten[3] = b"forged".to_vec();
        assert_eq!(
            run(&rewritten),
            Err(CheckpointMismatch::Rewritten { size: 7 })
        );
    }
}
