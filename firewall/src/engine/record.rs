//! What an execution receipt says about a broker's outcome, and what the
//! agent is told. Owns the wording only; signing and committing belong to
//! the writer.

use delego_spec::json::Value;
use delego_spec::Outcome;

use crate::broker::BrokerFailure;

/// The reason an allowed, executed action's receipt ends with.
pub const EXECUTED: &str = "executed via broker";

/// How a refused execution's reason begins; an unknown outcome's.
const REFUSED: &str = "broker did not execute";
const UNKNOWN: &str = "broker outcome unknown";

/// Whether a reason told to the agent says the broker did not carry the
/// action out (refused, or outcome unknown): the fail-closed deny that the
/// reference reports as a broker refusal.
pub fn is_broker_refusal(reason: &str) -> bool {
    reason.starts_with(REFUSED) || reason.starts_with(UNKNOWN)
}

/// How one execution attempt is recorded.
pub struct Recorded {
    pub outcome: Outcome,
    /// The receipt's reasons: the decision's, then what happened.
    pub receipt_reasons: Vec<String>,
    /// What the agent is told (the reference tells the decision's own
    /// reasons on success, and the failure appended otherwise).
    pub told: Vec<String>,
    /// Whether a credential was used: the request went upstream.
    pub executed: bool,
    pub result: Option<Value>,
}

impl Recorded {
    /// Records `attempt`. `fits` says whether a receipt with these reasons
    /// can be logged; a broker message too long for it is replaced by a
    /// short one of the same meaning (the reservation was sized for those).
    pub fn new(
        reasons: Vec<String>,
        attempt: Result<Value, BrokerFailure>,
        fits: impl Fn(&[String]) -> bool,
    ) -> Recorded {
        let (outcome, appended, short, executed, result) = match attempt {
            Ok(result) => {
                let mut receipt_reasons = reasons.clone();
                receipt_reasons.push(EXECUTED.to_owned());
                return Recorded {
                    outcome: Outcome::Allow,
                    receipt_reasons,
                    told: reasons,
                    executed: true,
                    result: Some(result),
                };
            }
            Err(BrokerFailure::Refused(message)) => (
                Outcome::Deny,
                format!("{REFUSED}: {message}"),
                "broker did not execute (its message exceeded the receipt size limit)",
                false,
                None,
            ),
            Err(BrokerFailure::Unknown { reason, result }) => (
                Outcome::Deny,
                format!("{UNKNOWN}: {reason}"),
                "broker outcome unknown (its message exceeded the receipt size limit)",
                false,
                result,
            ),
            Err(BrokerFailure::Upstream { reason, result }) => (
                Outcome::Deny,
                format!("{EXECUTED}; upstream failed: {reason}"),
                "executed via broker; upstream failed (its message exceeded the receipt size limit)",
                true,
                Some(result),
            ),
        };
        let mut receipt_reasons = reasons;
        receipt_reasons.push(appended);
        if !fits(&receipt_reasons) {
            receipt_reasons.pop();
            receipt_reasons.push(short.to_owned());
        }
        Recorded {
            outcome,
            told: receipt_reasons.clone(),
            receipt_reasons,
            executed,
            result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons() -> Vec<String> {
        vec!["matched rule".to_owned()]
    }

    #[test]
    fn success_is_an_allow_told_with_the_decision_reasons() {
        let r = Recorded::new(reasons(), Ok(Value::Null), |_| true);
        assert_eq!(r.outcome, Outcome::Allow);
        assert_eq!(r.receipt_reasons, ["matched rule", EXECUTED]);
        assert_eq!(r.told, ["matched rule"]);
        assert!(r.executed);
    }

    #[test]
    fn failures_are_denies_that_say_what_happened() {
        let refused = Recorded::new(reasons(), Err(BrokerFailure::Refused("no".into())), |_| {
            true
        });
        assert_eq!(refused.outcome, Outcome::Deny);
        assert_eq!(refused.told[1], "broker did not execute: no");
        assert!(!refused.executed);
        let unknown = Recorded::new(
            reasons(),
            Err(BrokerFailure::Unknown {
                reason: "timeout".into(),
                result: None,
            }),
            |_| true,
        );
        assert_eq!(
            unknown.receipt_reasons[1],
            "broker outcome unknown: timeout"
        );
        assert!(!unknown.executed);
        let upstream = Recorded::new(
            reasons(),
            Err(BrokerFailure::Upstream {
                reason: "upstream answered status 502".into(),
                result: Value::Null,
            }),
            |_| true,
        );
        assert_eq!(upstream.outcome, Outcome::Deny);
        assert_eq!(
            upstream.receipt_reasons[1],
            "executed via broker; upstream failed: upstream answered status 502"
        );
        assert!(upstream.executed, "the credential was used");
        assert!(is_broker_refusal(&refused.told[1]) && is_broker_refusal(&unknown.told[1]));
        assert!(!is_broker_refusal(&upstream.told[1]));
    }

    #[test]
    fn an_oversized_message_is_replaced_not_truncated_silently() {
        let long = "x".repeat(100_000);
        let r = Recorded::new(reasons(), Err(BrokerFailure::Refused(long)), |rs| {
            rs.iter().map(String::len).sum::<usize>() < 1000
        });
        assert_eq!(
            r.receipt_reasons[1],
            "broker did not execute (its message exceeded the receipt size limit)"
        );
    }
}
