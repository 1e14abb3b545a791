//! Receipts (spec §8): the eleven-field signed payload, its `entry_hash`, the
//! Ed25519 signature over that hash's hex text, and the two serialisations a
//! receipt has: canonical JSON (the transparency log's leaf data) and the
//! reference's JSONL ledger line.
//!
//! This module builds and checks single receipts; walking a chain is
//! [`crate::chain`]'s job.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::hash::sha256_hex;
use crate::json::{write_canonical_str, write_python_default, Map, Value};

/// `prev_hash` of the first receipt.
pub const GENESIS: &str = "GENESIS";

/// The signed payload's field names, in the reference's (insertion) order.
pub const PAYLOAD_FIELDS: [&str; 11] = [
    "seq",
    "ts",
    "phase",
    "outcome",
    "rule",
    "reasons",
    "intent_hash",
    "action_fingerprint",
    "action_summary",
    "approval_id",
    "prev_hash",
];

/// Whether a receipt records a decision or an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Decision,
    Execution,
}

/// The three outcomes of spec §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allow,
    Deny,
    NeedsApproval,
}

/// A wire string that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid {1}")]
pub struct UnknownVariant(pub String, pub &'static str);

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Decision => "decision",
            Phase::Execution => "execution",
        }
    }
}

impl FromStr for Phase {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "decision" => Ok(Phase::Decision),
            "execution" => Ok(Phase::Execution),
            other => Err(UnknownVariant(other.to_owned(), "phase")),
        }
    }
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::NeedsApproval => "needs_approval",
        }
    }
}

impl FromStr for Outcome {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(Outcome::Allow),
            "deny" => Ok(Outcome::Deny),
            "needs_approval" => Ok(Outcome::NeedsApproval),
            other => Err(UnknownVariant(other.to_owned(), "outcome")),
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The eleven signed fields of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptPayload {
    pub seq: u64,
    /// ISO-8601 UTC timestamp, as the writer formatted it.
    pub ts: String,
    pub phase: Phase,
    pub outcome: Outcome,
    pub rule: Option<String>,
    pub reasons: Vec<String>,
    pub intent_hash: String,
    pub action_fingerprint: String,
    pub action_summary: String,
    pub approval_id: Option<String>,
    /// The previous receipt's `entry_hash`, or [`GENESIS`].
    pub prev_hash: String,
}

fn write_opt_str(value: Option<&str>, out: &mut String) {
    match value {
        Some(s) => write_canonical_str(s, out),
        None => out.push_str("null"),
    }
}

impl ReceiptPayload {
    /// The payload's canonical JSON (keys in code-point order).
    pub fn canonical_json(&self) -> String {
        let mut out = String::with_capacity(512);
        self.write_canonical(None, &mut out);
        out
    }

    /// Writes the payload in canonical form; with `derived`, also the
    /// `entry_hash` and `signature` members, each where it sorts.
    fn write_canonical(&self, derived: Option<(&str, &str)>, out: &mut String) {
        out.push_str("{\"action_fingerprint\":");
        write_canonical_str(&self.action_fingerprint, out);
        out.push_str(",\"action_summary\":");
        write_canonical_str(&self.action_summary, out);
        out.push_str(",\"approval_id\":");
        write_opt_str(self.approval_id.as_deref(), out);
        if let Some((entry_hash, _)) = derived {
            out.push_str(",\"entry_hash\":");
            write_canonical_str(entry_hash, out);
        }
        out.push_str(",\"intent_hash\":");
        write_canonical_str(&self.intent_hash, out);
        out.push_str(",\"outcome\":");
        write_canonical_str(self.outcome.as_str(), out);
        out.push_str(",\"phase\":");
        write_canonical_str(self.phase.as_str(), out);
        out.push_str(",\"prev_hash\":");
        write_canonical_str(&self.prev_hash, out);
        out.push_str(",\"reasons\":[");
        for (i, reason) in self.reasons.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_canonical_str(reason, out);
        }
        out.push_str("],\"rule\":");
        write_opt_str(self.rule.as_deref(), out);
        out.push_str(",\"seq\":");
        out.push_str(&self.seq.to_string());
        if let Some((_, signature)) = derived {
            out.push_str(",\"signature\":");
            write_canonical_str(signature, out);
        }
        out.push_str(",\"ts\":");
        write_canonical_str(&self.ts, out);
        out.push('}');
    }

