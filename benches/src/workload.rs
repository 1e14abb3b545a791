//! The workload of the durable benchmarks: the benchmark policy, the action
//! mix every harness (and the reference's driver) sends, and the engine over
//! a RocksDB store. One definition, so "same policy, same actions" holds by
//! construction.

use std::path::Path;
use std::sync::Arc;

use delego_firewall::engine::{EngineParts, Firewall, FirewallError};
use delego_firewall::evaluate::CompiledPolicy;
use delego_firewall::policy_file::{load_policy, PolicyLoadError};
use delego_firewall::store::{RocksStore, StoreError};
use delego_spec::json::parse;
use delego_spec::keys::SigningKey;
use delego_spec::ProposedAction;

/// The benchmark policy (see the file's comments for how it differs from
/// the example policy).
pub const BENCH_POLICY: &str = include_str!("../policies/durable.yaml");

/// The name [`BENCH_POLICY`] is reported under.
pub const BENCH_POLICY_NAME: &str = "benches/policies/durable.yaml";

/// The action mix, cycled in this order, with the decision each gets under
/// [`BENCH_POLICY`]: two allows (one counting a large rate limit, one
/// uncapped), a read whose 50-per-hour cap runs out (allow, then deny), an
/// order parked for approval, a forbidden change and an unmatched delete.
pub const MIX: [(&str, &str); 6] = [
    (
        "allow (read-orders, rate limit with a large cap)",
        r#"{"instruction":"Check the status of order 8812","method":"GET","url":"https://api.example.com/orders/8812","params":{}}"#,
    ),
    (
        "allow (read-catalog, no cap)",
        r#"{"instruction":"Look up catalog item 42","method":"GET","url":"https://api.example.com/catalog/items/42?fields=price,stock","params":{}}"#,
    ),
    (
        "allow for 50 per hour, then deny (read-accounts, rate limit 50/hour)",
        r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#,
    ),
    (
        "needs_approval (place-order)",
        r#"{"instruction":"Place an order for 24 units of item 42","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal"}}"#,
    ),
    (
        "deny (forbidden: no-access-control-changes)",
        r#"{"instruction":"Share the account with bob","method":"POST","url":"https://api.example.com/accounts/me/permissions","params":{"grant":"read","to":"bob@example.com"}}"#,
    ),
    (
        "deny (no rule matched)",
        r#"{"instruction":"Summarise this week's tickets","method":"DELETE","url":"https://api.example.com/v1/customers/cus_42","params":{}}"#,
    ),
];

/// [`MIX`] parsed into actions, in order.
pub fn mix_actions() -> Vec<ProposedAction> {
    MIX.iter()
        .map(|(_, json)| {
            let value = parse(json).expect("mix action is valid JSON");
            ProposedAction::from_value(&value).expect("mix action is a valid action")
        })
        .collect()
}

/// [`MIX`] as one JSON array, for the reference's driver.
pub fn mix_json_array() -> String {
    let items: Vec<&str> = MIX.iter().map(|(_, json)| *json).collect();
    format!("[{}]", items.join(","))
}

/// Why the durable engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("policy {name}: {source}")]
    Policy {
        name: String,
        source: PolicyLoadError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] FirewallError),
}

/// Compiles `policy_text` (reported as `name`).
pub fn compile(policy_text: &str, name: &str) -> Result<CompiledPolicy, StartError> {
    load_policy(policy_text, name).map_err(|source| StartError::Policy {
        name: name.to_owned(),
        source,
    })
}

/// The engine as the CLI starts it (null broker, system clock, OS entropy,
/// no tokens) over a RocksDB store opened at `dir`, signing with `signer`.
pub fn start_durable(
    dir: &Path,
    policy: CompiledPolicy,
    signer: SigningKey,
) -> Result<Firewall<RocksStore>, StartError> {
    let store = Arc::new(RocksStore::open(dir)?);
    Ok(Firewall::start(store, policy, EngineParts::local(signer))?)
}

/// Why [`drive`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    #[error("a caller thread panicked")]
    CallerPanicked,
}

/// What [`drive`] measured.
#[derive(Debug, Clone, Copy)]
pub struct DriveReport {
    pub proposals: u64,
    pub elapsed: std::time::Duration,
    /// allow, needs_approval, deny.
    pub outcomes: [u64; 3],
}

impl DriveReport {
    pub fn per_second(&self) -> f64 {
        self.proposals as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends `count` proposals of [`MIX`] (cycled, starting at `offset` into
/// it) from `threads` concurrent callers and waits for every answer.
pub fn drive<S: delego_firewall::store::LedgerStore + 'static>(
    fw: &Firewall<S>,
    threads: usize,
    count: u64,
    offset: usize,
) -> Result<DriveReport, DriveError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let actions = mix_actions();
    let issued = AtomicU64::new(0);
    let started = std::time::Instant::now();
    let results: Vec<Result<[u64; 3], DriveError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let (issued, actions) = (&issued, &actions);
                scope.spawn(move || {
                    let mut outcomes = [0u64; 3];
                    loop {
                        let ticket = issued.fetch_add(1, Ordering::Relaxed);
                        if ticket >= count {
                            return Ok(outcomes);
                        }
                        let index = (offset as u64 + ticket) % actions.len() as u64;
                        let decision = fw
                            .propose(actions[index as usize].clone())
                            .map_err(DriveError::from)?;
                        outcomes[match decision.outcome {
                            delego_spec::Outcome::Allow => 0,
                            delego_spec::Outcome::NeedsApproval => 1,
                            delego_spec::Outcome::Deny => 2,
                        }] += 1;
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(DriveError::CallerPanicked)))
            .collect()
    });
    let elapsed = started.elapsed();
    let mut outcomes = [0u64; 3];
    for result in results {
        for (total, n) in outcomes.iter_mut().zip(result?) {
            *total += n;
        }
    }
    Ok(DriveReport {
        proposals: count,
        elapsed,
        outcomes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use delego_firewall::store::MemoryStore;
    use delego_spec::Outcome;

    /// The mix decides as documented under the benchmark policy.
    #[test]
    fn the_mix_gets_the_documented_decisions() {
        let policy = compile(BENCH_POLICY, BENCH_POLICY_NAME).expect("bench policy compiles");
        let parts = EngineParts::local(crate::signing_key());
        let fw = Firewall::start(Arc::new(MemoryStore::new()), policy, parts).expect("engine");
        let outcomes = |fw: &Firewall<MemoryStore>| -> Vec<Outcome> {
            mix_actions()
                .into_iter()
                .map(|a| fw.propose(a).expect("decision").outcome)
                .collect()
        };
        use Outcome::{Allow, Deny, NeedsApproval};
        assert_eq!(
            outcomes(&fw),
            [Allow, Allow, Allow, NeedsApproval, Deny, Deny]
        );
        for _ in 0..49 {
            outcomes(&fw);
        }
        // read-accounts has used its 50 per hour; the others keep deciding.
        assert_eq!(
            outcomes(&fw),
            [Allow, Allow, Deny, NeedsApproval, Deny, Deny]
        );
        assert!(mix_json_array().starts_with("[{"));
    }
}
