//! A tool call's answer, in the reference's result shapes: a decision (with
//! a `note` on a broker refusal), `{"result": [...]}` for lists, the
//! `setup_required` payload for an uninitialised home, and a tool-level
//! error the agent can read for anything refused or failed.

use delego_firewall::api::keys::Caller;
use delego_firewall::approval::ApprovalRecord;
use delego_firewall::engine::is_broker_refusal;
use delego_spec::json::{to_canonical_string, Map, Value};
use delego_spec::Outcome;
use rmcp::model::{CallToolResult, ContentBlock};

use super::args::Call;
use super::backend::{BackendError, FirewallBackend};

/// What the agent is told to do about an uninitialised home.
const SETUP_FIX: &str = "Initialise the delego home once — `delego init` (or `delego init --home \
DIR`, or with DELEGO_HOME set) installs a starter policy and creates the signing keys — then call \
the tool again. delego never creates keys on first use.";

/// Runs `call` on `backend` and shapes the answer.
pub fn run(backend: &dyn FirewallBackend, call: Call, caller: Option<&Caller>) -> CallToolResult {
    let list_shaped = matches!(call, Call::AuditTail { .. } | Call::Pending);
    let answer = match call {
        Call::Propose(action) => backend.propose(action, caller).map(decision),
        Call::Resolve {
            approval_id,
            action,
        } => backend.resolve(&approval_id, action).map(decision),
        Call::AuditTail { lines } => backend.audit_tail(lines).map(Shaped::List),
        Call::Pending => backend
            .pending(caller)
            .map(|records| Shaped::List(records.iter().map(pending_entry).collect())),
        Call::ShowPolicy => backend.policy().map(Shaped::Object),
    };
    match answer {
        Ok(shaped) => success(shaped),
        Err(BackendError::SetupRequired(detail)) => {
            let mut payload = Map::new();
            payload.insert("error".into(), "setup_required".into());
            payload.insert("detail".into(), detail.into());
            payload.insert("fix".into(), SETUP_FIX.into());
            let payload = Value::Object(payload);
            success(if list_shaped {
                Shaped::Wrapped(payload)
            } else {
                Shaped::Object(payload)
            })
        }
        Err(BackendError::Failed(message)) => failure(message),
    }
}

