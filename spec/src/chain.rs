//! Walking a receipt chain (spec §8.1) and checking a head anchor (§8.3).
//!
//! The verifier is fed a ledger line by line and never aborts: a malformed
//! line is a reported problem, because a verifier that throws is one an
//! attacker can silence by corrupting a byte. Problem strings are the
//! reference's, byte for byte, so that auditors can compare tools.
//!
//! Beyond the reference it also (a) reports a receipt whose `seq` is not the
//! next in sequence, since §8 requires contiguous seqs and a transparency log
//! indexes receipts by seq; and (b) accepts an anchor at seq S against a
//! longer ledger when receipt S still carries the anchored hash — a grown
//! ledger is not a rollback (the reference fails as soon as the ledger grows).

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, VerifyingKey};

/// Signatures checked together; problems are reported in ledger order once
/// a batch is settled.
const SIGNATURE_BATCH: usize = 256;

/// One line's problems, held until its signature (if any) is settled.
struct Slot {
    place: String,
    /// Content and link problems, reported before the signature's.
    before: Vec<String>,
    signature: SignatureCheck,
    /// Problems reported after the signature's (the sequence check).
    after: Vec<String>,
}

enum SignatureCheck {
    /// Not a receipt with a signature to check (e.g. a corrupt line).
    None,
    /// Unreadable, so bad without checking.
    Bad,
    /// To be verified in the next batch.
    Deferred {
        entry_hash: String,
        signature: Signature,
    },
}

use crate::hash::sha256_hex;
use crate::json::{
    parse, python_eq, python_repr, python_str, to_canonical_string, Map, Number, Value,
};
use crate::receipt::{parse_signature_hex, verify_entry_signatures, GENESIS, PAYLOAD_FIELDS};
use crate::text::python_splitlines;

/// An externally held commitment to the chain's head: `(seq, entry_hash)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadAnchor {
    pub seq: u64,
    pub entry_hash: String,
}

/// An anchor string that is not `SEQ:ENTRY_HASH`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected SEQ:ENTRY_HASH, e.g. 41:9f3c…")]
pub struct AnchorParseError;

impl FromStr for HeadAnchor {
    type Err = AnchorParseError;

    /// Parses `SEQ:ENTRY_HASH` (surrounding whitespace ignored, as the
    /// reference's anchor file reader strips it).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (seq, hash) = text.trim().split_once(':').ok_or(AnchorParseError)?;
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) || hash.is_empty() {
            return Err(AnchorParseError);
        }
        Ok(HeadAnchor {
            seq: seq.parse().map_err(|_| AnchorParseError)?,
            entry_hash: hash.to_owned(),
        })
    }
}

impl fmt::Display for HeadAnchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.entry_hash)
    }
}

/// What the anchor check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorStatus {
    /// No anchor was given: truncation of the newest receipts cannot be
    /// ruled out (§8.3).
    NotChecked,
    /// The ledger's last receipt is the anchored one.
    MatchesHead,
    /// The anchored receipt is present and unchanged, and the ledger has
    /// grown past it.
    MatchesAncestor,
    /// The anchor does not match (the problem list says how).
    Mismatch,
}

/// The result of walking a chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainReport {
    /// Seqs of the receipts that had every signed field, in ledger order.
    pub seqs: Vec<Value>,
    /// The last complete receipt's `(seq, entry_hash)`, as found.
    pub head: Option<(Value, Value)>,
    /// Every problem, in the order found; empty means the chain is valid.
    pub problems: Vec<String>,
    pub anchor: AnchorStatus,
}

impl ChainReport {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// The head as an anchor, when it is a well-formed `(seq, hash)`.
    pub fn head_anchor(&self) -> Option<HeadAnchor> {
        match &self.head {
            Some((Value::Number(Number::Int(seq)), Value::String(hash))) => Some(HeadAnchor {
                seq: seq.as_u64()?,
                entry_hash: hash.clone(),
            }),
            _ => None,
        }
    }
}

