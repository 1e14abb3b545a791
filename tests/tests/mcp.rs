//! delego's MCP server driven by a real MCP client — the Python `mcp`
//! package, installed into a virtualenv by the set-up — over the real
//! `delego` binary:
//!
//! * `delego mcp` on stdio, opening the home itself: the tools and their
//!   schemas and annotations, strict arguments, and propose → approve (the
//!   CLI, between calls) → resolve → audit tail;
//! * `delego mcp` on stdio while `delego serve` runs: every call goes
//!   through the server (which holds the store), approve over its HTTP API;
//! * `/mcp` on `delego serve` (Streamable HTTP) with an agent key: the same
//!   round trip, the key checks, and an agent seeing only its own pending;
//! * an uninitialised home answers with the `setup_required` payload and
//!   creates nothing.
//!
//! The set-up needs `python3` and the package index once (`pip install
//! mcp`); without them each test prints a `SKIPPED:` line to the process's
//! stderr and passes. `DELEGO_MCP_CLIENT_VENV` points at an existing venv.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use delego_e2e::venv::ensure_venv;
use delego_e2e::{add_key, delego_bin, field, run_command, str_field, HomeCli, ServerProcess};
use delego_spec::json::{parse, to_canonical_string, Value};

const ORDER: &str = r#"{"instruction":"Buy the 2400 USD order","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal"}}"#;
const TOOLS: [&str; 5] = [
    "delego_propose_action",
    "delego_resolve_action",
    "delego_audit_tail",
    "delego_pending",
    "delego_show_policy",
];
const DECISION_KEYS: [&str; 9] = [
    "action_fingerprint",
    "approval_id",
    "executed",
    "intent_hash",
    "outcome",
    "reasons",
    "result",
    "rule",
    "token",
];
const RECEIPT_KEYS: [&str; 13] = [
    "action_fingerprint",
    "action_summary",
    "approval_id",
    "entry_hash",
    "intent_hash",
    "outcome",
    "phase",
    "prev_hash",
    "reasons",
    "rule",
    "seq",
    "signature",
    "ts",
];
const PENDING_KEYS: [&str; 6] = [
    "action_fingerprint",
    "created_at",
    "id",
    "instruction",
    "rule",
    "summary",
];
const REPLY_TIMEOUT: Duration = Duration::from_secs(90);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);

// ------------------------------------------------------------- the client

/// A line-oriented driver around the `mcp` package's `ClientSession`: it
/// connects, prints the initialize result, then answers one JSON command
/// per stdin line (`list`, or `call` with a name and arguments) with one
/// JSON line.
const DRIVER: &str = r#"
import asyncio, json, os, sys
from mcp import ClientSession

def dump(model):
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)

def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()

def transport(argv):
    if argv[0] == "stdio":
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client
        return stdio_client(StdioServerParameters(command=argv[1], args=argv[2:]))
    from mcp.client import streamable_http
    headers = {"Authorization": "Bearer " + os.environ["DELEGO_MCP_KEY"]}
    if hasattr(streamable_http, "streamable_http_client"):
        from mcp.shared._httpx_utils import create_mcp_http_client
        return streamable_http.streamable_http_client(
            argv[1], http_client=create_mcp_http_client(headers=headers))
    return streamable_http.streamablehttp_client(argv[1], headers=headers)

async def main():
    async with transport(sys.argv[1:]) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            emit({"init": dump(await session.initialize())})
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line.strip():
                    break
                command = json.loads(line)
                try:
                    if command["op"] == "list":
                        emit({"ok": dump(await session.list_tools())})
                    else:
                        result = await session.call_tool(command["name"], command["arguments"])
                        emit({"ok": dump(result)})
                except Exception as e:
                    emit({"error": repr(e)})

asyncio.run(main())
"#;

/// The venv's python with `mcp` installed, or `None` (after printing why).
fn client_python() -> Option<&'static Path> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let venv = match std::env::var_os("DELEGO_MCP_CLIENT_VENV").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join("delego-mcp-client-venv"),
    };
    let python = venv.join("bin").join("python");
    let usable = || {
        python.is_file()
            && run_command(
                Command::new(&python).args([
                    "-c",
                    "import mcp.client.session, mcp.client.stdio, mcp.client.streamable_http",
                ]),
                None,
                Duration::from_secs(60),
            )
            .is_ok_and(|o| o.code == 0)
    };
    match PYTHON.get_or_init(|| ensure_venv(&venv, "mcp", INSTALL_TIMEOUT, usable)) {
        Ok(python) => Some(python),
        Err(reason) => {
            // Straight to the process's stderr, past the harness's capture:
            // a skip must be visible.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: cannot install the MCP client (pip install mcp): {reason}"
            );
            None
        }
    }
}

