//! Differential tests against the reference implementation, `delego` 0.3.4
//! from PyPI, installed in a virtualenv under the system temp dir:
//!
//! * generated actions × generated policies: outcome, rule, reasons, intent
//!   hash, fingerprint and summary are identical to the reference's, and a
//!   policy the reference refuses is refused here too (this implementation
//!   may refuse more: YAML 1.1/1.2 ambiguities and type errors);
//! * a whole proposal/approval flow through the reference's engine and
//!   through the `delego` binary: same decisions, same receipts;
//! * the reference verifies (and prints) a ledger this binary exported;
//! * this binary imports a reference home and carries on its chain, and
//!   refuses a tampered one;
//! * the reference's §9.1 verifier accepts the tokens this binary mints.
//!
//! The set-up needs `python3` and the package index once (`pip install
//! delego==0.3.4`); without them each test prints a `SKIPPED:` line (to the
//! process's stderr) and passes. `DELEGO_REF_VENV` points the tests at an
//! existing virtualenv; `DELEGO_DIFF_SEED=N DELEGO_DIFF_SCALE=K` runs the
//! generated corpus with another seed and K times the size.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use delego_e2e::venv::ensure_venv;
use delego_e2e::{
    field, read_text, run_command, str_field, strings_field, workspace_root, write_file, HomeCli,
    Output,
};
use delego_firewall::evaluate::{AllowCounter, CompiledPolicy, CountError};
use delego_firewall::policy_file::{load_policy, PolicyLoadError};
use delego_spec::json::{parse, to_canonical_string, Value};
use delego_spec::ProposedAction;

const REFERENCE_VERSION: &str = "0.3.4";
const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
const UNKNOWN_ID: &str = "apr_000000000000";

// ------------------------------------------------------------ the reference

/// The reference, installed.
struct Reference {
    python: PathBuf,
    cli: PathBuf,
}

/// The installed reference, or `None` (after printing why) when it cannot be
/// installed here.
fn reference() -> Option<&'static Reference> {
    static REFERENCE: OnceLock<Result<Reference, String>> = OnceLock::new();
    match REFERENCE.get_or_init(set_up) {
        Ok(reference) => Some(reference),
        Err(reason) => {
            let line = format!(
                "SKIPPED: cannot install the reference (pip install delego=={REFERENCE_VERSION}): {reason}"
            );
            // Straight to the process's stderr, so that the harness does
            // not capture it: a skip must be visible.
            let _ = writeln!(std::io::stderr(), "{line}");
            None
        }
    }
}

fn venv_dir() -> PathBuf {
    match std::env::var_os("DELEGO_REF_VENV").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("delego-ref-venv-{REFERENCE_VERSION}")),
    }
}

fn set_up() -> Result<Reference, String> {
    let venv = venv_dir();
    let reference = Reference {
        python: venv.join("bin").join("python"),
        cli: venv.join("bin").join("delego"),
    };
    ensure_venv(
        &venv,
        &format!("delego=={REFERENCE_VERSION}"),
        INSTALL_TIMEOUT,
        || reference.is_usable(),
    )?;
    Ok(reference)
}

impl Reference {
    fn is_usable(&self) -> bool {
        self.cli.is_file()
            && self
                .python_command()
                .map(|mut c| {
                    c.args([
                        "-c",
                        &format!(
                            "import sys, delego; sys.exit(0 if delego.__version__ == '{REFERENCE_VERSION}' else 1)"
                        ),
                    ]);
                    run_command(&mut c, None, SCRIPT_TIMEOUT).is_ok_and(|o| o.code == 0)
                })
                .unwrap_or(false)
    }

    fn python_command(&self) -> Option<Command> {
        self.python.is_file().then(|| {
            let mut command = Command::new(&self.python);
            command
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .env("PYTHONIOENCODING", "utf-8")
                .env("PYTHONWARNINGS", "ignore");
            command
        })
    }

    /// Runs a Python program with arguments; it must exit 0.
    fn script(&self, code: &str, args: &[&Path]) -> Output {
        let mut command = self.python_command().expect("the reference's python");
        command.arg("-c").arg(code).args(args);
        let out = run_command(&mut command, None, SCRIPT_TIMEOUT)
            .unwrap_or_else(|e| panic!("the reference script: {e}"));
        assert_eq!(out.code, 0, "the reference script failed\n{out}");
        out
    }

    /// Runs the reference's `delego --home HOME ARGS`.
    fn cli(&self, home: &Path, args: &[&str]) -> Output {
        let mut command = Command::new(&self.cli);
        command
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .arg("--home")
            .arg(home)
            .args(args);
        run_command(&mut command, None, SCRIPT_TIMEOUT)
            .unwrap_or_else(|e| panic!("the reference's delego {args:?}: {e}"))
    }
}

/// JSON lines a script printed, parsed.
fn json_lines(out: &Output) -> Vec<Value> {
    out.stdout_lines()
        .into_iter()
        .map(|line| parse(line).unwrap_or_else(|e| panic!("not JSON: {e}: {line}\n{out}")))
        .collect()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("cannot create a temporary directory")
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    to_canonical_string(&Value::from(s))
}

// ------------------------------------------------------------ generation

/// xorshift64*: small, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const INSTRUCTIONS: &[&str] = &[
    "Show me my account balance",
    "  Show me my account balance \n",
    "",
    "Buy it",
    "café ☕ — pay the invoice",
    "line\nbreak",
    "tab\tand \"quotes\" and \\ backslash",
    "\u{a0}non-breaking\u{a0}",
    "\u{2028}separator\u{3000}",
    "emoji 🧾 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\u{1c}file separators\u{1f}",
    "\u{85}next line\u{85}",
    "\u{200b}zero width\u{200b}",
];

/// Whole URLs at the edges of `urlsplit`.
const ODD_URLS: &[&str] = &[
    "https:/accounts/1",
    "https:///accounts/1",
    "//api.example.com/accounts/1",
    "mailto:user@api.example.com",
    "https://api.example.com?x=1",
    "https://api.example.com#f",
    "https://api.example.com",
    "\u{1}https://api.example.com/accounts/1",
    "https://api.example.com/acc\r\nounts/1",
    "HTTPS://API.EXAMPLE.COM/ORDERS",
    "https://api.example.com:/orders",
    "https://@api.example.com/orders",
    "https://api.example.com/orders?a=%E2%82%AC&b=%ff&c=%",
    "https://api.example.com/orders/%2F..",
    "ftp://api.example.com/orders",
    "https://api.example.com/orders?b=1&a=2&a=1&a",
    "https://[fe80::1%25eth0]/orders",
    "https://api.example.com/ords\u{0}",
    "https:api.example.com/orders",
    "https://api.example.com\\orders",
    "https://api.example.com/accounts/1 ",
    "https://api.example.com/orders;params?q#f",
    "1http://api.example.com/orders",
    "https://user@[::1]:8080/accounts/1",
];

const METHODS: &[&str] = &[
    "GET", "GET", "get", "POST", "POST", "post", "Post", "DELETE", "PUT", "patch", "gEt", "straße",
];

const SCHEMES: &[&str] = &["https", "https", "http", "HTTPS"];

const HOSTS: &[&str] = &[
    "api.example.com",
    "api.example.com",
    "api.example.com",
    "API.Example.COM",
    "api.example.com:8443",
    "user:pw@api.example.com",
    "other.test",
    "[::1]:80",
    "café.test",
    "İSTANBUL.test",
    "ex%41mple.test",
    "[::1]x",
];

/// Hosts the reference's `urlsplit` refuses (or that NFKC turns into one).
const BAD_HOSTS: &[&str] = &["a℁b.test", "[::1", "[zz]", "a]b.test"];

const PATHS: &[&str] = &[
    "/accounts/123",
    "/accounts/123",
    "/accounts/",
    "/accounts",
    "/orders",
    "/orders",
    "/orders",
    "/orders/",
    "/orders/42",
    "/orders/42/permissions",
    "/accounts/9/permissions",
    "/delete",
    "/Delete",
    "/a/b/c",
    "/a/x/y/c",
    "",
    "/ACCOUNTS/1",
    "/%2e%2e/accounts",
    "/accounts/1;p=1",
    "/oxders",
    "/bx",
    "/admin/panel",
    "/accounts/ü",
    "/items/7",
    "/acc\tounts/1",
];

const QUERIES: &[&str] = &[
    "",
    "",
    "",
    "",
    "?a=1",
    "?b=2&a=1",
    "?q=a+b%20c",
    "?a=1&&b",
    "?",
    "?=x",
    "?%zz=1",
];

const FRAGMENTS: &[&str] = &["", "", "", "", "#top", "#"];

