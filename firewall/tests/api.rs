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
        metrics: delego_firewall::api::metrics::Metrics::new(),
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

/// The OpenAPI document matches the server: every documented operation is
/// served, answers its documented success status with a body that validates
/// against the documented schema, its documented error statuses carry the
/// error schema, and what is not documented is not served.
#[test]
fn the_openapi_document_matches_what_the_server_does() {
    let s = serve();
    let (status, doc) = s.call("GET", "/v1/openapi.json", None, None);
    assert_eq!(status, 200);
    let doc_text = delego_spec::json::to_canonical_string(&doc);
    let doc: serde_json::Value = serde_json::from_str(&doc_text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let components = doc["components"].clone();
    // Validates `value` against a schema of the document, its $refs
    // resolving inside the document.
    let check = |schema: &serde_json::Value, value: &Value, what: &str| {
        let mut root = schema.clone();
        root["components"] = components.clone();
        let validator = jsonschema::validator_for(&root)
            .unwrap_or_else(|e| panic!("{what}: schema does not compile: {e}"));
        let instance: serde_json::Value =
            serde_json::from_str(&delego_spec::json::to_canonical_string(value)).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:?} in {instance}");
    };
    let response_schema = |path: &str, method: &str, status: &str| -> serde_json::Value {
        let response = &doc["paths"][path][method]["responses"][status];
        let response = match response.get("$ref").and_then(|r| r.as_str()) {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap();
                doc["components"]["responses"][name].clone()
            }
            None => response.clone(),
        };
        let schema = response["content"]["application/json"]["schema"].clone();
        assert!(
            !schema.is_null(),
            "{method} {path} {status} has no JSON schema"
        );
        schema
    };

    // Set the stage: a parked order, approved; then released.
    let (_, parked) = s.call("POST", "/v1/actions", Some("agent"), Some(ORDER));
    let id = text(&parked, "approval_id").to_owned();
    let (_, second) = s.call("POST", "/v1/actions", Some("agent"), Some(ORDER));
    let other = text(&second, "approval_id").to_owned();
    // Each documented operation, called as its role: the documented 200.
    // (documented path, method, request path, key, body)
    type Probe<'a> = (&'a str, &'a str, String, Option<&'a str>, Option<&'a str>);
    let probes: Vec<Probe> = vec![
        (
            "/v1/actions",
            "post",
            "/v1/actions".into(),
            Some("agent"),
            Some(ORDER),
        ),
        (
            "/v1/approvals",
            "get",
            "/v1/approvals".into(),
            Some("alice"),
            None,
        ),
        (
            "/v1/approvals/{id}/approve",
            "post",
            format!("/v1/approvals/{id}/approve"),
            Some("alice"),
            Some(r#"{"note":"ok"}"#),
        ),
        (
            "/v1/approvals/{id}/resolve",
            "post",
            format!("/v1/approvals/{id}/resolve"),
            Some("agent"),
            Some(ORDER),
        ),
        (
            "/v1/approvals/{id}/deny",
            "post",
            format!("/v1/approvals/{other}/deny"),
            Some("alice"),
            None,
        ),
        (
            "/v1/receipts",
            "get",
            "/v1/receipts?from=0&limit=10".into(),
            Some("auditor"),
            None,
        ),
        (
            "/v1/approvals/history",
            "get",
            "/v1/approvals/history".into(),
            Some("alice"),
            None,
        ),
        (
            "/v1/policy",
            "get",
            "/v1/policy".into(),
            Some("agent"),
            None,
        ),
        (
            "/v1/openapi.json",
            "get",
            "/v1/openapi.json".into(),
            None,
            None,
        ),
    ];
    let mut probed: Vec<(String, String)> = Vec::new();
    for (template, method, path, key, body) in &probes {
        let (status, value) = s.call(&method.to_uppercase(), path, *key, *body);
        assert_eq!(status, 200, "{method} {path}: {value:?}");
        check(
            &response_schema(template, method, "200"),
            &value,
            &format!("{method} {path}"),
        );
        probed.push((template.to_string(), method.to_string()));
    }
    // Documented errors carry the error schema.
    for (template, method, path, key, body, code) in [
        (
            "/v1/actions",
            "post",
            "/v1/actions",
            None,
            Some(ORDER),
            "401",
        ),
        (
            "/v1/actions",
            "post",
            "/v1/actions",
            Some("alice"),
            Some(ORDER),
            "403",
        ),
        (
            "/v1/actions",
            "post",
            "/v1/actions",
            Some("agent"),
            Some("{"),
            "400",
        ),
        (
            "/v1/actions",
            "post",
            "/v1/actions",
            Some("agent"),
            Some(r#"{"method":"GET"}"#),
            "422",
        ),
        (
            "/v1/receipts",
            "get",
            "/v1/receipts?tail=1&from=0",
            Some("auditor"),
            None,
            "400",
        ),
        (
            "/v1/approvals/{id}/approve",
            "post",
            "/v1/approvals/apr_000000000000/approve",
            Some("alice"),
            None,
            "404",
        ),
        (
            "/v1/approvals/{id}/approve",
            "post",
            "/v1/approvals/x/approve",
            Some("agent"),
            None,
            "403",
        ),
    ] {
        let (status, value) = s.call(&method.to_uppercase(), path, key, body);
        assert_eq!(status.to_string(), code, "{method} {path}: {value:?}");
        check(
            &response_schema(template, method, code),
            &value,
            &format!("{method} {path} {code}"),
        );
    }
    // Every documented operation was probed (plus those checked apart:
    // /healthz and /metrics answer text, the callback needs approvals.json).
    let paths = doc["paths"].as_object().unwrap();
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let covered = probed.iter().any(|(p, m)| p == path && m == method)
                || path == "/healthz"
                || path == "/metrics"
                || path == "/v1/approvals/events"
                || path == "/v1/approvals/callback";
            assert!(covered, "{method} {path} is documented but not probed");
        }
    }
    let health = reqwest::blocking::get(format!("{}/healthz", s.base)).unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let (status, value) = s.call("POST", "/v1/approvals/callback", None, Some("{}"));
    assert_eq!(status, 404, "without approvals.json: {value:?}");
    // What is not documented is not served.
    for (method, path) in [
        ("GET", "/v1/actions"),
        ("DELETE", "/v1/approvals"),
        ("GET", "/v1/approvals/x/approve"),
        ("GET", "/v1/keys"),
        ("PUT", "/v1/policy"),
    ] {
        let response = reqwest::blocking::Client::new()
            .request(method.parse().unwrap(), format!("{}{path}", s.base))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        assert!(status == 404 || status == 405, "{method} {path}: {status}");
        let documented = doc["paths"][path][method.to_lowercase()].is_object();
        assert!(!documented, "{method} {path}");
    }
}

