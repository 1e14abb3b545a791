//! `delego hash` as a separate process: JSON lines of actions in, one JSON
//! line of derived values (or of the error) out per non-blank input line.

use delego_e2e::{ctk_dir, read_text, write_file, Delego, Output};
use delego_spec::json::{parse, to_canonical_string, write_python_default, Map, Value};

/// The fields `delego hash` derives and the CTK hashing vectors pin.
const HASHED_FIELDS: [&str; 4] = [
    "intent_hash",
    "action_fingerprint",
    "fingerprint_canonical_json",
    "intent_canonical_json",
];

const ACCOUNT_ACTION: &str = r#"{"instruction":"read my account details","method":"GET","url":"https://api.example.com/accounts/me","params":{}}"#;

fn object(value: &Value) -> &Map {
    value
        .as_object()
        .unwrap_or_else(|| panic!("expected a JSON object, got {value:?}"))
}

fn string<'v>(value: &'v Value, key: &str) -> &'v str {
    object(value)
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string {key:?} in {value:?}"))
}

/// The CTK hashing vectors: `[{action, intent_hash, ...}]`.
fn ctk_vectors() -> Vec<Value> {
    let path = ctk_dir().join("hashing.json");
    let vectors = parse(&read_text(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let vectors = vectors
        .as_array()
        .unwrap_or_else(|| panic!("{} is not a JSON array", path.display()))
        .to_vec();
    assert_eq!(vectors.len(), 9, "the CTK has 9 hashing vectors");
    vectors
}

fn action_of(vector: &Value) -> &Value {
    object(vector)
        .get("action")
        .unwrap_or_else(|| panic!("vector without an action: {vector:?}"))
}

/// Parses every stdout line with the library's strict parser.
fn output_values(out: &Output) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|line| {
            parse(line).unwrap_or_else(|e| panic!("stdout line {line:?} is not JSON: {e}\n{out}"))
        })
        .collect()
}

fn assert_matches_vectors(out: &Output, vectors: &[Value]) {
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stderr, "", "{out}");
    let values = output_values(out);
    assert_eq!(
        values.len(),
        vectors.len(),
        "one output line per action\n{out}"
    );
    for (index, (got, vector)) in values.iter().zip(vectors).enumerate() {
        for field in HASHED_FIELDS {
            assert_eq!(
                string(got, field),
                string(vector, field),
                "vector {index}, {field}\n{out}"
            );
        }
        assert!(
            object(got).contains_key("summary"),
            "vector {index}: no summary\n{out}"
        );
    }
}

/// The vectors' actions as JSON lines, canonical form.
fn canonical_lines(vectors: &[Value]) -> String {
    vectors
        .iter()
        .map(|v| to_canonical_string(action_of(v)) + "\n")
        .collect()
}

#[test]
fn stdin_reproduces_the_ctk_hashing_vectors() {
    let vectors = ctk_vectors();
    let out = Delego::new()
        .arg("hash")
        .stdin(canonical_lines(&vectors))
        .run();
    assert_matches_vectors(&out, &vectors);
}

#[test]
fn dash_reads_stdin() {
    let vectors = ctk_vectors();
    let out = Delego::new()
        .args(["hash", "-"])
        .stdin(canonical_lines(&vectors))
        .run();
    assert_matches_vectors(&out, &vectors);
}

#[test]
fn file_argument_reproduces_the_ctk_hashing_vectors() {
    let vectors = ctk_vectors();
    // Python's default `json.dumps` layout this time, CRLF line endings and
    // no final newline: none of that may change a hash.
    let lines: Vec<String> = vectors
        .iter()
        .map(|v| {
            let mut line = String::new();
            write_python_default(action_of(v), &mut line);
            line
        })
        .collect();
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let path = dir.path().join("actions.jsonl");
    write_file(&path, lines.join("\r\n"));
    let out = Delego::new().arg("hash").arg(&path).run();
    assert_matches_vectors(&out, &vectors);
}

#[test]
fn summary_of_known_actions() {
    // The second action is the one receipt seq 5 of the CTK chain records.
    let order = r#"{"instruction":"place a small order","method":"post","url":"https://API.example.com/orders","params":{"destination":"internal","currency":"USD","amount":2400}}"#;
    let out = Delego::new()
        .arg("hash")
        .stdin(format!("{ACCOUNT_ACTION}\n{order}\n"))
        .run();
    assert_eq!(out.code, 0, "{out}");
    let values = output_values(&out);
    assert_eq!(values.len(), 2, "{out}");
    assert_eq!(
        string(&values[0], "summary"),
        "GET api.example.com/accounts/me"
    );
    assert_eq!(
        string(&values[1], "summary"),
        r#"POST api.example.com/orders {"amount":2400,"currency":"USD","destination":"internal"}"#
    );
    // Exactly the five documented members, and the line is canonical JSON.
    let keys: Vec<&str> = object(&values[0]).keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "action_fingerprint",
            "fingerprint_canonical_json",
            "intent_canonical_json",
            "intent_hash",
            "summary"
        ]
    );
    assert_eq!(out.stdout_lines()[0], to_canonical_string(&values[0]));
}