    /// The length of the signed receipt's canonical JSON (the log leaf),
    /// known before signing: `entry_hash` (64 hex) and `signature` (128 hex)
    /// add a fixed number of bytes.
    pub fn signed_canonical_len(&self) -> usize {
        // `,"entry_hash":"` + 64 + `"` and `,"signature":"` + 128 + `"`.
        self.canonical_json().len() + 80 + 143
    }

    /// `sha256(canonical_json(payload))`.
    pub fn entry_hash(&self) -> String {
        sha256_hex(&self.canonical_json())
    }

    /// Hashes and signs the payload.
    pub fn sign(self, key: &SigningKey) -> Receipt {
        self.hash().sign(key)
    }

    /// Hashes the payload. The chain needs only the hash (the next receipt's
    /// `prev_hash`), so a batch can be chained first and signed afterwards,
    /// in parallel.
    pub fn hash(self) -> HashedPayload {
        let entry_hash = self.entry_hash();
        HashedPayload {
            payload: self,
            entry_hash,
        }
    }

    /// The payload as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("seq".into(), self.seq.into());
        map.insert("ts".into(), self.ts.clone().into());
        map.insert("phase".into(), self.phase.as_str().into());
        map.insert("outcome".into(), self.outcome.as_str().into());
        map.insert("rule".into(), self.rule.clone().into());
        map.insert(
            "reasons".into(),
            Value::Array(self.reasons.iter().map(|r| r.as_str().into()).collect()),
        );
        map.insert("intent_hash".into(), self.intent_hash.clone().into());
        map.insert(
            "action_fingerprint".into(),
            self.action_fingerprint.clone().into(),
        );
        map.insert("action_summary".into(), self.action_summary.clone().into());
        map.insert("approval_id".into(), self.approval_id.clone().into());
        map.insert("prev_hash".into(), self.prev_hash.clone().into());
        Value::Object(map)
    }
}

/// A payload with its `entry_hash`, not yet signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashedPayload {
    pub payload: ReceiptPayload,
    pub entry_hash: String,
}

impl HashedPayload {
    /// Signs `entry_hash` (its hex text, as spec §8 says).
    pub fn sign(self, key: &SigningKey) -> Receipt {
        let signature = hex::encode(key.sign(self.entry_hash.as_bytes()).to_bytes());
        Receipt {
            payload: self.payload,
            entry_hash: self.entry_hash,
            signature,
        }
    }
}

/// A signed receipt: the payload plus its two derived fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub payload: ReceiptPayload,
    pub entry_hash: String,
    /// Lowercase hex of the 64-byte Ed25519 signature over `entry_hash`'s
    /// UTF-8 bytes.
    pub signature: String,
}

