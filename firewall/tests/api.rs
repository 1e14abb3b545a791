//! The HTTP API over loopback: authentication and roles (no key 401, wrong
//! role 403, an agent key can never approve, no key approves what it
//! proposed), bad input (415, 400, 422 naming the field, 413) with nothing
//! written, and the approval round trip with its single-use release.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use delego_firewall::api::keys::{ApiKeys, Role};
use delego_firewall::api::{router, ApiState};
use delego_firewall::broker::NullBroker;
use delego_firewall::engine::{Clock, EngineParts, Firewall, OsEntropy};
use delego_firewall::policy_file::load_policy;
use delego_firewall::store::{LedgerStore, MemoryStore};
use delego_spec::json::{parse, Value};
use delego_spec::keys::SigningKey;

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_micros(&self) -> i64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

const POLICY: &str = include_str!("../../spec/tests/vectors/ctk/policy.example.yaml");
const ORDER: &str = r#"{"instruction":"Buy the 2400 USD order","method":"POST","url":"https://api.example.com/orders","params":{"amount":"2400","currency":"USD","destination":"internal"}}"#;

struct Server {
    base: String,
    store: Arc<MemoryStore>,
    tokens: std::collections::HashMap<&'static str, String>,
}

fn serve() -> Server {
    let store = Arc::new(MemoryStore::new());
    let parts = EngineParts {
        signer: SigningKey::from_bytes(&[4u8; 32]),
        broker: Arc::new(NullBroker),
        clock: Arc::new(TestClock(AtomicI64::new(1_780_000_000_000_000))),
        entropy: Arc::new(OsEntropy),
        tokens: None,
        sink: None,
        anchored: None,
    };
    let firewall = Arc::new(
        Firewall::start(
            store.clone(),
            load_policy(POLICY, "example").unwrap(),
            parts,
        )
        .unwrap(),
    );
    let mut keys = ApiKeys::default();
    let mut tokens = std::collections::HashMap::new();
    for (i, (name, role)) in [
        ("agent", Role::Agent),
        ("alice", Role::Approver),
        ("auditor", Role::Auditor),
        ("root", Role::Admin),
    ]
    .into_iter()
    .enumerate()
    {
        tokens.insert(
            name,
            keys.add(name, role, [i as u8; 24], "t".into()).unwrap(),
        );
    }
    let app = router(Arc::new(ApiState {
        firewall,
        keys: Arc::new(keys),
        delivery: None,
    }));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    Server {
        base,
        store,
        tokens,
    }
}

impl Server {
    fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let client = reqwest::blocking::Client::new();
        let mut request = client.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(&self.tokens[key]);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        (
            status,
            parse(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
        )
    }
}