/// Incremental chain verifier: feed lines with [`ChainVerifier::push_line`]
/// (or whole text with [`ChainVerifier::push_text`]), then [`finish`].
///
/// [`finish`]: ChainVerifier::finish
pub struct ChainVerifier<'k> {
    key: &'k VerifyingKey,
    line_number: usize,
    /// The expected `prev_hash` of the next receipt (Python `None` → `Null`).
    prev: Value,
    /// The seq the next receipt should carry; unknown after a line whose
    /// seq could not be read, so one corrupt line is reported once.
    next_seq: Option<u64>,
    seqs: Vec<Value>,
    last: Option<(Value, Value)>,
    anchor: Option<HeadAnchor>,
    /// The entry hash found at the anchored seq, if any.
    hash_at_anchor: Option<Value>,
    /// Lines whose problems wait for their batch's signatures.
    slots: Vec<Slot>,
    deferred: usize,
    problems: Vec<String>,
}

impl<'k> ChainVerifier<'k> {
    /// A verifier that will check against `anchor` if given.
    pub fn new(key: &'k VerifyingKey, anchor: Option<HeadAnchor>) -> Self {
        ChainVerifier {
            key,
            line_number: 0,
            prev: Value::String(GENESIS.to_owned()),
            next_seq: Some(0),
            seqs: Vec::new(),
            last: None,
            anchor,
            hash_at_anchor: None,
            slots: Vec::new(),
            deferred: 0,
            problems: Vec::new(),
        }
    }

    /// Feeds a block of text, split into lines as Python's `splitlines()`
    /// splits it. Blocks must end on a line boundary.
    pub fn push_text(&mut self, text: &str) {
        for line in python_splitlines(text) {
            self.push_line(line);
        }
    }

    /// Feeds one line (without its terminator). Blank lines are skipped but
    /// counted, so `line N` numbers match the reference's.
    pub fn push_line(&mut self, line: &str) {
        let line_number = self.line_number;
        self.line_number += 1;
        if crate::text::python_strip(line).is_empty() {
            return;
        }
        let Ok(entry) = parse(line) else {
            self.report(format!("line {line_number}: unparseable receipt (corrupt)"));
            self.prev = Value::Null;
            self.next_seq = None;
            return;
        };
        let object = entry.as_object();
        let place = match object.and_then(|o| o.get("seq")) {
            Some(seq) => format!("seq {}", python_str(seq)),
            None => format!("line {line_number}"),
        };
        let Some(object) = object.filter(|o| PAYLOAD_FIELDS.iter().all(|k| o.contains_key(*k)))
        else {
            let missing: Vec<Value> = PAYLOAD_FIELDS
                .iter()
                .filter(|k| !object.is_some_and(|o| o.contains_key(**k)))
                .map(|k| Value::from(*k))
                .collect();
            self.report(format!(
                "{place}: missing field(s) {} (tampered)",
                python_repr(&Value::Array(missing))
            ));
            self.prev = object
                .and_then(|o| o.get("entry_hash"))
                .cloned()
                .unwrap_or(Value::Null);
            self.next_seq = object
                .and_then(|o| o.get("seq"))
                .and_then(seq_number)
                .map(|seq| seq.saturating_add(1));
            return;
        };
        self.check_receipt(object, &place);
    }

    /// Records a problem that involves no signature, in order.
    fn report(&mut self, problem: String) {
        self.slots.push(Slot {
            place: String::new(),
            before: vec![problem],
            signature: SignatureCheck::None,
            after: Vec::new(),
        });
    }

