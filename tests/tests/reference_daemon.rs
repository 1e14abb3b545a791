//! `delego serve` answers the reference's daemon protocol on the reference's
//! socket path, so the reference's own CLI (`delego pending`, `delego
//! approve`) and its `DaemonClient` work against it unchanged. The
//! reference is installed from the package index into a cached venv by the
//! set-up; the test says SKIPPED and passes when that is impossible.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use delego_e2e::venv::ensure_venv;
use delego_e2e::{add_key, run_command, HomeCli, ServerProcess};

const REFERENCE: &str = "delego==0.3.4";
const ORDER: &str = r#"{"instruction":"Buy the 2400 USD order","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal"}}"#;

/// The same cached venv as the differential tests (`DELEGO_REF_VENV`
/// overrides it).
fn venv() -> PathBuf {
    match std::env::var_os("DELEGO_REF_VENV").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join("delego-ref-venv-0.3.4"),
    }
}

fn reference_python() -> Option<PathBuf> {
    let venv = venv();
    let python = venv.join("bin").join("python");
    let usable = || {
        Command::new(&python)
            .args([
                "-c",
                "import delego, sys; sys.exit(0 if delego.__version__ == '0.3.4' else 1)",
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    match ensure_venv(&venv, REFERENCE, Duration::from_secs(300), usable) {
        Ok(python) => Some(python),
        Err(reason) => {
            println!("SKIPPED: cannot install the reference ({REFERENCE}): {reason}");
            None
        }
    }
}

#[test]
fn the_reference_cli_and_daemon_client_work_against_delego_serve() {
    let Some(python) = reference_python() else {
        return;
    };
    let reference_cli = venv().join("bin").join("delego");
    let dir = tempfile::tempdir().expect("tempdir");
    let home = HomeCli::new(dir.path().join("home"));
    home.init();
    let agent = add_key(&home, "bot", "agent");
    let server = ServerProcess::serve(&home);
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/actions", server.base))
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body(ORDER)
        .send()
        .expect("propose")
        .text()
        .expect("text");
    let id = response
        .split("\"approval_id\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an approval id")
        .to_owned();

    let reference = |args: &[&str]| {
        let mut command = Command::new(&reference_cli);
        command.arg("--home").arg(&home.dir).args(args);
        run_command(&mut command, None, Duration::from_secs(60)).expect("run the reference")
    };
    // The reference's CLI finds our server on its socket and lists the
    // approval our engine parked, in its own words.
    let pending = reference(&["pending"]);
    assert_eq!(pending.code, 0, "{pending}");
    assert!(
        pending
            .stdout
            .starts_with(&format!("{id}  POST api.example.com/orders")),
        "{pending}"
    );
    assert!(
        pending
            .stdout
            .contains("instruction: 'Buy the 2400 USD order'"),
        "{pending}"
    );
    // It approves through our single writer.
    let approved = reference(&["approve", &id, "--as", "alice"]);
    assert_eq!(approved.code, 0, "{approved}");
    assert!(
        approved.stdout.starts_with(&format!("{id}: approved")),
        "{approved}"
    );
    let unknown = reference(&["deny", "apr_000000000000"]);
    assert_eq!(unknown.code, 1, "{unknown}");
    assert!(
        unknown
            .stdout
            .contains("No such approval: apr_000000000000"),
        "{unknown}"
    );

    // The DaemonClient: every op, and errors in the reference's shape.
    let script = format!(
        r#"
import json, warnings
warnings.simplefilter("ignore")
from delego import DaemonClient, DaemonError, Paths
c = DaemonClient(Paths.resolve({home:?}).socket)
order = json.loads({order:?})
out = {{}}
out["ping"] = c.ping()
r = c.resolve({id:?}, order["instruction"], order["method"], order["url"], order["params"])
out["released"] = [r["outcome"], r["executed"], r["rule"]]
r = c.resolve({id:?}, order["instruction"], order["method"], order["url"], order["params"])
out["replay"] = r["outcome"]
d = c.propose("read my account details", "GET", "https://api.example.com/accounts/me")
out["read"] = sorted(d.keys())
out["tail"] = [e["seq"] for e in c.audit_tail(3)]
out["verify"] = c.verify()
out["policy"] = c.policy()["default"]
try:
    c._call("bogus")
except DaemonError as e:
    out["error"] = str(e)
print(json.dumps(out, sort_keys=True))
"#,
        home = home.dir.display().to_string(),
        order = ORDER,
        id = id,
    );
    let mut command = Command::new(&python);
    command.args(["-c", &script]);
    let out = run_command(&mut command, None, Duration::from_secs(60)).expect("python");
    assert_eq!(out.code, 0, "{out}");
    let expected = r#"{"error": "ValueError: unknown op 'bogus'", "ping": true, "policy": "deny", "read": ["action_fingerprint", "approval_id", "executed", "intent_hash", "outcome", "reasons", "result", "rule", "token"], "released": ["allow", true, "place-order"], "replay": "deny", "tail": [1, 2, 3], "verify": {"problems": [], "valid": true}}"#;
    assert_eq!(out.stdout.trim(), expected, "{out}");
    drop(server);
}