/// `/metrics` counts exactly what was decided, in Prometheus text format.
#[test]
fn metrics_count_decisions_and_the_queue() {
    let s = serve();
    let read = r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#;
    let share = r#"{"instruction":"x","method":"POST","url":"https://api.example.com/accounts/me/permissions","params":{}}"#;
    for body in [ORDER, read, read, share] {
        let (status, _) = s.call("POST", "/v1/actions", Some("agent"), Some(body));
        assert_eq!(status, 200);
    }
    let response = reqwest::blocking::get(format!("{}/metrics", s.base)).unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().unwrap();
    let sample = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| {
                line.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(' '))
            })
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .parse()
            .unwrap()
    };
    assert_eq!(sample("delego_decisions_total{outcome=\"allow\"}"), 2.0);
    assert_eq!(
        sample("delego_decisions_total{outcome=\"needs_approval\"}"),
        1.0
    );
    assert_eq!(sample("delego_decisions_total{outcome=\"deny\"}"), 1.0);
    assert_eq!(sample("delego_approvals_pending"), 1.0);
    assert_eq!(sample("delego_decision_seconds_count"), 4.0);
    assert_eq!(sample("delego_decision_seconds_bucket{le=\"+Inf\"}"), 4.0);
    // Every sample line is `name{labels} value`, every family typed.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let family = name.split('{').next().unwrap();
        let family = family
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(text.contains(&format!("# TYPE {family} ")), "{line}");
    }
}
