//! `delego serve` as a real process on 127.0.0.1: keys created with
//! `delego keys`, the approval round trip over HTTP, live revocation, a
//! clean SIGTERM, and every acknowledged decision surviving SIGKILL.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use delego_e2e::{delego_bin, HomeCli};
use delego_spec::json::Value;

const ORDER: &str = r#"{"instruction":"Buy the 2400 USD order","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal"}}"#;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(home: &HomeCli) -> Server {
    let mut child = Command::new(delego_bin())
        .args([
            "--home",
            &home.dir.display().to_string(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start delego serve");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    Server {
        child,
        base: format!("http://{addr}"),
    }
}

fn key(home: &HomeCli, name: &str, role: &str) -> String {
    // The token is the only stdout line; the notice goes to stderr.
    let out = home.run(["keys", "add", name, "--role", role]);
    assert_eq!(out.code, 0, "{out}");
    out.stdout.trim().to_owned()
}

fn call(base: &str, key: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    delego_e2e::http_call(base, Some(key), path, body)
}

fn get<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.as_object().unwrap().get(key).unwrap_or(&Value::Null)
}

#[test]
fn the_service_round_trip_revocation_and_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let home = HomeCli::new(tmp.path().join("home"));
    home.init();
    let agent = key(&home, "agent-1", "agent");
    let alice = key(&home, "alice", "approver");
    let listed = home.ok(["keys", "list"]).stdout;
    assert!(listed.contains("agent-1\tagent\tactive") && !listed.contains(&agent[4..]));
    let server = serve(&home);

    let (status, parked) = call(&server.base, &agent, "/v1/actions", Some(ORDER));
    assert_eq!(status, 200, "{parked:?}");
    let id = get(&parked, "approval_id").as_str().unwrap().to_owned();
    // The store is owned by the server: `pending` goes through it, and a
    // command that needs the store itself is refused meanwhile.
    let listed = home.run(["pending"]);
    assert_eq!(listed.code, 0, "{listed}");
    assert!(listed.stdout.starts_with(&id), "{listed}");
    let blocked = home.run(["export"]);
    assert_eq!(blocked.code, 2, "{blocked}");
    let (status, _) = call(
        &server.base,
        &agent,
        &format!("/v1/approvals/{id}/approve"),
        Some("{}"),
    );
    assert_eq!(status, 403);
    let (status, _) = call(
        &server.base,
        &alice,
        &format!("/v1/approvals/{id}/approve"),
        Some(r#"{"note":"ok"}"#),
    );
    assert_eq!(status, 200);
    let (status, released) = call(
        &server.base,
        &agent,
        &format!("/v1/approvals/{id}/resolve"),
        Some(ORDER),
    );
    assert_eq!(status, 200);
    assert_eq!(get(&released, "executed"), &Value::Bool(true));

    // Revocation takes effect without a restart.
    assert_eq!(home.run(["keys", "revoke", "agent-1"]).code, 0);
    let (status, body) = call(&server.base, &agent, "/v1/actions", Some(ORDER));
    assert_eq!(status, 401, "{body:?}");

    // SIGTERM: a clean exit, and the store is free again with every receipt.
    let mut server = server;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(home.receipts().len(), 2);
    assert_eq!(home.run(["verify"]).code, 0);
}

#[test]
fn acknowledged_decisions_survive_sigkill_of_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let home = HomeCli::new(tmp.path().join("home"));
    home.init();
    let agent = key(&home, "agent-1", "agent");
    let server = serve(&home);
    let base = server.base.clone();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (base, agent) = (base.clone(), agent.clone());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for n in 0..40 {
                    let action = format!(r#"{{"instruction":"read","method":"GET","url":"https://api.example.com/accounts/{t}-{n}","params":{{}}}}"#);
                    let (status, decision) = call(&base, &agent, "/v1/actions", Some(&action));
                    assert_eq!(status, 200, "{decision:?}");
                    acked.push((
                        get(&decision, "receipt_seq").as_i64().unwrap(),
                        get(&decision, "action_fingerprint").as_str().unwrap().to_owned(),
                    ));
                }
                acked
            })
        })
        .collect();
    let acked: Vec<(i64, String)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    drop(server); // SIGKILL
    let receipts = home.receipts();
    assert!(receipts.len() >= acked.len());
    for (seq, fingerprint) in acked {
        let receipt = &receipts[seq as usize];
        assert_eq!(
            get(receipt, "action_fingerprint").as_str(),
            Some(fingerprint.as_str())
        );
    }
    assert_eq!(home.run(["verify"]).code, 0);
}