/// JSON texts of amount-like values.
const AMOUNTS: &[&str] = &[
    "0",
    "1",
    "2400",
    "5000",
    "5000.0",
    "5000.5",
    "5001",
    "50000",
    "-1",
    "-0.0",
    "0.1",
    "1e16",
    "1E-7",
    "123456789012345678901234567890",
    "1.5e300",
    "4999.999999999999",
    "9007199254740993",
    "100",
    "2.5",
    "1e22",
    "1e-5",
    "123456789.123456789",
    "5e-324",
    "1.7976931348623157e308",
    "\"12.50\"",
    "\"abc\"",
    "\"\"",
    "\" 7 \"",
    "\"1_000\"",
    "\"NaN\"",
    "\"-Infinity\"",
    "\"inf\"",
    "\"1e3\"",
    "\"-0\"",
    "\"+5\"",
    "\"0x10\"",
    "\"1,000\"",
    "\"5000.0000000000000000001\"",
    "true",
    "false",
    "null",
    "[1]",
    "{\"a\": 1}",
];

const CURRENCIES: &[&str] = &[
    "\"USD\"", "\"USD\"", "\"usd\"", "null", "5", "\"USD \"", "\"\"",
];

/// JSON texts of values compared against allow lists.
const VALUES: &[&str] = &[
    "\"internal\"",
    "\"internal\"",
    "\"external\"",
    "1",
    "1.0",
    "true",
    "\"1\"",
    "null",
    "[1]",
    "[1.0]",
    "0",
    "false",
    "\"\"",
    "100000000000000000000",
    "1e20",
    "9007199254740993",
    "9007199254740992.0",
    "{\"k\": [1, true]}",
    "\"Internal\"",
    "2.5",
    "-1",
    "\"it's \\\"quoted\\\"\"",
    "\"ü\\u0000\\n\"",
];

const PARAM_KEYS: &[&str] = &[
    "amount",
    "currency",
    "destination",
    "x",
    "cost",
    "note",
    "é",
    "Z",
    "\u{fb00}",
    "𝔘",
    "",
    "a b",
];

/// One generated action as JSON text.
fn gen_action(rng: &mut Rng) -> String {
    if rng.chance(20) {
        return gen_order(rng);
    }
    let url = if rng.chance(4) {
        // A relative URL: no scheme, no host.
        rng.pick(PATHS).to_string()
    } else if rng.chance(6) {
        rng.pick(ODD_URLS).to_string()
    } else {
        format!(
            "{}{}://{}{}{}{}",
            if rng.chance(2) { " " } else { "" },
            rng.pick(SCHEMES),
            if rng.chance(3) {
                rng.pick(BAD_HOSTS)
            } else {
                rng.pick(HOSTS)
            },
            rng.pick(PATHS),
            rng.pick(QUERIES),
            rng.pick(FRAGMENTS)
        )
    };
    let mut params = Vec::new();
    let shape = rng.below(4);
    if shape > 0 {
        // Mostly order-shaped parameters.
        if rng.chance(85) {
            params.push(format!("\"amount\": {}", rng.pick(AMOUNTS)));
        }
        if rng.chance(75) {
            params.push(format!("\"currency\": {}", rng.pick(CURRENCIES)));
        }
        if rng.chance(75) {
            params.push(format!("\"destination\": {}", rng.pick(VALUES)));
        }
        for _ in 0..rng.below(3) {
            let key = rng.pick(PARAM_KEYS);
            if !params.iter().any(|p| p.starts_with(&format!("\"{key}\""))) {
                let value = if rng.chance(50) {
                    rng.pick(VALUES)
                } else {
                    rng.pick(AMOUNTS)
                };
                params.push(format!("\"{key}\": {value}"));
            }
        }
    }
    format!(
        "{{\"instruction\": {}, \"method\": {}, \"url\": {}, \"params\": {{{}}}}}",
        json_str(rng.pick(INSTRUCTIONS)),
        json_str(rng.pick(METHODS)),
        json_str(&url),
        params.join(", ")
    )
}

/// An action shaped like the example policy's orders, mostly within its
/// constraints, so that every outcome is reached.
fn gen_order(rng: &mut Rng) -> String {
    let amount = if rng.chance(70) {
        rng.pick(&[
            "0",
            "1",
            "100",
            "2400",
            "4999.99",
            "5000",
            "5000.0",
            "\"12.50\"",
        ])
    } else {
        rng.pick(AMOUNTS)
    };
    let currency = if rng.chance(80) {
        "\"USD\""
    } else {
        rng.pick(CURRENCIES)
    };
    let destination = if rng.chance(75) {
        "\"internal\""
    } else {
        rng.pick(VALUES)
    };
    let path = rng.pick(&["/orders", "/orders", "/orders", "/orders/", "/Orders"]);
    format!(
        "{{\"instruction\": {}, \"method\": {}, \"url\": \"https://api.example.com{path}{}\", \"params\": {{\"amount\": {amount}, \"currency\": {currency}, \"destination\": {destination}}}}}",
        json_str(rng.pick(INSTRUCTIONS)),
        json_str(rng.pick(&["POST", "POST", "post", "Post", "PUT"])),
        rng.pick(QUERIES)
    )
}

/// A policy document node. Scalars carry their YAML and JSON spellings.
#[derive(Clone)]
enum Node {
    Scalar { yaml: String, json: String },
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// A string scalar: double-quoted in YAML (or plain when that is safe).
fn string(s: &str) -> Node {
    let plain_safe = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_.*-".contains(c))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    let quoted = json_str(s);
    Node::Scalar {
        yaml: if plain_safe && s.len().is_multiple_of(2) {
            s.to_owned()
        } else {
            quoted.clone()
        },
        json: quoted,
    }
}

/// A scalar spelled the same in YAML and JSON (numbers, booleans, null).
fn literal(text: &str) -> Node {
    Node::Scalar {
        yaml: text.to_owned(),
        json: text.to_owned(),
    }
}

fn map(entries: Vec<(&str, Node)>) -> Node {
    Node::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn strings(items: &[&str]) -> Node {
    Node::Seq(items.iter().map(|s| string(s)).collect())
}

const GLOBS: &[&str] = &[
    "/accounts/**",
    "/accounts/*",
    "/orders",
    "/orders/*",
    "/o?ders",
    "*",
    "**",
    "/[ao]*",
    "/[!a]*",
    "/a/*/c",
    "/accounts/[0-9]*",
    "/orders/**/permissions",
    "/[z-a]x",
    "/[abc",
    "",
    "/ACCOUNTS/*",
    "/accounts/ü",
];

const LIST_ITEMS: &[&str] = &[
    "internal",
    "external",
    "1",
    "1.0",
    "true",
    "false",
    "'1'",
    "null",
    "0",
    "''",
    "2.5",
    "-1",
    "100000000000000000000",
    "Internal",
    "[1]",
    "[]",
    "{k: [1, true]}",
    "USD",
    "5000",
    "5000.0",
    "9007199254740993",
    "9007199254740992.0",
];

/// An allow-list item: its YAML text (as above) and JSON text.
fn list_item(text: &str) -> Node {
    match text {
        "internal" | "external" | "Internal" | "USD" => string(text),
        "'1'" => string("1"),
        "''" => string(""),
        "{k: [1, true]}" => Node::Scalar {
            yaml: text.to_owned(),
            json: "{\"k\": [1, true]}".to_owned(),
        },
        other => literal(other),
    }
}

const MAXES: &[&str] = &[
    "5000",
    "5000.5",
    "0",
    "-1",
    "100",
    "1000000000000000000000000",
    "2.5",
    "0.1",
    "1.0e+3",
    "4999.99",
];

fn gen_match(rng: &mut Rng) -> Node {
    let mut entries = Vec::new();
    if rng.chance(50) {
        let method = match rng.below(5) {
            0 => string("GET"),
            1 => string("post"),
            2 => strings(&["get", "POST"]),
            3 => strings(&["PUT", "PATCH", "DELETE"]),
            _ => Node::Seq(Vec::new()),
        };
        entries.push(("method", method));
    }
    if rng.chance(60) {
        let host = rng.pick(&[
            "api.example.com",
            "api.example.com",
            "API.Example.COM",
            "other.test",
            "api.example.com:8443",
            "",
        ]);
        entries.push(("host", string(host)));
    }
    if rng.chance(60) {
        entries.push(("path", string(rng.pick(GLOBS))));
    }
    if rng.chance(25) {
        let needle = rng.pick(&["/permissions", "admin", "", "rders", "/"]);
        entries.push(("path_contains", string(needle)));
    }
    map(entries)
}

fn gen_constraints(rng: &mut Rng) -> Node {
    let mut entries = Vec::new();
    if rng.chance(50) {
        let mut amount = vec![("field", string(rng.pick(&["amount", "amount", "cost"])))];
        if rng.chance(80) {
            amount.push(("max", literal(rng.pick(MAXES))));
        }
        if rng.chance(60) {
            amount.push(("currency", string(rng.pick(&["USD", "USD", "usd", "EUR"]))));
        }
        entries.push(("amount", map(amount)));
    }
    if rng.chance(50) {
        let items = (0..rng.below(5))
            .map(|_| list_item(rng.pick(LIST_ITEMS)))
            .collect();
        let field_name = rng.pick(&["destination", "destination", "amount", "x", "currency"]);
        entries.push((
            "allow_list",
            map(vec![
                ("field", string(field_name)),
                ("in", Node::Seq(items)),
            ]),
        ));
    }
    if rng.chance(40) {
        let mut limit = vec![("max", literal(rng.pick(&["0", "1", "2", "3"])))];
        if rng.chance(70) {
            limit.push(("per", string(rng.pick(&["minute", "hour", "day"]))));
        }
        entries.push(("rate_limit", map(limit)));
    }
    map(entries)
}

fn gen_policy(rng: &mut Rng) -> Node {
    let mut forbidden = Vec::new();
    for i in 0..rng.below(3) {
        let mut entry = vec![("name", string(&format!("f{i}")))];
        match rng.below(3) {
            0 => {}
            1 => entry.push(("description", string(""))),
            _ => entry.push((
                "description",
                string("Agents may never … touch ✋ \"this\""),
            )),
        }
        entry.push(("match", gen_match(rng)));
        forbidden.push(map(entry));
    }
    let mut rules = Vec::new();
    for i in 0..1 + rng.below(5) {
        let name = if i == 2 {
            "règle-ü".to_owned()
        } else {
            format!("r{i}")
        };
        let mut rule = vec![
            ("name", string(&name)),
            (
                "decision",
                string(rng.pick(&["allow", "allow", "needs_approval"])),
            ),
        ];
        if rng.chance(30) {
            rule.push(("description", string("a rule")));
        }
        rule.push(("match", gen_match(rng)));
        if rng.chance(65) {
            rule.push(("constraints", gen_constraints(rng)));
        }
        rules.push(map(rule));
    }
    let mut top = vec![
        ("version", literal(rng.pick(&["1", "1", "2", "3"]))),
        (
            "default",
            string(rng.pick(&["deny", "deny", "allow", "needs_approval"])),
        ),
    ];
    if !forbidden.is_empty() || rng.chance(50) {
        top.push(("forbidden", Node::Seq(forbidden)));
    }
    top.push(("rules", Node::Seq(rules)));
    map(top)
}

fn flow(node: &Node, json: bool, out: &mut String) {
    match node {
        Node::Scalar { yaml, json: j } => out.push_str(if json { j } else { yaml }),
        Node::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(item, json, out);
            }
            out.push(']');
        }
        Node::Map(entries) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if json {
                    out.push_str(&json_str(key));
                } else {
                    out.push_str(key);
                }
                out.push_str(": ");
                flow(value, json, out);
            }
            out.push('}');
        }
    }
}

