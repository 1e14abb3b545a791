//! In-flight executions: an authorised action handed to a broker that acts
//! outside the writer (a network gateway). The reservation is committed —
//! with the approval's `approved → consumed` move, when there is one —
//! before the broker is called, and settled by the execution receipt.
//!
//! So a crash between the two leaves a durable trace: on restart every
//! unsettled reservation becomes a `deny` execution receipt saying the outcome
//! is unknown, and the authorization it used is never released again. This
//! module owns the record and that receipt's wording; it never calls a broker
//! and never writes anything itself.

use delego_spec::json::{Map, Value};

/// The reason recorded when the firewall stopped while a broker ran.
pub const INTERRUPTED: &str = "execution interrupted: the firewall stopped before the broker's \
     result was recorded; the upstream request may have been sent, and the authorization is \
     spent";

/// An execution handed to a broker and not yet recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Unique among unsettled reservations (restarts settle them all).
    pub id: u64,
    pub rule: Option<String>,
    /// The decision's reasons; the execution receipt appends the result.
    pub reasons: Vec<String>,
    pub intent_hash: String,
    pub action_fingerprint: String,
    pub action_summary: String,
    pub approval_id: Option<String>,
    /// When it was authorised. It counts toward the rule's `rate_limit`
    /// from then on, so concurrent executions cannot exceed the cap.
    pub reserved_micros: i64,
}

impl Reservation {
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "id".into(),
            i64::try_from(self.id).unwrap_or(i64::MAX).into(),
        );
        m.insert("rule".into(), self.rule.clone().into());
        m.insert(
            "reasons".into(),
            Value::Array(self.reasons.iter().map(|r| r.as_str().into()).collect()),
        );
        m.insert("intent_hash".into(), self.intent_hash.as_str().into());
        m.insert(
            "action_fingerprint".into(),
            self.action_fingerprint.as_str().into(),
        );
        m.insert("action_summary".into(), self.action_summary.as_str().into());
        m.insert("approval_id".into(), self.approval_id.clone().into());
        m.insert("reserved_micros".into(), self.reserved_micros.into());
        Value::Object(m)
    }

    /// `None` when `value` is not a reservation this module wrote.
    pub fn from_value(value: &Value) -> Option<Reservation> {
        let m = value.as_object()?;
        let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
        let optional = |k: &str| match m.get(k)? {
            Value::Null => Some(None),
            v => v.as_str().map(|s| Some(s.to_owned())),
        };
        Some(Reservation {
            id: u64::try_from(m.get("id")?.as_i64()?).ok()?,
            rule: optional("rule")?,
            reasons: m
                .get("reasons")?
                .as_array()?
                .iter()
                .map(|r| r.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
            intent_hash: text("intent_hash")?,
            action_fingerprint: text("action_fingerprint")?,
            action_summary: text("action_summary")?,
            approval_id: optional("approval_id")?,
            reserved_micros: m.get("reserved_micros")?.as_i64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(approval_id: Option<&str>) -> Reservation {
        Reservation {
            id: 7,
            rule: Some("pay".into()),
            reasons: vec!["approved by alice".into()],
            intent_hash: "a".repeat(64),
            action_fingerprint: "b".repeat(64),
            action_summary: "POST api.example.com/pay {}".into(),
            approval_id: approval_id.map(str::to_owned),
            reserved_micros: 1_700_000_000_000_000,
        }
    }

    #[test]
    fn round_trips_through_json() {
        for record in [sample(None), sample(Some("apr_0123456789ab"))] {
            let text = delego_spec::json::to_canonical_string(&record.to_value());
            let back = delego_spec::json::parse(&text).ok();
            assert_eq!(
                back.as_ref().and_then(Reservation::from_value),
                Some(record)
            );
        }
    }

    #[test]
    fn refuses_what_it_did_not_write() {
        let mut value = sample(None).to_value();
        if let Value::Object(m) = &mut value {
            m.insert("reasons".into(), Value::Array(vec![Value::Null]));
        }
        assert_eq!(Reservation::from_value(&value), None);
        assert_eq!(Reservation::from_value(&Value::Null), None);
    }
}
