//! Policy evaluation of the example policy (target: p50 ≤ 5 µs per decision),
//! and decisions through the engine over the in-memory store, which measures
//! the engine's own cost without the disk.

use std::sync::Arc;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use delego_firewall::engine::{EngineParts, Firewall};
use delego_firewall::evaluate::{AllowCounter, CountError};
use delego_firewall::policy_file::load_policy;
use delego_firewall::store::MemoryStore;
use delego_spec::json::parse;
use delego_spec::keys::SigningKey;
use delego_spec::ProposedAction;

const POLICY: &str = include_str!("../../spec/tests/vectors/ctk/policy.example.yaml");

/// A ledger in which the rate-limited rules have a few allows.
struct FewAllows;

impl AllowCounter for FewAllows {
    fn count_allows(&self, _rule: &str, _since: i64, limit: u64) -> Result<u64, CountError> {
        Ok(limit.min(7))
    }
}

fn action(json: &str) -> ProposedAction {
    ProposedAction::from_value(&parse(json).expect("JSON")).expect("action")
}

fn evaluate(c: &mut Criterion) {
    let policy = load_policy(POLICY, "policy.example.yaml").expect("policy");
    let cases = [
        (
            "read_allow",
            r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#,
        ),
        (
            "order_needs_approval",
            r#"{"instruction":"place a small order","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal"}}"#,
        ),
        (
            "forbidden_deny",
            r#"{"instruction":"share","method":"POST","url":"https://api.example.com/accounts/me/permissions","params":{"grant":"x"}}"#,
        ),
        (
            "unmatched_default",
            r#"{"instruction":"delete","method":"DELETE","url":"https://other.example.com/x","params":{}}"#,
        ),
    ];
    let mut group = c.benchmark_group("evaluate");
    for (name, json) in cases {
        let action = action(json);
        let identity = action.identity().expect("identity");
        group.bench_function(name, |b| {
            b.iter(|| {
                policy
                    .evaluate(
                        black_box(&identity),
                        &action.params,
                        &FewAllows,
                        1_780_000_000_000_000,
                    )
                    .expect("evaluate")
            })
        });
    }
    // From the agent's JSON to the decision, as the API does it.
    let order = action(cases[1].1);
    group.bench_function("identity_and_evaluate", |b| {
        b.iter(|| {
            let identity = black_box(&order).identity().expect("identity");
            policy
                .evaluate(&identity, &order.params, &FewAllows, 1_780_000_000_000_000)
                .expect("evaluate")
        })
    });
    group.finish();

    let parts = EngineParts::local(SigningKey::from_bytes(&[1u8; 32]));
    let deny_all = "version: 1\ndefault: deny\n";
    let firewall = Firewall::start(
        Arc::new(MemoryStore::new()),
        load_policy(deny_all, "deny-all").expect("policy"),
        parts,
    )
    .expect("engine");
    let denied = action(cases[3].1);
    let mut group = c.benchmark_group("engine_memory");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("propose_deny_signed_receipt", |b| {
        b.iter(|| firewall.propose(denied.clone()).expect("decision"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = evaluate
}
criterion_main!(benches);
