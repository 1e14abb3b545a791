//! Shared fixtures for delego benchmarks (see `benches/`), the durable
//! workload ([`workload`]) and the measuring helpers the harnesses share.
//!
//! The fixtures are deterministic: the signing key is derived from a fixed
//! seed and the ledger's timestamps from a fixed start, so every run measures
//! the same bytes.
#![forbid(unsafe_code)]

mod measure;
mod store_chain;
pub mod witness;
pub mod workload;

pub use measure::{load_average, percentile};
pub use store_chain::{verify_store_chain, StoreChainError};

use delego_spec::json::parse;
use delego_spec::keys::{SigningKey, VerifyingKey};
use delego_spec::{ActionIdentity, Outcome, Phase, ProposedAction, ReceiptPayload, GENESIS};

/// The "typical action" of the hashing benchmarks, as an agent would send it.
pub const TYPICAL_ACTION_JSON: &str = r#"{"instruction":"Pay the March invoice from Acme","method":"POST","url":"https://api.example.com/v1/payments?ref=inv-0316&draft=false","params":{"amount":2400,"currency":"USD","destination":"internal","memo":"March invoice"}}"#;

/// [`TYPICAL_ACTION_JSON`] parsed into a [`ProposedAction`].
pub fn typical_action() -> ProposedAction {
    let value = parse(TYPICAL_ACTION_JSON).expect("the typical action is valid JSON");
    ProposedAction::from_value(&value).expect("the typical action is a valid action")
}

/// A fixed signing key (benchmarks need reproducible bytes, not secrecy).
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[0x5a; 32])
}

/// The public half of [`signing_key`].
pub fn verifying_key() -> VerifyingKey {
    signing_key().verifying_key()
}

/// Actions the synthetic ledger cycles through, with the rule that matched.
const LEDGER_ACTIONS: [(&str, Option<&str>); 4] = [
    (
        r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#,
        Some("read-accounts"),
    ),
    (TYPICAL_ACTION_JSON, Some("payments-internal")),
    (
        r#"{"instruction":"Refund order 8812 to the customer","method":"POST","url":"https://api.example.com/v1/refunds","params":{"amount":129.95,"currency":"EUR","order":"8812","reason":"damaged in transit"}}"#,
        Some("refunds-need-approval"),
    ),
    (
        r#"{"instruction":"Summarise this week's tickets","method":"DELETE","url":"https://api.example.com/v1/customers/cus_42","params":{}}"#,
        None,
    ),
];

/// The derived identities of the ledger's actions, with their rules.
pub fn ledger_identities() -> Vec<(ActionIdentity, Option<&'static str>)> {
    LEDGER_ACTIONS
        .iter()
        .map(|(json, rule)| {
            let value = parse(json).expect("ledger action is valid JSON");
            let action = ProposedAction::from_value(&value).expect("ledger action is valid");
            (action.identity().expect("ledger URL is valid"), *rule)
        })
        .collect()
}

