//! `delego policy check | explain | test`: policy authoring tools.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context as _};
use delego_firewall::evaluate::{AllowCounter, CompiledPolicy, CountError};
use delego_firewall::policy_file::load_policy;
use delego_firewall::store::LedgerStore;
use delego_firewall::yaml::parse_yaml;
use delego_spec::json::{parse, Value};
use delego_spec::ProposedAction;

use crate::exit::Outcome;
use crate::home::Home;
use crate::output::read_action;

/// Counts against a ledger with no receipts.
struct EmptyLedger;

impl AllowCounter for EmptyLedger {
    fn count_allows(&self, _rule: &str, _since: i64, _limit: u64) -> Result<u64, CountError> {
        Ok(0)
    }
}

/// Counts against the home's store.
struct StoreCounter<S: LedgerStore>(std::sync::Arc<S>);

impl<S: LedgerStore> AllowCounter for StoreCounter<S> {
    fn count_allows(&self, rule: &str, since: i64, limit: u64) -> Result<u64, CountError> {
        self.0
            .count_allows(rule, since, limit)
            .map_err(|e| CountError::Storage(e.0))
    }
}

fn load_file(path: &Path) -> anyhow::Result<CompiledPolicy> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(load_policy(&text, &path.display().to_string())?)
}

fn now() -> i64 {
    use delego_firewall::engine::Clock as _;
    delego_firewall::engine::SystemClock.now_micros()
}

pub fn check(path: &Path) -> anyhow::Result<Outcome> {
    if !path.exists() {
        bail!("cannot read {}: no such file", path.display());
    }
    match load_file(path) {
        Ok(compiled) => {
            let p = compiled.policy();
            println!(
                "policy OK: {} (v{}, default {}, {} forbidden, {} rules)",
                path.display(),
                p.version,
                p.default,
                p.forbidden.len(),
                p.rules.len()
            );
            Ok(Outcome::Success)
        }
        Err(e) => {
            println!("{e:#}");
            Ok(Outcome::CheckFailed)
        }
    }
}

pub fn explain(home: &Home, policy: Option<&Path>, action: &str) -> anyhow::Result<Outcome> {
    let action = read_action(action)?;
    let compiled = match policy {
        Some(path) => load_file(path)?,
        None => home.load_policy()?,
    };
    let identity = action.identity().context("field 'url'")?;
    let store = if policy.is_none() {
        home.open_store().ok()
    } else {
        None
    };
    let explanation = match &store {
        Some(store) => compiled.explain(
            &identity,
            &action.params,
            &StoreCounter(store.clone()),
            now(),
        )?,
        None => compiled.explain(&identity, &action.params, &EmptyLedger, now())?,
    };
    println!("action: {}", identity.summary);
    println!("fingerprint: {}", identity.action_fingerprint);
    for step in &explanation.steps {
        if step.mismatches.is_empty() {
            println!("{} {}: matched", step.kind, step.name);
        } else {
            println!(
                "{} {}: no match ({})",
                step.kind,
                step.name,
                step.mismatches.join("; ")
            );
        }
        for (name, result) in &step.constraints {
            match result {
                Ok(reason) => println!("    {name}: pass — {reason}"),
                Err(reason) => println!("    {name}: FAIL — {reason}"),
            }
        }
    }
    let e = &explanation.evaluation;
    match &e.rule {
        Some(rule) => println!("decision: {} (rule {rule})", e.outcome),
        None => println!("decision: {} (default)", e.outcome),
    }
    for reason in &e.reasons {
        println!("  - {reason}");
    }
    if store.is_none() && compiled.has_rate_limit() {
        println!("(rate limits counted against an empty ledger)");
    }
    Ok(Outcome::Success)
}

/// One row of a policy test table.
struct Case {
    name: String,
    action: ProposedAction,
    expect: String,
    rule: Option<Option<String>>,
}

fn read_cases(path: &Path) -> anyhow::Result<Vec<Case>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc = if text.trim_start().starts_with(['[', '{']) {
        parse(&text).map_err(|e| anyhow::anyhow!("{}: not valid JSON: {e}", path.display()))?
    } else {
        parse_yaml(&text).map_err(|e| anyhow::anyhow!("{}: not valid YAML: {e}", path.display()))?
    };
    let Some(items) = doc.as_array() else {
        bail!(
            "{}: expected a list of cases ({{action, expect, rule?, name?}})",
            path.display()
        );
    };
    let mut cases = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let fields = item
            .as_object()
            .with_context(|| format!("case {i}: expected a mapping"))?;
        let action = fields
            .get("action")
            .with_context(|| format!("case {i}: missing 'action'"))?;
        let action =
            ProposedAction::from_value(action).with_context(|| format!("case {i}: action"))?;
        let expect = fields
            .get("expect")
            .and_then(Value::as_str)
            .filter(|e| matches!(*e, "allow" | "deny" | "needs_approval"))
            .with_context(|| format!("case {i}: 'expect' must be allow, deny or needs_approval"))?;
        let rule = match fields.get("rule") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => bail!("case {i}: 'rule' must be a string or null"),
        };
        let name = fields
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("case {i}"), str::to_owned);
        cases.push(Case {
            name,
            action,
            expect: expect.to_owned(),
            rule,
        });
    }
    Ok(cases)
}

pub fn test(home: &Home, policy: Option<&Path>, file: &Path) -> anyhow::Result<Outcome> {
    let compiled = match policy {
        Some(path) => load_file(path)?,
        None => home.load_policy()?,
    };
    let cases = read_cases(file)?;
    let mut failures = 0;
    println!(
        "{:<6} {:<32} {:<16} {:<16} rule",
        "", "case", "expected", "got"
    );
    for case in &cases {
        let identity = case
            .action
            .identity()
            .with_context(|| format!("{}: field 'url'", case.name))?;
        let got = compiled.evaluate(&identity, &case.action.params, &EmptyLedger, now())?;
        let outcome_ok = got.outcome.as_str() == case.expect;
        let rule_ok = case.rule.as_ref().is_none_or(|want| *want == got.rule);
        let status = if outcome_ok && rule_ok {
            "PASS"
        } else {
            "FAIL"
        };
        if status == "FAIL" {
            failures += 1;
        }
        let expected = match &case.rule {
            Some(Some(rule)) => format!("{} ({rule})", case.expect),
            _ => case.expect.clone(),
        };
        println!(
            "{status:<6} {:<32} {:<16} {:<16} {}",
            case.name,
            expected,
            got.outcome.as_str(),
            got.rule.as_deref().unwrap_or("-")
        );
        if status == "FAIL" {
            for reason in &got.reasons {
                println!("       - {reason}");
            }
        }
    }
    println!("{} of {} cases passed", cases.len() - failures, cases.len());
    Ok(if failures == 0 {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}