    fn check_receipt(&mut self, object: &Map, place: &str) {
        let payload: Map = PAYLOAD_FIELDS
            .iter()
            .filter_map(|k| object.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        let entry_hash = object.get("entry_hash").cloned().unwrap_or(Value::Null);
        let recomputed = sha256_hex(&to_canonical_string(&Value::Object(payload)));
        let mut before = Vec::new();
        if entry_hash.as_str() != Some(recomputed.as_str()) {
            before.push(format!("{place}: content hash mismatch (tampered)"));
        }
        let prev_hash = object.get("prev_hash").cloned().unwrap_or(Value::Null);
        if !python_eq(&prev_hash, &self.prev) {
            before.push(format!("{place}: broken chain link"));
        }
        let signature = match (entry_hash.as_str(), object.get("signature")) {
            (Some(hash), Some(Value::String(hex))) => match parse_signature_hex(hex) {
                Some(signature) => SignatureCheck::Deferred {
                    entry_hash: hash.to_owned(),
                    signature,
                },
                None => SignatureCheck::Bad,
            },
            _ => SignatureCheck::Bad,
        };
        let seq = object.get("seq").cloned().unwrap_or(Value::Null);
        let mut after = Vec::new();
        if let Some(expected) = self.next_seq {
            if !python_eq(&seq, &Value::from(expected)) {
                after.push(format!(
                    "{place}: out of sequence (expected seq {expected})"
                ));
            }
        }
        // Resynchronise on the seq found, so one gap is reported once.
        self.next_seq = seq_number(&seq).map(|n| n.saturating_add(1));
        if let Some(anchor) = &self.anchor {
            if python_eq(&seq, &Value::from(anchor.seq)) {
                self.hash_at_anchor = Some(entry_hash.clone());
            }
        }
        self.seqs.push(seq.clone());
        self.prev = entry_hash.clone();
        self.last = Some((seq, entry_hash));
        if matches!(signature, SignatureCheck::Deferred { .. }) {
            self.deferred += 1;
        }
        self.slots.push(Slot {
            place: place.to_owned(),
            before,
            signature,
            after,
        });
        if self.deferred >= SIGNATURE_BATCH {
            self.settle();
        }
    }

    /// Verifies the deferred signatures and reports every held problem in
    /// ledger order.
    fn settle(&mut self) {
        let items: Vec<(&str, Signature)> = self
            .slots
            .iter()
            .filter_map(|slot| match &slot.signature {
                SignatureCheck::Deferred {
                    entry_hash,
                    signature,
                } => Some((entry_hash.as_str(), *signature)),
                _ => None,
            })
            .collect();
        let mut verdicts = verify_entry_signatures(self.key, &items).into_iter();
        for slot in std::mem::take(&mut self.slots) {
            self.problems.extend(slot.before);
            let bad = match slot.signature {
                SignatureCheck::None => false,
                SignatureCheck::Bad => true,
                SignatureCheck::Deferred { .. } => !verdicts.next().unwrap_or(false),
            };
            if bad {
                self.problems.push(format!("{}: bad signature", slot.place));
            }
            self.problems.extend(slot.after);
        }
        self.deferred = 0;
    }

    /// Concludes the walk, applying the anchor check if one was given.
    pub fn finish(mut self) -> ChainReport {
        self.settle();
        let status = match self.anchor.take() {
            None => AnchorStatus::NotChecked,
            Some(anchor) => self.check_anchor(&anchor),
        };
        ChainReport {
            seqs: self.seqs,
            head: self.last,
            problems: self.problems,
            anchor: status,
        }
    }

    fn check_anchor(&mut self, anchor: &HeadAnchor) -> AnchorStatus {
        let anchored_hash = Value::from(anchor.entry_hash.as_str());
        let anchored_seq = Value::from(anchor.seq);
        let (last_seq, last_hash) = match &self.last {
            Some((seq, hash)) => (seq.clone(), hash.clone()),
            None => (Value::Null, Value::Null),
        };
        if python_eq(&last_seq, &anchored_seq) && python_eq(&last_hash, &anchored_hash) {
            return AnchorStatus::MatchesHead;
        }
        let found_at_seq = self.hash_at_anchor.take();
        let short: String = anchor.entry_hash.chars().take(12).collect();
        let grown = seq_number(&last_seq).is_some_and(|last| last > anchor.seq);
        match found_at_seq {
            Some(hash) if grown && python_eq(&hash, &anchored_hash) => {
                AnchorStatus::MatchesAncestor
            }
            Some(hash) if grown => {
                let found: String = python_str(&hash).chars().take(12).collect();
                self.problems.push(format!(
                    "head mismatch: expected seq {} ({short}…), found seq {} with entry_hash {found}… — ledger rewritten",
                    anchor.seq, anchor.seq
                ));
                AnchorStatus::Mismatch
            }
            _ => {
                let found = if self.last.is_some() {
                    format!("seq {}", python_str(&last_seq))
                } else {
                    "empty ledger".to_owned()
                };
                self.problems.push(format!(
                    "head mismatch: expected seq {} ({short}…), found {found} — ledger truncated or rolled back",
                    anchor.seq
                ));
                AnchorStatus::Mismatch
            }
        }
    }
}

/// Verifies a whole ledger text in one call.
pub fn verify_chain(text: &str, key: &VerifyingKey, anchor: Option<HeadAnchor>) -> ChainReport {
    let mut verifier = ChainVerifier::new(key, anchor);
    verifier.push_text(text);
    verifier.finish()
}

/// A seq as a non-negative integer (Python would also equate `5.0` and
/// `true`, but such a receipt already fails elsewhere).
fn seq_number(seq: &Value) -> Option<u64> {
    match seq {
        Value::Number(Number::Int(i)) => i.as_u64(),
        _ => None,
    }
}

/// Chains and signs `payloads` in order from `prev_hash`, renumbering them
/// from `first_seq`: each gets the previous entry hash, then is signed.
///
/// This is what anyone holding the ledger key can do to any ledger — cut,
/// reorder or rewrite receipts and produce a chain that verifies — which is
/// why a hash chain alone proves nothing against the key's owner (spec
/// §8.3), and why delego anchors ledgers in a witnessed log.
pub fn sign_chain(
    payloads: impl IntoIterator<Item = crate::receipt::ReceiptPayload>,
    first_seq: u64,
    prev_hash: &str,
    key: &crate::keys::SigningKey,
) -> Vec<crate::receipt::Receipt> {
    let mut prev = prev_hash.to_owned();
    payloads
        .into_iter()
        .zip(first_seq..)
        .map(|(mut payload, seq)| {
            payload.seq = seq;
            payload.prev_hash = std::mem::take(&mut prev);
            let receipt = payload.sign(key);
            prev = receipt.entry_hash.clone();
            receipt
        })
        .collect()
}

#[cfg(test)]
mod sign_chain_tests {
    use super::*;
    use crate::keys::SigningKey;
    use crate::receipt::{Outcome, Phase, ReceiptPayload};

