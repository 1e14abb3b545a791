//! The engine's scenarios over the in-memory store: the reference's demo
//! story, exact rate limits, single-use release under concurrency, and the
//! chain it writes verifying offline.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use delego_firewall::broker::NullBroker;
use delego_firewall::engine::{Clock, EngineParts, Firewall, FirewallError, OsEntropy};
use delego_firewall::policy_file::load_policy;
use delego_firewall::store::{LedgerStore, MemoryStore};
use delego_spec::chain::verify_chain;
use delego_spec::json::parse;
use delego_spec::keys::SigningKey;
use delego_spec::{Outcome, ProposedAction};

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_micros(&self) -> i64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

const POLICY: &str = include_str!("../../spec/tests/vectors/ctk/policy.example.yaml");
const T0: i64 = 1_780_000_000_000_000;

fn firewall_with(policy: &str, clock: Arc<TestClock>) -> (Firewall<MemoryStore>, SigningKey) {
    let key = SigningKey::from_bytes(&[3u8; 32]);
    let parts = EngineParts {
        signer: key.clone(),
        broker: Arc::new(NullBroker),
        clock,
        entropy: Arc::new(OsEntropy),
        tokens: None,
        sink: None,
        anchored: None,
    };
    let firewall = Firewall::start(
        Arc::new(MemoryStore::new()),
        load_policy(policy, "test").unwrap(),
        parts,
    )
    .unwrap();
    (firewall, key)
}

fn firewall() -> (Firewall<MemoryStore>, SigningKey) {
    firewall_with(POLICY, Arc::new(TestClock(AtomicI64::new(T0))))
}

fn action(json: &str) -> ProposedAction {
    ProposedAction::from_value(&parse(json).unwrap()).unwrap()
}

fn order(amount: &str, extra: &str) -> ProposedAction {
    action(&format!(
        r#"{{"instruction":"place a small order","method":"POST","url":"https://api.example.com/orders","params":{{"amount":{amount},"currency":"USD","destination":"internal"{extra}}}}}"#
    ))
}

fn ledger_text(store: &MemoryStore) -> String {
    store
        .receipts(0, usize::MAX)
        .unwrap()
        .iter()
        .map(|r| r.to_reference_line() + "\n")
        .collect()
}

