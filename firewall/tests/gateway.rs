//! Execution through a credential gateway over loopback HTTP: the request
//! bodies on the wire, how refusals and upstream failures are recorded,
//! at-most-once execution and exact rate limits while the broker runs
//! outside the writer, and reservations left by a crash.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use delego_firewall::broker::{
    Broker, BrokerFailure, GatewayProtocol, HttpProxyBroker, HttpProxyConfig,
};
use delego_firewall::engine::{Clock, EngineParts, Firewall, FirewallError, OsEntropy};
use delego_firewall::policy_file::load_policy;
use delego_firewall::reservation::INTERRUPTED;
use delego_firewall::store::{LedgerStore, MemoryStore};
use delego_spec::chain::verify_chain;
use delego_spec::json::{parse, Value};
use delego_spec::keys::SigningKey;
use delego_spec::{ActionIdentity, Outcome, ProposedAction};

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_micros(&self) -> i64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

const T0: i64 = 1_780_000_000_000_000;

const POLICY: &str = r#"
version: 1
default: deny
rules:
  - name: reads
    match: {method: GET, host: api.example.com}
    decision: allow
  - name: capped
    match: {method: POST, host: api.example.com, path: /capped}
    decision: allow
    constraints:
      rate_limit: {max: 5, per: minute}
  - name: payments
    match: {method: POST, host: api.example.com, path: /pay}
    decision: needs_approval
"#;

/// One request the gateway saw.
#[derive(Clone, Debug)]
struct Seen {
    headers: Vec<String>,
    body: String,
}