/// Block YAML, with some nested collections in flow style.
fn block_map(
    entries: &[(String, Node)],
    indent: usize,
    inline_first: bool,
    rng: &mut Rng,
    out: &mut String,
) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if !(inline_first && i == 0) {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(key);
        out.push(':');
        match value {
            Node::Map(inner) if !inner.is_empty() && rng.chance(60) => {
                out.push('\n');
                block_map(inner, indent + 2, false, rng, out);
            }
            Node::Seq(items)
                if !items.is_empty() && items.iter().any(|i| matches!(i, Node::Map(_)))
                    || (!items.is_empty() && rng.chance(30)) =>
            {
                out.push('\n');
                for item in items {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str("- ");
                    match item {
                        Node::Map(inner) if !inner.is_empty() => {
                            block_map(inner, indent + 4, true, rng, out)
                        }
                        other => {
                            flow(other, false, out);
                            out.push('\n');
                        }
                    }
                }
            }
            other => {
                out.push(' ');
                flow(other, false, out);
                out.push('\n');
            }
        }
    }
}

fn to_yaml(node: &Node, rng: &mut Rng) -> String {
    let mut out = String::from("# generated policy\n");
    match node {
        Node::Map(entries) => block_map(entries, 0, false, rng, &mut out),
        other => flow(other, false, &mut out),
    }
    out
}

fn to_json(node: &Node) -> String {
    let mut out = String::new();
    flow(node, true, &mut out);
    out.push('\n');
    out
}

// ------------------------------------------------------------- evaluation

/// Rate limits counted against an empty ledger (the reference's audit
/// stand-in returns 0 too).
struct ZeroLedger;

impl AllowCounter for ZeroLedger {
    fn count_allows(&self, _rule: &str, _since: i64, _limit: u64) -> Result<u64, CountError> {
        Ok(0)
    }
}

const EVAL_SCRIPT: &str = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
from delego import Policy, ProposedAction

class ZeroLedger:
    def count_allows(self, rule, within_seconds):
        return 0

def error(e):
    return type(e).__name__ + ": " + str(e)

with open(sys.argv[1], encoding="utf-8") as f:
    manifest = json.load(f)
with open(manifest["actions"], encoding="utf-8") as f:
    actions = [json.loads(line) for line in f if line.strip()]
for i, path in enumerate(manifest["policies"]):
    try:
        policy = Policy.load(path)
    except Exception as e:
        print(json.dumps({"policy": i, "load_error": error(e)}))
        continue
    print(json.dumps({"policy": i, "loaded": True}))
    for j, a in enumerate(actions):
        row = {"policy": i, "action": j}
        try:
            action = ProposedAction(**a)
            row["intent_hash"] = action.intent_hash
            row["fingerprint"] = action.fingerprint
            row["summary"] = action.summary()
        except Exception as e:
            row["action_error"] = error(e)
            print(json.dumps(row))
            continue
        try:
            outcome, rule, reasons = policy.evaluate(action, ZeroLedger())
            row.update(outcome=outcome, rule=rule, reasons=reasons)
        except Exception as e:
            row["eval_error"] = error(e)
        print(json.dumps(row))
"#;

/// What comparing one corpus found.
#[derive(Default)]
struct Findings {
    compared: usize,
    mismatches: Vec<String>,
    /// Policies the reference loads and this implementation refuses.
    stricter: Vec<String>,
    /// Actions the reference refuses (its own exception) that we refuse too.
    refused_actions: usize,
}

/// The problems of a refusal, without the schema-only ones.
fn reference_problems(message: &str) -> Vec<&str> {
    message
        .lines()
        .filter_map(|l| l.strip_prefix("  - "))
        .filter(|l| !l.starts_with("schema: "))
        .collect()
}

/// Whether our refusal of a policy the reference loads is one of the
/// deliberate, clearly-explained ones.
fn is_deliberate_refusal(error: &PolicyLoadError) -> bool {
    match error {
        PolicyLoadError::Yaml { error, .. } => {
            error.line >= 1
                && [
                    "in YAML 1.1 (as the reference reads it) but",
                    "duplicate key",
                    "aliases",
                    "unsupported tag",
                    "not a finite number",
                    "keys must be strings",
                ]
                .iter()
                .any(|why| error.message.contains(why))
        }
        PolicyLoadError::Invalid(e) => e
            .problems()
            .iter()
            .all(|p| p.starts_with("schema: ") && p.contains(" is ")),
    }
}

