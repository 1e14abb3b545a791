//! How the CLI prints values the reference prints: decisions as one JSON
//! line with the reference's key order, and Python reprs in human output.

use delego_firewall::decision::Decision;
use delego_spec::json::{parse, write_python_default, Value};
use delego_spec::ProposedAction;

use anyhow::{bail, Context as _};

/// The decision as one line of JSON, keys in the reference's order.
pub fn decision_line(decision: &Decision) -> String {
    decision_line_of(&decision.to_value())
}

/// [`decision_line`] from a decision's JSON (as a server answers it).
pub fn decision_line_of(value: &Value) -> String {
    let map = value.as_object().cloned().unwrap_or_default();
    let order = [
        "outcome",
        "rule",
        "reasons",
        "intent_hash",
        "action_fingerprint",
        "approval_id",
        "executed",
        "result",
        "token",
    ];
    let mut out = String::from("{");
    for (i, key) in order.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!("\"{key}\": "));
        write_python_default(map.get(*key).unwrap_or(&Value::Null), &mut out);
    }
    out.push('}');
    out
}

/// Reads `--action`: inline JSON, or `@FILE`.
pub fn read_action(text: &str) -> anyhow::Result<ProposedAction> {
    let json = match text.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
        }
        None => text.to_owned(),
    };
    let value = match parse(&json) {
        Ok(value) => value,
        Err(e) => bail!("--action is not JSON: {e}"),
    };
    ProposedAction::from_value(&value).context("--action")
}