/// Why a JSON document is not a well-formed receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("a receipt must be a JSON object")]
    NotAnObject,
    #[error("missing field '{0}'")]
    MissingField(&'static str),
    #[error("field '{0}' has the wrong type")]
    WrongType(&'static str),
    #[error(transparent)]
    UnknownVariant(#[from] UnknownVariant),
}

/// A receipt that fails its own integrity checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptIntegrityError {
    #[error("content hash mismatch (tampered)")]
    ContentHash,
    #[error("bad signature")]
    Signature,
}

impl Receipt {
    /// The full receipt (13 fields) in canonical JSON: the transparency log's
    /// leaf data.
    pub fn canonical_json(&self) -> String {
        let mut out = String::with_capacity(700);
        self.payload
            .write_canonical(Some((&self.entry_hash, &self.signature)), &mut out);
        out
    }

    /// The reference's ledger line: `json.dumps(receipt)` with Python's
    /// default separators, ASCII escapes and the fields in payload order,
    /// then `entry_hash` and `signature`. No trailing newline.
    pub fn to_reference_line(&self) -> String {
        let p = &self.payload;
        let reasons = Value::Array(p.reasons.iter().map(|r| r.as_str().into()).collect());
        let members: [(&str, Value); 13] = [
            ("seq", p.seq.into()),
            ("ts", p.ts.as_str().into()),
            ("phase", p.phase.as_str().into()),
            ("outcome", p.outcome.as_str().into()),
            ("rule", p.rule.clone().into()),
            ("reasons", reasons),
            ("intent_hash", p.intent_hash.as_str().into()),
            ("action_fingerprint", p.action_fingerprint.as_str().into()),
            ("action_summary", p.action_summary.as_str().into()),
            ("approval_id", p.approval_id.clone().into()),
            ("prev_hash", p.prev_hash.as_str().into()),
            ("entry_hash", self.entry_hash.as_str().into()),
            ("signature", self.signature.as_str().into()),
        ];
        let mut out = String::with_capacity(900);
        out.push('{');
        for (i, (name, value)) in members.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push('"');
            out.push_str(name);
            out.push_str("\": ");
            write_python_default(value, &mut out);
        }
        out.push('}');
        out
    }

    /// Reads a well-formed receipt. Extra members (such as an unsigned 0.4
    /// `context`) are ignored, as §8.4 requires.
    pub fn from_value(value: &Value) -> Result<Receipt, ReceiptError> {
        let map = value.as_object().ok_or(ReceiptError::NotAnObject)?;
        let get = |name: &'static str| map.get(name).ok_or(ReceiptError::MissingField(name));
        let string = |name: &'static str| -> Result<String, ReceiptError> {
            get(name)?
                .as_str()
                .map(str::to_owned)
                .ok_or(ReceiptError::WrongType(name))
        };
        let opt_string = |name: &'static str| -> Result<Option<String>, ReceiptError> {
            match get(name)? {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                _ => Err(ReceiptError::WrongType(name)),
            }
        };
        let seq = match get("seq")? {
            Value::Number(crate::json::Number::Int(i)) => {
                i.as_u64().ok_or(ReceiptError::WrongType("seq"))?
            }
            _ => return Err(ReceiptError::WrongType("seq")),
        };
        let reasons = get("reasons")?
            .as_array()
            .ok_or(ReceiptError::WrongType("reasons"))?
            .iter()
            .map(|r| {
                r.as_str()
                    .map(str::to_owned)
                    .ok_or(ReceiptError::WrongType("reasons"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Receipt {
            payload: ReceiptPayload {
                seq,
                ts: string("ts")?,
                phase: string("phase")?.parse()?,
                outcome: string("outcome")?.parse()?,
                rule: opt_string("rule")?,
                reasons,
                intent_hash: string("intent_hash")?,
                action_fingerprint: string("action_fingerprint")?,
                action_summary: string("action_summary")?,
                approval_id: opt_string("approval_id")?,
                prev_hash: string("prev_hash")?,
            },
            entry_hash: string("entry_hash")?,
            signature: string("signature")?,
        })
    }

    /// Checks the content hash and the signature (not the chain link).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), ReceiptIntegrityError> {
        if self.payload.entry_hash() != self.entry_hash {
            return Err(ReceiptIntegrityError::ContentHash);
        }
        if verify_entry_signature(key, &self.entry_hash, &self.signature) {
            Ok(())
        } else {
            Err(ReceiptIntegrityError::Signature)
        }
    }
}

/// Parses a signature's hex as Python's `bytes.fromhex` reads it (either
/// case, ASCII whitespace allowed between bytes), so both verifiers accept
/// the same lines. `None` when it is not 64 bytes of hex.
pub fn parse_signature_hex(signature_hex: &str) -> Option<Signature> {
    Signature::from_slice(&python_fromhex(signature_hex)?).ok()
}

/// Verifies one hex signature over the UTF-8 bytes of `entry_hash`.
pub fn verify_entry_signature(key: &VerifyingKey, entry_hash: &str, signature_hex: &str) -> bool {
    parse_signature_hex(signature_hex)
        .is_some_and(|signature| verify_entry_signatures(key, &[(entry_hash, signature)])[0])
}

