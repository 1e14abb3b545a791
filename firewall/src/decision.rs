//! The firewall's answer to a proposal or a release request, with the
//! reference's keys.

use delego_spec::json::{Map, Value};
use delego_spec::Outcome;

/// What the agent is told.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub outcome: Outcome,
    pub rule: Option<String>,
    pub reasons: Vec<String>,
    pub intent_hash: String,
    pub action_fingerprint: String,
    pub approval_id: Option<String>,
    /// Whether the broker executed the action (its receipt is durable).
    pub executed: bool,
    /// The broker's result, when it executed.
    pub result: Option<Value>,
    /// The §9 authorization token, when minting is on and the outcome allows.
    pub token: Option<String>,
    /// The seq of the receipt this answer wrote (none for a resolve that
    /// is still awaiting a human). Not part of the reference's keys.
    pub receipt_seq: Option<u64>,
}

impl Decision {
    /// The decision as the reference's daemon and MCP server return it.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("outcome".into(), self.outcome.as_str().into());
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
        m.insert("approval_id".into(), self.approval_id.clone().into());
        m.insert("executed".into(), self.executed.into());
        m.insert("result".into(), self.result.clone().unwrap_or(Value::Null));
        m.insert("token".into(), self.token.clone().into());
        Value::Object(m)
    }
}
