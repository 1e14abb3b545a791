//! `POST /v1/append` on a standalone log over real HTTP: bearer-token
//! authentication, contiguity (gaps and conflicts are 409 with the next
//! index, identical resends are harmless), leaves checked to be receipts
//! with their index as seq, and the blocking `AppendClient`.

mod support;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use delego_log::{AppendClient, AppendClientError, Log, LogConfig, LogStore};
use delego_spec::json::{Number, Value};
use support::{forked_receipts, log_key, receipts, serve, Got, ORIGIN};

const TOKEN: &str = "correct horse battery staple";

fn standalone(dir: &std::path::Path, token: Option<&str>) -> Log {
    let store = LogStore::open_standalone(&dir.join("db")).expect("open");
    let mut config = LogConfig::new(ORIGIN, log_key());
    config.append_token = token.map(str::to_owned);
    Log::open(store, config).expect("open the log")
}

fn body(first_index: u64, leaves: &[Vec<u8>]) -> String {
    let leaves: Vec<String> = leaves
        .iter()
        .map(|l| format!("\"{}\"", STANDARD.encode(l)))
        .collect();
    format!(
        "{{\"first_index\": {first_index}, \"leaves\": [{}]}}",
        leaves.join(",")
    )
}

async fn post(url: &str, authorization: Option<&str>, body: String) -> (Got, Option<String>) {
    let client = reqwest::Client::new();
    let mut request = client.post(format!("{url}/v1/append")).body(body);
    if let Some(value) = authorization {
        request = request.header(reqwest::header::AUTHORIZATION, value);
    }
    let response = request.send().await.expect("POST");
    let challenge = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let got = Got {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        cache_control: String::new(),
        body: response.bytes().await.expect("body").to_vec(),
    };
    (got, challenge)
}

fn next_index(got: &Got) -> u64 {
    match got.json().get("next_index") {
        Some(Value::Number(Number::Int(n))) => n.as_u64().expect("u64"),
        other => panic!("next_index is {other:?}"),
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test(flavor = "multi_thread")]
async fn appends_need_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = standalone(dir.path(), Some(TOKEN));
    let url = serve(log.router()).await;
    let leaves = receipts(3);
    for authorization in [
        None,
        Some("Bearer wrong".to_owned()),
        Some(format!("Basic {TOKEN}")),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("bearer {TOKEN}")),
    ] {
        let (got, challenge) = post(&url, authorization.as_deref(), body(0, &leaves)).await;
        got.error(401);
        assert_eq!(challenge.as_deref(), Some("Bearer"));
    }
    assert_eq!(log.entry_count(), 0);
    let (got, _) = post(&url, Some(&bearer(TOKEN)), body(0, &leaves)).await;
    assert_eq!(got.status, 200);
    assert_eq!(next_index(&got), 3);

    // Without a configured token, nothing is accepted.
    let closed_dir = tempfile::tempdir().expect("tempdir");
    let closed = standalone(closed_dir.path(), None);
    let closed_url = serve(closed.router()).await;
    let (got, _) = post(&closed_url, Some(&bearer(TOKEN)), body(0, &leaves)).await;
    assert!(got.error(401).contains("disabled"));
}

#[tokio::test(flavor = "multi_thread")]
async fn appends_are_contiguous_and_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = standalone(dir.path(), Some(TOKEN));
    let url = serve(log.router()).await;
    let auth = bearer(TOKEN);
    let leaves = receipts(20);
    let (got, _) = post(&url, Some(&auth), body(0, &leaves[..10])).await;
    assert_eq!(next_index(&got), 10);
    // A gap.
    let (got, _) = post(&url, Some(&auth), body(12, &leaves[12..14])).await;
    got.error(409);
    assert_eq!(next_index(&got), 10);
    // A resend of stored leaves, then one that overlaps and extends.
    let (got, _) = post(&url, Some(&auth), body(5, &leaves[5..10])).await;
    assert_eq!((got.status, next_index(&got)), (200, 10));
    let (got, _) = post(&url, Some(&auth), body(8, &leaves[8..15])).await;
    assert_eq!((got.status, next_index(&got)), (200, 15));
    // A different receipt at a stored index.
    let other = forked_receipts(4).pop().expect("leaf");
    assert_ne!(other, leaves[3]);
    let (got, _) = post(&url, Some(&auth), body(3, &[other])).await;
    assert!(got.error(409).contains("differs"));
    assert_eq!(next_index(&got), 15);
    assert_eq!(log.entry_count(), 15);
    assert_eq!(log.integrate_now().expect("integrate"), 15);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_receipts_at_their_seq_are_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = standalone(dir.path(), Some(TOKEN));
    let url = serve(log.router()).await;
    let auth = bearer(TOKEN);
    let leaves = receipts(3);
    let pretty = String::from_utf8(leaves[0].clone())
        .expect("utf8")
        .replace(",\"", ", \"")
        .into_bytes();
    let tampered = String::from_utf8(leaves[0].clone())
        .expect("utf8")
        .replace("reason 0", "reason 9")
        .into_bytes();
    let cases: Vec<(String, &str)> = vec![
        (body(0, &[b"hello".to_vec()]), "not a delego receipt"),
        (body(0, &[leaves[1].clone()]), "its seq is 1"),
        (body(0, &[pretty]), "canonical"),
        (body(0, &[tampered]), "entry_hash"),
        (body(0, &[]), "at least one leaf"),
        (body(0, &[vec![b'x'; 70_000]]), "65535"),
        (
            "{\"first_index\": 0, \"leaves\": [\"!!\"]}".into(),
            "base64",
        ),
        (
            "{\"first_index\": -1, \"leaves\": []}".into(),
            "first_index",
        ),
        ("{\"leaves\": []}".into(), "first_index"),
        ("{\"first_index\": 0}".into(), "leaves"),
        (
            "{\"first_index\": 0, \"leaves\": [], \"x\": 1}".into(),
            "unknown member",
        ),
        ("[1]".into(), "object"),
        ("{".into(), "not JSON"),
    ];
    for (request, expected) in cases {
        let (got, _) = post(&url, Some(&auth), request.clone()).await;
        let message = got.error(400);
        assert!(message.contains(expected), "{request}: {message}");
    }
    let huge = format!(
        "{{\"first_index\": 0, \"leaves\": [\"{}\"]}}",
        "A".repeat(65 << 20)
    );
    let (got, _) = post(&url, Some(&auth), huge).await;
    assert!(got.error(413).contains("larger than"));
    assert_eq!(log.entry_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_blocking_client_appends_and_reports_refusals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = standalone(dir.path(), Some(TOKEN));
    let url = serve(log.router()).await;
    let leaves = receipts(32);
    let outcome = tokio::task::spawn_blocking(move || {
        let client = AppendClient::new(&url, TOKEN, Duration::from_secs(5)).expect("client");
        let first = client.append(0, &leaves[..20]);
        let again = client.append(10, &leaves[10..30]);
        let gap = client.append(31, &leaves[31..]);
        let intruder = AppendClient::new(&url, "nope", Duration::from_secs(5)).expect("client");
        let refused = intruder.append(30, &leaves[30..31]);
        (first, again, gap, refused)
    })
    .await
    .expect("join");
    assert_eq!(outcome.0.expect("appended"), 20);
    assert_eq!(outcome.1.expect("appended"), 30);
    assert!(matches!(
        outcome.2,
        Err(AppendClientError::Conflict {
            next_index: Some(30),
            ..
        })
    ));
    assert!(matches!(outcome.3, Err(AppendClientError::Unauthorized(_))));
    assert_eq!(log.integrate_now().expect("integrate"), 30);
}