/// One timestamp as the reference writes it (`datetime.isoformat()` in UTC),
/// `step_us` microseconds per seq after 2026-06-03T20:21:56.023090+00:00.
pub fn timestamp(seq: u64, step_us: u64) -> String {
    const START_US: u64 = ((20 * 60 + 21) * 60 + 56) * 1_000_000 + 23_090;
    const DAY_US: u64 = 86_400 * 1_000_000;
    let t = START_US + seq * step_us;
    let day = 3 + t / DAY_US; // stays within June for any benchmark size
    let t = t % DAY_US;
    let micros = t % 1_000_000;
    let secs = t / 1_000_000;
    format!(
        "2026-06-{day:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The payload of receipt `seq` of the synthetic ledger: a realistic mix of
/// allowed, denied and approval-gated decisions, each allowed decision
/// followed by its execution receipt.
pub fn ledger_payload(
    seq: u64,
    prev_hash: String,
    identities: &[(ActionIdentity, Option<&str>)],
) -> ReceiptPayload {
    // Pattern of 6: decision/allow, execution/allow (read), decision/allow,
    // execution/allow (payment), decision/needs_approval (refund),
    // decision/deny (unmatched delete).
    let (index, phase, outcome) = match seq % 6 {
        0 => (0, Phase::Decision, Outcome::Allow),
        1 => (0, Phase::Execution, Outcome::Allow),
        2 => (1, Phase::Decision, Outcome::Allow),
        3 => (1, Phase::Execution, Outcome::Allow),
        4 => (2, Phase::Decision, Outcome::NeedsApproval),
        _ => (3, Phase::Decision, Outcome::Deny),
    };
    let (identity, rule) = &identities[index];
    let reasons = match (phase, outcome) {
        (Phase::Execution, _) => vec![
            format!("rate_limit: {}/50 per hour", seq % 50 + 1),
            "executed via broker".to_owned(),
        ],
        (_, Outcome::Allow) => vec![format!("rate_limit: {}/50 per hour", seq % 50 + 1)],
        (_, Outcome::NeedsApproval) => vec![
            "amount 129.95 exceeds auto-approve limit 100".to_owned(),
            "approval required by rule".to_owned(),
        ],
        (_, Outcome::Deny) => vec!["no rule matched: default deny".to_owned()],
    };
    let approval_id = (outcome == Outcome::NeedsApproval).then(|| format!("apr_{seq:08x}"));
    ReceiptPayload {
        seq,
        ts: timestamp(seq, 12_345),
        phase,
        outcome,
        rule: rule.map(str::to_owned),
        reasons,
        intent_hash: identity.intent_hash.clone(),
        action_fingerprint: identity.action_fingerprint.clone(),
        action_summary: identity.summary.clone(),
        approval_id,
        prev_hash,
    }
}

/// A valid ledger of `n` receipts (seq `0..n`) in the reference's JSONL
/// format, signed with `key`, each line ending in `\n`.
pub fn build_ledger(n: u64, key: &SigningKey) -> String {
    let identities = ledger_identities();
    let mut out = String::with_capacity(n as usize * 800);
    let mut prev_hash = GENESIS.to_owned();
    for seq in 0..n {
        let receipt = ledger_payload(seq, prev_hash, &identities).sign(key);
        out.push_str(&receipt.to_reference_line());
        out.push('\n');
        prev_hash = receipt.entry_hash;
    }
    out
}

/// The receipt at `seq` of the synthetic ledger, unsigned, chained to an
/// arbitrary previous hash (for single-receipt benchmarks).
pub fn sample_payload(seq: u64) -> ReceiptPayload {
    let identities = ledger_identities();
    ledger_payload(
        seq,
        "3e541bb3eab15ec751285bfa1fd1ebd768dd3e69fb61af9e6f9c9b8609c764b1".to_owned(),
        &identities,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use delego_spec::verify_chain;

    #[test]
    fn timestamps_match_the_reference_format() {
        assert_eq!(timestamp(0, 12_345), "2026-06-03T20:21:56.023090+00:00");
        assert_eq!(timestamp(1, 12_345), "2026-06-03T20:21:56.035435+00:00");
        assert_eq!(
            timestamp(10, 4 * 3_600 * 1_000_000),
            "2026-06-05T12:21:56.023090+00:00"
        );
    }

    #[test]
    fn synthetic_ledger_verifies() {
        let key = signing_key();
        let ledger = build_ledger(13, &key);
        assert_eq!(ledger.lines().count(), 13);
        let report = verify_chain(&ledger, &key.verifying_key(), None);
        assert!(report.is_valid(), "{:?}", report.problems);
        assert_eq!(report.seqs.len(), 13);
    }

    #[test]
    fn sample_payload_signs_and_verifies() {
        let receipt = sample_payload(4).sign(&signing_key());
        assert_eq!(receipt.verify(&verifying_key()), Ok(()));
        assert!(receipt.payload.approval_id.is_some());
    }
}
