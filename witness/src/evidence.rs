//! Evidence: add-checkpoint requests that carried a valid signature from the
//! log but were refused (409 or 422). A log that signs two different roots
//! for one size, or a tree that does not extend one the witness cosigned,
//! has misbehaved, and its own signature is the proof; so the witness keeps
//! the whole request body, why it was refused, when, and the checkpoint it
//! had cosigned at that moment.
//!
//! Records are keyed by origin, checkpoint text and status, so replaying one
//! signed checkpoint (with any old size, proof or extra signature lines)
//! adds at most one record per status: the store grows with what the log
//! signed, never with what a client sends. This module owns the record and
//! its stored encoding (canonical JSON); it never decides what is refused.

use delego_spec::json::{parse, to_canonical_string, Map, Value};
use sha2::{Digest, Sha256};

/// One refused, validly signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The log's origin.
    pub origin: String,
    /// When it was received, in POSIX seconds (the witness's clock).
    pub received_at: u64,
    /// The HTTP status it was refused with (409 or 422).
    pub status: u16,
    /// Why, in one line.
    pub reason: String,
    /// The request body exactly as received.
    pub request: String,
    /// The note the witness had cosigned for this log at that moment, if any.
    pub witness_latest: Option<String>,
}

/// The key prefix shared by every record of one origin.
pub(crate) fn origin_prefix(origin: &str) -> [u8; 32] {
    Sha256::digest(origin.as_bytes()).into()
}

/// `SHA-256(origin) ‖ SHA-256(checkpoint text) ‖ status`.
pub(crate) fn evidence_key(origin: &str, checkpoint_text: &str, status: u16) -> Vec<u8> {
    let mut key = Vec::with_capacity(66);
    key.extend_from_slice(&origin_prefix(origin));
    key.extend_from_slice(&Sha256::digest(checkpoint_text.as_bytes()));
    key.extend_from_slice(&status.to_be_bytes());
    key
}

impl Evidence {
    /// The stored form: canonical JSON.
    pub fn to_json(&self) -> String {
        let mut map = Map::new();
        map.insert("origin".into(), self.origin.as_str().into());
        map.insert("received_at".into(), self.received_at.into());
        map.insert("status".into(), u64::from(self.status).into());
        map.insert("reason".into(), self.reason.as_str().into());
        map.insert("request".into(), self.request.as_str().into());
        map.insert(
            "witness_latest".into(),
            self.witness_latest.as_deref().into(),
        );
        to_canonical_string(&Value::Object(map))
    }

    /// Reads the stored form back; `None` if it is not a record.
    pub fn from_json(text: &str) -> Option<Evidence> {
        let value = parse(text).ok()?;
        let map = value.as_object()?;
        let string = |key: &str| map.get(key)?.as_str().map(str::to_owned);
        let integer = |key: &str| u64::try_from(map.get(key)?.as_i64()?).ok();
        let witness_latest = match map.get("witness_latest")? {
            Value::Null => None,
            other => Some(other.as_str()?.to_owned()),
        };
        Some(Evidence {
            origin: string("origin")?,
            received_at: integer("received_at")?,
            status: u16::try_from(integer("status")?).ok()?,
            reason: string("reason")?,
            request: string("request")?,
            witness_latest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_json() {
        for witness_latest in [None, Some("o\n1\nAAA=\n\n— o x\n".to_owned())] {
            let evidence = Evidence {
                origin: "example.com/log".into(),
                received_at: 1_700_000_000,
                status: 422,
                reason: "split view".into(),
                request: "old 1\n\nbody\n".into(),
                witness_latest,
            };
            assert_eq!(Evidence::from_json(&evidence.to_json()), Some(evidence));
        }
        assert_eq!(Evidence::from_json("{}"), None);
        assert_eq!(Evidence::from_json("not json"), None);
    }

    #[test]
    fn keys_group_by_origin_and_separate_statuses() {
        let a = evidence_key("o", "t", 409);
        assert!(a.starts_with(&origin_prefix("o")));
        assert_ne!(a, evidence_key("o", "t", 422));
        assert_ne!(a, evidence_key("o", "u", 409));
        assert!(!evidence_key("p", "t", 409).starts_with(&origin_prefix("o")));
    }
}