fn error_of(value: &Value) -> &str {
    value
        .as_object()
        .unwrap()
        .get("error")
        .unwrap()
        .as_str()
        .unwrap()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value
        .as_object()
        .unwrap()
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[test]
fn keys_and_roles_are_enforced() {
    let s = serve();
    let (status, body) = s.call("POST", "/v1/actions", None, Some(ORDER));
    assert_eq!(status, 401);
    assert!(error_of(&body).contains("missing bearer key"));
    let (status, _) = s.call("POST", "/v1/actions", Some("auditor"), Some(ORDER));
    assert_eq!(status, 403);
    let (status, parked) = s.call("POST", "/v1/actions", Some("agent"), Some(ORDER));
    assert_eq!(status, 200, "{parked:?}");
    assert_eq!(text(&parked, "outcome"), "needs_approval");
    let id = text(&parked, "approval_id").to_owned();
    // An agent key can never approve or deny.
    for verb in ["approve", "deny"] {
        let (status, body) = s.call(
            "POST",
            &format!("/v1/approvals/{id}/{verb}"),
            Some("agent"),
            None,
        );
        assert_eq!(status, 403, "{body:?}");
        assert_eq!(error_of(&body), "a agent key cannot do this");
    }
    // No key approves what it proposed, not even an admin.
    let (_, own) = s.call("POST", "/v1/actions", Some("root"), Some(ORDER));
    let own_id = text(&own, "approval_id");
    let (status, body) = s.call(
        "POST",
        &format!("/v1/approvals/{own_id}/approve"),
        Some("root"),
        None,
    );
    assert_eq!(status, 403);
    assert_eq!(
        error_of(&body),
        "a key cannot approve or deny an action it proposed"
    );
    // The agent sees only its own pending approval; the approver sees both.
    let (_, mine) = s.call("GET", "/v1/approvals", Some("agent"), None);
    let mine = mine
        .as_object()
        .unwrap()
        .get("approvals")
        .unwrap()
        .as_array()
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(text(&mine[0], "id"), id);
    let (_, all) = s.call("GET", "/v1/approvals", Some("alice"), None);
    assert_eq!(
        all.as_object()
            .unwrap()
            .get("approvals")
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Receipts are for auditors.
    assert_eq!(s.call("GET", "/v1/receipts", Some("agent"), None).0, 403);
    let (status, receipts) = s.call("GET", "/v1/receipts?from=0&limit=10", Some("auditor"), None);
    assert_eq!(status, 200);
    assert_eq!(
        receipts
            .as_object()
            .unwrap()
            .get("receipts")
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.call("GET", "/v1/receipts?from=x", Some("auditor"), None)
            .0,
        400
    );
}

#[test]
fn the_approval_round_trip_releases_once() {
    let s = serve();
    let (_, parked) = s.call("POST", "/v1/actions", Some("agent"), Some(ORDER));
    let id = text(&parked, "approval_id").to_owned();
    let (status, record) = s.call(
        "POST",
        &format!("/v1/approvals/{id}/approve"),
        Some("alice"),
        Some(r#"{"note":"looks right"}"#),
    );
    assert_eq!(status, 200, "{record:?}");
    assert_eq!(text(&record, "status"), "approved");
    assert_eq!(text(&record, "decision_note"), "looks right");
    let path = format!("/v1/approvals/{id}/resolve");
    let (status, released) = s.call(
        "POST",
        &path,
        Some("agent"),
        Some(&format!(r#"{{"action":{ORDER}}}"#)),
    );
    assert_eq!(status, 200);
    assert_eq!(
        released.as_object().unwrap().get("executed"),
        Some(&Value::Bool(true))
    );
    let (_, replay) = s.call("POST", &path, Some("agent"), Some(ORDER));
    assert_eq!(text(&replay, "outcome"), "deny");
    assert_eq!(
        s.call(
            "POST",
            "/v1/approvals/apr_000000000000/approve",
            Some("alice"),
            None
        )
        .0,
        404
    );
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let s = serve();
    let client = reqwest::blocking::Client::new();
    let post = |content_type: &str, body: String| {
        let response = client
            .post(format!("{}/v1/actions", s.base))
            .bearer_auth(&s.tokens["agent"])
            .header("content-type", content_type)
            .body(body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().unwrap())
    };
    let (status, body) = post("text/plain", ORDER.into());
    assert_eq!(status, 415, "{body}");
    let (status, body) = post("application/json", "{nope".into());
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not valid JSON"));
    let (status, body) = post(
        "application/json",
        r#"{"instruction":"i","url":"https://h/"}"#.into(),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("method"), "{body}");
    let (status, body) = post(
        "application/json",
        r#"{"instruction":"i","method":"GET","url":"/relative","params":{}}"#.into(),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("field 'url'"), "{body}");
    let (status, _) = post(
        "application/json",
        format!(r#"{{"blob":"{}"}}"#, "x".repeat(300_000)),
    );
    assert_eq!(status, 413);
    assert!(s.store.head().unwrap().is_none(), "nothing written");
}

#[test]
fn receipts_tail_and_the_policy_summary() {
    let s = serve();
    for _ in 0..3 {
        assert_eq!(
            s.call("POST", "/v1/actions", Some("agent"), Some(ORDER)).0,
            200
        );
    }
    let seqs = |query: &str| -> Vec<i64> {
        let (status, body) = s.call("GET", query, Some("auditor"), None);
        assert_eq!(status, 200, "{body:?}");
        body.as_object().unwrap()["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_object().unwrap()["seq"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(seqs("/v1/receipts?tail=2"), [1, 2]);
    assert_eq!(seqs("/v1/receipts?tail=10"), [0, 1, 2]);
    assert_eq!(seqs("/v1/receipts?tail=0"), Vec::<i64>::new());
    let (status, body) = s.call("GET", "/v1/receipts?tail=2&from=0", Some("auditor"), None);
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("exclude each other"));
    assert_eq!(
        s.call("GET", "/v1/receipts?tail=-1", Some("auditor"), None)
            .0,
        400
    );

    // Any valid key reads the policy in force; no key, none.
    assert_eq!(s.call("GET", "/v1/policy", None, None).0, 401);
    for key in ["agent", "alice", "auditor", "root"] {
        let (status, summary) = s.call("GET", "/v1/policy", Some(key), None);
        assert_eq!(status, 200);
        let summary = summary.as_object().unwrap();
        assert_eq!(summary["default"].as_str(), Some("deny"));
        assert_eq!(summary["rules"].as_array().unwrap().len(), 3);
        assert_eq!(summary["forbidden"].as_array().unwrap().len(), 2);
    }
}
