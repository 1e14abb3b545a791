//! Policy evaluation (spec §6): forbidden → rules (first match wins) →
//! default, with fail-closed constraints. A pure function of the action, the
//! policy, the ledger's allow counts and the time, which are passed in.
//!
//! Reason strings are the reference's, byte for byte, number formatting
//! included. This module never writes anything.

use std::cmp::Ordering;

use delego_spec::json::{python_eq, python_repr, python_str, Map, Value};
use delego_spec::policy::{AllowListConstraint, AmountConstraint, Match, Policy, RateLimit, Rule};
use delego_spec::{ActionIdentity, Outcome};

use crate::decimal::PyDecimal;
use crate::glob::Glob;

/// What evaluation concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub outcome: Outcome,
    /// The forbidden entry or rule that decided, or `None` for the default.
    pub rule: Option<String>,
    pub reasons: Vec<String>,
}

/// Counts prior `allow` receipts of a rule inside a rate-limit window.
pub trait AllowCounter {
    /// Allow receipts of `rule` whose timestamp is at or after `since_micros`
    /// (Unix microseconds). Counting may stop at `limit`: the caller only
    /// needs to know whether the count reached it.
    fn count_allows(&self, rule: &str, since_micros: i64, limit: u64) -> Result<u64, CountError>;
}

/// Why allows could not be counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    /// There is no ledger at all: the rate limit denies (spec §5).
    #[error("no audit log available to enforce the limit")]
    NoLedger,
    /// The ledger could not be read: no decision can be made (fail closed).
    #[error("cannot count rate-limited allows: {0}")]
    Storage(String),
}

/// A counter for evaluation without a ledger: any `rate_limit` denies, as the
/// spec requires when the limit cannot be evaluated.
pub struct NoLedger;

impl AllowCounter for NoLedger {
    fn count_allows(
        &self,
        _rule: &str,
        _since_micros: i64,
        _limit: u64,
    ) -> Result<u64, CountError> {
        Err(CountError::NoLedger)
    }
}

/// A match with its glob compiled and its comparisons pre-cased.
#[derive(Debug, Clone)]
struct CompiledMatch {
    methods_upper: Option<Vec<String>>,
    host_lower: Option<String>,
    path: Option<Glob>,
    path_contains: Option<String>,
    is_empty: bool,
}

impl CompiledMatch {
    fn new(m: &Match) -> CompiledMatch {
        CompiledMatch {
            methods_upper: m
                .method
                .as_ref()
                .map(|ms| ms.iter().map(|x| x.to_uppercase()).collect()),
            host_lower: m.host.as_ref().map(|h| h.to_lowercase()),
            path: m.path.as_deref().map(Glob::new),
            path_contains: m.path_contains.clone(),
            is_empty: m.is_empty,
        }
    }

    /// Why the match does not select `id` (empty: it does).
    fn mismatches(&self, id: &ActionIdentity, source: &Match) -> Vec<String> {
        if self.is_empty {
            return vec!["an empty match matches nothing".into()];
        }
        let mut out = Vec::new();
        if let (Some(methods), Some(listed)) = (&self.methods_upper, &source.method) {
            if !methods.contains(&id.method) {
                out.push(format!("method {} not in {listed:?}", id.method));
            }
        }
        if let Some(host) = &self.host_lower {
            if *host != id.host {
                out.push(format!("host {} != {host}", id.host));
            }
        }
        if let (Some(glob), Some(pattern)) = (&self.path, &source.path) {
            if !glob.matches(&id.path) {
                out.push(format!("path {} does not match {pattern}", id.path));
            }
        }
        if let Some(needle) = &self.path_contains {
            if !id.path.contains(needle.as_str()) {
                out.push(format!("path {} does not contain {needle}", id.path));
            }
        }
        out
    }

    fn matches(&self, id: &ActionIdentity) -> bool {
        if self.is_empty {
            return false;
        }
        if let Some(methods) = &self.methods_upper {
            if !methods.contains(&id.method) {
                return false;
            }
        }
        if let Some(host) = &self.host_lower {
            if *host != id.host {
                return false;
            }
        }
        if let Some(glob) = &self.path {
            if !glob.matches(&id.path) {
                return false;
            }
        }
        if let Some(needle) = &self.path_contains {
            if !id.path.contains(needle.as_str()) {
                return false;
            }
        }
        true
    }
}

/// A validated policy prepared for fast evaluation.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    policy: Policy,
    forbidden: Vec<CompiledMatch>,
    rules: Vec<CompiledMatch>,
}

