//! The CLI goes through a running `delego serve` for its home (found by the
//! 0600 `server.json` the server writes and removes) and prints exactly
//! what it prints in-process: the same command sequence on two homes, one
//! with a server and one without, gives the same output and exit codes.

use delego_e2e::{HomeCli, Output, ServerProcess};

const ORDER: &str = r#"{"instruction":"Buy the 2400 USD order","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal"}}"#;
const READ: &str = r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#;

/// Output with what differs between two homes by construction (approval
/// ids, timestamps) replaced.
fn normalised(out: &Output, ids: &[String]) -> String {
    let mut text = format!("{}|{}", out.code, out.stdout);
    for (i, id) in ids.iter().enumerate() {
        text = text.replace(id.as_str(), &format!("apr_#{i}"));
    }
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("requested ") {
                "    requested <ts>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn approval_id(out: &Output) -> String {
    out.stdout
        .split("\"approval_id\": \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no approval id in {out}"))
        .to_owned()
}

/// The sequence; returns the normalised outputs.
fn session(home: &HomeCli) -> Vec<String> {
    let mut ids = Vec::new();
    let mut outputs = Vec::new();
    let mut record = |out: Output, ids: &[String]| outputs.push(normalised(&out, ids));
    record(home.run(["propose", "--action", READ]), &ids);
    let parked = home.run(["propose", "--action", ORDER]);
    ids.push(approval_id(&parked));
    record(parked, &ids);
    record(home.run(["pending"]), &ids);
    record(
        home.run(["approve", &ids[0], "--as", "alice", "--note", "checked"]),
        &ids,
    );
    record(home.run(["resolve", &ids[0], "--action", ORDER]), &ids);
    record(home.run(["resolve", &ids[0], "--action", ORDER]), &ids);
    let second = home.run(["propose", "--action", ORDER]);
    ids.push(approval_id(&second));
    record(second, &ids);
    record(home.run(["deny", &ids[1]]), &ids);
    record(home.run(["deny", "apr_000000000000"]), &ids);
    record(home.run(["pending"]), &ids);
    record(home.run(["log", "-n", "4"]), &ids);
    outputs
}

#[test]
fn commands_through_a_running_server_print_what_they_print_in_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let direct = HomeCli::new(dir.path().join("direct"));
    direct.init();
    let served = HomeCli::new(dir.path().join("served"));
    served.init();
    let server = ServerProcess::serve(&served);
    let file = served.dir.join("server.json");
    assert!(file.exists(), "serve writes server.json");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&file)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let expected = session(&direct);
    let through_server = session(&served);
    assert_eq!(expected.len(), through_server.len());
    for (a, b) in expected.iter().zip(&through_server) {
        assert_eq!(a, b);
    }
    // Through the server, the approver is the named human.
    let log = served.run(["log", "--json", "-n", "20"]);
    assert!(log.stdout.contains("human approved by 'alice'"), "{log}");
    // Killed, the server leaves a stale server.json: it is ignored and the
    // CLI opens the store itself again.
    server.kill();
    assert!(file.exists());
    let after = served.run(["pending"]);
    assert_eq!(after.code, 0, "{after}");
    assert_eq!(after.stdout, "No pending approvals.\n");
}

/// `log -n N` beyond the API's 1,000-receipt page prints the same through
/// the server as in-process; unknown paths are 404 (not the MCP layer's
/// 401); the session admin's name cannot be taken by a stored key.
#[test]
fn long_logs_unknown_paths_and_the_reserved_admin_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = HomeCli::new(dir.path().join("home"));
    home.init();
    let reserved = home.run(["keys", "add", "local-admin", "--role", "admin"]);
    assert_eq!(reserved.code, 2, "{reserved}");
    let agent = delego_e2e::add_key(&home, "bot", "agent");
    let server = ServerProcess::serve(&home);
    delego_e2e::propose_over_http(&server.base, &agent, READ, 1_100);
    let (status, _) = delego_e2e::http_call(&server.base, None, "/nope", None);
    assert_eq!(status, 404);
    let through = home.run(["log", "-n", "1050", "--json"]);
    assert_eq!(through.code, 0, "{through}");
    assert_eq!(through.stdout.lines().count(), 1_050);
    server.kill();
    let direct = home.run(["log", "-n", "1050", "--json"]);
    assert_eq!(direct.stdout, through.stdout);
}
