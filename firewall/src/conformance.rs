//! The CTK vectors that need an authorizer: `decisions.json` (the example
//! policy evaluated on an empty ledger) and `resolve.json` (the §7 guards).
//! `delego-spec` checks everything else; together they cover the whole kit.

use delego_spec::conformance::{case_name, load_cases, result, CaseResult, CtkVectors};
use delego_spec::json::Value;
use delego_spec::{Outcome, ProposedAction};

use crate::approval::{resolve, ApprovalRecord, ApprovalStatus, Resolution, Vote};
use crate::evaluate::{AllowCounter, CountError};
use crate::policy_file::load_policy;

/// A ledger with no receipts.
struct EmptyLedger;

impl AllowCounter for EmptyLedger {
    fn count_allows(&self, _rule: &str, _since: i64, _limit: u64) -> Result<u64, CountError> {
        Ok(0)
    }
}

fn field<'v>(case: &'v Value, name: &str) -> Result<&'v Value, String> {
    case.as_object()
        .and_then(|o| o.get(name))
        .ok_or_else(|| format!("vector has no '{name}'"))
}

/// Results for every decision and resolve vector.
pub fn run(vectors: &CtkVectors<'_>) -> Vec<CaseResult> {
    let mut out = Vec::new();
    decisions(&mut out, vectors);
    resolutions(&mut out, vectors);
    out
}

fn decisions(out: &mut Vec<CaseResult>, v: &CtkVectors<'_>) {
    const FILE: &str = "decisions.json";
    let policy = match load_policy(v.example_policy, "policy.example.yaml") {
        Ok(policy) => policy,
        Err(e) => return out.push(result(FILE, "example policy", Err(e.to_string()))),
    };
    let list = match load_cases(FILE, v.decisions) {
        Ok(list) => list,
        Err(failure) => return out.push(failure),
    };
    for (i, case) in list.iter().enumerate() {
        let check = || -> Result<(), String> {
            let action =
                ProposedAction::from_value(field(case, "action")?).map_err(|e| e.to_string())?;
            let id = action.identity().map_err(|e| e.to_string())?;
            let got = policy
                .evaluate(&id, &action.params, &EmptyLedger, 0)
                .map_err(|e| e.to_string())?;
            let reasons = Value::Array(
                got.reasons
                    .iter()
                    .map(|r| Value::from(r.as_str()))
                    .collect(),
            );
            let checks = [
                ("outcome", Value::from(got.outcome.as_str())),
                ("rule", Value::from(got.rule.clone())),
                ("reasons", reasons),
            ];
            for (name, ours) in checks {
                let expected = field(case, name)?;
                if &ours != expected {
                    return Err(format!("{name}: got {ours:?}, expected {expected:?}"));
                }
            }
            Ok(())
        };
        out.push(result(FILE, format!("case {i}"), check()));
    }
}

fn status(text: &str) -> Result<ApprovalStatus, String> {
    ApprovalStatus::parse(text).ok_or_else(|| format!("unknown status {text}"))
}

/// The vector's parked approval; the CTK names its approver `human`.
fn record(approval: &Value) -> Result<ApprovalRecord, String> {
    let text = |name: &str| -> Result<String, String> {
        field(approval, name)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{name} is not a string"))
    };
    Ok(ApprovalRecord {
        id: "apr_ctk".into(),
        status: status(&text("status")?)?,
        action_fingerprint: text("action_fingerprint")?,
        intent_hash: text("intent_hash")?,
        instruction: String::new(),
        rule: field(approval, "rule")
            .ok()
            .and_then(Value::as_str)
            .map(str::to_owned),
        summary: String::new(),
        created_at: String::new(),
        created_micros: 0,
        decided_at: None,
        approver: Some("human".into()),
        consumed_at: None,
        reason: None,
        required_approvers: 1,
        votes: vec![Vote {
            approver: "human".into(),
            at: String::new(),
            note: None,
        }],
        expires_micros: None,
        decision_note: None,
        proposed_by: None,
    })
}

fn resolutions(out: &mut Vec<CaseResult>, v: &CtkVectors<'_>) {
    const FILE: &str = "resolve.json";
    let list = match load_cases(FILE, v.resolve) {
        Ok(list) => list,
        Err(failure) => return out.push(failure),
    };
    for (i, case) in list.iter().enumerate() {
        let check = || -> Result<(), String> {
            let action = ProposedAction::from_value(field(case, "presented_action")?)
                .map_err(|e| e.to_string())?;
            let id = action.identity().map_err(|e| e.to_string())?;
            let parked = match field(case, "approval")? {
                Value::Null => None,
                approval => Some(record(approval)?),
            };
            let (outcome, reason) = match resolve(parked.as_ref(), "apr_ctk", &id, 0) {
                Resolution::Refuse(reason) => (Outcome::Deny, reason),
                Resolution::Awaiting => {
                    (Outcome::NeedsApproval, "awaiting human approval".to_owned())
                }
                Resolution::Release { reason, .. } => (Outcome::Allow, reason),
            };
            let expected = field(case, "expected")?;
            let want = field(expected, "outcome")?.as_str().unwrap_or_default();
            if outcome.as_str() != want {
                return Err(format!("outcome {outcome}, expected {want}"));
            }
            let needle = field(expected, "reason_contains")?
                .as_str()
                .unwrap_or_default();
            if !reason.contains(needle) {
                return Err(format!("reason {reason:?} lacks {needle:?}"));
            }
            Ok(())
        };
        out.push(result(FILE, case_name(case, i), check()));
    }
}

#[cfg(test)]
mod tests {
    use delego_spec::conformance::{embedded, Status};

    #[test]
    fn every_decision_and_resolve_vector_passes() {
        let results = super::run(&embedded());
        assert_eq!(
            results
                .iter()
                .filter(|r| r.file == "decisions.json")
                .count(),
            4
        );
        assert_eq!(
            results.iter().filter(|r| r.file == "resolve.json").count(),
            9
        );
        let failures: Vec<_> = results
            .iter()
            .filter(|r| r.status != Status::Pass)
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