impl CompiledPolicy {
    pub fn new(policy: Policy) -> CompiledPolicy {
        let forbidden = policy
            .forbidden
            .iter()
            .map(|f| CompiledMatch::new(&f.matcher))
            .collect();
        let rules = policy
            .rules
            .iter()
            .map(|r| CompiledMatch::new(&r.matcher))
            .collect();
        CompiledPolicy {
            policy,
            forbidden,
            rules,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The rule named `name`, if the policy has one.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.policy.rules.iter().find(|r| r.name == name)
    }

    /// Whether any rule is rate-limited (its decisions then read the ledger).
    pub fn has_rate_limit(&self) -> bool {
        self.policy
            .rules
            .iter()
            .any(|r| r.constraints.rate_limit.is_some())
    }

    /// Evaluates one action at `now_micros` (Unix microseconds).
    pub fn evaluate(
        &self,
        id: &ActionIdentity,
        params: &Map,
        counter: &dyn AllowCounter,
        now_micros: i64,
    ) -> Result<Evaluation, CountError> {
        for (entry, matcher) in self.policy.forbidden.iter().zip(&self.forbidden) {
            if matcher.matches(id) {
                let label = if entry.description.is_empty() {
                    &entry.name
                } else {
                    &entry.description
                };
                return Ok(Evaluation {
                    outcome: Outcome::Deny,
                    rule: Some(entry.name.clone()),
                    reasons: vec![format!("forbidden: {label}")],
                });
            }
        }
        for (rule, matcher) in self.policy.rules.iter().zip(&self.rules) {
            if !matcher.matches(id) {
                continue;
            }
            return Ok(
                match check_constraints(rule, params, counter, now_micros)? {
                    Err(reason) => Evaluation {
                        outcome: Outcome::Deny,
                        rule: Some(rule.name.clone()),
                        reasons: vec![reason],
                    },
                    Ok(reasons) => Evaluation {
                        outcome: rule.decision.outcome(),
                        rule: Some(rule.name.clone()),
                        reasons: if reasons.is_empty() {
                            vec![format!("matched rule '{}'", rule.name)]
                        } else {
                            reasons
                        },
                    },
                },
            );
        }
        Ok(Evaluation {
            outcome: self.policy.default,
            rule: None,
            reasons: vec![format!(
                "no rule matched; default = {}",
                self.policy.default
            )],
        })
    }
}

/// One forbidden entry's or rule's part in an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainStep {
    /// `forbidden` or `rule`.
    pub kind: &'static str,
    pub name: String,
    /// Why it did not match (empty when it matched).
    pub mismatches: Vec<String>,
    /// For the deciding rule: every constraint's result, each evaluated on
    /// its own (evaluation itself stops at the first failure).
    pub constraints: Vec<(&'static str, Result<String, String>)>,
}

/// How an evaluation came about, for `delego policy explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The entries considered, in evaluation order, up to the deciding one.
    pub steps: Vec<ExplainStep>,
    pub evaluation: Evaluation,
}

impl CompiledPolicy {
    /// Evaluates and records why each entry did or did not decide.
    pub fn explain(
        &self,
        id: &ActionIdentity,
        params: &Map,
        counter: &dyn AllowCounter,
        now_micros: i64,
    ) -> Result<Explanation, CountError> {
        let evaluation = self.evaluate(id, params, counter, now_micros)?;
        let mut steps = Vec::new();
        for (entry, matcher) in self.policy.forbidden.iter().zip(&self.forbidden) {
            let mismatches = matcher.mismatches(id, &entry.matcher);
            let matched = mismatches.is_empty();
            steps.push(ExplainStep {
                kind: "forbidden",
                name: entry.name.clone(),
                mismatches,
                constraints: Vec::new(),
            });
            if matched {
                return Ok(Explanation { steps, evaluation });
            }
        }
        for (rule, matcher) in self.policy.rules.iter().zip(&self.rules) {
            let mismatches = matcher.mismatches(id, &rule.matcher);
            let matched = mismatches.is_empty();
            let mut constraints = Vec::new();
            if matched {
                let c = &rule.constraints;
                if let Some(amount) = &c.amount {
                    constraints.push(("amount", check_amount(amount, params)));
                }
                if let Some(list) = &c.allow_list {
                    constraints.push(("allow_list", check_allow_list(list, params)));
                }
                if let Some(limit) = &c.rate_limit {
                    constraints.push((
                        "rate_limit",
                        check_rate_limit(&rule.name, limit, counter, now_micros)?,
                    ));
                }
            }
            steps.push(ExplainStep {
                kind: "rule",
                name: rule.name.clone(),
                mismatches,
                constraints,
            });
            if matched {
                break;
            }
        }
        Ok(Explanation { steps, evaluation })
    }

    /// A policy that denies everything, for sessions that only record human
    /// decisions and never evaluate.
    pub fn deny_all() -> CompiledPolicy {
        CompiledPolicy::new(Policy {
            version: 1,
            default: Outcome::Deny,
            forbidden: Vec::new(),
            rules: Vec::new(),
        })
    }
}

