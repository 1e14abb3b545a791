//! Fail-closed policy validation (spec §5.1).
//!
//! Problems come in two groups, in this order: first the reference's own
//! checks, in its order and words (so a policy refused by both tools is
//! refused with the same list); then type checks the reference leaves to the
//! optional `jsonschema` package, in that package's words and prefixed
//! `schema: <path>:` as the reference prints them. Either group refuses the
//! policy: a constraint that cannot be interpreted is never skipped.

use std::fmt;

use super::model::{
    AllowListConstraint, AmountConstraint, ApprovalRouting, Constraints, Forbidden, Match, Policy,
    RateLimit, Rule, RuleDecision, Window,
};
use crate::json::{python_repr, python_type_name, Map, Number, Value};
use crate::receipt::Outcome;

const POLICY_KEYS: [&str; 4] = ["default", "forbidden", "rules", "version"];
const RULE_KEYS: [&str; 8] = [
    "constraints",
    "decision",
    "description",
    "expires_after",
    "match",
    "name",
    "reason",
    "required_approvers",
];
/// §7.2 keys, meaningful only on `needs_approval` rules.
const ROUTING_KEYS: [&str; 3] = ["expires_after", "reason", "required_approvers"];
const FORBIDDEN_KEYS: [&str; 3] = ["description", "match", "name"];
const MATCH_KEYS: [&str; 4] = ["host", "method", "path", "path_contains"];
const CONSTRAINT_KEYS: [&str; 3] = ["allow_list", "amount", "rate_limit"];
const AMOUNT_KEYS: [&str; 3] = ["currency", "field", "max"];
const ALLOW_LIST_KEYS: [&str; 2] = ["field", "in"];
const RATE_LIMIT_KEYS: [&str; 2] = ["max", "per"];

/// A policy that must not be used to authorise anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The document is not a mapping at all.
    #[error("policy at {source_name} must be a mapping, got {type_name}")]
    NotAMapping {
        source_name: String,
        type_name: &'static str,
    },
    /// The document is a mapping with problems.
    #[error("{}", invalid_message(.source_name, .problems))]
    Invalid {
        source_name: String,
        problems: Vec<String>,
    },
}

impl PolicyError {
    /// Every problem found (one for a non-mapping document).
    pub fn problems(&self) -> Vec<String> {
        match self {
            PolicyError::NotAMapping { .. } => vec![self.to_string()],
            PolicyError::Invalid { problems, .. } => problems.clone(),
        }
    }
}

fn invalid_message(source: &str, problems: &[String]) -> String {
    format!(
        "invalid delego policy at {source} (refusing to load — fail-closed):\n  - {}",
        problems.join("\n  - ")
    )
}

/// Python's `repr(sorted(keys))` for a list of strings.
fn sorted_repr<'a>(keys: impl IntoIterator<Item = &'a String>) -> String {
    let mut keys: Vec<&String> = keys.into_iter().collect();
    keys.sort();
    python_repr(&Value::Array(
        keys.into_iter().map(|k| Value::from(k.as_str())).collect(),
    ))
}

fn unknown_keys<'a>(map: &'a Map, allowed: &[&str]) -> Vec<&'a String> {
    map.keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect()
}

fn allowed_repr(allowed: &[&str]) -> String {
    python_repr(&Value::Array(
        allowed.iter().map(|k| Value::from(*k)).collect(),
    ))
}

/// One step of a jsonschema error path.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PathStep {
    Index(usize),
    Key(String),
}

struct Problems {
    reference: Vec<String>,
    schema: Vec<(Vec<PathStep>, String)>,
}

impl Problems {
    fn push(&mut self, problem: String) {
        self.reference.push(problem);
    }

    fn schema(&mut self, path: &[PathStep], message: String) {
        self.schema.push((path.to_vec(), message));
    }

    /// A jsonschema `type` failure unless `value` has the JSON type named.
    fn expect_type(&mut self, path: &[PathStep], value: &Value, expected: &str) -> bool {
        let ok = match expected {
            "string" => matches!(value, Value::String(_)),
            "object" => matches!(value, Value::Object(_)),
            "array" => matches!(value, Value::Array(_)),
            "number" => matches!(value, Value::Number(_)),
            "integer" => is_integer(value),
            _ => false,
        };
        if !ok {
            self.schema(
                path,
                format!("{} is not of type '{expected}'", python_repr(value)),
            );
        }
        ok
    }