/// A tool-level error the agent reads (not a protocol error).
pub fn failure(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// An answer in the reference's result shapes: an object as it is; a list
/// as `{"result": [...]}` with one text block per item; an object standing
/// in for a list (setup required) as `{"result": {...}}`.
enum Shaped {
    Object(Value),
    List(Vec<Value>),
    Wrapped(Value),
}

fn success(shaped: Shaped) -> CallToolResult {
    let (structured, blocks) = match shaped {
        Shaped::Object(value) => (value.clone(), vec![value]),
        Shaped::List(items) => (wrap(Value::Array(items.clone())), items),
        Shaped::Wrapped(value) => (wrap(value.clone()), vec![value]),
    };
    // The text is our canonical JSON (exact at any number size); the
    // structured copy goes through the SDK's JSON.
    let content = blocks
        .iter()
        .map(|v| ContentBlock::text(to_canonical_string(v)))
        .collect();
    let mut result = CallToolResult::success(content);
    result.structured_content = serde_json::from_str(&to_canonical_string(&structured)).ok();
    result
}

fn wrap(value: Value) -> Value {
    let mut m = Map::new();
    m.insert("result".into(), value);
    Value::Object(m)
}

/// A decision with the reference's keys; a broker refusal says so in a
/// `note`, as the reference's refusal payload does.
fn decision(mut value: Value) -> Shaped {
    if let Value::Object(m) = &mut value {
        // The API's extra key; the reference's decision has no such key.
        m.remove("receipt_seq");
        let refused = m.get("outcome").and_then(Value::as_str) == Some(Outcome::Deny.as_str())
            && m.get("executed") == Some(&Value::Bool(false))
            && m.get("reasons")
                .and_then(Value::as_array)
                .and_then(<[Value]>::last)
                .and_then(Value::as_str)
                .is_some_and(is_broker_refusal);
        if refused {
            m.insert(
                "note".into(),
                "the broker did not carry the action out (fail-closed); the refusal is a deny receipt in the audit ledger".into(),
            );
        }
    }
    Shaped::Object(value)
}

/// A pending approval as the reference lists it, plus the §7.2 reason and
/// expiry when the policy set them.
fn pending_entry(record: &ApprovalRecord) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), record.id.as_str().into());
    m.insert("summary".into(), record.summary.as_str().into());
    m.insert("instruction".into(), record.instruction.as_str().into());
    m.insert("rule".into(), record.rule.clone().into());
    m.insert(
        "action_fingerprint".into(),
        record.action_fingerprint.as_str().into(),
    );
    m.insert("created_at".into(), record.created_at.as_str().into());
    if let Some(reason) = &record.reason {
        m.insert("reason".into(), reason.as_str().into());
    }
    if let Some(expiry) = record.expires_micros {
        m.insert(
            "expires_at".into(),
            delego_firewall::time::format_utc(expiry).into(),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::super::backend::Answer;
    use super::*;
    use delego_firewall::api::keys::Role;
    use delego_spec::json::parse;
    use delego_spec::ProposedAction;

    /// Canned answers; records the caller it was given.
    struct Canned {
        answer: Result<Value, BackendError>,
        seen: std::sync::Mutex<Vec<Option<String>>>,
    }

    impl FirewallBackend for Canned {
        fn propose(&self, _: ProposedAction, caller: Option<&Caller>) -> Answer<Value> {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(caller.map(|c| c.name.clone()));
            }
            self.answer.clone()
        }
        fn resolve(&self, _: &str, _: ProposedAction) -> Answer<Value> {
            self.answer.clone()
        }
        fn audit_tail(&self, _: u64) -> Answer<Vec<Value>> {
            self.answer.clone().map(|v| vec![v.clone(), v])
        }
        fn pending(&self, _: Option<&Caller>) -> Answer<Vec<ApprovalRecord>> {
            self.answer.clone().map(|_| Vec::new())
        }
        fn policy(&self) -> Answer<Value> {
            self.answer.clone()
        }
    }

    fn canned(answer: Result<Value, BackendError>) -> Canned {
        Canned {
            answer,
            seen: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn structured(result: &CallToolResult) -> Value {
        parse(&result.structured_content.as_ref().unwrap().to_string()).unwrap()
    }

    fn propose_call() -> Call {
        Call::Propose(ProposedAction {
            instruction: "i".into(),
            method: "GET".into(),
            url: "https://h".into(),
            params: Map::new(),
        })
    }

    #[test]
    fn results_have_the_reference_shapes() {
        let decision = parse(
            r#"{"outcome":"deny","rule":"r","reasons":["matched","broker did not execute: no credential"],"intent_hash":"a","action_fingerprint":"b","approval_id":null,"executed":false,"result":null,"token":null,"receipt_seq":7}"#,
        )
        .unwrap();
        let agent = Caller {
            name: "agent-1".into(),
            role: Role::Agent,
        };
        let backend = canned(Ok(decision));
        let result = run(&backend, propose_call(), Some(&agent));
        assert_eq!(result.is_error, Some(false));
        let value = structured(&result);
        let m = value.as_object().unwrap();
        assert!(!m.contains_key("receipt_seq"));
        assert!(m["note"].as_str().unwrap().contains("fail-closed"));
        assert_eq!(backend.seen.lock().unwrap()[0].as_deref(), Some("agent-1"));

        // A list: wrapped in "result", one text block per item.
        let tail = run(&backend, Call::AuditTail { lines: 2 }, None);
        assert_eq!(tail.content.len(), 2);
        assert_eq!(
            structured(&tail).as_object().unwrap()["result"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let none = run(&backend, Call::Pending, None);
        assert!(none.content.is_empty());
        assert_eq!(to_canonical_string(&structured(&none)), r#"{"result":[]}"#);
    }

    #[test]
    fn setup_required_and_failures() {
        let backend = canned(Err(BackendError::SetupRequired("no policy".into())));
        let object = structured(&run(&backend, Call::ShowPolicy, None));
        assert_eq!(
            object.as_object().unwrap()["error"].as_str(),
            Some("setup_required")
        );
        assert_eq!(
            object.as_object().unwrap()["detail"].as_str(),
            Some("no policy")
        );
        let wrapped = structured(&run(&backend, Call::Pending, None));
        let inner = &wrapped.as_object().unwrap()["result"];
        assert_eq!(
            inner.as_object().unwrap()["error"].as_str(),
            Some("setup_required")
        );

        let backend = canned(Err(BackendError::Failed("store unavailable".into())));
        let failed = run(&backend, propose_call(), None);
        assert_eq!(failed.is_error, Some(true));
        assert!(failed.structured_content.is_none());
    }
}
