//! The firewall through the real `delego` binary, in a temporary home: the
//! reference's demo story (allowed read, forbidden, over the cap, the
//! approval flow with its replay and substitution guards), the human
//! commands (`pending`, `approve`, `deny`, `log`), the ledger commands
//! (`verify`, `export`, tampering), rate limits, unusable input, invalid
//! policies and the policy authoring tools (`policy check|test|explain`).
//!
//! A one-shot CLI process commits before it answers, so after every call
//! the next process must reopen the store with every receipt: most steps
//! below check that (`verify` exits 0 and `log --json` has the count).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use delego_e2e::{
    assert_no_panic, field, read_text, str_field, strings_field, workspace_root, write_file,
    HomeCli, Output,
};
use delego_spec::json::{python_repr, Value};

const OK_LINE: &str = "Audit chain OK: all receipts intact and signed.";

const READ: &str = r#"{"instruction": "Show me my account balance", "method": "GET", "url": "https://api.example.com/accounts/123", "params": {}}"#;
const PERMISSIONS: &str = r#"{"instruction": "Share the account with eve", "method": "POST", "url": "https://api.example.com/accounts/123/permissions", "params": {"grantee": "eve"}}"#;
const OVER_CAP: &str = r#"{"instruction": "Buy a lot", "method": "POST", "url": "https://api.example.com/orders", "params": {"amount": 50000, "currency": "USD", "destination": "internal"}}"#;
const ORDER: &str = r#"{"instruction": "Buy the 2400 USD order", "method": "POST", "url": "https://api.example.com/orders", "params": {"amount": 2400, "currency": "USD", "destination": "internal"}}"#;
const ORDER_SUMMARY: &str =
    r#"POST api.example.com/orders {"amount":2400,"currency":"USD","destination":"internal"}"#;
const UNKNOWN_ID: &str = "apr_000000000000";

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("cannot create a temporary directory")
}

/// A fresh, initialised home in a temporary directory.
fn fresh_home() -> (tempfile::TempDir, HomeCli) {
    let tmp = tempdir();
    let home = HomeCli::new(tmp.path().join("home"));
    home.init();
    (tmp, home)
}

fn example_policy() -> PathBuf {
    workspace_root().join("spec/tests/vectors/ctk/policy.example.yaml")
}

fn order(instruction: &str, amount: u64) -> String {
    format!(
        r#"{{"instruction": "{instruction}", "method": "POST", "url": "https://api.example.com/orders", "params": {{"amount": {amount}, "currency": "USD", "destination": "internal"}}}}"#
    )
}