    fn into_list(mut self) -> Vec<String> {
        // jsonschema's problems are printed sorted by path.
        self.schema.sort_by(|a, b| a.0.cmp(&b.0));
        let mut all = self.reference;
        for (path, message) in self.schema {
            let location = if path.is_empty() {
                "<root>".to_owned()
            } else {
                path.iter()
                    .map(|step| match step {
                        PathStep::Index(i) => i.to_string(),
                        PathStep::Key(k) => k.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            };
            all.push(format!("schema: {location}: {message}"));
        }
        all
    }
}

/// A JSON integer (not a float, not a bool — jsonschema's "integer" also
/// admits integral floats such as `1.0`, which the reference's own check
/// refuses for `version`; here it is refused everywhere).
fn is_integer(value: &Value) -> bool {
    matches!(value, Value::Number(Number::Int(_)))
}

fn with(path: &[PathStep], step: PathStep) -> Vec<PathStep> {
    let mut next = path.to_vec();
    next.push(step);
    next
}

fn key(name: &str) -> PathStep {
    PathStep::Key(name.to_owned())
}

impl Policy {
    /// Validates a parsed policy document. `source_name` names it in messages
    /// (the reference prints the file path). A `null` document counts as an
    /// empty mapping, as an empty YAML file does for the reference.
    pub fn from_value(document: &Value, source_name: &str) -> Result<Policy, PolicyError> {
        let empty = Map::new();
        let map = match document {
            Value::Object(map) => map,
            Value::Null => &empty,
            other => {
                return Err(PolicyError::NotAMapping {
                    source_name: source_name.to_owned(),
                    type_name: python_type_name(other),
                })
            }
        };
        let mut problems = Problems {
            reference: Vec::new(),
            schema: Vec::new(),
        };
        let policy = read_policy(map, &mut problems);
        let problems = problems.into_list();
        match policy {
            Some(policy) if problems.is_empty() => Ok(policy),
            _ => Err(PolicyError::Invalid {
                source_name: source_name.to_owned(),
                problems: if problems.is_empty() {
                    // Unreachable by construction; refuse rather than guess.
                    vec!["policy could not be interpreted".to_owned()]
                } else {
                    problems
                },
            }),
        }
    }
}

fn read_policy(map: &Map, problems: &mut Problems) -> Option<Policy> {
    let unknown = unknown_keys(map, &POLICY_KEYS);
    if !unknown.is_empty() {
        problems.push(format!(
            "unknown top-level key(s): {}",
            sorted_repr(unknown)
        ));
    }

    let default = match map.get("default") {
        None => {
            problems.push("missing required key 'default'".to_owned());
            None
        }
        Some(value) => {
            let outcome = value.as_str().and_then(|s| s.parse::<Outcome>().ok());
            if outcome.is_none() {
                problems.push(format!(
                    "default {} is not one of ['allow', 'deny', 'needs_approval']",
                    python_repr(value)
                ));
            }
            outcome
        }
    };

    let version = match map.get("version") {
        None => Some(1),
        Some(value) => {
            let version = value.as_i64().filter(|v| *v >= 1);
            if version.is_none() {
                problems.push(format!(
                    "version must be an integer >= 1, got {}",
                    python_repr(value)
                ));
            }
            version
        }
    };

    let rules = read_list(map, "rules", problems, read_rule);
    let forbidden = read_list(map, "forbidden", problems, read_forbidden);

    Some(Policy {
        version: version?,
        default: default?,
        forbidden: forbidden?,
        rules: rules?,
    })
}

/// Reads `rules` or `forbidden`: absent is empty, anything but a list is a
/// problem, and every entry is checked even after one fails.
fn read_list<T>(
    map: &Map,
    name: &str,
    problems: &mut Problems,
    read: fn(&Value, &str, &[PathStep], &mut Problems) -> Option<T>,
) -> Option<Vec<T>> {
    let items = match map.get(name) {
        None => return Some(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(format!("'{name}' must be a list"));
            return None;
        }
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let path = [key(name), PathStep::Index(i)];
        match read(item, &format!("{name}[{i}]"), &path, problems) {
            Some(entry) => out.push(entry),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `name` must be a non-empty string.
fn read_name(map: &Map, where_: &str, what: &str, problems: &mut Problems) -> Option<String> {
    match map.get("name") {
        Some(Value::String(name)) if !name.is_empty() => Some(name.clone()),
        _ => {
            problems.push(format!(
                "{where_}: {what} is missing a non-empty string 'name'"
            ));
            None
        }
    }
}

fn read_description(map: &Map, path: &[PathStep], problems: &mut Problems) -> Option<String> {
    match map.get("description") {
        None => Some(String::new()),
        Some(value) => problems
            .expect_type(&with(path, key("description")), value, "string")
            .then(|| value.as_str().unwrap_or_default().to_owned()),
    }
}

fn read_match_entry(
    map: &Map,
    where_: &str,
    what: &str,
    path: &[PathStep],
    problems: &mut Problems,
) -> Option<Match> {
    match map.get("match") {
        None => {
            problems.push(format!("{where_}: {what} is missing 'match'"));
            None
        }
        Some(value) => read_match(
            value,
            &format!("{where_}.match"),
            &with(path, key("match")),
            problems,
        ),
    }
}

fn read_forbidden(
    value: &Value,
    where_: &str,
    path: &[PathStep],
    problems: &mut Problems,
) -> Option<Forbidden> {
    let Value::Object(map) = value else {
        problems.push(format!(
            "{where_}: forbidden entry must be a mapping, got {}",
            python_type_name(value)
        ));
        return None;
    };
    let unknown = unknown_keys(map, &FORBIDDEN_KEYS);
    if !unknown.is_empty() {
        problems.push(format!(
            "{where_}: unknown forbidden key(s): {}",
            sorted_repr(unknown)
        ));
    }
    let name = read_name(map, where_, "forbidden entry", problems);
    let matcher = read_match_entry(map, where_, "forbidden entry", path, problems);
    let description = read_description(map, path, problems);
    Some(Forbidden {
        name: name?,
        description: description?,
        matcher: matcher?,
    })
}

fn read_rule(
    value: &Value,
    where_: &str,
    path: &[PathStep],
    problems: &mut Problems,
) -> Option<Rule> {
    let Value::Object(map) = value else {
        problems.push(format!(
            "{where_}: rule must be a mapping, got {}",
            python_type_name(value)
        ));
        return None;
    };
    let unknown = unknown_keys(map, &RULE_KEYS);
    if !unknown.is_empty() {
        problems.push(format!(
            "{where_}: unknown rule key(s): {}",
            sorted_repr(unknown)
        ));
    }
    let name = read_name(map, where_, "rule", problems);
    let matcher = read_match_entry(map, where_, "rule", path, problems);
    let decision = match map.get("decision") {
        None | Some(Value::Null) => {
            problems.push(format!("{where_}: rule is missing 'decision'"));
            None
        }
        Some(value) => {
            let decision = match value.as_str() {
                Some("allow") => Some(RuleDecision::Allow),
                Some("needs_approval") => Some(RuleDecision::NeedsApproval),
                _ => None,
            };
            if decision.is_none() {
                problems.push(format!(
                    "{where_}: decision {} is not one of ['allow', 'needs_approval']",
                    python_repr(value)
                ));
            }
            decision
        }
    };
    let constraints = match map.get("constraints") {
        None => Some(Constraints::default()),
        Some(Value::Null) => {
            problems.schema(
                &with(path, key("constraints")),
                "None is not of type 'object'".to_owned(),
            );
            None
        }
        Some(value) => read_constraints(
            value,
            &format!("{where_}.constraints"),
            &with(path, key("constraints")),
            problems,
        ),
    };
    let description = read_description(map, path, problems);
    let approval = read_routing(map, where_, decision, problems);
    Some(Rule {
        name: name?,
        description: description?,
        decision: decision?,
        matcher: matcher?,
        constraints: constraints?,
        approval: approval?,
    })
}

/// The §7.2 routing keys of a rule (0.4 draft; the reference predates them).
fn read_routing(
    map: &Map,
    where_: &str,
    decision: Option<RuleDecision>,
    problems: &mut Problems,
) -> Option<ApprovalRouting> {
    let present: Vec<&str> = ROUTING_KEYS
        .iter()
        .copied()
        .filter(|k| map.contains_key(*k))
        .collect();
    if present.is_empty() {
        return Some(ApprovalRouting::default());
    }
    if decision == Some(RuleDecision::Allow) {
        problems.push(format!(
            "{where_}: {} only apply to decision 'needs_approval'",
            present.join(", ")
        ));
        return None;
    }
    let mut routing = ApprovalRouting::default();
    let mut ok = true;
    if let Some(value) = map.get("reason") {
        match value {
            Value::String(reason) => routing.reason = Some(reason.clone()),
            other => {
                problems.push(format!(
                    "{where_}: reason must be a string, got {}",
                    python_repr(other)
                ));
                ok = false;
            }
        }
    }
    let positive = |name: &str, problems: &mut Problems| -> Option<Option<u64>> {
        match map.get(name) {
            None => Some(None),
            Some(value) => match value
                .as_i64()
                .and_then(|n| u64::try_from(n).ok())
                .filter(|n| *n >= 1)
            {
                Some(n) => Some(Some(n)),
                None => {
                    problems.push(format!(
                        "{where_}: {name} must be an integer >= 1, got {}",
                        python_repr(value)
                    ));
                    None
                }
            },
        }
    };
    match positive("required_approvers", problems) {
        Some(Some(n)) => match u32::try_from(n) {
            Ok(n) => routing.required_approvers = n,
            Err(_) => {
                problems.push(format!("{where_}: required_approvers is too large"));
                ok = false;
            }
        },
        Some(None) => {}
        None => ok = false,
    }
    match positive("expires_after", problems) {
        Some(seconds) => routing.expires_after_seconds = seconds,
        None => ok = false,
    }
    ok.then_some(routing)
}

fn read_match(
    value: &Value,
    where_: &str,
    path: &[PathStep],
    problems: &mut Problems,
) -> Option<Match> {
    let Value::Object(map) = value else {
        problems.push(format!(
            "{where_}: match must be a mapping, got {}",
            python_type_name(value)
        ));
        return None;
    };
    let unknown = unknown_keys(map, &MATCH_KEYS);
    if !unknown.is_empty() {
        problems.push(format!(
            "{where_}: unknown match key(s): {} (allowed: {})",
            sorted_repr(unknown),
            allowed_repr(&MATCH_KEYS)
        ));
        return None;
    }
    let mut ok = true;
    let method = match map.get("method") {
        None => None,
        Some(Value::String(m)) => Some(vec![m.clone()]),
        Some(Value::Array(items)) if items.iter().all(|i| i.as_str().is_some()) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
        ),
        Some(other) => {
            problems.schema(
                &with(path, key("method")),
                format!(
                    "{} is not valid under any of the given schemas",
                    python_repr(other)
                ),
            );
            ok = false;
            None
        }
    };
    let mut string = |name: &str| match map.get(name) {
        None => None,
        Some(value) => {
            if problems.expect_type(&with(path, key(name)), value, "string") {
                value.as_str().map(str::to_owned)
            } else {
                ok = false;
                None
            }
        }
    };
    let host = string("host");
    let glob = string("path");
    let path_contains = string("path_contains");
    ok.then_some(Match {
        method,
        host,
        path: glob,
        path_contains,
        is_empty: map.is_empty(),
    })
}

fn read_constraints(
    value: &Value,
    where_: &str,
    path: &[PathStep],
    problems: &mut Problems,
) -> Option<Constraints> {
    let Value::Object(map) = value else {
        problems.push(format!(
            "{where_}: constraints must be a mapping, got {}",
            python_type_name(value)
        ));
        return None;
    };
    let unknown = unknown_keys(map, &CONSTRAINT_KEYS);
    let mut ok = unknown.is_empty();
    if !ok {
        problems.push(format!(
            "{where_}: unknown constraint key(s): {} (allowed: {})",
            sorted_repr(unknown),
            allowed_repr(&CONSTRAINT_KEYS)
        ));
    }
    let mut constraints = Constraints::default();
    if let Some(value) = map.get("amount") {
        constraints.amount = read_amount(
            value,
            &format!("{where_}.amount"),
            &with(path, key("amount")),
            problems,
        );
        ok &= constraints.amount.is_some();
    }
    if let Some(value) = map.get("allow_list") {
        constraints.allow_list = read_allow_list(
            value,
            &format!("{where_}.allow_list"),
            &with(path, key("allow_list")),
            problems,
        );
        ok &= constraints.allow_list.is_some();
    }
    if let Some(value) = map.get("rate_limit") {
        constraints.rate_limit = read_rate_limit(
            value,
            &format!("{where_}.rate_limit"),
            &with(path, key("rate_limit")),
            problems,
        );
        ok &= constraints.rate_limit.is_some();
    }
    ok.then_some(constraints)
}

/// Checks a constraint's inner keys; returns its map when it is a mapping.
fn constraint_map<'a>(
    value: &'a Value,
    where_: &str,
    path: &[PathStep],
    allowed: &[&str],
    required: &[&str],
    problems: &mut Problems,
) -> Option<&'a Map> {
    if !problems.expect_type(path, value, "object") {
        return None;
    }
    let map = value.as_object()?;
    let unknown = unknown_keys(map, allowed);
    let mut ok = unknown.is_empty();
    if !ok {
        problems.push(format!(
            "{where_}: unknown key(s): {}",
            sorted_repr(unknown)
        ));
    }
    for name in required {
        if !map.contains_key(*name) {
            problems.push(format!("{where_}: missing required '{name}'"));
            ok = false;
        }
    }
    ok.then_some(map)
}

fn read_amount(
    value: &Value,
    where_: &str,
    path: &[PathStep],
    problems: &mut Problems,
) -> Option<AmountConstraint> {
    let map = constraint_map(value, where_, path, &AMOUNT_KEYS, &["field"], problems)?;
    let field = map.get("field")?;
    let field_ok = problems.expect_type(&with(path, key("field")), field, "string");
    let max = match map.get("max") {
        None => Some(None),
        Some(Value::Number(n)) => Some(Some(n.clone())),
        Some(other) => {
            problems.expect_type(&with(path, key("max")), other, "number");
            None
        }
    };
    let currency = match map.get("currency") {
        None => Some(None),
        Some(value) => problems
            .expect_type(&with(path, key("currency")), value, "string")
            .then(|| value.as_str().map(str::to_owned)),
    };
    Some(AmountConstraint {
        field: field_ok
            .then(|| field.as_str().map(str::to_owned))
            .flatten()?,
        max: max?,
        currency: currency?,
    })
}

fn read_allow_list(
    value: &Value,
    where_: &str,
    path: &[PathStep],
    problems: &mut Problems,
) -> Option<AllowListConstraint> {
    let map = constraint_map(
        value,
        where_,
        path,
        &ALLOW_LIST_KEYS,
        &["field", "in"],
        problems,
    )?;
    let field = map.get("field")?;
    let field_ok = problems.expect_type(&with(path, key("field")), field, "string");
    let allowed = map.get("in")?;
    let allowed_ok = problems.expect_type(&with(path, key("in")), allowed, "array");
    Some(AllowListConstraint {
        field: field_ok
            .then(|| field.as_str().map(str::to_owned))
            .flatten()?,
        allowed: allowed_ok
            .then(|| allowed.as_array().map(<[Value]>::to_vec))
            .flatten()?,
    })
}

fn read_rate_limit(
    value: &Value,
    where_: &str,
    path: &[PathStep],
    problems: &mut Problems,
) -> Option<RateLimit> {
    if !problems.expect_type(path, value, "object") {
        return None;
    }
    let map = value.as_object()?;
    let unknown = unknown_keys(map, &RATE_LIMIT_KEYS);
    let mut ok = unknown.is_empty();
    if !ok {
        problems.push(format!(
            "{where_}: unknown key(s): {}",
            sorted_repr(unknown)
        ));
    }
    let max = match map.get("max") {
        None => {
            problems.push(format!("{where_}: missing required 'max'"));
            None
        }
        Some(value) => {
            let max_path = with(path, key("max"));
            if !problems.expect_type(&max_path, value, "integer") {
                None
            } else if let Some(max) = value.as_i64().and_then(|v| u64::try_from(v).ok()) {
                Some(max)
            } else {
                problems.schema(
                    &max_path,
                    format!("{} is less than the minimum of 0", python_repr(value)),
                );
                None
            }
        }
    };
    let per = match map.get("per") {
        None => Some(Window::Hour),
        Some(value) => {
            let per = value.as_str().and_then(Window::parse);
            if per.is_none() {
                problems.push(format!(
                    "{where_}: per {} is not one of ['day', 'hour', 'minute']",
                    python_repr(value)
                ));
            }
            per
        }
    };
    ok &= max.is_some() && per.is_some();
    ok.then(|| RateLimit {
        max: max.unwrap_or_default(),
        per: per.unwrap_or(Window::Hour),
    })
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn problems(json: &str) -> Vec<String> {
        Policy::from_value(&parse(json).unwrap(), "p.yaml")
            .unwrap_err()
            .problems()
    }

    #[test]
    fn accepts_the_example_shape() {
        let policy = Policy::from_value(
            &parse(r#"{"version":1,"default":"deny","forbidden":[{"name":"f","match":{"path_contains":"/permissions"}}],
            "rules":[{"name":"r","decision":"needs_approval","match":{"method":["POST"],"host":"h","path":"/o"},
            "constraints":{"amount":{"field":"amount","max":5000,"currency":"USD"},"allow_list":{"field":"d","in":["internal"]},"rate_limit":{"max":3,"per":"minute"}}}]}"#)
            .unwrap(),
            "p.yaml",
        )
        .unwrap();
        assert_eq!(
            policy.rules[0].constraints.rate_limit,
            Some(RateLimit {
                max: 3,
                per: Window::Minute
            })
        );
        assert_eq!(
            policy.forbidden[0].matcher.path_contains.as_deref(),
            Some("/permissions")
        );
    }

    #[test]
    fn lists_every_problem_in_the_reference_words() {
        assert_eq!(
            problems(r#"{"version":0,"zz":1,"aa":2,"rules":[{"name":"","decision":"maybe","match":{"path_prefix":"/x"},"constraints":{"max_velocity":{},"amount":{"maximum":1}}}]}"#),
            vec![
                "unknown top-level key(s): ['aa', 'zz']",
                "missing required key 'default'",
                "version must be an integer >= 1, got 0",
                "rules[0]: rule is missing a non-empty string 'name'",
                "rules[0].match: unknown match key(s): ['path_prefix'] (allowed: ['host', 'method', 'path', 'path_contains'])",
                "rules[0]: decision 'maybe' is not one of ['allow', 'needs_approval']",
                "rules[0].constraints: unknown constraint key(s): ['max_velocity'] (allowed: ['allow_list', 'amount', 'rate_limit'])",
                "rules[0].constraints.amount: unknown key(s): ['maximum']",
                "rules[0].constraints.amount: missing required 'field'",
            ]
        );
    }

    #[test]
    fn approval_routing_is_read_and_checked() {
        let policy = Policy::from_value(
            &parse(r#"{"default":"deny","rules":[{"name":"r","decision":"needs_approval","match":{"path":"/x"},"reason":"money moves","required_approvers":2,"expires_after":900}]}"#).unwrap(),
            "p",
        )
        .unwrap();
        assert_eq!(
            policy.rules[0].approval,
            ApprovalRouting {
                reason: Some("money moves".into()),
                required_approvers: 2,
                expires_after_seconds: Some(900)
            }
        );
        assert_eq!(
            problems(
                r#"{"default":"deny","rules":[{"name":"r","decision":"allow","match":{"path":"/x"},"expires_after":5},{"name":"s","decision":"needs_approval","match":{"path":"/y"},"required_approvers":0,"expires_after":"1h"}]}"#
            ),
            vec![
                "rules[0]: expires_after only apply to decision 'needs_approval'",
                "rules[1]: required_approvers must be an integer >= 1, got 0",
                "rules[1]: expires_after must be an integer >= 1, got '1h'",
            ]
        );
    }

    #[test]
    fn type_errors_are_refused_in_jsonschema_words() {
        assert_eq!(
            problems(
                r#"{"default":"deny","rules":[{"name":"r","decision":"allow","match":{"host":5,"method":[1]},"constraints":{"rate_limit":{"max":-1},"amount":5}}]}"#
            ),
            vec![
                "schema: rules/0/constraints/amount: 5 is not of type 'object'",
                "schema: rules/0/constraints/rate_limit/max: -1 is less than the minimum of 0",
                "schema: rules/0/match/host: 5 is not of type 'string'",
                "schema: rules/0/match/method: [1] is not valid under any of the given schemas",
            ]
        );
        assert_eq!(
            Policy::from_value(&parse("[]").unwrap(), "p.yaml")
                .unwrap_err()
                .to_string(),
            "policy at p.yaml must be a mapping, got list"
        );
    }
}