/// Verifies many signatures by one key over entry hashes, in batches.
///
/// Every signature is judged by the same (cofactored) equation whether it is
/// checked in a batch or alone: a batch that fails is re-checked one
/// signature at a time, as a batch of one, so a signature's verdict never
/// depends on its neighbours. Only the holder of the private key can produce
/// a signature on which cofactored and cofactorless checks disagree.
pub fn verify_entry_signatures(key: &VerifyingKey, items: &[(&str, Signature)]) -> Vec<bool> {
    let batch = |items: &[(&str, Signature)]| -> bool {
        let messages: Vec<&[u8]> = items.iter().map(|(hash, _)| hash.as_bytes()).collect();
        let signatures: Vec<Signature> = items.iter().map(|(_, sig)| *sig).collect();
        let keys = vec![*key; items.len()];
        ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
    };
    if items.is_empty() {
        return Vec::new();
    }
    if items.len() > 1 && batch(items) {
        return vec![true; items.len()];
    }
    items
        .iter()
        .map(|item| batch(std::slice::from_ref(item)))
        .collect()
}

/// Python's `bytes.fromhex`: pairs of hex digits, ASCII whitespace skipped
/// between pairs (never inside one).
fn python_fromhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 2);
    let mut i = 0;
    while i < bytes.len() {
        if matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            i += 1;
            continue;
        }
        let hi = (*bytes.get(i)? as char).to_digit(16)?;
        let lo = (*bytes.get(i + 1)? as char).to_digit(16)?;
        out.push((hi * 16 + lo) as u8);
        i += 2;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn sample() -> ReceiptPayload {
        ReceiptPayload {
            seq: 0,
            ts: "2026-06-03T20:21:56.023090+00:00".into(),
            phase: Phase::Execution,
            outcome: Outcome::Allow,
            rule: Some("read-accounts".into()),
            reasons: vec![
                "rate_limit: 1/50 per hour".into(),
                "executed via broker".into(),
            ],
            intent_hash: "ec949034e985a92f3bcd9f9ab8313a80005157698f748f2b8df6163c04af4619".into(),
            action_fingerprint: "497e02606ea157ca8ca885cbbd33d1a8a70c40fdaf6f15c5154d858f870b8b61"
                .into(),
            action_summary: "GET api.example.com/accounts/me".into(),
            approval_id: None,
            prev_hash: GENESIS.into(),
        }
    }

    #[test]
    fn reproduces_the_ctk_entry_hash() {
        // seq 0 of ctk/vectors/chain.jsonl
        assert_eq!(
            sample().entry_hash(),
            "3e541bb3eab15ec751285bfa1fd1ebd768dd3e69fb61af9e6f9c9b8609c764b1"
        );
    }

    #[test]
    fn serialisations_agree_with_the_generic_writers() {
        let receipt = sample().sign(&SigningKey::from_bytes(&[1u8; 32]));
        let line = receipt.to_reference_line();
        let parsed = parse(&line).unwrap();
        assert_eq!(Receipt::from_value(&parsed).unwrap(), receipt);
        assert_eq!(
            receipt.canonical_json(),
            crate::json::to_canonical_string(&parsed)
        );
        assert_eq!(
            receipt.payload.canonical_json(),
            crate::json::to_canonical_string(&receipt.payload.to_value())
        );
        assert!(line.starts_with("{\"seq\": 0, \"ts\": "));
    }

    #[test]
    fn signed_length_is_known_before_signing() {
        let payload = sample();
        let expected = payload.signed_canonical_len();
        assert_eq!(
            payload
                .sign(&SigningKey::from_bytes(&[1u8; 32]))
                .canonical_json()
                .len(),
            expected
        );
    }

    #[test]
    fn signature_checks() {
        let key = SigningKey::from_bytes(&[1u8; 32]);
        let receipt = sample().sign(&key);
        assert_eq!(receipt.verify(&key.verifying_key()), Ok(()));
        let mut tampered = receipt.clone();
        tampered.payload.reasons.push("x".into());
        assert_eq!(
            tampered.verify(&key.verifying_key()),
            Err(ReceiptIntegrityError::ContentHash)
        );
        let spaced: String = receipt
            .signature
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(verify_entry_signature(
            &key.verifying_key(),
            &receipt.entry_hash,
            &spaced
        ));
        assert!(!verify_entry_signature(
            &key.verifying_key(),
            &receipt.entry_hash,
            "zz"
        ));
    }
}