#[test]
fn invalid_lines_are_reported_in_place_and_the_rest_still_hashed() {
    let input = [
        ACCOUNT_ACTION,                                                                  // 1
        "this is not JSON",                                                              // 2
        ACCOUNT_ACTION,                                                                  // 3
        r#"{"instruction":"x","method":"GET"}"#,                                         // 4
        "",                                                                              // 5
        r#"{"instruction":"x","method":"GET","url":"https://a.example/b","params":[]}"#, // 6
        r#"{"instruction":"x","method":"GET","url":"https://[::1/x","params":{}}"#,      // 7
        "   \t ",                                                                        // 8
        ACCOUNT_ACTION,                                                                  // 9
        "[1, 2]",                                                                        // 10
        r#"{"instruction":"x","method":"GET","url":"https://a.example/","param":{}}"#,   // 11
        r#"{"instruction":"x","method":7,"url":"https://a.example/"}"#,                  // 12
    ]
    .join("\n");
    let out = Delego::new().arg("hash").stdin(input).run();
    assert_eq!(
        out.code, 1,
        "a bad line makes the run fail at the end\n{out}"
    );
    assert_eq!(out.stderr, "", "errors go to stdout, in place\n{out}");
    let values = output_values(&out);
    // Blank lines 5 and 8 produce nothing.
    assert_eq!(values.len(), 10, "{out}");

    let hashed = [0usize, 2, 6];
    for index in hashed {
        assert_eq!(
            string(&values[index], "intent_hash"),
            "ec949034e985a92f3bcd9f9ab8313a80005157698f748f2b8df6163c04af4619",
            "output {index}\n{out}"
        );
    }
    // (output index, input line number, what the message must mention)
    let errors = [
        (1, 2, "not JSON"),
        (3, 4, "'url'"),
        (4, 6, "'params'"),
        (5, 7, "url"),
        (7, 10, "object"),
        (8, 11, "param"),
        (9, 12, "'method'"),
    ];
    for (index, line, mention) in errors {
        let members = object(&values[index]);
        assert_eq!(members.len(), 1, "an error line has only \"error\"\n{out}");
        let message = string(&values[index], "error");
        assert!(
            message.starts_with(&format!("line {line}: ")),
            "output {index} should report input line {line}: {message:?}\n{out}"
        );
        assert!(
            message.contains(mention),
            "{message:?} should mention {mention}"
        );
    }
    assert!(
        string(&values[5], "error").contains("IPv6"),
        "the bad URL's own complaint is kept\n{out}"
    );
}

#[test]
fn invalid_utf8_line_is_reported_not_fatal() {
    let mut input = Vec::new();
    input.extend_from_slice(ACCOUNT_ACTION.as_bytes());
    input.extend_from_slice(
        b"\n{\"instruction\":\"caf\xff\",\"method\":\"GET\",\"url\":\"https://a/\"}\n",
    );
    input.extend_from_slice(ACCOUNT_ACTION.as_bytes());
    let out = Delego::new().arg("hash").stdin(input).run();
    assert_eq!(out.code, 1, "{out}");
    let values = output_values(&out);
    assert_eq!(values.len(), 3, "{out}");
    assert!(string(&values[1], "error").starts_with("line 2: "), "{out}");
    assert_eq!(
        string(&values[0], "summary"),
        "GET api.example.com/accounts/me"
    );
    assert_eq!(
        string(&values[2], "summary"),
        "GET api.example.com/accounts/me"
    );
}

#[test]
fn empty_and_blank_input_hash_nothing_and_succeed() {
    for input in ["", "\n", "\n   \n\t\n", "\r\n\r\n"] {
        let out = Delego::new().arg("hash").stdin(input).run();
        assert_eq!(out.code, 0, "input {input:?}\n{out}");
        assert_eq!(out.stdout, "", "input {input:?}\n{out}");
        assert_eq!(out.stderr, "", "input {input:?}\n{out}");
    }
}

#[test]
fn unreadable_file_is_a_clean_error() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let missing = dir.path().join("no-such-file.jsonl");
    let out = Delego::new().arg("hash").arg(&missing).run();
    let line = out.assert_usage_error();
    assert!(
        line.contains("no-such-file.jsonl"),
        "the message names the file: {line:?}"
    );
    assert_eq!(out.stdout, "", "{out}");

    // A directory opens but cannot be read.
    let out = Delego::new().arg("hash").arg(dir.path()).run();
    out.assert_usage_error();
    assert_eq!(out.stdout, "", "{out}");
}