    fn payload(seq: u64) -> ReceiptPayload {
        ReceiptPayload {
            seq,
            ts: "2026-11-22T00:00:00+00:00".into(),
            phase: Phase::Decision,
            outcome: Outcome::Deny,
            rule: None,
            reasons: vec![format!("r{seq}")],
            intent_hash: "0".repeat(64),
            action_fingerprint: "1".repeat(64),
            action_summary: "GET example.com/".into(),
            approval_id: None,
            prev_hash: String::new(),
        }
    }

    /// A ledger with a receipt cut out and the rest re-signed verifies as a
    /// chain: exactly the attack a witnessed checkpoint exists to catch.
    #[test]
    fn a_cut_and_resigned_ledger_still_verifies_as_a_chain() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let all = sign_chain((0..5).map(payload), 0, GENESIS, &key);
        let cut = sign_chain(
            all.iter()
                .filter(|r| r.payload.seq != 2)
                .map(|r| r.payload.clone()),
            0,
            GENESIS,
            &key,
        );
        assert_eq!(cut.len(), 4);
        assert_eq!(cut[2].payload.reasons, ["r3"]);
        assert_eq!(cut[2].payload.seq, 2);
        let text: String = cut.iter().map(|r| r.to_reference_line() + "\n").collect();
        let report = verify_chain(&text, &key.verifying_key(), None);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
}