/// A connected MCP client (the driver process).
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    init: Value,
    _script: tempfile::NamedTempFile,
}

impl Client {
    /// `delego ARGS` as a stdio server.
    fn stdio(python: &Path, args: &[&str]) -> Client {
        let bin = delego_bin().display().to_string();
        let mut argv = vec!["stdio", bin.as_str()];
        argv.extend_from_slice(args);
        Client::start(python, &argv, None)
    }

    /// The Streamable HTTP endpoint `url`, with a bearer key.
    fn http(python: &Path, url: &str, key: &str) -> Client {
        Client::start(python, &["http", url], Some(key))
    }

    fn start(python: &Path, argv: &[&str], key: Option<&str>) -> Client {
        let mut script = tempfile::NamedTempFile::new().expect("a temp file");
        script
            .write_all(DRIVER.as_bytes())
            .expect("write the driver");
        let mut command = Command::new(python);
        command
            .arg(script.path())
            .args(argv)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(key) = key {
            command.env("DELEGO_MCP_KEY", key);
        }
        let mut child = command.spawn().expect("start the MCP client");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut pipe = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                if let Ok(mut text) = sink.lock() {
                    text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            }
        });
        let mut client = Client {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            init: Value::Null,
            _script: script,
        };
        let first = client.reply();
        client.init = field(&first, "init").clone();
        assert!(
            client.init.as_object().is_some(),
            "no initialize result: {}\n{}",
            to_canonical_string(&first),
            client.stderr()
        );
        client
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn reply(&mut self) -> Value {
        let line = self.lines.recv_timeout(REPLY_TIMEOUT).unwrap_or_else(|e| {
            panic!(
                "the MCP client did not answer ({e})\n--- its stderr ---\n{}",
                self.stderr()
            )
        });
        parse(&line).unwrap_or_else(|e| panic!("the client printed non-JSON ({e}): {line}"))
    }

    fn command(&mut self, command: &str) -> Value {
        let stdin = self.stdin.as_mut().expect("the client's stdin is open");
        writeln!(stdin, "{command}").expect("write to the MCP client");
        stdin.flush().expect("flush the MCP client's stdin");
        let reply = self.reply();
        match field(&reply, "ok") {
            Value::Null => panic!(
                "the MCP client failed: {}\n--- its stderr ---\n{}",
                to_canonical_string(&reply),
                self.stderr()
            ),
            ok => ok.clone(),
        }
    }

    fn tools(&mut self) -> Vec<Value> {
        field(&self.command(r#"{"op":"list"}"#), "tools")
            .as_array()
            .expect("a tools list")
            .to_vec()
    }

    /// A tool call's result (`content`, `structuredContent`, `isError`).
    fn call(&mut self, name: &str, arguments: &str) -> Value {
        self.command(&format!(
            r#"{{"op":"call","name":"{name}","arguments":{arguments}}}"#
        ))
    }

    /// The structured result of a call that must succeed.
    fn ok(&mut self, name: &str, arguments: &str) -> Value {
        let result = self.call(name, arguments);
        assert_ne!(
            field(&result, "isError"),
            &Value::Bool(true),
            "{name} failed: {}",
            to_canonical_string(&result)
        );
        field(&result, "structuredContent").clone()
    }

    /// The message of a call that must fail at the tool level.
    fn refused(&mut self, name: &str, arguments: &str) -> String {
        let result = self.call(name, arguments);
        assert_eq!(
            field(&result, "isError"),
            &Value::Bool(true),
            "{name} {arguments} should be refused: {}",
            to_canonical_string(&result)
        );
        str_field(&field(&result, "content").as_array().unwrap()[0], "text").to_owned()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // An empty line (then EOF) ends the driver, which ends a stdio server.
        drop(self.stdin.take());
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- helpers

fn keys_of(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {}", to_canonical_string(value)))
        .keys()
        .map(String::as_str)
        .collect()
}

fn params(action: &str) -> String {
    format!(r#"{{"params":{action}}}"#)
}

fn resolve_params(id: &str, action: &str) -> String {
    let mut action = parse(action).unwrap();
    if let Value::Object(m) = &mut action {
        m.insert("approval_id".into(), id.into());
    }
    params(&to_canonical_string(&action))
}

fn list_of(structured: &Value) -> Vec<Value> {
    field(structured, "result")
        .as_array()
        .unwrap_or_else(|| panic!("no result list: {}", to_canonical_string(structured)))
        .to_vec()
}

fn http(base: &str, key: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    delego_e2e::http_call(base, Some(key), path, body)
}

/// The tool list is the reference's: five tools, no way to decide.
fn check_tools(client: &mut Client) {
    let tools = client.tools();
    let names: Vec<&str> = tools.iter().map(|t| str_field(t, "name")).collect();
    assert_eq!(names, TOOLS);
    for tool in &tools {
        let name = str_field(tool, "name");
        let hints = field(tool, "annotations");
        let read_only = !matches!(name, "delego_propose_action" | "delego_resolve_action");
        assert_eq!(
            field(hints, "readOnlyHint"),
            &Value::Bool(read_only),
            "{name}"
        );
        assert_eq!(
            field(hints, "destructiveHint"),
            &Value::Bool(!read_only),
            "{name}"
        );
        assert_eq!(
            field(hints, "idempotentHint"),
            &Value::Bool(read_only),
            "{name}"
        );
        assert_eq!(
            field(hints, "openWorldHint"),
            &Value::Bool(!read_only),
            "{name}"
        );
        let schema = field(tool, "inputSchema");
        assert_eq!(field(schema, "additionalProperties"), &Value::Bool(false));
        let params = field(field(schema, "properties"), "params");
        if matches!(name, "delego_pending" | "delego_show_policy") {
            assert_eq!(params, &Value::Null, "{name} takes no arguments");
            continue;
        }
        assert_eq!(
            field(schema, "required"),
            &Value::Array(vec!["params".into()])
        );
        assert_eq!(field(params, "additionalProperties"), &Value::Bool(false));
        let required: Vec<&str> = field(params, "required")
            .as_array()
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let expected: &[&str] = match name {
            "delego_propose_action" => &["instruction", "method", "url"],
            "delego_resolve_action" => &["approval_id", "instruction", "method", "url"],
            _ => &[],
        };
        assert_eq!(required, expected, "{name}");
    }
    let lines = field(
        field(
            field(field(&tools[2], "inputSchema"), "properties"),
            "params",
        ),
        "properties",
    );
    let lines = field(lines, "lines");
    assert_eq!(field(lines, "default").as_i64(), Some(20));
    assert_eq!(field(lines, "minimum").as_i64(), Some(1));
    assert_eq!(field(lines, "maximum").as_i64(), Some(200));
}

/// propose → (approve) → resolve → audit tail, the approval done by
/// `approve(id)` between the calls.
fn round_trip(client: &mut Client, approve: impl FnOnce(&str)) {
    let parked = client.ok("delego_propose_action", &params(ORDER));
    assert_eq!(keys_of(&parked), DECISION_KEYS);
    assert_eq!(str_field(&parked, "outcome"), "needs_approval");
    let id = str_field(&parked, "approval_id").to_owned();

    let pending = list_of(&client.ok("delego_pending", "{}"));
    assert_eq!(pending.len(), 1);
    assert_eq!(keys_of(&pending[0]), PENDING_KEYS);
    assert_eq!(str_field(&pending[0], "id"), id);
    assert_eq!(
        str_field(&pending[0], "instruction"),
        "Buy the 2400 USD order"
    );

    // Still pending: resolving says so and writes nothing.
    let waiting = client.ok("delego_resolve_action", &resolve_params(&id, ORDER));
    assert_eq!(str_field(&waiting, "outcome"), "needs_approval");

    approve(&id);

    let released = client.ok("delego_resolve_action", &resolve_params(&id, ORDER));
    assert_eq!(keys_of(&released), DECISION_KEYS);
    assert_eq!(str_field(&released, "outcome"), "allow");
    assert_eq!(field(&released, "executed"), &Value::Bool(true));
    assert_eq!(list_of(&client.ok("delego_pending", "{}")).len(), 0);
    // Single use: a replay is denied.
    let replay = client.ok("delego_resolve_action", &resolve_params(&id, ORDER));
    assert_eq!(str_field(&replay, "outcome"), "deny");

    let tail = list_of(&client.ok("delego_audit_tail", r#"{"params":{"lines":3}}"#));
    assert_eq!(tail.len(), 3);
    for receipt in &tail {
        assert_eq!(keys_of(receipt), RECEIPT_KEYS);
        assert_eq!(str_field(receipt, "approval_id"), id);
    }
    let outcomes: Vec<&str> = tail.iter().map(|r| str_field(r, "outcome")).collect();
    assert_eq!(outcomes, ["needs_approval", "allow", "deny"]);
    let seqs: Vec<i64> = tail
        .iter()
        .map(|r| field(r, "seq").as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    let policy = client.ok("delego_show_policy", "{}");
    assert_eq!(
        keys_of(&policy),
        ["default", "forbidden", "rules", "version"]
    );
    let rules = field(&policy, "rules").as_array().unwrap();
    assert_eq!(
        keys_of(&rules[0]),
        ["constraints", "decision", "match", "name"]
    );
}

// ------------------------------------------------------------------ tests

#[test]
fn stdio_opens_the_home_per_call_and_round_trips() {
    let Some(python) = client_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = HomeCli::new(tmp.path().join("home"));
    home.init();
    let dir = home.dir.display().to_string();
    let mut client = Client::stdio(python, &["--home", &dir, "mcp"]);
    assert_eq!(
        str_field(field(&client.init, "serverInfo"), "name"),
        "delego"
    );
    check_tools(&mut client);

    // Strict arguments, each refused with the field named.
    let order = parse(ORDER).unwrap();
    let with = |key: &str, value: Value| {
        let mut action = order.clone();
        if let Value::Object(m) = &mut action {
            m.insert(key.into(), value);
        }
        params(&to_canonical_string(&action))
    };
    for (arguments, named) in [
        (with("extra", 1i64.into()), "params.extra"),
        (with("method", "   ".into()), "params.method"),
        (with("instruction", 5i64.into()), "params.instruction"),
        (with("params", "x".into()), "params.params"),
        (format!(r#"{{"params":{ORDER},"other":1}}"#), "'other'"),
        ("{}".to_owned(), "'params'"),
    ] {
        let message = client.refused("delego_propose_action", &arguments);
        assert!(message.contains(named), "{message}");
    }
    for lines in ["0", "201", "2.0", "\"5\"", "true"] {
        let message = client.refused(
            "delego_audit_tail",
            &format!(r#"{{"params":{{"lines":{lines}}}}}"#),
        );
        assert!(message.contains("params.lines"), "{message}");
    }
    assert!(client
        .refused("delego_pending", r#"{"params":{}}"#)
        .contains("takes no arguments"));
    assert!(client
        .refused("delego_approve", "{}")
        .contains("unknown tool"));
    // Nothing refused was recorded.
    assert_eq!(
        list_of(&client.ok("delego_audit_tail", r#"{"params":{}}"#)).len(),
        0
    );

    // Strings are stripped as the reference strips them: the same action.
    let read = r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#;
    let padded = r#"{"instruction":"  read my account details\n","method":" GET ","url":" https://api.example.com/accounts/me ","params":{}}"#;
    let plain = client.ok("delego_propose_action", &params(read));
    let stripped = client.ok("delego_propose_action", &params(padded));
    assert_eq!(str_field(&plain, "outcome"), "allow");
    for key in ["intent_hash", "action_fingerprint"] {
        assert_eq!(str_field(&plain, key), str_field(&stripped, key));
    }
    let cli = home.propose(read);
    assert_eq!(
        str_field(&plain, "action_fingerprint"),
        str_field(&cli, "action_fingerprint")
    );

    // The store is free between calls: the human approves with the CLI.
    round_trip(&mut client, |id| {
        home.ok(["approve", id, "--as", "alice"]);
    });

    // A broker that does not carry the action out: a deny, shaped as the
    // reference's broker refusal (its `note`), and recorded.
    std::fs::write(
        home.dir.join("gateway.json"),
        r#"{"url":"http://127.0.0.1:1/execute","timeout_seconds":2}"#,
    )
    .unwrap();
    let refused = client.ok("delego_propose_action", &params(read));
    let mut keys = DECISION_KEYS.to_vec();
    keys.insert(4, "note");
    assert_eq!(keys_of(&refused), keys);
    assert_eq!(str_field(&refused, "outcome"), "deny");
    assert_eq!(field(&refused, "executed"), &Value::Bool(false));
    let last = list_of(&client.ok("delego_audit_tail", r#"{"params":{"lines":1}}"#));
    assert_eq!(str_field(&last[0], "outcome"), "deny");
    drop(client);
    assert_eq!(home.run(["verify"]).code, 0);
}

#[test]
fn stdio_goes_through_the_running_server() {
    let Some(python) = client_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = HomeCli::new(tmp.path().join("home"));
    home.init();
    let alice = add_key(&home, "alice", "approver");
    let server = ServerProcess::serve(&home);
    // `delego serve` announced itself in server.json (0600).
    let announced = std::fs::read_to_string(home.dir.join("server.json")).unwrap();
    assert!(announced.contains(&server.base), "{announced}");
    let dir = home.dir.display().to_string();
    let mut client = Client::stdio(python, &["--home", &dir, "mcp"]);
    check_tools(&mut client);
    // The server holds the store, so every answer below came through it.
    round_trip(&mut client, |id| {
        let (status, record) = http(
            &server.base,
            &alice,
            &format!("/v1/approvals/{id}/approve"),
            Some(r#"{"note":"ok"}"#),
        );
        assert_eq!(status, 200, "{}", to_canonical_string(&record));
        assert_eq!(str_field(&record, "proposed_by"), "local-admin");
    });
    drop(client);

    // A stale discovery file (nothing answers there) is ignored.
    drop(server);
    let mut client = Client::stdio(python, &["--home", &dir, "mcp"]);
    assert_eq!(
        list_of(&client.ok("delego_audit_tail", r#"{"params":{}}"#)).len(),
        3
    );
}

#[test]
fn streamable_http_on_serve_with_an_agent_key() {
    let Some(python) = client_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = HomeCli::new(tmp.path().join("home"));
    home.init();
    let agent = add_key(&home, "agent-1", "agent");
    let other = add_key(&home, "agent-2", "agent");
    let alice = add_key(&home, "alice", "approver");
    let server = ServerProcess::serve(&home);
    let url = format!("{}/mcp", server.base);

    // Only an agent key gets in; the answer names the problem.
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let post = |key: Option<&str>| {
        let client = reqwest::blocking::Client::new();
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(initialize);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().expect("an HTTP answer");
        (response.status().as_u16(), response.text().unwrap())
    };
    let (status, body) = post(None);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("missing bearer key"), "{body}");
    let (status, body) = post(Some(&alice));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("approver key cannot"), "{body}");
    let (status, body) = post(Some("dlg_not-a-key"));
    assert_eq!(status, 401, "{body}");
    let (status, body) = post(Some(&agent));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"delego\""), "{body}");

    let mut client = Client::http(python, &url, &agent);
    check_tools(&mut client);
    let mut stranger = Client::http(python, &url, &other);
    round_trip(&mut client, |id| {
        // Another agent sees none of agent-1's pending approvals.
        assert_eq!(list_of(&stranger.ok("delego_pending", "{}")).len(), 0);
        let (status, _) = http(
            &server.base,
            &agent,
            &format!("/v1/approvals/{id}/approve"),
            Some("{}"),
        );
        assert_eq!(status, 403, "an agent key never approves");
        let (status, record) = http(
            &server.base,
            &alice,
            &format!("/v1/approvals/{id}/approve"),
            Some("{}"),
        );
        assert_eq!(status, 200, "{}", to_canonical_string(&record));
        assert_eq!(str_field(&record, "proposed_by"), "agent-1");
    });

    // Revocation applies to the next MCP request.
    assert_eq!(home.run(["keys", "revoke", "agent-1"]).code, 0);
    let (status, _) = post(Some(&agent));
    assert_eq!(status, 401);
}

#[test]
fn an_uninitialised_home_is_told_the_setup_step() {
    let Some(python) = client_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    let dir = missing.display().to_string();
    let mut client = Client::stdio(python, &["--home", &dir, "mcp"]);
    let decision = client.ok("delego_propose_action", &params(ORDER));
    assert_eq!(keys_of(&decision), ["detail", "error", "fix"]);
    assert_eq!(str_field(&decision, "error"), "setup_required");
    assert!(str_field(&decision, "detail").contains("No delego policy"));
    assert!(str_field(&decision, "fix").contains("delego init"));
    for tool in ["delego_pending", "delego_show_policy"] {
        let answer = client.ok(tool, "{}");
        let payload = if tool == "delego_pending" {
            field(&answer, "result")
        } else {
            &answer
        };
        assert_eq!(str_field(payload, "error"), "setup_required", "{tool}");
    }
    drop(client);
    assert!(!missing.exists(), "nothing is created on first contact");
}
