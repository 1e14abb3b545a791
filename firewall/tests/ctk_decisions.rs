//! CTK `decisions.json`: the example policy evaluated on each action must give
//! the vector's outcome, rule and reasons exactly (empty ledger).

use delego_firewall::evaluate::{AllowCounter, CountError};
use delego_firewall::policy_file::load_policy;
use delego_spec::json::{parse, Value};
use delego_spec::ProposedAction;

struct EmptyLedger;

impl AllowCounter for EmptyLedger {
    fn count_allows(&self, _rule: &str, _since: i64, _limit: u64) -> Result<u64, CountError> {
        Ok(0)
    }
}

const VECTORS: &str = "../spec/tests/vectors/ctk";

#[test]
fn example_policy_reproduces_every_decision_vector() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(VECTORS);
    let policy_text = std::fs::read_to_string(dir.join("policy.example.yaml")).unwrap();
    let policy = load_policy(&policy_text, "policy.example.yaml").unwrap();
    let vectors = parse(&std::fs::read_to_string(dir.join("decisions.json")).unwrap()).unwrap();
    let cases = vectors.as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let case = case.as_object().unwrap();
        let action = ProposedAction::from_value(&case["action"]).unwrap();
        let id = action.identity().unwrap();
        let result = policy
            .evaluate(&id, &action.params, &EmptyLedger, 1_780_000_000_000_000)
            .unwrap();
        assert_eq!(
            Value::from(result.outcome.as_str()),
            case["outcome"],
            "{}",
            action.instruction
        );
        assert_eq!(
            Value::from(result.rule.clone()),
            case["rule"],
            "{}",
            action.instruction
        );
        let reasons: Vec<Value> = result
            .reasons
            .iter()
            .map(|r| Value::from(r.as_str()))
            .collect();
        assert_eq!(
            Value::Array(reasons),
            case["reasons"],
            "{}",
            action.instruction
        );
    }
}