/// Evaluates every action under every policy here and in the reference.
fn differential(
    reference: &Reference,
    policies: &[(String, String)],
    actions: &[String],
) -> Findings {
    let tmp = tempdir();
    let mut paths = Vec::new();
    for (i, (_, text)) in policies.iter().enumerate() {
        let path = tmp.path().join(format!("policy-{i}.yaml"));
        write_file(&path, text);
        paths.push(path);
    }
    let actions_path = tmp.path().join("actions.jsonl");
    write_file(&actions_path, actions.join("\n") + "\n");
    let manifest = tmp.path().join("manifest.json");
    write_file(
        &manifest,
        format!(
            "{{\"actions\": {}, \"policies\": [{}]}}",
            json_str(&actions_path.display().to_string()),
            paths
                .iter()
                .map(|p| json_str(&p.display().to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let out = reference.script(EVAL_SCRIPT, &[&manifest]);
    let mut rows: BTreeMap<(usize, Option<usize>), Value> = BTreeMap::new();
    for row in json_lines(&out) {
        let index = |k: &str| field(&row, k).as_i64().map(|i| i as usize);
        let key = (index("policy").expect("policy index"), index("action"));
        rows.insert(key, row);
    }

    let parsed: Vec<ProposedAction> = actions
        .iter()
        .map(|text| {
            ProposedAction::from_value(&parse(text).unwrap_or_else(|e| panic!("{e}: {text}")))
                .unwrap_or_else(|e| panic!("{e}: {text}"))
        })
        .collect();

    let mut findings = Findings::default();
    for (i, ((label, text), path)) in policies.iter().zip(&paths).enumerate() {
        let ours = load_policy(text, &path.display().to_string());
        let theirs = rows
            .get(&(i, None))
            .unwrap_or_else(|| panic!("no reference row for policy {label}\n{out}"));
        let reference_error = field(theirs, "load_error").as_str();
        let compiled: CompiledPolicy = match (ours, reference_error) {
            (Err(ours), Some(theirs)) => {
                // Both refuse; a validation refusal lists the same problems.
                let ours_text = ours.to_string();
                if theirs.starts_with("PolicyError: invalid delego policy")
                    && matches!(ours, PolicyLoadError::Invalid(_))
                    && reference_problems(theirs) != reference_problems(&ours_text)
                {
                    findings.mismatches.push(format!(
                        "{label}: both refuse, with different problems\n  reference: {theirs}\n  ours: {ours_text}\n{text}"
                    ));
                }
                if theirs.starts_with("PolicyError: policy at")
                    && theirs.contains("must be a mapping")
                    && !ours_text.contains("must be a mapping")
                {
                    findings
                        .mismatches
                        .push(format!("{label}: reference {theirs}, ours {ours_text}"));
                }
                continue;
            }
            (Ok(_), Some(theirs)) => {
                findings.mismatches.push(format!(
                    "{label}: the reference refuses this policy but we load it\n  reference: {theirs}\n{text}"
                ));
                continue;
            }
            (Err(ours), None) => {
                if is_deliberate_refusal(&ours) {
                    findings.stricter.push(format!("{label}: {ours}"));
                } else {
                    findings.mismatches.push(format!(
                        "{label}: the reference loads this policy but we refuse it: {ours}\n{text}"
                    ));
                }
                continue;
            }
            (Ok(compiled), None) => compiled,
        };
        for (j, (action, text_action)) in parsed.iter().zip(actions).enumerate() {
            let theirs = rows
                .get(&(i, Some(j)))
                .unwrap_or_else(|| panic!("no reference row for {label} action {j}\n{out}"));
            findings.compared += 1;
            let context = || format!("{label}, action {j}: {text_action}");
            let identity = action.identity();
            if let Some(error) = field(theirs, "action_error").as_str() {
                match identity {
                    Err(_) => findings.refused_actions += 1,
                    Ok(identity) => findings.mismatches.push(format!(
                        "{}\n  the reference refuses the action ({error}); we derive summary {:?}",
                        context(),
                        identity.summary
                    )),
                }
                continue;
            }
            let identity = match identity {
                Ok(identity) => identity,
                Err(e) => {
                    findings.mismatches.push(format!(
                        "{}\n  we refuse the action ({e}); the reference derives summary {:?}",
                        context(),
                        str_field(theirs, "summary")
                    ));
                    continue;
                }
            };
            let mut differences = Vec::new();
            for (name, ours, reference_value) in [
                (
                    "intent_hash",
                    &identity.intent_hash,
                    str_field(theirs, "intent_hash"),
                ),
                (
                    "fingerprint",
                    &identity.action_fingerprint,
                    str_field(theirs, "fingerprint"),
                ),
                ("summary", &identity.summary, str_field(theirs, "summary")),
            ] {
                if ours != reference_value {
                    differences.push(format!(
                        "{name}: ours {ours:?}, reference {reference_value:?}"
                    ));
                }
            }
            if let Some(error) = field(theirs, "eval_error").as_str() {
                differences.push(format!("the reference crashed evaluating it: {error}"));
            } else {
                let evaluation = compiled
                    .evaluate(&identity, &action.params, &ZeroLedger, 0)
                    .expect("evaluation with a zero counter cannot fail");
                let their_rule = field(theirs, "rule").as_str();
                let their_reasons = strings_field(theirs, "reasons");
                if evaluation.outcome.as_str() != str_field(theirs, "outcome")
                    || evaluation.rule.as_deref() != their_rule
                    || evaluation.reasons != their_reasons
                {
                    differences.push(format!(
                        "decision: ours {} {:?} {:?}, reference {} {:?} {:?}",
                        evaluation.outcome.as_str(),
                        evaluation.rule,
                        evaluation.reasons,
                        str_field(theirs, "outcome"),
                        their_rule,
                        their_reasons
                    ));
                }
            }
            if !differences.is_empty() {
                findings
                    .mismatches
                    .push(format!("{}\n  {}", context(), differences.join("\n  ")));
            }
        }
    }
    findings
}

fn assert_no_mismatches(findings: &Findings, what: &str) {
    if !findings.mismatches.is_empty() {
        let mut report = format!(
            "{} mismatches with the reference ({what}, {} comparisons):\n",
            findings.mismatches.len(),
            findings.compared
        );
        for m in findings.mismatches.iter().take(25) {
            let _ = writeln!(report, "- {m}");
        }
        panic!("{report}");
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn generated_actions(seed: u64, count: usize) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..count).map(|_| gen_action(&mut rng)).collect()
}

#[test]
fn generated_actions_and_policies_decide_as_the_reference() {
    let Some(reference) = reference() else { return };
    // A deeper search: DELEGO_DIFF_SEED=N DELEGO_DIFF_SCALE=10.
    let seed = env_number("DELEGO_DIFF_SEED", 0);
    let scale = env_number("DELEGO_DIFF_SCALE", 1).max(1) as usize;
    let actions = generated_actions(0x5eed_0001 ^ seed, 300 * scale);
    let example = workspace_root().join("spec/tests/vectors/ctk/policy.example.yaml");
    let mut policies = vec![("example policy".to_owned(), read_text(&example))];
    let mut rng = Rng::new(0x5eed_0002 ^ seed);
    for n in 0..6 * scale {
        let policy = gen_policy(&mut rng);
        let text = to_yaml(&policy, &mut rng);
        policies.push((format!("generated policy {n} (YAML)\n{text}"), text));
    }
    for n in 0..2 * scale {
        let policy = gen_policy(&mut rng);
        let text = to_json(&policy);
        policies.push((format!("generated policy {n} (JSON)\n{text}"), text));
    }
    let findings = differential(reference, &policies, &actions);
    assert_no_mismatches(&findings, "generated corpus");
    assert!(
        findings.stricter.is_empty(),
        "the generated policies are unambiguous, yet refused:\n{}",
        findings.stricter.join("\n")
    );
    // Every policy loaded and was compared on every action.
    assert_eq!(findings.compared, policies.len() * actions.len());
    assert!(
        findings.refused_actions > 0,
        "the corpus has refused actions"
    );
    assert!(findings.refused_actions < findings.compared / 4);
}

#[test]
fn generated_actions_cover_every_outcome() {
    // A guard on the generator itself, independent of the reference.
    let actions = generated_actions(0x5eed_0001, 300);
    let example = workspace_root().join("spec/tests/vectors/ctk/policy.example.yaml");
    let compiled = load_policy(&read_text(&example), "policy.example.yaml").expect("example loads");
    let mut outcomes = BTreeMap::new();
    let mut rules = BTreeMap::new();
    for text in &actions {
        let action = ProposedAction::from_value(&parse(text).expect("JSON")).expect("an action");
        let Ok(identity) = action.identity() else {
            continue;
        };
        let e = compiled
            .evaluate(&identity, &action.params, &ZeroLedger, 0)
            .expect("evaluates");
        *outcomes.entry(e.outcome.as_str()).or_insert(0) += 1;
        *rules.entry(e.rule.unwrap_or_default()).or_insert(0) += 1;
    }
    for outcome in ["allow", "deny", "needs_approval"] {
        assert!(
            outcomes.get(outcome).copied().unwrap_or(0) >= 5,
            "{outcomes:?}"
        );
    }
    for rule in [
        "no-access-control-changes",
        "read-accounts",
        "place-order",
        "",
    ] {
        assert!(rules.contains_key(rule), "{rule}: {rules:?}");
    }
    // Both renderings of one generated policy load to the same policy.
    let mut rng = Rng::new(7);
    for _ in 0..20 {
        let policy = gen_policy(&mut rng);
        let yaml = to_yaml(&policy, &mut rng);
        let json = to_json(&policy);
        let a = load_policy(&yaml, "p").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        let b = load_policy(&json, "p").unwrap_or_else(|e| panic!("{e}\n{json}"));
        assert_eq!(a.policy(), b.policy(), "{yaml}\n{json}");
    }
}

/// Hand-written documents: invalid ones (both must refuse, with the same
/// problems), ambiguous ones (we may refuse, clearly), and odd valid ones.
const EDGE_POLICIES: &[&str] = &[
    "",
    "[]\n",
    "just a string\n",
    "default: maybe\n",
    "version: 0\ndefault: deny\n",
    "version: '1'\ndefault: deny\n",
    "version: 1.0\ndefault: deny\n",
    "version: true\ndefault: deny\n",
    "default: null\n",
    "default: deny\nrules: null\n",
    "default: deny\nforbidden: {}\n",
    "default: deny\nzz: 1\naa: 2\n",
    "default: deny\nrules:\n  - just a string\n",
    "default: deny\nrules:\n  - name: ''\n    decision: allow\n    match: {path: /x}\n",
    "default: deny\nrules:\n  - name: r\n    match: {path: /x}\n",
    "default: deny\nrules:\n  - name: r\n    decision: deny\n    match: {path: /x}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: null\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path_prefix: /x, host: h}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /x}\n    constraints: []\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /x}\n    constraints: {max_velocity: 1, amount: {maximum: 5}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /x}\n    constraints: {allow_list: {field: d}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /x}\n    constraints: {rate_limit: {per: week, burst: 2}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /x}\n    priority: 1\n",
    "default: deny\nforbidden:\n  - name: f\n    decision: allow\n    match: {}\n  - 5\n",
    "default: deny\nforbidden:\n  - match: {path: /x}\n",
    // Ambiguous between YAML 1.1 and 1.2, or not plain data.
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {allow_list: {field: destination, in: [yes, no, on, off]}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {allow_list: {field: destination, in: [010]}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {allow_list: {field: destination, in: [1_000]}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {allow_list: {field: destination, in: [2026-01-01]}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {allow_list: {field: destination, in: [1:30]}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {amount: {field: amount, max: 1e3}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {amount: {field: amount, max: .5}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {allow_list: {field: destination, in: [0x1F, 0o17, +1, ~]}}\n",
    "default: deny\ndefault: allow\n",
    "default: &d deny\nrules:\n  - name: *d\n    decision: allow\n    match: {path: /x}\n",
    "default: !!str deny\n",
    "default: deny\nversion: !!int '1'\n",
    "default: deny\n---\ndefault: allow\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /x, host: on}\n",
    // Type errors the reference only meets when it evaluates.
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {host: 5}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {method: [GET, 1]}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {amount: {field: amount, max: '5000'}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {rate_limit: {max: 2.5}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {rate_limit: {max: -1}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: null\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {allow_list: {field: destination, in: internal}}\n",
    // Valid, if unusual.
    "default: allow\n",
    "default: needs_approval\nversion: 7\nrules: []\nforbidden: []\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {}\n  - name: s\n    decision: allow\n    match: {path_contains: ''}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {amount: {field: amount}, rate_limit: {max: 0}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {allow_list: {field: destination, in: []}}\n",
    "default: deny\nrules:\n  - name: r\n    decision: needs_approval\n    match: {path: /orders}\n    constraints: {amount: {field: amount, max: 1.0e+3, currency: USD}}\n",
    "{\"default\": \"deny\", \"rules\": [{\"name\": \"r\", \"decision\": \"allow\", \"match\": {\"path\": \"/orders\"}, \"constraints\": {\"allow_list\": {\"field\": \"destination\", \"in\": [\"internal\", 1, null]}}}]}\n",
];

#[test]
fn policy_refusals_agree_with_the_reference() {
    let Some(reference) = reference() else { return };
    let actions = generated_actions(0x5eed_0003, 80);
    let policies: Vec<(String, String)> = EDGE_POLICIES
        .iter()
        .enumerate()
        .map(|(i, text)| (format!("edge policy {i}: {text:?}"), (*text).to_owned()))
        .collect();
    let findings = differential(reference, &policies, &actions);
    assert_no_mismatches(&findings, "edge policies");
    // The deliberate extra refusals: ambiguous YAML, YAML structure beyond
    // plain data, and type errors the reference would only hit later.
    for line in &findings.stricter {
        println!("stricter than the reference: {line}");
    }
    assert!(
        findings.stricter.len() >= 15,
        "expected the ambiguous and ill-typed documents to be refused:\n{}",
        findings.stricter.join("\n")
    );
}

/// JSON policies: the reference reads every policy with YAML 1.1 (PyYAML),
/// for which a float needs a dot and a signed exponent: `1e3`, `1E+3` and
/// `1.5e3` are strings, not numbers. A JSON reader reads numbers. Reading
/// them the reference's way or refusing the document (as the YAML loader
/// refuses YAML 1.1/1.2 ambiguities) is fine; deciding differently is not.
#[test]
fn json_policies_decide_as_the_reference_or_are_refused() {
    let Some(reference) = reference() else { return };
    let actions: Vec<String> = [
        r#"{"instruction": "b", "method": "POST", "url": "https://api.example.com/orders", "params": {"amount": 999, "destination": "1e3"}}"#,
        r#"{"instruction": "b", "method": "POST", "url": "https://api.example.com/orders", "params": {"amount": 1001, "destination": 1000.0}}"#,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let policies: Vec<(String, String)> = [
        r#"{"default": "deny", "rules": [{"name": "r", "decision": "allow", "match": {"path": "/orders"}, "constraints": {"amount": {"field": "amount", "max": 1e3}}}]}"#,
        r#"{"default": "deny", "rules": [{"name": "r", "decision": "allow", "match": {"path": "/orders"}, "constraints": {"allow_list": {"field": "destination", "in": [1e3]}}}]}"#,
        r#"{"default": "deny", "rules": [{"name": "r", "decision": "allow", "match": {"path": "/orders"}, "constraints": {"amount": {"field": "amount", "max": 1E+3}}}]}"#,
        r#"{"default": "deny", "rules": [{"name": "r", "decision": "allow", "match": {"path": "/orders"}, "constraints": {"amount": {"field": "amount", "max": 1.5e3}}}]}"#,
    ]
    .iter()
    .enumerate()
    .map(|(i, text)| (format!("JSON policy {i}: {text}"), format!("{text}\n")))
    .collect();
    let findings = differential(reference, &policies, &actions);
    assert_no_mismatches(&findings, "JSON policies");
}

/// Python's `Decimal` reads every Unicode decimal digit (`Decimal('٣')` is
/// 3, `Decimal('５')` is 5), so the reference evaluates such amounts
/// numerically.
#[test]
fn unicode_digit_amounts_decide_as_the_reference() {
    let Some(reference) = reference() else { return };
    let actions: Vec<String> = [
        "\u{663}",
        "\u{ff15}",
        "1\u{663}.\u{665}",
        "\u{661}e\u{662}",
        " \u{663} ",
        "\u{ff15}\u{ff10}\u{ff10}\u{ff10}\u{ff10}",
    ]
    .iter()
    .map(|amount| order("Buy", &json_str(amount), "internal"))
    .collect();
    let example = workspace_root().join("spec/tests/vectors/ctk/policy.example.yaml");
    let findings = differential(
        reference,
        &[("example policy".to_owned(), read_text(&example))],
        &actions,
    );
    assert_no_mismatches(&findings, "Unicode digits");
}

/// An empty `currency` in the policy: the reference's over-the-cap reason
/// adds the currency only when it is truthy (`f" {currency}" if currency`).
#[test]
fn empty_currency_reason_matches_the_reference() {
    let Some(reference) = reference() else { return };
    let policy = "default: deny\nrules:\n  - name: r\n    decision: allow\n    match: {path: /orders}\n    constraints: {amount: {field: amount, max: 100, currency: ''}}\n";
    let actions: Vec<String> = ["99", "101"]
        .iter()
        .map(|amount| {
            action(
                "Buy",
                "POST",
                "https://api.example.com/orders",
                &format!("{{\"amount\": {amount}, \"currency\": \"\"}}"),
            )
        })
        .collect();
    let findings = differential(
        reference,
        &[("empty currency".to_owned(), policy.to_owned())],
        &actions,
    );
    assert_no_mismatches(&findings, "empty currency");
}

// ------------------------------------------------------------- full flow

const FLOW_SCRIPT: &str = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
import delego
from delego import ProposedAction

home, steps_path = sys.argv[1], sys.argv[2]
fw = delego.build_firewall(delego.Paths.resolve(home))
with open(steps_path, encoding="utf-8") as f:
    steps = json.load(f)
ids = {}
for i, step in enumerate(steps):
    row = {"step": i}
    try:
        op = step["op"]
        if op == "propose":
            d = fw.propose(ProposedAction(**step["action"]))
            row["decision"] = d.__dict__
            if d.approval_id:
                ids[i] = d.approval_id
        elif op == "resolve":
            approval_id = ids[step["of"]] if "of" in step else step["id"]
            row["decision"] = fw.resolve(approval_id, ProposedAction(**step["action"])).__dict__
        else:
            row["approval"] = fw.approvals.decide(ids[step["of"]], op == "approve", step["as"])
    except Exception as e:
        row["exception"] = type(e).__name__ + ": " + str(e)
    print(json.dumps(row), flush=True)
"#;

const FLOW_POLICY: &str = "version: 1
default: deny
forbidden:
  - name: no-access-control-changes
    description: Agents may never modify permissions or sharing
    match: { path_contains: /permissions }
rules:
  - name: read-accounts
    decision: allow
    match: { method: GET, host: api.example.com, path: /accounts/** }
    constraints:
      rate_limit: { max: 2, per: minute }
  - name: place-order
    decision: needs_approval
    match: { method: POST, host: api.example.com, path: /orders }
    constraints:
      amount: { field: amount, max: 5000, currency: USD }
      allow_list: { field: destination, in: [internal] }
  - name: notes
    decision: allow
    match: { method: [POST, PUT], host: api.example.com, path: /notes/* }
";

/// One step of a flow, run the same way by both implementations.
enum Step {
    Propose(String),
    /// Resolve the approval parked by step `of` (or an unknown id).
    Resolve {
        of: Option<usize>,
        action: String,
    },
    Decide {
        of: usize,
        approve: bool,
        who: &'static str,
    },
}

fn action(instruction: &str, method: &str, url: &str, params: &str) -> String {
    format!(
        "{{\"instruction\": {}, \"method\": {}, \"url\": {}, \"params\": {params}}}",
        json_str(instruction),
        json_str(method),
        json_str(url)
    )
}

fn order(instruction: &str, amount: &str, destination: &str) -> String {
    action(
        instruction,
        "POST",
        "https://api.example.com/orders",
        &format!(
            "{{\"amount\": {amount}, \"currency\": \"USD\", \"destination\": {}}}",
            json_str(destination)
        ),
    )
}

fn flow_steps() -> Vec<Step> {
    let read = |n: &str| {
        action(
            "Show me my accounts",
            "GET",
            &format!("https://api.example.com/accounts/{n}"),
            "{}",
        )
    };
    let parked = order("Buy the 2400 order", "2400", "internal");
    let small = order("Buy the small order", "100", "internal");
    vec![
        /* 0 */ Step::Propose(read("1")),
        /* 1 */ Step::Propose(read("2?b=2&a=1")),
        /* 2 */ Step::Propose(read("3")),
        /* 3 */
        Step::Propose(action(
            "share",
            "post",
            "https://API.example.com/accounts/1/permissions",
            "{\"to\": \"eve\"}",
        )),
        /* 4 */ Step::Propose(order("Buy a lot", "50000", "internal")),
        /* 5 */ Step::Propose(parked.clone()),
        /* 6 */
        Step::Resolve {
            of: Some(5),
            action: parked.clone(),
        },
        /* 7 */
        Step::Decide {
            of: 5,
            approve: true,
            who: "alice",
        },
        /* 8 */
        Step::Resolve {
            of: Some(5),
            action: order("Buy the 2400 order", "2401", "internal"),
        },
        /* 9 */
        Step::Resolve {
            of: Some(5),
            action: order("Buy anything", "2400", "internal"),
        },
        /* 10 */
        Step::Resolve {
            of: Some(5),
            action: parked.clone(),
        },
        /* 11 */
        Step::Resolve {
            of: Some(5),
            action: parked,
        },
        /* 12 */ Step::Propose(small.clone()),
        /* 13 */
        Step::Decide {
            of: 12,
            approve: false,
            who: "bob",
        },
        /* 14 */
        Step::Resolve {
            of: Some(12),
            action: small,
        },
        /* 15 */
        Step::Resolve {
            of: None,
            action: read("1"),
        },
        /* 16 */
        Step::Propose(action(
            "note",
            "POST",
            "https://api.example.com/notes/1#frag",
            "{}",
        )),
        /* 17 */
        Step::Propose(action(
            "  write a café ☕ note \n",
            "put",
            "https://api.example.com/notes/2?x=%20y&a",
            "{\"text\": \"café ☕ \\\"q\\\" \\\\ \\n 𝔘\", \"n\": 1.5e16, \"big\": 123456789012345678901234567890, \"f\": 0.1, \"neg\": -0.0, \"nested\": {\"b\": [true, null, 2.50], \"a\": {}}}",
        )),
        /* 18 */ Step::Propose(order("Buy abroad", "10", "external")),
        /* 19 */ Step::Propose(action("x", "GET", "https://evil.test/accounts/1", "{}")),
        /* 20 */ Step::Propose(order("Buy in strings", "\"12.50\"", "internal")),
        /* 21 */
        Step::Propose(order(
            "  café ☕ 'single' \"double\"\n\ttab \u{1f} \\ 𝔘 ",
            "7",
            "internal",
        )),
    ]
}

fn steps_json(steps: &[Step]) -> String {
    let items: Vec<String> = steps
        .iter()
        .map(|step| match step {
            Step::Propose(action) => format!("{{\"op\": \"propose\", \"action\": {action}}}"),
            Step::Resolve {
                of: Some(of),
                action,
            } => {
                format!("{{\"op\": \"resolve\", \"of\": {of}, \"action\": {action}}}")
            }
            Step::Resolve { of: None, action } => {
                format!("{{\"op\": \"resolve\", \"id\": \"{UNKNOWN_ID}\", \"action\": {action}}}")
            }
            Step::Decide { of, approve, who } => format!(
                "{{\"op\": \"{}\", \"of\": {of}, \"as\": \"{who}\"}}",
                if *approve { "approve" } else { "deny" }
            ),
        })
        .collect();
    format!("[{}]", items.join(",\n"))
}

/// What each implementation said at one step.
enum Said {
    Decision(Value),
    /// The approval's status after a human decision.
    Status(String),
    /// The reference raised (its broker refuses instead of returning).
    Exception(String),
}

/// Runs the steps through the reference's engine in `home` (which must
/// hold the policy).
fn run_reference_flow(reference: &Reference, home: &Path, steps: &[Step]) -> Vec<Said> {
    let steps_path = home.with_extension("steps.json");
    write_file(&steps_path, steps_json(steps));
    let out = reference.script(FLOW_SCRIPT, &[home, &steps_path]);
    let rows = json_lines(&out);
    assert_eq!(rows.len(), steps.len(), "{out}");
    rows.into_iter()
        .map(|row| {
            if let Some(e) = field(&row, "exception").as_str() {
                Said::Exception(e.to_owned())
            } else if !field(&row, "approval").is_null() {
                Said::Status(str_field(field(&row, "approval"), "status").to_owned())
            } else {
                Said::Decision(field(&row, "decision").clone())
            }
        })
        .collect()
}

/// Runs the steps through the `delego` binary, one process per step.
fn run_our_flow(home: &HomeCli, steps: &[Step]) -> Vec<Said> {
    let mut ids: BTreeMap<usize, String> = BTreeMap::new();
    let mut said = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        said.push(match step {
            Step::Propose(action) => {
                let decision = home.propose(action);
                if let Some(id) = field(&decision, "approval_id").as_str() {
                    ids.insert(i, id.to_owned());
                }
                Said::Decision(decision)
            }
            Step::Resolve { of, action } => {
                let id = of.map_or_else(|| UNKNOWN_ID.to_owned(), |of| ids[&of].clone());
                Said::Decision(home.resolve(&id, action))
            }
            Step::Decide { of, approve, who } => {
                let id = &ids[of];
                let verb = if *approve { "approve" } else { "deny" };
                let out = home.ok([verb, id.as_str(), "--as", who]);
                let first = out.stdout_lines()[0].to_owned();
                let status = first
                    .strip_prefix(&format!("{id}: "))
                    .unwrap_or_else(|| panic!("{out}"));
                Said::Status(status.to_owned())
            }
        });
    }
    said
}

const DECISION_KEYS: &[&str] = &[
    "outcome",
    "rule",
    "reasons",
    "intent_hash",
    "action_fingerprint",
    "executed",
    "result",
    "token",
];

fn compare_flows(theirs: &[Said], ours: &[Said]) {
    // Reference approval id -> ours.
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (i, (t, o)) in theirs.iter().zip(ours).enumerate() {
        match (t, o) {
            (Said::Decision(t), Said::Decision(o)) => {
                for key in DECISION_KEYS {
                    assert_eq!(
                        field(o, key),
                        field(t, key),
                        "step {i}: {key}\n  ours: {}\n  reference: {}",
                        to_canonical_string(o),
                        to_canonical_string(t)
                    );
                }
                match (
                    field(t, "approval_id").as_str(),
                    field(o, "approval_id").as_str(),
                ) {
                    (None, None) => {}
                    (Some(t_id), Some(o_id)) => {
                        let known = ids
                            .entry(t_id.to_owned())
                            .or_insert_with(|| o_id.to_owned());
                        assert_eq!(known, o_id, "step {i}: approval ids do not correspond");
                    }
                    other => panic!("step {i}: approval_id {other:?}"),
                }
            }
            (Said::Status(t), Said::Status(o)) => assert_eq!(o, t, "step {i}: approval status"),
            (Said::Exception(e), Said::Decision(o)) => {
                // The reference's broker raises; ours reports the same refusal
                // as a deny decision (and both record the same receipt).
                let message = e
                    .strip_prefix("BrokerRefusal: ")
                    .unwrap_or_else(|| panic!("step {i}: the reference raised {e}"));
                assert_eq!(str_field(o, "outcome"), "deny", "step {i}");
                let reasons = strings_field(o, "reasons");
                assert_eq!(
                    reasons.last().map(String::as_str),
                    Some(format!("broker did not execute: {message}").as_str()),
                    "step {i}"
                );
            }
            _ => panic!("step {i}: the implementations answered differently"),
        }
    }
}

/// Replaces the JSON value after `"key": ` on a ledger line with `"*"`.
fn mask(line: &str, key: &str) -> String {
    let needle = format!("\"{key}\": ");
    let Some(start) = line.find(&needle).map(|i| i + needle.len()) else {
        return line.to_owned();
    };
    let rest = &line[start..];
    let end = if let Some(stripped) = rest.strip_prefix('"') {
        1 + stripped.find('"').expect("a closed string") + 1
    } else if rest.starts_with("null") {
        4
    } else {
        panic!("unexpected {key} value in {line}")
    };
    format!("{}\"*\"{}", &line[..start], &rest[end..])
}

/// A ledger line without the fields that differ between runs.
fn masked(line: &str) -> String {
    ["ts", "entry_hash", "signature", "prev_hash", "approval_id"]
        .iter()
        .fold(line.to_owned(), |line, key| mask(&line, key))
}

fn assert_same_receipts(reference_ledger: &str, our_ledger: &str) {
    let theirs: Vec<&str> = reference_ledger.lines().collect();
    let ours: Vec<&str> = our_ledger.lines().collect();
    assert_eq!(
        ours.len(),
        theirs.len(),
        "receipt counts\n--- reference ---\n{reference_ledger}--- ours ---\n{our_ledger}"
    );
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (t, o) in theirs.iter().zip(&ours) {
        assert_eq!(masked(o), masked(t), "receipt lines differ");
        let (t, o) = (parse(t).expect("JSON"), parse(o).expect("JSON"));
        match (
            field(&t, "approval_id").as_str(),
            field(&o, "approval_id").as_str(),
        ) {
            (None, None) => {}
            (Some(t_id), Some(o_id)) => {
                let known = ids
                    .entry(t_id.to_owned())
                    .or_insert_with(|| o_id.to_owned());
                assert_eq!(known, o_id, "approval ids do not correspond");
            }
            other => panic!("approval_id {other:?}"),
        }
    }
}

#[test]
fn full_flow_matches_the_reference() {
    let Some(reference) = reference() else { return };
    let tmp = tempdir();
    let steps = flow_steps();

    let reference_home = tmp.path().join("reference-home");
    fs::create_dir_all(&reference_home).expect("mkdir");
    write_file(&reference_home.join("policy.yaml"), FLOW_POLICY);
    let theirs = run_reference_flow(reference, &reference_home, &steps);

    let home = HomeCli::new(tmp.path().join("our-home"));
    home.init();
    write_file(&home.dir.join("policy.yaml"), FLOW_POLICY);
    let ours = run_our_flow(&home, &steps);
    compare_flows(&theirs, &ours);

    let reference_ledger = read_text(&reference_home.join("audit.log.jsonl"));
    let our_ledger = home.export_to(&tmp.path().join("export.jsonl"));
    assert_same_receipts(&reference_ledger, &our_ledger);

    // The human views print alike too.
    assert_eq!(
        home.ok(["log", "-n", "100"]).stdout,
        reference.cli(&reference_home, &["log", "-n", "100"]).stdout
    );
    let pending = home.ok(["pending"]);
    assert_eq!(pending.stdout_lines().len(), 6, "{pending}");
    assert_eq!(
        pending_view(&pending),
        pending_view(&reference.cli(&reference_home, &["pending"]))
    );

    // The consent moment prints alike: approve the last parked action with
    // both command-line tools.
    let approval = |said: &Said| match said {
        Said::Decision(d) => str_field(d, "approval_id").to_owned(),
        _ => panic!("step 21 did not decide"),
    };
    let (their_id, our_id) = (approval(&theirs[21]), approval(&ours[21]));
    let their_out = reference.cli(&reference_home, &["approve", &their_id, "--as", "dave"]);
    let our_out = home.ok(["approve", &our_id, "--as", "dave"]);
    assert_eq!(
        our_out.stdout.replace(&our_id, "apr_*"),
        their_out.stdout.replace(&their_id, "apr_*"),
        "{our_out}\n{their_out}"
    );
    let their_out = reference.cli(&reference_home, &["approve", UNKNOWN_ID]);
    let our_out = home.run(["approve", UNKNOWN_ID]);
    assert_eq!(
        (our_out.code, our_out.stdout),
        (their_out.code, their_out.stdout)
    );
}

#[test]
fn the_reference_verifies_and_prints_our_ledger() {
    let Some(reference) = reference() else { return };
    let tmp = tempdir();
    let home = HomeCli::new(tmp.path().join("our-home"));
    home.init();
    write_file(&home.dir.join("policy.yaml"), FLOW_POLICY);
    let mut rng = Rng::new(0x5eed_0004);
    let mut steps = flow_steps();
    // More odd actions: every receipt must survive the reference's verifier.
    for _ in 0..15 {
        let text = gen_action(&mut rng);
        let parsed = ProposedAction::from_value(&parse(&text).expect("JSON")).expect("action");
        if delego_firewall::engine::validate_action(&parsed).is_ok() {
            steps.push(Step::Propose(text));
        }
    }
    run_our_flow(&home, &steps);
    let count = home.receipts().len();
    assert!(count >= 25, "{count} receipts");

    let reference_home = tmp.path().join("reference-home");
    fs::create_dir_all(&reference_home).expect("mkdir");
    for key in ["signing_key.pem", "signing_key.pub"] {
        fs::copy(home.dir.join(key), reference_home.join(key)).expect("copy key");
    }
    home.export_to(&reference_home.join("audit.log.jsonl"));
    let out = reference.cli(&reference_home, &["verify"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.has_line("Audit chain OK: all receipts intact and signed."),
        "{out}"
    );
    // The same head as ours.
    let ours = home.ok(["verify"]);
    let head = |o: &Output| {
        o.stdout_lines()
            .into_iter()
            .find(|l| l.starts_with("head: "))
            .map(str::to_owned)
    };
    assert_eq!(head(&out), head(&ours), "{out}\n{ours}");
    assert!(head(&out).is_some());
    // And it prints our receipts as we do.
    assert_eq!(
        reference
            .cli(&reference_home, &["log", "-n", "1000"])
            .stdout,
        home.ok(["log", "-n", "1000"]).stdout
    );
}

/// `pending` output without approval ids and request times (which differ
/// between two runs).
fn pending_view(out: &Output) -> Vec<String> {
    assert_eq!(out.code, 0, "{out}");
    out.stdout_lines()
        .into_iter()
        .map(|line| {
            if line.starts_with("    requested ") {
                "    requested *".to_owned()
            } else if let Some(rest) = line.strip_prefix("apr_") {
                format!("apr_* {}", rest.get(12..).unwrap_or_default())
            } else {
                line.to_owned()
            }
        })
        .collect()
}

/// A reference home with a parked approval, as the reference writes it.
fn reference_home_with_history(reference: &Reference, dir: &Path) -> (PathBuf, String) {
    let home = dir.join("reference-home");
    let out = reference.cli(&home, &["init"]);
    assert_eq!(out.code, 0, "{out}");
    let read = |n: &str| {
        action(
            "Show me my accounts",
            "GET",
            &format!("https://api.example.com/accounts/{n}"),
            "{}",
        )
    };
    let parked = order("Buy the parked order", "2400", "internal");
    let steps = vec![
        Step::Propose(read("1")),
        Step::Propose(read("2")),
        Step::Propose(action(
            "share",
            "POST",
            "https://api.example.com/accounts/1/permissions",
            "{}",
        )),
        Step::Propose(parked.clone()),
        Step::Propose(order("Buy the small order", "100", "internal")),
        Step::Decide {
            of: 4,
            approve: true,
            who: "bob",
        },
        Step::Resolve {
            of: Some(4),
            action: order("Buy the small order", "100", "internal"),
        },
        Step::Propose(order("Buy the third order", "300", "internal")),
        Step::Decide {
            of: 7,
            approve: false,
            who: "carol",
        },
    ];
    let said = run_reference_flow(reference, &home, &steps);
    let Said::Decision(decision) = &said[3] else {
        panic!("step 3 did not decide")
    };
    (home, str_field(decision, "approval_id").to_owned())
}

#[test]
fn we_import_a_reference_home_and_carry_on() {
    let Some(reference) = reference() else { return };
    let tmp = tempdir();
    let (reference_home, parked_id) = reference_home_with_history(reference, tmp.path());
    let reference_ledger = read_text(&reference_home.join("audit.log.jsonl"));
    let imported_count = reference_ledger.lines().count();
    assert_eq!(imported_count, 7);

    let home = HomeCli::new(tmp.path().join("imported"));
    let out = home.run([
        std::ffi::OsStr::new("import"),
        "--from".as_ref(),
        reference_home.as_os_str(),
    ]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.starts_with(&format!(
            "Imported {imported_count} receipts and 3 approvals from "
        )),
        "{out}"
    );
    assert_eq!(
        read_text(&home.dir.join("signing_key.pub")),
        read_text(&reference_home.join("signing_key.pub"))
    );

    // The parked approval waits here now, shown as the reference shows it.
    let pending = home.ok(["pending"]);
    assert!(
        pending.stdout.starts_with(&format!(
            "{parked_id}  POST api.example.com/orders {{\"amount\":2400,"
        )),
        "{pending}"
    );
    assert_eq!(
        pending.stdout,
        reference.cli(&reference_home, &["pending"]).stdout
    );
    assert_eq!(
        home.ok(["log", "-n", "100"]).stdout,
        reference.cli(&reference_home, &["log", "-n", "100"]).stdout
    );
    let out = home.ok(["verify"]);
    assert!(
        out.has_line("Audit chain OK: all receipts intact and signed."),
        "{out}"
    );
    // The export of the imported chain is the reference's ledger, byte for byte.
    assert_eq!(
        home.export_to(&tmp.path().join("round-trip.jsonl")),
        reference_ledger
    );

    // The rate limit counts the imported allows.
    let read = action(
        "Show me my accounts",
        "GET",
        "https://api.example.com/accounts/3",
        "{}",
    );
    let decision = home.propose(&read);
    assert_eq!(str_field(&decision, "outcome"), "allow");
    assert_eq!(
        strings_field(&decision, "reasons"),
        ["rate_limit: 3/50 per hour"]
    );

    // The imported approval is decided and released here.
    let approved = home.ok(["approve", &parked_id, "--as", "alice"]);
    assert!(
        approved.has_line(&format!("{parked_id}: approved")),
        "{approved}"
    );
    let released = home.resolve(
        &parked_id,
        &order("Buy the parked order", "2400", "internal"),
    );
    assert_eq!(str_field(&released, "outcome"), "allow");
    assert_eq!(
        strings_field(&released, "reasons"),
        ["human approved by 'alice'"]
    );
    assert_eq!(str_field(&released, "rule"), "place-order");
    // The imported denial and release stay final.
    let replay = home.resolve(
        str_field(&home.receipts()[5], "approval_id"),
        &order("Buy the small order", "100", "internal"),
    );
    assert_eq!(
        strings_field(&replay, "reasons"),
        ["approval already used: this single-use approval has already released its action"]
    );
    assert_eq!(home.receipts().len(), imported_count + 3);

    // The reference verifies the continued chain.
    let continued = tmp.path().join("continued");
    fs::create_dir_all(&continued).expect("mkdir");
    for key in ["signing_key.pem", "signing_key.pub"] {
        fs::copy(reference_home.join(key), continued.join(key)).expect("copy key");
    }
    let exported = home.export_to(&continued.join("audit.log.jsonl"));
    assert!(exported.starts_with(&reference_ledger));
    let out = reference.cli(&continued, &["verify"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.has_line("Audit chain OK: all receipts intact and signed."),
        "{out}"
    );
}

#[test]
fn a_tampered_reference_ledger_is_not_imported() {
    let Some(reference) = reference() else { return };
    let tmp = tempdir();
    let (reference_home, _) = reference_home_with_history(reference, tmp.path());
    let ledger_path = reference_home.join("audit.log.jsonl");
    let ledger = read_text(&ledger_path);
    let tampered = ledger.replacen(
        "GET api.example.com/accounts/2",
        "GET api.example.com/accounts/7",
        1,
    );
    assert_ne!(tampered, ledger);
    write_file(&ledger_path, &tampered);
    // The reference agrees it is tampered.
    let out = reference.cli(&reference_home, &["verify"]);
    assert_eq!(out.code, 1, "{out}");

    // Into a new directory: nothing is created.
    let target = tmp.path().join("new-home");
    let out = HomeCli::new(&target).run([
        std::ffi::OsStr::new("import"),
        "--from".as_ref(),
        reference_home.as_os_str(),
    ]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.starts_with("IMPORT REFUSED: "), "{out}");
    assert!(
        out.problems()
            .contains(&"seq 1: content hash mismatch (tampered)"),
        "{out}"
    );
    assert!(!target.exists(), "a refused import must write nothing");

    // Into an initialised home: it stays as it was.
    let existing = HomeCli::new(tmp.path().join("existing"));
    existing.init();
    let key = read_text(&existing.dir.join("signing_key.pem"));
    let out = existing.run([
        std::ffi::OsStr::new("import"),
        "--from".as_ref(),
        reference_home.as_os_str(),
    ]);
    assert_eq!(out.code, 1, "{out}");
    assert!(existing.receipts().is_empty());
    assert!(existing.ok(["pending"]).has_line("No pending approvals."));
    assert_eq!(read_text(&existing.dir.join("signing_key.pem")), key);
}

const TOKEN_SCRIPT: &str = r#"
import json, sys
from cryptography.hazmat.primitives import serialization
from delego import ProposedAction, verify_token, require_fingerprint

pub = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
with open(sys.argv[2], encoding="utf-8") as f:
    cases = json.load(f)
for case in cases:
    row = {}
    try:
        claims = verify_token(case["token"], public_key=pub, audience=case["audience"])
        require_fingerprint(claims, ProposedAction(**case["action"]))
        row["claims"] = claims
        # A second verification with the same replay sets is refused.
        seen, consumed = set(), set()
        verify_token(case["token"], public_key=pub, audience=case["audience"], seen_jti=seen, consumed_cns=consumed)
        try:
            verify_token(case["token"], public_key=pub, audience=case["audience"], seen_jti=seen, consumed_cns=consumed)
            row["replay"] = "accepted"
        except Exception as e:
            row["replay"] = "refused"
        try:
            require_fingerprint(claims, ProposedAction(**case["other"]))
            row["other"] = "accepted"
        except Exception:
            row["other"] = "refused"
    except Exception as e:
        row["error"] = type(e).__name__ + ": " + str(e)
    print(json.dumps(row))
"#;

#[test]
fn the_reference_verifies_the_tokens_we_mint() {
    let Some(reference) = reference() else { return };
    let tmp = tempdir();
    let home = HomeCli::new(tmp.path().join("our-home"));
    home.init();
    let audience = "broker:payments";
    let read = action(
        "Show me my accounts",
        "GET",
        "https://api.example.com/accounts/1?b=2&a=1",
        "{}",
    );
    let allowed = decision_with_token(&home, &["propose", "--action", &read], audience);
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(home.dir.join("token_key.pem"))
            .expect("token_key.pem")
            .permissions()
            .mode()
    };
    assert_eq!(mode & 0o777, 0o600, "token_key.pem mode {mode:o}");
    assert_ne!(
        read_text(&home.dir.join("token_key.pub")),
        read_text(&home.dir.join("signing_key.pub")),
        "the token key is not the ledger key"
    );

    // Nothing is minted for a decision that does not allow.
    let parked_order = order("Buy the parked order", "2400", "internal");
    let parked = home.ok([
        "propose",
        "--action",
        &parked_order,
        "--mint-token",
        audience,
    ]);
    let parked = delego_e2e::decision_of(&parked);
    assert_eq!(str_field(&parked, "outcome"), "needs_approval");
    assert!(field(&parked, "token").is_null());
    let id = str_field(&parked, "approval_id").to_owned();
    home.ok(["approve", &id, "--as", "alice"]);
    let released = decision_with_token(
        &home,
        &["resolve", &id, "--action", &parked_order],
        audience,
    );

    let cases = format!(
        "[{{\"token\": {}, \"audience\": {}, \"action\": {read}, \"other\": {}}}, {{\"token\": {}, \"audience\": {}, \"action\": {parked_order}, \"other\": {}}}]",
        json_str(str_field(&allowed, "token")),
        json_str(audience),
        action("Show me my accounts", "GET", "https://api.example.com/accounts/2", "{}"),
        json_str(str_field(&released, "token")),
        json_str(audience),
        order("Buy the parked order", "2401", "internal"),
    );
    let cases_path = tmp.path().join("tokens.json");
    write_file(&cases_path, cases);
    let out = reference.script(
        TOKEN_SCRIPT,
        &[&home.dir.join("token_key.pub"), &cases_path],
    );
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2, "{out}");
    for (row, decision) in rows.iter().zip([&allowed, &released]) {
        assert!(field(row, "error").is_null(), "{out}");
        let claims = field(row, "claims");
        assert_eq!(str_field(claims, "aud"), audience);
        assert_eq!(str_field(claims, "iss"), "delego:local");
        assert_eq!(
            str_field(claims, "fpr"),
            str_field(decision, "action_fingerprint")
        );
        assert_eq!(str_field(claims, "iht"), str_field(decision, "intent_hash"));
        assert_eq!(
            field(field(claims, "pol"), "rule"),
            field(decision, "rule"),
            "{out}"
        );
        assert_eq!(
            field(claims, "apr"),
            field(decision, "approval_id"),
            "{out}"
        );
        assert_eq!(str_field(row, "replay"), "refused", "{out}");
        assert_eq!(str_field(row, "other"), "refused", "{out}");
    }
}

/// Runs `ARGS --mint-token AUDIENCE`, which must allow and carry a token.
fn decision_with_token(home: &HomeCli, args: &[&str], audience: &str) -> Value {
    let out = home.ok(args.iter().copied().chain(["--mint-token", audience]));
    let decision = delego_e2e::decision_of(&out);
    assert_eq!(str_field(&decision, "outcome"), "allow", "{out}");
    assert!(
        field(&decision, "token")
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3),
        "{out}"
    );
    decision
}