/// A loopback HTTP server answering each request with `answer(body)`:
/// (status, body, delay before answering).
struct Gateway {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

type Answer = Arc<dyn Fn(&str) -> (u16, String, Duration) + Send + Sync>;

impl Gateway {
    fn start(answer: Answer) -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/execute", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (answer, record) = (answer.clone(), record.clone());
                std::thread::spawn(move || serve(stream, &*answer, &record));
            }
        });
        Gateway { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    answer: &dyn Fn(&str) -> (u16, String, Duration),
    seen: &Mutex<Vec<Seen>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let length = headers
        .iter()
        .find_map(|h| {
            let (name, value) = h.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let body = String::from_utf8(body).unwrap();
    let (status, reply, delay) = answer(&body);
    seen.lock().unwrap().push(Seen { headers, body });
    std::thread::sleep(delay);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
        reply.len()
    );
}

fn fixed(status: u16, body: &str) -> Answer {
    let body = body.to_owned();
    Arc::new(move |_| (status, body.clone(), Duration::ZERO))
}

fn broker(url: &str, protocol: GatewayProtocol) -> Arc<dyn Broker> {
    let mut config = HttpProxyConfig::new(url, protocol);
    config
        .headers
        .push(("x-gateway-key".into(), "loopback-secret".into()));
    config.timeout = Duration::from_secs(2);
    Arc::new(HttpProxyBroker::new(config).unwrap())
}

fn start(store: Arc<MemoryStore>, broker: Arc<dyn Broker>) -> Firewall<MemoryStore> {
    let parts = EngineParts {
        signer: SigningKey::from_bytes(&[5u8; 32]),
        broker,
        clock: Arc::new(TestClock(AtomicI64::new(T0))),
        entropy: Arc::new(OsEntropy),
        tokens: None,
        sink: None,
        anchored: None,
    };
    Firewall::start(store, load_policy(POLICY, "test").unwrap(), parts).unwrap()
}

fn action(method: &str, url: &str, params: &str) -> ProposedAction {
    let text =
        format!(r#"{{"instruction":"do it","method":"{method}","url":"{url}","params":{params}}}"#);
    ProposedAction::from_value(&parse(&text).unwrap()).unwrap()
}

fn read() -> ProposedAction {
    action(
        "get",
        "https://api.example.com/accounts/me?b=2&a=1#top",
        r#"{"z":1,"a":"é"}"#,
    )
}

fn last_reasons(store: &MemoryStore) -> (Outcome, Vec<String>) {
    let receipts = store.receipts(0, usize::MAX).unwrap();
    let last = receipts.last().unwrap();
    (last.payload.outcome, last.payload.reasons.clone())
}

fn assert_chain_verifies(store: &MemoryStore) {
    let text: String = store
        .receipts(0, usize::MAX)
        .unwrap()
        .iter()
        .map(|r| r.to_reference_line() + "\n")
        .collect();
    let key = SigningKey::from_bytes(&[5u8; 32]).verifying_key();
    let report = verify_chain(&text, &key, None);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn the_reference_protocol_sends_the_reference_body() {
    let gateway = Gateway::start(fixed(200, r#"{"ok": true}"#));
    let store = Arc::new(MemoryStore::new());
    let fw = start(
        store.clone(),
        broker(&gateway.url, GatewayProtocol::Reference),
    );
    // A fragment is refused by the broker before anything is sent.
    let refused = fw.propose(read()).unwrap();
    assert_eq!((refused.outcome, refused.executed), (Outcome::Deny, false));
    assert!(refused.reasons[1].starts_with(
        "broker did not execute: broker refuses to execute: action.url carries a #fragment"
    ));
    assert!(gateway.seen().is_empty());

    let ok = fw
        .propose(action(
            "get",
            "https://api.example.com/accounts/me?b=2&a=1",
            r#"{"z":1,"a":"é"}"#,
        ))
        .unwrap();
    assert_eq!((ok.outcome, ok.executed), (Outcome::Allow, true));
    let seen = gateway.seen();
    assert_eq!(seen.len(), 1);
    // Python's json.dumps: insertion order at the top, ", " and ": ",
    // ASCII escapes; the fingerprinted URL (query kept as written).
    assert_eq!(
        seen[0].body,
        format!(
            r#"{{"method": "GET", "url": "https://api.example.com/accounts/me?b=2&a=1", "params": {{"a": "\u00e9", "z": 1}}, "intent_hash": "{}", "action_fingerprint": "{}"}}"#,
            ok.intent_hash, ok.action_fingerprint
        )
    );
    assert!(seen[0]
        .headers
        .iter()
        .any(|h| h == "x-gateway-key: loopback-secret"));
    assert!(seen[0]
        .headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case("content-type: application/json")));
    let result = ok.result.unwrap();
    let result = result.as_object().unwrap();
    assert_eq!(result.get("broker"), Some(&Value::from("http_proxy")));
    assert_eq!(result.get("gateway_status"), Some(&Value::from(200i64)));
    assert_eq!(
        result.get("response"),
        Some(&parse(r#"{"ok":true}"#).unwrap())
    );
    assert_eq!(
        last_reasons(&store),
        (
            Outcome::Allow,
            vec![
                "matched rule 'reads'".to_owned(),
                "executed via broker".to_owned()
            ]
        )
    );
    assert!(store.inflight().unwrap().is_empty());
    assert_chain_verifies(&store);
}

#[test]
fn a_non_2xx_answer_is_never_recorded_as_an_allow() {
    let gateway = Gateway::start(fixed(403, "no credential for this host"));
    let store = Arc::new(MemoryStore::new());
    let fw = start(
        store.clone(),
        broker(&gateway.url, GatewayProtocol::Reference),
    );
    let decision = fw
        .propose(action("GET", "https://api.example.com/x", "{}"))
        .unwrap();
    assert_eq!(
        (decision.outcome, decision.executed),
        (Outcome::Deny, false)
    );
    let (outcome, reasons) = last_reasons(&store);
    assert_eq!(outcome, Outcome::Deny);
    assert!(
        reasons[1].starts_with("broker outcome unknown: gateway answered HTTP 403"),
        "{reasons:?}"
    );
    // The reference keeps a non-JSON body as {"raw": ...}.
    let result = decision.result.unwrap();
    assert_eq!(
        result.as_object().unwrap().get("response"),
        Some(&parse(r#"{"raw":"no credential for this host"}"#).unwrap())
    );
}

#[test]
fn the_gateway_protocol_tells_refusals_from_upstream_results() {
    let cases: [(&str, Outcome, bool, &str); 5] = [
        (
            r#"{"executed":true,"upstream":{"status":200,"result":{"id":7}}}"#,
            Outcome::Allow,
            true,
            "executed via broker",
        ),
        (
            r#"{"executed":false,"refused":{"code":"token_invalid","message":"token expired"}}"#,
            Outcome::Deny,
            false,
            "broker did not execute: gateway refused (token_invalid): token expired",
        ),
        (
            r#"{"executed":true,"upstream":{"status":502,"result":"bad gateway"}}"#,
            Outcome::Deny,
            true,
            "executed via broker; upstream failed: upstream answered status 502",
        ),
        (
            r#"{"executed":true,"upstream":{"error":"upstream timed out"}}"#,
            Outcome::Deny,
            true,
            "executed via broker; upstream failed: upstream execution failed: upstream timed out",
        ),
        (
            r#"{"executed":true}"#,
            Outcome::Deny,
            false,
            "broker outcome unknown: gateway answered HTTP 200 with an invalid broker-gateway response: an executed response must carry 'upstream'",
        ),
    ];
    for (answer, outcome, executed, reason) in cases {
        let gateway = Gateway::start(fixed(200, answer));
        let store = Arc::new(MemoryStore::new());
        let fw = start(
            store.clone(),
            broker(&gateway.url, GatewayProtocol::Gateway04),
        );
        let decision = fw
            .propose(action(
                "GET",
                "https://api.example.com/x?q=1",
                r#"{"k":[1,2]}"#,
            ))
            .unwrap();
        assert_eq!(
            (decision.outcome, decision.executed),
            (outcome, executed),
            "{answer}"
        );
        let (recorded, reasons) = last_reasons(&store);
        assert_eq!(recorded, outcome);
        assert_eq!(reasons.last().map(String::as_str), Some(reason), "{answer}");
        // The spec 0.4 request: the action nested, the bindings beside it.
        let body = parse(&gateway.seen()[0].body).unwrap();
        let expected = format!(
            r#"{{"action":{{"method":"GET","params":{{"k":[1,2]}},"url":"https://api.example.com/x?q=1"}},"action_fingerprint":"{}","intent_hash":"{}"}}"#,
            decision.action_fingerprint, decision.intent_hash
        );
        assert_eq!(body, parse(&expected).unwrap());
    }
}

#[test]
fn an_unreachable_or_slow_gateway_is_an_unknown_outcome_never_retried() {
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", closed.local_addr().unwrap());
    drop(closed);
    let store = Arc::new(MemoryStore::new());
    let fw = start(store.clone(), broker(&url, GatewayProtocol::Gateway04));
    let decision = fw
        .propose(action("GET", "https://api.example.com/x", "{}"))
        .unwrap();
    assert_eq!(
        (decision.outcome, decision.executed),
        (Outcome::Deny, false)
    );
    assert!(last_reasons(&store).1[1].contains("the gateway was not reached"));

    let slow = Gateway::start(Arc::new(|_| (200, "{}".to_owned(), Duration::from_secs(4))));
    let fw = start(
        Arc::new(MemoryStore::new()),
        broker(&slow.url, GatewayProtocol::Gateway04),
    );
    let decision = fw
        .propose(action("GET", "https://api.example.com/x", "{}"))
        .unwrap();
    assert_eq!(decision.outcome, Outcome::Deny);
    assert!(
        decision.reasons[1].contains("the request may have reached the gateway"),
        "{:?}",
        decision.reasons
    );
    assert_eq!(slow.seen().len(), 1, "one attempt, no retry");
}

#[test]
fn rate_limits_stay_exact_while_executions_are_in_flight() {
    let gateway = Gateway::start(Arc::new(|_| {
        (
            200,
            r#"{"executed":true,"upstream":{"status":200}}"#.to_owned(),
            Duration::from_millis(150),
        )
    }));
    let store = Arc::new(MemoryStore::new());
    let fw = Arc::new(start(
        store.clone(),
        broker(&gateway.url, GatewayProtocol::Gateway04),
    ));
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let (fw, barrier) = (fw.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                fw.propose(action(
                    "POST",
                    "https://api.example.com/capped",
                    &format!(r#"{{"n":{i}}}"#),
                ))
                .unwrap()
            })
        })
        .collect();
    let decisions: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let allowed = decisions
        .iter()
        .filter(|d| d.outcome == Outcome::Allow)
        .count();
    assert_eq!(
        allowed, 5,
        "exactly the cap, although every execution was still running"
    );
    assert_eq!(gateway.seen().len(), 5);
    assert!(decisions
        .iter()
        .filter(|d| d.outcome == Outcome::Deny)
        .all(|d| d.reasons == ["rate_limit: 5/5 per minute already used"]));
    assert!(store.inflight().unwrap().is_empty());
    assert_chain_verifies(&store);
}

#[test]
fn concurrent_releases_execute_once_through_the_gateway() {
    let gateway = Gateway::start(Arc::new(|_| {
        (
            200,
            r#"{"executed":true,"upstream":{"status":201}}"#.to_owned(),
            Duration::from_millis(50),
        )
    }));
    let store = Arc::new(MemoryStore::new());
    let fw = Arc::new(start(
        store.clone(),
        broker(&gateway.url, GatewayProtocol::Gateway04),
    ));
    let pay = || action("POST", "https://api.example.com/pay", r#"{"amount":"10"}"#);
    let parked = fw.propose(pay()).unwrap();
    let id = parked.approval_id.unwrap();
    fw.decide(&id, true, "alice", None).unwrap().unwrap();
    let barrier = Arc::new(Barrier::new(32));
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let (fw, barrier, id) = (fw.clone(), barrier.clone(), id.clone());
            std::thread::spawn(move || {
                barrier.wait();
                fw.resolve(&id, pay()).unwrap()
            })
        })
        .collect();
    let executed = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|d| d.executed)
        .count();
    assert_eq!(executed, 1);
    assert_eq!(gateway.seen().len(), 1);
}

/// A broker that blocks until released, to stand for a process that dies
/// while the gateway works.
struct Stuck {
    entered: Barrier,
    release: Mutex<bool>,
}

impl Broker for Stuck {
    fn name(&self) -> &str {
        "stuck"
    }

    fn execute(
        &self,
        _: &ProposedAction,
        _: &ActionIdentity,
        _: Option<&str>,
    ) -> Result<Value, BrokerFailure> {
        self.entered.wait();
        while !*self.release.lock().unwrap() {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Value::Null)
    }
}

#[test]
fn an_execution_interrupted_by_a_crash_is_settled_as_deny_and_never_released_again() {
    let store = Arc::new(MemoryStore::new());
    let stuck = Arc::new(Stuck {
        entered: Barrier::new(2),
        release: Mutex::new(false),
    });
    let fw = Arc::new(start(store.clone(), stuck.clone()));
    let pay = || action("POST", "https://api.example.com/pay", r#"{"amount":"10"}"#);
    let id = fw.propose(pay()).unwrap().approval_id.unwrap();
    fw.decide(&id, true, "alice", None).unwrap();
    let running = {
        let (fw, id) = (fw.clone(), id.clone());
        std::thread::spawn(move || fw.resolve(&id, pay()))
    };
    stuck.entered.wait();
    // The reservation and the consumed approval are durable before the
    // broker runs.
    let inflight = store.inflight().unwrap();
    assert_eq!(inflight.len(), 1);
    assert_eq!(inflight[0].approval_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        store.approval(&id).unwrap().unwrap().status.as_str(),
        "consumed"
    );
    // "Crash": the writer stops; a new process starts on the same store.
    fw.shutdown();
    let restarted = start(store.clone(), Arc::new(delego_firewall::broker::NullBroker));
    assert!(store.inflight().unwrap().is_empty());
    let (outcome, reasons) = last_reasons(&store);
    assert_eq!(outcome, Outcome::Deny);
    assert_eq!(
        reasons,
        [
            "human approved by 'alice'".to_owned(),
            INTERRUPTED.to_owned()
        ]
    );
    // The old caller learns nothing was recorded as executed.
    *stuck.release.lock().unwrap() = true;
    assert_eq!(running.join().unwrap(), Err(FirewallError::Stopped));
    // The approval is spent.
    let again = restarted.resolve(&id, pay()).unwrap();
    assert_eq!((again.outcome, again.executed), (Outcome::Deny, false));
    assert_chain_verifies(&store);
}