/// `Ok(Ok(reasons))` when every constraint passes, `Ok(Err(reason))` for the
/// first that fails, `Err` when the ledger cannot be read.
fn check_constraints(
    rule: &Rule,
    params: &Map,
    counter: &dyn AllowCounter,
    now_micros: i64,
) -> Result<Result<Vec<String>, String>, CountError> {
    let mut reasons = Vec::new();
    let c = &rule.constraints;
    if let Some(amount) = &c.amount {
        match check_amount(amount, params) {
            Ok(reason) => reasons.push(reason),
            Err(reason) => return Ok(Err(reason)),
        }
    }
    if let Some(list) = &c.allow_list {
        match check_allow_list(list, params) {
            Ok(reason) => reasons.push(reason),
            Err(reason) => return Ok(Err(reason)),
        }
    }
    if let Some(limit) = &c.rate_limit {
        match check_rate_limit(&rule.name, limit, counter, now_micros)? {
            Ok(reason) => reasons.push(reason),
            Err(reason) => return Ok(Err(reason)),
        }
    }
    Ok(Ok(reasons))
}

fn check_amount(spec: &AmountConstraint, params: &Map) -> Result<String, String> {
    let field = &spec.field;
    let raw = match params.get(field) {
        None | Some(Value::Null) => {
            return Err(format!("amount: action is missing field '{field}'"))
        }
        Some(raw) => raw,
    };
    let shown = python_repr(raw);
    if matches!(raw, Value::Bool(_)) {
        return Err(format!("amount: field '{field}'={shown} is not numeric"));
    }
    let value = PyDecimal::parse(&python_str(raw))
        .ok_or_else(|| format!("amount: field '{field}'={shown} is not numeric"))?;
    if !value.is_finite() {
        return Err(format!(
            "amount: field '{field}'={shown} is not a finite number"
        ));
    }
    if value.is_negative() {
        return Err(format!(
            "amount: field '{field}'={shown} must not be negative"
        ));
    }
    if let Some(currency) = &spec.currency {
        let actual = params.get("currency").unwrap_or(&Value::Null);
        let required = Value::from(currency.as_str());
        if !python_eq(actual, &required) {
            return Err(format!(
                "amount: currency {} != required {}",
                python_repr(actual),
                python_repr(&required)
            ));
        }
    }
    let max_shown = spec
        .max
        .as_ref()
        .map_or_else(|| "None".to_owned(), |m| m.to_string());
    if let Some(max) = &spec.max {
        let cap = PyDecimal::parse(&max.to_string())
            .filter(PyDecimal::is_finite)
            .ok_or_else(|| format!("amount: policy max {max_shown} is not numeric"))?;
        if value.compare(&cap) == Some(Ordering::Greater) {
            // Python's `f" {currency}" if currency else ""`: empty adds nothing.
            let suffix = spec
                .currency
                .as_deref()
                .filter(|c| !c.is_empty())
                .map_or_else(String::new, |c| format!(" {c}"));
            return Err(format!(
                "amount: {} exceeds max {}{suffix}",
                value.format_g(),
                cap.format_g()
            ));
        }
    }
    Ok(format!(
        "amount: {} within max {max_shown}",
        value.format_g()
    ))
}

fn check_allow_list(spec: &AllowListConstraint, params: &Map) -> Result<String, String> {
    let field = &spec.field;
    let value = params.get(field).unwrap_or(&Value::Null);
    let shown = python_repr(value);
    if spec.allowed.iter().any(|allowed| python_eq(allowed, value)) {
        Ok(format!("allow_list: {field}={shown} permitted"))
    } else {
        let allowed = python_repr(&Value::Array(spec.allowed.clone()));
        Err(format!("allow_list: {field}={shown} not in {allowed}"))
    }
}

fn check_rate_limit(
    rule: &str,
    limit: &RateLimit,
    counter: &dyn AllowCounter,
    now_micros: i64,
) -> Result<Result<String, String>, CountError> {
    let window = i64::try_from(limit.per.seconds()).unwrap_or(i64::MAX);
    let since = now_micros.saturating_sub(window.saturating_mul(1_000_000));
    let (cap, per) = (limit.max, limit.per);
    let used = match counter.count_allows(rule, since, cap) {
        Ok(used) => used,
        Err(CountError::NoLedger) => {
            return Ok(Err(format!("rate_limit: {}", CountError::NoLedger)))
        }
        Err(e) => return Err(e),
    };
    if used >= cap {
        return Ok(Err(format!(
            "rate_limit: {used}/{cap} per {per} already used"
        )));
    }
    Ok(Ok(format!("rate_limit: {}/{cap} per {per}", used + 1)))
}