#[test]
fn the_reference_demo_story() {
    let (fw, key) = firewall();
    let read = fw
        .propose(action(r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#))
        .unwrap();
    assert_eq!((read.outcome, read.executed), (Outcome::Allow, true));
    assert_eq!(read.reasons, ["rate_limit: 1/50 per hour"]);

    let forbidden = fw
        .propose(action(r#"{"instruction":"share","method":"POST","url":"https://api.example.com/accounts/me/permissions","params":{"grant":"x"}}"#))
        .unwrap();
    assert_eq!(forbidden.outcome, Outcome::Deny);
    assert_eq!(
        forbidden.reasons,
        ["forbidden: Agents may never modify permissions or sharing"]
    );

    let over_cap = fw.propose(order("50000", "")).unwrap();
    assert_eq!(over_cap.reasons, ["amount: 50000 exceeds max 5000 USD"]);

    let parked = fw.propose(order("2400", "")).unwrap();
    assert_eq!(parked.outcome, Outcome::NeedsApproval);
    let id = parked.approval_id.clone().unwrap();
    assert!(id.starts_with("apr_") && id.len() == 16);

    let early = fw.resolve(&id, order("2400", "")).unwrap();
    assert_eq!(
        (early.outcome, early.reasons.clone()),
        (
            Outcome::NeedsApproval,
            vec!["awaiting human approval".to_owned()]
        )
    );

    let substituted = fw
        .resolve(&id, order("2400", r#","recipient":"attacker""#))
        .unwrap();
    assert_eq!(substituted.outcome, Outcome::Deny);
    assert!(substituted.reasons[0].starts_with("approval/action mismatch"));

    let decided = fw.decide(&id, true, "alice", Some("ok")).unwrap().unwrap();
    assert_eq!(decided.status.as_str(), "approved");

    let released = fw.resolve(&id, order("2400", "")).unwrap();
    assert_eq!(
        (released.outcome, released.executed),
        (Outcome::Allow, true)
    );
    assert_eq!(released.rule.as_deref(), Some("place-order"));
    assert_eq!(released.reasons, ["human approved by 'alice'"]);

    let replay = fw.resolve(&id, order("2400", "")).unwrap();
    assert_eq!(replay.outcome, Outcome::Deny);
    assert!(replay.reasons[0].starts_with("approval already used"));

    assert!(fw
        .decide("apr_000000000000", true, "alice", None)
        .unwrap()
        .is_none());

    let report = verify_chain(&ledger_text(fw.store()), &key.verifying_key(), None);
    assert!(report.is_valid(), "{:?}", report.problems);
    // read, forbidden, over-cap, parked, substituted, released, replay
    assert_eq!(report.seqs.len(), 7);
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let (fw, _) = firewall();
    for url in [
        "/relative/path",
        "api.example.com/x",
        "https://[::1/x",
        "mailto:someone",
    ] {
        let refused = fw.propose(action(&format!(
            r#"{{"instruction":"i","method":"GET","url":"{url}","params":{{}}}}"#
        )));
        assert!(
            matches!(refused, Err(FirewallError::InvalidAction(_))),
            "{url}: {refused:?}"
        );
    }
    let huge = "x".repeat(70_000);
    let too_big = fw.propose(action(&format!(
        r#"{{"instruction":"i","method":"GET","url":"https://h/","params":{{"blob":"{huge}"}}}}"#
    )));
    assert!(
        matches!(too_big, Err(FirewallError::TooLarge { .. })),
        "{too_big:?}"
    );
    // An oversized action that would be parked leaves no approval behind.
    let blob = format!(r#","blob":"{huge}""#);
    assert_eq!(
        firewall().0.propose(order("2400", "")).unwrap().outcome,
        Outcome::NeedsApproval
    );
    let too_big = fw.propose(order("2400", &blob));
    assert!(
        matches!(too_big, Err(FirewallError::TooLarge { .. })),
        "{too_big:?}"
    );
    assert!(fw.store().pending_approvals().unwrap().is_empty());
    assert!(fw.store().head().unwrap().is_none());
}

#[test]
fn rate_limits_are_exact_under_concurrency() {
    let policy = "version: 1\ndefault: deny\nrules:\n  - name: reads\n    decision: allow\n    match: { method: GET, host: h }\n    constraints:\n      rate_limit: { max: 25, per: minute }\n";
    let (fw, _) = firewall_with(policy, Arc::new(TestClock(AtomicI64::new(T0))));
    let fw = Arc::new(fw);
    let allowed = Arc::new(AtomicI64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (fw, allowed) = (fw.clone(), allowed.clone());
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let d = fw
                        .propose(action(
                            r#"{"instruction":"r","method":"GET","url":"https://h/x","params":{}}"#,
                        ))
                        .unwrap();
                    if d.outcome == Outcome::Allow {
                        allowed.fetch_add(1, Ordering::SeqCst);
                    } else {
                        assert_eq!(d.reasons, ["rate_limit: 25/25 per minute already used"]);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(allowed.load(Ordering::SeqCst), 25);
}

#[test]
fn sixty_four_concurrent_resolves_release_exactly_once() {
    let (fw, key) = firewall();
    let fw = Arc::new(fw);
    let id = fw.propose(order("100", "")).unwrap().approval_id.unwrap();
    fw.decide(&id, true, "bob", None).unwrap();
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let (fw, id) = (fw.clone(), id.clone());
            std::thread::spawn(move || fw.resolve(&id, order("100", "")).unwrap())
        })
        .collect();
    let decisions: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(decisions.iter().filter(|d| d.executed).count(), 1);
    assert_eq!(
        decisions
            .iter()
            .filter(|d| d.outcome == Outcome::Deny)
            .count(),
        63
    );
    let report = verify_chain(&ledger_text(fw.store()), &key.verifying_key(), None);
    assert!(report.is_valid());
    assert_eq!(report.seqs.len(), 65);
}

#[test]
fn quorum_and_expiry_follow_the_policy() {
    let policy = "version: 1\ndefault: deny\nrules:\n  - name: wire\n    decision: needs_approval\n    match: { method: POST, host: h }\n    reason: moves money\n    required_approvers: 2\n    expires_after: 60\n";
    let clock = Arc::new(TestClock(AtomicI64::new(T0)));
    let (fw, _) = firewall_with(policy, clock.clone());
    let wire =
        || action(r#"{"instruction":"pay","method":"POST","url":"https://h/pay","params":{}}"#);
    let id = fw.propose(wire()).unwrap().approval_id.unwrap();
    let first = fw.decide(&id, true, "alice", None).unwrap().unwrap();
    assert_eq!(first.status.as_str(), "pending");
    assert_eq!(first.reason.as_deref(), Some("moves money"));
    let again = fw.decide(&id, true, "alice", None).unwrap().unwrap();
    assert_eq!(again.votes.len(), 1, "the same approver counts once");
    assert_eq!(
        fw.decide(&id, true, "carol", None)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "approved"
    );
    assert_eq!(
        fw.resolve(&id, wire()).unwrap().reasons,
        ["human approved by 'alice' and 'carol'"]
    );

    let late = fw.propose(wire()).unwrap().approval_id.unwrap();
    clock.0.fetch_add(61_000_000, Ordering::SeqCst);
    let expired = fw.resolve(&late, wire()).unwrap();
    assert_eq!(expired.outcome, Outcome::Deny);
    assert!(expired.reasons[0].starts_with("approval expired"));
    assert_eq!(
        fw.decide(&late, true, "alice", None)
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "pending"
    );
}

#[test]
fn tokens_are_minted_only_for_allows_and_released_approvals() {
    use delego_firewall::engine::TokenMinting;
    use delego_spec::token::{
        require_fingerprint, ReplayCache, TokenIssuer, TokenVerifier, VerifierKeys,
        DEFAULT_TTL_SECONDS,
    };

    let token_key = SigningKey::from_bytes(&[8u8; 32]);
    let parts = EngineParts {
        signer: SigningKey::from_bytes(&[3u8; 32]),
        broker: Arc::new(NullBroker),
        clock: Arc::new(TestClock(AtomicI64::new(T0))),
        entropy: Arc::new(OsEntropy),
        tokens: Some(TokenMinting {
            issuer: TokenIssuer::new("delego:local", token_key.clone(), DEFAULT_TTL_SECONDS),
            audience: "broker:test".into(),
        }),
        sink: None,
        anchored: None,
    };
    let fw = Firewall::start(
        Arc::new(MemoryStore::new()),
        load_policy(POLICY, "test").unwrap(),
        parts,
    )
    .unwrap();
    let verifier = TokenVerifier::new(
        VerifierKeys::Single(token_key.verifying_key()),
        "broker:test",
        60,
    )
    .unwrap();
    let mut replay = ReplayCache::default();
    let now = T0 / 1_000_000;

    let read = action(
        r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#,
    );
    let allowed = fw.propose(read.clone()).unwrap();
    let claims = verifier
        .verify(allowed.token.as_deref().unwrap(), now, Some(&mut replay))
        .unwrap();
    require_fingerprint(&claims, &read.identity().unwrap()).unwrap();
    assert_eq!(claims.pol.unwrap().rule.as_deref(), Some("read-accounts"));
    assert!(
        verifier
            .verify(allowed.token.as_deref().unwrap(), now, Some(&mut replay))
            .is_err(),
        "single use"
    );

    let parked = fw.propose(order("2400", "")).unwrap();
    assert!(parked.token.is_none(), "needs_approval mints nothing");
    assert!(
        fw.propose(order("50000", "")).unwrap().token.is_none(),
        "deny mints nothing"
    );
    let id = parked.approval_id.unwrap();
    assert!(
        fw.resolve(&id, order("2400", "")).unwrap().token.is_none(),
        "pending mints nothing"
    );
    fw.decide(&id, true, "alice", None).unwrap();
    let released = fw.resolve(&id, order("2400", "")).unwrap();
    let claims = verifier
        .verify(released.token.as_deref().unwrap(), now, Some(&mut replay))
        .unwrap();
    assert_eq!(claims.apr.as_deref(), Some(id.as_str()));
    let other = order("2400", r#","recipient":"attacker""#);
    assert!(
        require_fingerprint(&claims, &other.identity().unwrap()).is_err(),
        "a token cannot release another action"
    );
    assert!(
        fw.resolve(&id, order("2400", "")).unwrap().token.is_none(),
        "a consumed approval mints nothing"
    );
}
