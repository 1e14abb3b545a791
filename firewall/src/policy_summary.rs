//! The policy in force as JSON, in the reference's summary shape:
//! `{version, default, forbidden: [{name, match}], rules: [{name, decision,
//! match, constraints}]}`. Served by `GET /v1/policy` and the MCP tool
//! `delego_show_policy`, so both say the same thing.
//!
//! Built from the validated model, not the file: it shows what the engine
//! enforces (a file edited after start-up is not in force). It never
//! includes anything the model does not hold, and adds the §7.2 routing keys
//! of a rule only when the policy sets them.

use delego_spec::json::{Map, Value};
use delego_spec::policy::{Constraints, Match, Policy, Rule};

/// The summary of `policy`.
pub fn policy_summary(policy: &Policy) -> Value {
    let mut m = Map::new();
    m.insert("version".into(), policy.version.into());
    m.insert("default".into(), policy.default.as_str().into());
    let forbidden = policy
        .forbidden
        .iter()
        .map(|f| {
            let mut entry = Map::new();
            entry.insert("name".into(), f.name.as_str().into());
            entry.insert("match".into(), match_value(&f.matcher));
            Value::Object(entry)
        })
        .collect();
    m.insert("forbidden".into(), Value::Array(forbidden));
    m.insert(
        "rules".into(),
        Value::Array(policy.rules.iter().map(rule_value).collect()),
    );
    Value::Object(m)
}

fn rule_value(rule: &Rule) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), rule.name.as_str().into());
    m.insert("decision".into(), rule.decision.outcome().as_str().into());
    m.insert("match".into(), match_value(&rule.matcher));
    m.insert("constraints".into(), constraints_value(&rule.constraints));
    let routing = &rule.approval;
    if let Some(reason) = &routing.reason {
        m.insert("reason".into(), reason.as_str().into());
    }
    if routing.required_approvers > 1 {
        m.insert(
            "required_approvers".into(),
            u64::from(routing.required_approvers).into(),
        );
    }
    if let Some(seconds) = routing.expires_after_seconds {
        m.insert("expires_after".into(), seconds.into());
    }
    Value::Object(m)
}

/// The match as written: a single method as a string, several as a list.
fn match_value(matcher: &Match) -> Value {
    let mut m = Map::new();
    match matcher.method.as_deref() {
        None => {}
        Some([one]) => {
            m.insert("method".into(), one.as_str().into());
        }
        Some(many) => {
            m.insert(
                "method".into(),
                Value::Array(many.iter().map(|s| s.as_str().into()).collect()),
            );
        }
    }
    let text = [
        ("host", &matcher.host),
        ("path", &matcher.path),
        ("path_contains", &matcher.path_contains),
    ];
    for (key, value) in text {
        if let Some(value) = value {
            m.insert(key.into(), value.as_str().into());
        }
    }
    Value::Object(m)
}

fn constraints_value(c: &Constraints) -> Value {
    let mut m = Map::new();
    if let Some(amount) = &c.amount {
        let mut a = Map::new();
        a.insert("field".into(), amount.field.as_str().into());
        if let Some(max) = &amount.max {
            a.insert("max".into(), Value::Number(max.clone()));
        }
        if let Some(currency) = &amount.currency {
            a.insert("currency".into(), currency.as_str().into());
        }
        m.insert("amount".into(), Value::Object(a));
    }
    if let Some(list) = &c.allow_list {
        let mut a = Map::new();
        a.insert("field".into(), list.field.as_str().into());
        a.insert("in".into(), Value::Array(list.allowed.clone()));
        m.insert("allow_list".into(), Value::Object(a));
    }
    if let Some(limit) = &c.rate_limit {
        let mut a = Map::new();
        a.insert("max".into(), limit.max.into());
        a.insert("per".into(), limit.per.as_str().into());
        m.insert("rate_limit".into(), Value::Object(a));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_file::load_policy;
    use delego_spec::json::{parse, to_canonical_string};

    #[test]
    fn the_summary_has_the_reference_shape() {
        let text = "version: 1\ndefault: deny\nforbidden:\n  - name: no-deletes\n    match: {method: POST, path: /delete}\nrules:\n  - name: orders\n    decision: needs_approval\n    match: {method: [GET, POST], host: api.example.com, path: /orders}\n    constraints:\n      amount: {field: amount, max: 5000, currency: USD}\n      allow_list: {field: destination, in: [internal]}\n      rate_limit: {max: 5, per: hour}\n  - name: read\n    decision: allow\n    match: {path_contains: /accounts}\n";
        let policy = load_policy(text, "p.yaml").unwrap();
        let expected = parse(
            r#"{"default":"deny","forbidden":[{"match":{"method":"POST","path":"/delete"},"name":"no-deletes"}],
            "rules":[{"constraints":{"allow_list":{"field":"destination","in":["internal"]},"amount":{"currency":"USD","field":"amount","max":5000},"rate_limit":{"max":5,"per":"hour"}},
            "decision":"needs_approval","match":{"host":"api.example.com","method":["GET","POST"],"path":"/orders"},"name":"orders"},
            {"constraints":{},"decision":"allow","match":{"path_contains":"/accounts"},"name":"read"}],"version":1}"#,
        )
        .unwrap();
        assert_eq!(
            to_canonical_string(&policy_summary(policy.policy())),
            to_canonical_string(&expected)
        );
    }

    #[test]
    fn approval_routing_appears_only_when_set() {
        let text = "version: 1\ndefault: deny\nrules:\n  - name: r\n    decision: needs_approval\n    match: {host: h}\n    reason: two people\n    required_approvers: 2\n    expires_after: 600\n";
        let policy = load_policy(text, "p.yaml").unwrap();
        let summary = policy_summary(policy.policy());
        let rule = &summary.as_object().unwrap()["rules"].as_array().unwrap()[0];
        let rule = rule.as_object().unwrap();
        assert_eq!(rule["reason"].as_str(), Some("two people"));
        assert_eq!(rule["required_approvers"].as_i64(), Some(2));
        assert_eq!(rule["expires_after"].as_i64(), Some(600));
    }
}
