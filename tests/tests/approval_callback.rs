//! Spec §7.3 approval delivery over real processes: `delego serve` notifies
//! a webhook when an action is parked (retrying a failed delivery), and a
//! decision callback signed with an approver key — never an API key —
//! approves it. Unverifiable callbacks leave it pending; a replay changes
//! nothing; the proposer's own name cannot decide.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use delego_e2e::{add_key, write_file, HomeCli, ServerProcess};
use delego_firewall::delivery::signed_message;
use delego_spec::json::{parse, Value};
use delego_spec::keys::{Signer as _, SigningKey};

const ORDER: &str = r#"{"instruction":"Buy the 2400 USD order","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal"}}"#;

/// A webhook on 127.0.0.1 that fails its first delivery with 500, then
/// answers 200 and hands each body it received over the channel.
fn webhook() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let status = if n == 0 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            if n > 0 {
                let _ = sender.send(String::from_utf8_lossy(&body).into_owned());
            }
        }
    });
    (url, receiver)
}

fn post(base: &str, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
    delego_e2e::http_call(base, key, path, Some(body))
}

fn member<'a>(value: &'a Value, key: &str) -> &'a Value {
    value
        .as_object()
        .and_then(|m| m.get(key))
        .unwrap_or(&Value::Null)
}

fn callback(key: &SigningKey, id: &str, decision: &str, nonce: &str) -> String {
    let ts = "2026-11-22T12:00:00Z";
    let signature = hex::encode(
        key.sign(signed_message(id, decision, nonce, ts).as_bytes())
            .to_bytes(),
    );
    format!(
        r#"{{"approval_id":"{id}","decision":"{decision}","nonce":"{nonce}","ts":"{ts}","signature":"{signature}","kid":"alice-1","decision_note":"checked the PO"}}"#
    )
}

#[test]
fn a_parked_action_is_notified_and_approved_by_a_signed_callback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = HomeCli::new(dir.path().join("home"));
    home.init();
    let alice = SigningKey::from_bytes(&[21; 32]);
    let impostor = SigningKey::from_bytes(&[22; 32]);
    let (hook, notifications) = webhook();
    write_file(
        &home.dir.join("approvals.json"),
        format!(
            r#"{{"webhook": {{"url": "{hook}", "max_attempts": 4}},
                "approvers": [{{"name": "alice", "kid": "alice-1", "public_key": "{}"}},
                              {{"name": "bot", "kid": "bot-1", "public_key": "{}"}}]}}"#,
            hex::encode(alice.verifying_key().to_bytes()),
            hex::encode(impostor.verifying_key().to_bytes())
        ),
    );
    let agent = add_key(&home, "bot", "agent");
    let server = ServerProcess::serve(&home);

    let (status, parked) = post(&server.base, "/v1/actions", Some(&agent), ORDER);
    assert_eq!(status, 200, "{parked:?}");
    let id = member(&parked, "approval_id")
        .as_str()
        .expect("approval id")
        .to_owned();

    // Delivered after one failed attempt; the schema's fields, nothing else.
    let body = notifications
        .recv_timeout(Duration::from_secs(20))
        .expect("a notification");
    let note = parse(&body).expect("JSON notification");
    let keys: Vec<&str> = note
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in &keys {
        assert!(
            [
                "approval_id",
                "instruction",
                "action_summary",
                "outcome",
                "nonce",
                "exp",
                "reason",
                "routing_group",
                "required_approvers"
            ]
            .contains(key),
            "unexpected member {key} in {body}"
        );
    }
    assert_eq!(member(&note, "approval_id").as_str(), Some(id.as_str()));
    assert_eq!(member(&note, "outcome").as_str(), Some("needs_approval"));
    assert_eq!(
        member(&note, "instruction").as_str(),
        Some("Buy the 2400 USD order")
    );
    assert!(
        !body.contains(&agent),
        "the notification carries a credential"
    );
    let nonce = member(&note, "nonce").as_str().expect("nonce").to_owned();

    let path = "/v1/approvals/callback";
    // Unverifiable: another key, a wrong nonce, a tampered decision.
    let (status, _) = post(
        &server.base,
        path,
        None,
        &callback(&impostor, &id, "approve", &nonce),
    );
    assert_eq!(status, 401);
    let (status, _) = post(
        &server.base,
        path,
        None,
        &callback(&alice, &id, "approve", "not-the-nonce"),
    );
    assert_eq!(status, 401);
    let (status, _) = post(
        &server.base,
        path,
        None,
        &callback(&alice, &id, "deny", &nonce).replace("\"deny\"", "\"approve\""),
    );
    assert_eq!(status, 401);
    let (status, _) = post(&server.base, path, None, "{not json");
    assert_eq!(status, 400);
    // The proposer's own name cannot decide, even with a valid approver key.
    let own = callback(&impostor, &id, "approve", &nonce).replace("alice-1", "bot-1");
    let (status, _) = post(&server.base, path, None, &own);
    assert_eq!(status, 403);
    let (_, pending) = reqwest::blocking::Client::new()
        .get(format!("{}/v1/approvals", server.base))
        .bearer_auth(&agent)
        .send()
        .map(|r| {
            (
                r.status().as_u16(),
                parse(&r.text().expect("text")).expect("JSON"),
            )
        })
        .expect("GET");
    let listed = member(&pending, "approvals").as_array().expect("approvals");
    assert_eq!(listed.len(), 1, "{pending:?}");
    assert_eq!(
        member(&listed[0], "status").as_str(),
        Some("pending"),
        "{pending:?}"
    );

    // Alice's signed approval counts; a replay changes nothing.
    let (status, record) = post(
        &server.base,
        path,
        None,
        &callback(&alice, &id, "approve", &nonce),
    );
    assert_eq!(status, 200, "{record:?}");
    assert_eq!(
        member(&record, "status").as_str(),
        Some("approved"),
        "{record:?}"
    );
    assert_eq!(
        member(&record, "approver").as_str(),
        Some("alice"),
        "{record:?}"
    );
    let (status, again) = post(
        &server.base,
        path,
        None,
        &callback(&alice, &id, "approve", &nonce),
    );
    assert_eq!(status, 200);
    assert_eq!(member(&again, "status").as_str(), Some("approved"));
    // A later deny under the same nonce cannot change the status again.
    let (status, flipped) = post(
        &server.base,
        path,
        None,
        &callback(&alice, &id, "deny", &nonce),
    );
    assert_eq!(status, 200);
    assert_eq!(member(&flipped, "status").as_str(), Some("approved"));

    // The agent releases it with the same action, once.
    let (status, released) = post(
        &server.base,
        &format!("/v1/approvals/{id}/resolve"),
        Some(&agent),
        ORDER,
    );
    assert_eq!(status, 200);
    assert_eq!(
        member(&released, "outcome").as_str(),
        Some("allow"),
        "{released:?}"
    );
}