/// The next process reopens the store with exactly `count` receipts, and
/// the chain verifies.
fn assert_store(home: &HomeCli, count: usize) {
    assert_eq!(home.receipts().len(), count, "receipts in {:?}", home.dir);
    let out = home.run(["verify"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.has_line(OK_LINE), "{out}");
}

fn outcome(decision: &Value) -> &str {
    str_field(decision, "outcome")
}

fn reasons(decision: &Value) -> Vec<String> {
    strings_field(decision, "reasons")
}

fn rule(decision: &Value) -> Option<&str> {
    field(decision, "rule").as_str()
}

fn executed(decision: &Value) -> bool {
    match field(decision, "executed") {
        Value::Bool(b) => *b,
        other => panic!("executed is not a boolean: {other:?}"),
    }
}

fn approval_id(decision: &Value) -> String {
    str_field(decision, "approval_id").to_owned()
}

// ------------------------------------------------------------------- init

#[test]
fn init_creates_the_home() {
    let tmp = tempdir();
    let dir = tmp.path().join("nested").join("home");
    let home = HomeCli::new(&dir);
    let out = home.init();
    let policy = dir.join("policy.yaml");
    assert_eq!(
        out.stdout_lines(),
        vec![
            format!("Installed example policy at {}", policy.display()),
            format!("Initialised delego home at {}", dir.display()),
            format!("Signing key: {}", dir.join("signing_key.pem").display()),
        ],
        "{out}"
    );
    assert_eq!(read_text(&policy), read_text(&example_policy()));
    let private = dir.join("signing_key.pem");
    let mode = std::fs::metadata(&private)
        .expect("signing_key.pem exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "signing_key.pem mode {mode:o}");
    assert!(read_text(&private).starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(read_text(&dir.join("signing_key.pub")).starts_with("-----BEGIN PUBLIC KEY-----"));
    let gitignore = read_text(&dir.join(".gitignore"));
    for entry in [
        "signing_key.pem",
        "token_key.pem",
        "audit.log.jsonl",
        "approvals.jsonl",
        "store/",
        "log.key",
        "api_keys.json",
        "server.json",
    ] {
        assert!(
            gitignore.lines().any(|l| l == entry),
            ".gitignore lacks {entry}:\n{gitignore}"
        );
    }
    assert!(dir.join("store").is_dir(), "no store/ directory");

    // A second init keeps the keys and the policy.
    let key = read_text(&private);
    write_file(&policy, "version: 1\ndefault: deny\n");
    let again = home.init();
    assert!(
        !again.stdout.contains("Installed example policy"),
        "{again}"
    );
    assert_eq!(read_text(&private), key);
    assert_eq!(read_text(&policy), "version: 1\ndefault: deny\n");
    assert_store(&home, 0);

    let shown = home.ok(["home"]);
    assert_eq!(shown.stdout_lines(), vec![dir.display().to_string()]);
}

#[test]
fn policy_show_summarises_the_home_policy() {
    let (_tmp, home) = fresh_home();
    let out = home.ok(["policy"]);
    let lines = out.stdout_lines();
    assert_eq!(lines[0], format!("home:   {}", home.dir.display()), "{out}");
    assert!(out.has_line("policy v1 | default: deny"), "{out}");
    assert!(
        out.has_line("  - no-access-control-changes: path_contains=/permissions"),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  - place-order -> needs_approval | ")),
        "{out}"
    );
}

// ------------------------------------------------------------- demo story

#[test]
fn demo_story() {
    let (tmp, home) = fresh_home();
    assert_store(&home, 0);

    // An allowed read executes at once.
    let read = home.propose(READ);
    assert_eq!(outcome(&read), "allow", "{read:?}");
    assert_eq!(rule(&read), Some("read-accounts"));
    assert!(executed(&read));
    assert_eq!(reasons(&read), ["rate_limit: 1/50 per hour"]);
    assert!(field(&read, "approval_id").is_null());
    assert!(field(&read, "token").is_null());
    assert_eq!(str_field(field(&read, "result"), "status"), "simulated");
    assert_eq!(
        str_field(field(field(&read, "result"), "detail"), "would_send"),
        "GET api.example.com/accounts/123"
    );
    assert_eq!(str_field(&read, "intent_hash").len(), 64);
    assert_eq!(str_field(&read, "action_fingerprint").len(), 64);
    assert_store(&home, 1);

    // A forbidden action is denied.
    let forbidden = home.propose(PERMISSIONS);
    assert_eq!(outcome(&forbidden), "deny");
    assert_eq!(rule(&forbidden), Some("no-access-control-changes"));
    assert_eq!(
        reasons(&forbidden),
        ["forbidden: Agents may never modify permissions or sharing"]
    );
    assert!(!executed(&forbidden));
    assert_store(&home, 2);

    // Over the cap: the rule matched, its constraint failed, so deny.
    let over = home.propose(OVER_CAP);
    assert_eq!(outcome(&over), "deny");
    assert_eq!(rule(&over), Some("place-order"));
    assert_eq!(reasons(&over), ["amount: 50000 exceeds max 5000 USD"]);
    assert!(!executed(&over));
    assert_store(&home, 3);

    // A sensitive action is parked for a human.
    let parked = home.propose(ORDER);
    assert_eq!(outcome(&parked), "needs_approval");
    assert_eq!(rule(&parked), Some("place-order"));
    assert_eq!(
        reasons(&parked),
        [
            "amount: 2400 within max 5000",
            "allow_list: destination='internal' permitted"
        ]
    );
    assert!(!executed(&parked));
    let id = approval_id(&parked);
    assert!(
        id.len() == 16
            && id.starts_with("apr_")
            && id[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "approval id {id}"
    );
    assert_store(&home, 4);

    // Presenting it before the human decided: still waiting, nothing written.
    let early = home.resolve(&id, ORDER);
    assert_eq!(outcome(&early), "needs_approval");
    assert_eq!(reasons(&early), ["awaiting human approval"]);
    assert_eq!(approval_id(&early), id);
    assert!(!executed(&early));
    assert_store(&home, 4);

    let pending = home.ok(["pending"]);
    let lines = pending.stdout_lines();
    assert_eq!(lines[0], format!("{id}  {ORDER_SUMMARY}"), "{pending}");
    assert_eq!(
        lines[1], "    instruction: 'Buy the 2400 USD order'",
        "{pending}"
    );
    assert!(lines[2].starts_with("    requested 20"), "{pending}");
    assert_eq!(lines.len(), 3, "{pending}");

    // The human approves; the decision itself writes no receipt.
    let approved = home.ok(["approve", &id, "--as", "alice"]);
    assert_eq!(
        approved.stdout_lines(),
        vec![
            format!("{id}: approved"),
            format!("    {ORDER_SUMMARY}"),
            "    instruction: 'Buy the 2400 USD order'".to_owned(),
        ],
        "{approved}"
    );
    assert_eq!(
        home.ok(["pending"]).stdout_lines(),
        vec!["No pending approvals."]
    );
    assert_store(&home, 4);

    // Released exactly once, attributed to the approver and the parking rule.
    let released = home.resolve(&id, ORDER);
    assert_eq!(outcome(&released), "allow", "{released:?}");
    assert_eq!(rule(&released), Some("place-order"));
    assert_eq!(reasons(&released), ["human approved by 'alice'"]);
    assert!(executed(&released));
    assert_eq!(approval_id(&released), id);
    assert_eq!(
        str_field(&released, "action_fingerprint"),
        str_field(&parked, "action_fingerprint")
    );
    assert_store(&home, 5);

    let replay = home.resolve(&id, ORDER);
    assert_eq!(outcome(&replay), "deny");
    assert!(rule(&replay).is_none());
    assert_eq!(
        reasons(&replay),
        ["approval already used: this single-use approval has already released its action"]
    );
    assert!(!executed(&replay));
    assert_store(&home, 6);

    // Bob's approval cannot carry a different action, nor another
    // instruction; it still releases its own action afterwards.
    let small = order("Buy the small order", 100);
    let bobs = home.propose(&small);
    assert_eq!(outcome(&bobs), "needs_approval");
    let bob_id = approval_id(&bobs);
    assert_ne!(bob_id, id);
    assert_store(&home, 7);
    assert!(home
        .ok(["approve", &bob_id, "--as", "bob", "--note", "ok"])
        .has_line(&format!("{bob_id}: approved")));
    let substituted = home.resolve(&bob_id, &order("Buy the small order", 4900));
    assert_eq!(outcome(&substituted), "deny");
    assert!(!executed(&substituted));
    assert_eq!(
        reasons(&substituted),
        ["approval/action mismatch: this approval was issued for a different action (possible \
          confused-deputy / substituted action); the approval was issued for: POST \
          api.example.com/orders {\"amount\":100,\"currency\":\"USD\",\"destination\":\"internal\"}"]
    );
    assert_store(&home, 8);
    let reworded = home.resolve(&bob_id, &order("Buy whatever you like", 100));
    assert_eq!(outcome(&reworded), "deny");
    assert_eq!(
        reasons(&reworded),
        [
            "approval/intent mismatch: this approval was issued for a different instruction; the \
          approval was issued for: 'Buy the small order'"
        ]
    );
    assert_store(&home, 9);
    let own = home.resolve(&bob_id, &small);
    assert_eq!(outcome(&own), "allow");
    assert_eq!(reasons(&own), ["human approved by 'bob'"]);
    assert_store(&home, 10);

    // A denied approval never releases.
    let third = order("Buy the third order", 300);
    let denied_id = approval_id(&home.propose(&third));
    assert_store(&home, 11);
    let denied = home.ok(["deny", &denied_id, "--as", "carol"]);
    assert_eq!(
        denied.stdout_lines()[0],
        format!("{denied_id}: denied"),
        "{denied}"
    );
    let refused = home.resolve(&denied_id, &third);
    assert_eq!(outcome(&refused), "deny");
    assert_eq!(reasons(&refused), ["human denied this action"]);
    assert_store(&home, 12);
    // Deciding again changes nothing.
    let again = home.ok(["approve", &denied_id]);
    assert_eq!(again.stdout_lines()[0], format!("{denied_id}: denied"));

    // Unknown approval ids.
    let unknown = home.run(["approve", UNKNOWN_ID, "--as", "alice"]);
    assert_eq!(unknown.code, 1, "{unknown}");
    assert_eq!(
        unknown.stdout_lines(),
        vec![format!("No such approval: {UNKNOWN_ID}")]
    );
    assert_no_panic(&unknown.stderr, &unknown);
    let unknown = home.run(["deny", UNKNOWN_ID]);
    assert_eq!(unknown.code, 1, "{unknown}");
    let probe = home.resolve(UNKNOWN_ID, READ);
    assert_eq!(outcome(&probe), "deny");
    assert_eq!(
        reasons(&probe),
        [format!("unknown approval id '{UNKNOWN_ID}'")]
    );
    assert_store(&home, 13);

    check_log(&home, 13);

    // Export, then verify the export with only the public key.
    let exported = tmp.path().join("exported.jsonl");
    let text = home.export_to(&exported);
    assert_eq!(text.lines().count(), 13);
    assert_eq!(home.ok(["export"]).stdout, text, "export to stdout");
    let pubkey = home.dir.join("signing_key.pub");
    let out = verify_ledger(&exported, &pubkey);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.has_line(OK_LINE), "{out}");

    // Flip one byte of a receipt's summary: the chain fails at that receipt.
    let tampered = tmp.path().join("tampered.jsonl");
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains("GET api.example.com/accounts/123"),
        "{first}"
    );
    write_file(
        &tampered,
        text.replacen(
            "GET api.example.com/accounts/123",
            "GET api.example.com/accounts/124",
            1,
        ),
    );
    let out = verify_ledger(&tampered, &pubkey);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.has_line("AUDIT CHAIN FAILED:"), "{out}");
    assert!(
        out.problems()
            .contains(&"seq 0: content hash mismatch (tampered)"),
        "{out}"
    );
    // Only the export was tampered with: the home still verifies.
    assert_store(&home, 13);
}

fn verify_ledger(ledger: &Path, pubkey: &Path) -> Output {
    delego_e2e::Delego::new()
        .args(["verify", "--ledger"])
        .arg(ledger)
        .arg("--pubkey")
        .arg(pubkey)
        .run()
}

/// `log` prints every receipt in the reference's format, and `-n` the last.
fn check_log(home: &HomeCli, count: usize) {
    let receipts = home.receipts();
    assert_eq!(receipts.len(), count);
    let mut expected = Vec::new();
    for receipt in &receipts {
        let mut line = format!(
            "#{} [{}/{}] {}",
            python_repr(field(receipt, "seq")),
            str_field(receipt, "phase"),
            str_field(receipt, "outcome"),
            str_field(receipt, "action_summary")
        );
        if let Some(rule) = field(receipt, "rule").as_str() {
            line.push_str(&format!("  rule={rule}"));
        }
        let mut block = vec![line];
        for reason in strings_field(receipt, "reasons") {
            block.push(format!("      - {reason}"));
        }
        expected.push(block);
    }
    let out = home.ok(["log", "-n", "100"]);
    assert_eq!(
        out.stdout_lines(),
        expected.concat(),
        "log prints every receipt\n{out}"
    );
    // A few lines spelled out, as the reference prints them.
    for line in [
        "#0 [execution/allow] GET api.example.com/accounts/123  rule=read-accounts",
        "      - rate_limit: 1/50 per hour",
        "      - executed via broker",
        "#1 [decision/deny] POST api.example.com/accounts/123/permissions {\"grantee\":\"eve\"}  rule=no-access-control-changes",
        "#2 [decision/deny] POST api.example.com/orders {\"amount\":50000,\"currency\":\"USD\",\"destination\":\"internal\"}  rule=place-order",
        "      - amount: 50000 exceeds max 5000 USD",
        "#5 [execution/deny] POST api.example.com/orders {\"amount\":2400,\"currency\":\"USD\",\"destination\":\"internal\"}",
    ] {
        assert!(out.has_line(line), "missing {line:?}\n{out}");
    }
    // The default shows the last 20; -n the last N.
    assert_eq!(home.ok(["log"]).stdout, out.stdout);
    let tail = home.ok(["log", "-n", "2"]);
    assert_eq!(
        tail.stdout_lines(),
        expected[count - 2..].concat(),
        "{tail}"
    );
    let json_tail = home.ok(["log", "--json", "-n", "1"]);
    assert_eq!(json_tail.stdout_lines().len(), 1, "{json_tail}");
}

// -------------------------------------------------------------- rate limit

const RATE_POLICY: &str = "version: 1
default: deny
rules:
  - name: burst
    decision: allow
    match: { method: GET, host: api.example.com, path: /items/* }
    constraints:
      rate_limit: { max: 3, per: minute }
  - name: other
    decision: allow
    match: { method: GET, host: api.example.com, path: /other }
";

#[test]
fn rate_limit_allows_exactly_max_then_denies() {
    let (_tmp, home) = fresh_home();
    write_file(&home.dir.join("policy.yaml"), RATE_POLICY);
    let item = |n: u32| {
        format!(
            r#"{{"instruction": "fetch", "method": "GET", "url": "https://api.example.com/items/{n}", "params": {{}}}}"#
        )
    };
    for n in 1..=3 {
        let decision = home.propose(&item(n));
        assert_eq!(outcome(&decision), "allow", "{decision:?}");
        assert_eq!(rule(&decision), Some("burst"));
        assert_eq!(
            reasons(&decision),
            [format!("rate_limit: {n}/3 per minute")]
        );
        assert!(executed(&decision));
    }
    for n in 4..=5 {
        let decision = home.propose(&item(n));
        assert_eq!(outcome(&decision), "deny", "{decision:?}");
        assert_eq!(rule(&decision), Some("burst"));
        assert_eq!(
            reasons(&decision),
            ["rate_limit: 3/3 per minute already used"]
        );
        assert!(!executed(&decision));
    }
    // Other rules are counted on their own.
    let other = home.propose(
        r#"{"instruction": "fetch", "method": "GET", "url": "https://api.example.com/other"}"#,
    );
    assert_eq!(outcome(&other), "allow");
    assert_eq!(reasons(&other), ["matched rule 'other'"]);
    assert_store(&home, 6);

    // `policy explain` counts against the home's ledger.
    let out = home.ok(["policy", "explain", "--action", &item(9)]);
    assert!(
        out.has_line("    rate_limit: FAIL — rate_limit: 3/3 per minute already used"),
        "{out}"
    );
    assert!(out.has_line("decision: deny (rule burst)"), "{out}");
}

// ------------------------------------------------------------- bad input

#[test]
fn unusable_actions_exit_2_and_write_nothing() {
    let (tmp, home) = fresh_home();
    let action_file = tmp.path().join("action.json");
    write_file(&action_file, READ);
    for (action, needle) in [
        (
            r#"{"instruction":"x","method":"GET","url":"/relative"}"#,
            "'url'",
        ),
        (
            r#"{"instruction":"x","method":"GET","url":"api.example.com/accounts/1"}"#,
            "'url'",
        ),
        (r#"{"instruction":"x","method":"GET"}"#, "'url'"),
        (
            r#"{"instruction":"x","method":"","url":"https://api.example.com/accounts/1"}"#,
            "'method'",
        ),
        (
            r#"{"instruction":"x","method":"GET","url":"https://api.example.com/a","params":[1]}"#,
            "'params'",
        ),
        (
            r#"{"instruction":"x","method":"GET","url":"https://api.example.com/a","param":{}}"#,
            "'param'",
        ),
        (
            r#"{"instruction":5,"method":"GET","url":"https://api.example.com/a"}"#,
            "'instruction'",
        ),
        ("not json", "not JSON"),
        (r#"{"instruction":"x","#, "not JSON"),
        ("[]", "object"),
        ("@/nonexistent/action.json", "/nonexistent/action.json"),
    ] {
        for command in ["propose", "resolve"] {
            let args: Vec<&str> = if command == "propose" {
                vec!["propose", "--action", action]
            } else {
                vec!["resolve", UNKNOWN_ID, "--action", action]
            };
            let out = home.run(&args);
            let line = out.assert_usage_error();
            assert!(line.contains(needle), "{command} {action}: {needle}\n{out}");
            assert_eq!(out.stdout, "", "{out}");
        }
    }
    assert_store(&home, 0);

    // @FILE reads the action from a file.
    let from_file = home.propose(&format!("@{}", action_file.display()));
    assert_eq!(outcome(&from_file), "allow");
    assert_store(&home, 1);
}

#[test]
fn invalid_policies_refuse_every_decision() {
    for (policy, needles) in [
        (
            "version: 1\ndefault: maybe\n",
            vec!["default 'maybe' is not one of ['allow', 'deny', 'needs_approval']"],
        ),
        (
            // The Norway problem: YAML 1.1 reads `no` as false.
            "version: 1\ndefault: deny\nrules:\n  - name: r\n    decision: allow\n    match: { path: /x }\n    constraints:\n      allow_list: { field: country, in: [se, no] }\n",
            vec!["line 8", "\"no\" is the boolean false in YAML 1.1"],
        ),
        (
            "a: yes\ndefault: deny\n",
            vec!["\"yes\" is the boolean true in YAML 1.1"],
        ),
        (
            "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: { path: /x }\n    constraints: { amount_max: 5 }\n",
            vec!["rules[0].constraints: unknown constraint key(s): ['amount_max']"],
        ),
        (
            "default: deny\nrules:\n  - name: r\n    decision: deny\n    match: { paht: /x }\n",
            vec![
                "rules[0].match: unknown match key(s): ['paht']",
                "rules[0]: decision 'deny' is not one of ['allow', 'needs_approval']",
            ],
        ),
        ("- just\n- a list\n", vec!["must be a mapping, got list"]),
    ] {
        let (_tmp, home) = fresh_home();
        write_file(&home.dir.join("policy.yaml"), policy);
        for args in [
            vec!["propose", "--action", READ],
            vec!["resolve", UNKNOWN_ID, "--action", READ],
            vec!["policy"],
        ] {
            let out = home.run(&args);
            assert_eq!(out.code, 2, "{policy}\n{out}");
            assert_no_panic(&out.stderr, &out);
            assert!(out.stderr.starts_with("error: "), "{out}");
            for needle in &needles {
                assert!(out.stderr.contains(needle), "{needle}\n{out}");
            }
            if args[0] != "policy" {
                assert_eq!(out.stdout, "", "{out}");
            }
        }
        let check = home.run([
            OsArg::from("policy"),
            OsArg::from("check"),
            OsArg::from(home.dir.join("policy.yaml")),
        ]);
        assert_eq!(check.code, 1, "{check}");
        for needle in &needles {
            assert!(check.stdout.contains(needle), "{needle}\n{check}");
        }
        // Nothing was decided, so nothing was written.
        assert_store(&home, 0);
    }

    // No policy at all.
    let (_tmp, home) = fresh_home();
    std::fs::remove_file(home.dir.join("policy.yaml")).expect("remove policy.yaml");
    let out = home.run(["propose", "--action", READ]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("No delego policy at"), "{out}");
    assert!(out.stderr.contains("delego init"), "{out}");
    assert_store(&home, 0);
}

type OsArg = std::ffi::OsString;

// ---------------------------------------------------------- policy tools

#[test]
fn policy_check_accepts_the_example_and_lists_every_problem() {
    let tmp = tempdir();
    let home = HomeCli::new(tmp.path().join("unused-home"));
    let example = example_policy();
    let out = home.ok([
        OsArg::from("policy"),
        "check".into(),
        example.clone().into(),
    ]);
    assert_eq!(
        out.stdout_lines(),
        vec![format!(
            "policy OK: {} (v1, default deny, 2 forbidden, 3 rules)",
            example.display()
        )],
        "{out}"
    );

    let bad = tmp.path().join("bad.yaml");
    write_file(
        &bad,
        "version: 0\ndefault: deny\nzz: 1\nrules:\n  - name: ''\n    decision: allow\n    match: {}\n    constraints:\n      amount: { maximum: 5 }\n      rate_limit: { max: 2, per: week }\n",
    );
    let out = home.run([OsArg::from("policy"), "check".into(), bad.clone().into()]);
    assert_eq!(out.code, 1, "{out}");
    assert_eq!(
        out.stdout_lines()[0],
        format!(
            "invalid delego policy at {} (refusing to load — fail-closed):",
            bad.display()
        ),
        "{out}"
    );
    assert_eq!(
        out.problems(),
        vec![
            "unknown top-level key(s): ['zz']",
            "version must be an integer >= 1, got 0",
            "rules[0]: rule is missing a non-empty string 'name'",
            "rules[0].constraints.amount: unknown key(s): ['maximum']",
            "rules[0].constraints.amount: missing required 'field'",
            "rules[0].constraints.rate_limit: per 'week' is not one of ['day', 'hour', 'minute']",
        ],
        "{out}"
    );
    assert!(!home.dir.exists(), "policy check must not create a home");

    let missing = home.run(["policy", "check", "/nonexistent/policy.yaml"]);
    missing.assert_usage_error();
}

const CASES: &str = "# expectations for the example policy
- name: read account
  action:
    instruction: Show me my balance
    method: GET
    url: \"https://api.example.com/accounts/7\"
  expect: allow
  rule: read-accounts
- name: share account
  action: { instruction: share, method: POST, url: \"https://api.example.com/accounts/7/permissions\" }
  expect: deny
  rule: no-access-control-changes
- name: small order
  action:
    instruction: buy
    method: POST
    url: \"https://api.example.com/orders\"
    params: { amount: 100, currency: USD, destination: internal }
  expect: needs_approval
- name: unknown host
  action: { instruction: x, method: GET, url: \"https://evil.test/accounts/7\" }
  expect: deny
  rule: null
";

#[test]
fn policy_test_runs_a_table_of_cases() {
    let tmp = tempdir();
    let home = HomeCli::new(tmp.path().join("unused-home"));
    let cases = tmp.path().join("cases.yaml");
    write_file(&cases, CASES);
    let policy = example_policy();
    let args = |file: &Path| -> Vec<OsArg> {
        vec![
            "policy".into(),
            "test".into(),
            file.into(),
            "--policy".into(),
            policy.clone().into(),
        ]
    };
    let out = home.ok(args(&cases));
    let rows: Vec<&str> = out
        .stdout_lines()
        .into_iter()
        .filter(|l| l.starts_with("PASS") || l.starts_with("FAIL"))
        .collect();
    assert_eq!(rows.len(), 4, "{out}");
    assert!(rows.iter().all(|r| r.starts_with("PASS ")), "{out}");
    assert!(
        rows[0].contains("read account") && rows[0].ends_with(" read-accounts"),
        "{out}"
    );
    assert!(
        rows[3].contains("unknown host") && rows[3].ends_with(" -"),
        "{out}"
    );
    assert!(out.has_line("4 of 4 cases passed"), "{out}");

    // One wrong expectation fails the run and shows why.
    let wrong = tmp.path().join("wrong.yaml");
    write_file(
        &wrong,
        CASES.replace(
            "  expect: needs_approval\n",
            "  expect: allow\n  rule: place-order\n",
        ),
    );
    let out = home.run(args(&wrong));
    assert_eq!(out.code, 1, "{out}");
    let fails: Vec<&str> = out
        .stdout_lines()
        .into_iter()
        .filter(|l| l.starts_with("FAIL"))
        .collect();
    assert_eq!(fails.len(), 1, "{out}");
    assert!(fails[0].contains("small order"), "{out}");
    assert!(fails[0].contains("allow (place-order)"), "{out}");
    assert!(fails[0].contains("needs_approval"), "{out}");
    assert!(out.has_line("3 of 4 cases passed"), "{out}");
    assert!(
        out.has_line("       - allow_list: destination='internal' permitted"),
        "{out}"
    );

    // A malformed table is unusable input.
    let malformed = tmp.path().join("malformed.yaml");
    write_file(&malformed, "- name: x\n  expect: perhaps\n  action: {instruction: x, method: GET, url: \"https://a.test/\"}\n");
    let out = home.run(args(&malformed));
    assert!(out.assert_usage_error().contains("expect"), "{out}");
    assert!(!home.dir.exists(), "policy test must not create a home");
}

#[test]
fn policy_explain_names_the_rule_and_every_constraint() {
    let tmp = tempdir();
    let home = HomeCli::new(tmp.path().join("unused-home"));
    let policy = example_policy();
    let explain = |action: &str| -> Output {
        home.ok([
            OsArg::from("policy"),
            "explain".into(),
            "--action".into(),
            action.into(),
            "--policy".into(),
            policy.clone().into(),
        ])
    };

    // Over the cap and to an external destination: every constraint of the
    // matched rule is shown, the first failure decides.
    let out = explain(
        r#"{"instruction": "Buy", "method": "POST", "url": "https://api.example.com/orders", "params": {"amount": 50000, "currency": "USD", "destination": "external"}}"#,
    );
    let lines = out.stdout_lines();
    assert_eq!(
        lines[0],
        r#"action: POST api.example.com/orders {"amount":50000,"currency":"USD","destination":"external"}"#,
        "{out}"
    );
    assert!(
        lines[1].starts_with("fingerprint: ") && lines[1].len() == 13 + 64,
        "{out}"
    );
    for line in [
        "forbidden no-access-control-changes: no match (path /orders does not contain /permissions)",
        "rule place-order: matched",
        "    amount: FAIL — amount: 50000 exceeds max 5000 USD",
        "    allow_list: FAIL — allow_list: destination='external' not in ['internal']",
        "decision: deny (rule place-order)",
        "  - amount: 50000 exceeds max 5000 USD",
    ] {
        assert!(out.has_line(line), "missing {line:?}\n{out}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("forbidden no-deletes: no match (") && l.contains("/delete")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("rule read-accounts: no match (") && l.contains("method POST")),
        "{out}"
    );

    // A read: its rate limit is counted against an empty ledger.
    let out = explain(READ);
    assert!(out.has_line("rule read-accounts: matched"), "{out}");
    assert!(
        out.has_line("    rate_limit: pass — rate_limit: 1/50 per hour"),
        "{out}"
    );
    assert!(
        out.has_line("decision: allow (rule read-accounts)"),
        "{out}"
    );
    assert!(
        out.has_line("(rate limits counted against an empty ledger)"),
        "{out}"
    );
    assert!(
        !out.stdout.contains("rule read-orders"),
        "evaluation stops at the first matching rule\n{out}"
    );

    // Nothing matches: the default decides.
    let out = explain(r#"{"instruction": "x", "method": "GET", "url": "https://evil.test/"}"#);
    assert!(out.has_line("decision: deny (default)"), "{out}");
    assert!(out.has_line("  - no rule matched; default = deny"), "{out}");
    assert!(!home.dir.exists(), "policy explain must not create a home");

    // The same explanation as the decision the firewall records.
    let (_tmp, real) = fresh_home();
    let decided = real.propose(OVER_CAP);
    let explained = real.ok(["policy", "explain", "--action", OVER_CAP]);
    assert!(explained.has_line(&format!(
        "fingerprint: {}",
        str_field(&decided, "action_fingerprint")
    )));
    for reason in reasons(&decided) {
        assert!(explained.has_line(&format!("  - {reason}")), "{explained}");
    }
}
