//! The five tools: their names, input schemas and annotations as the
//! reference lists them; strict reading of their arguments; and their
//! results in the reference's shapes. Nothing here decides or stores
//! anything — that is the backend's job.
//!
//! Arguments are read strictly: each tool takes one `params` object (none
//! for `delego_pending` and `delego_show_policy`), strings are stripped of
//! surrounding whitespace as Python's `str.strip()` does, and an unknown
//! field — at the top or inside `params` — is refused, never ignored.
//! Stricter than the reference in two ways, both fail-closed: a top-level
//! field other than `params` is refused (the reference ignores it), and
//! `lines` must be a JSON integer (the reference also takes `"5"` or `5.0`).
//!
//! Arguments reach us through the SDK's JSON (serde_json), which reads an
//! integer beyond 64 bits as a float: such a number (any of magnitude
//! 2^63 or more) is refused rather than hashed as a different value.

use std::sync::Arc;

use delego_firewall::api::keys::Caller;
use delego_firewall::approval::ApprovalRecord;
use delego_firewall::engine::is_broker_refusal;
use delego_spec::json::{parse, to_canonical_string, Map, Value};
use delego_spec::text::python_strip;
use delego_spec::{Outcome, ProposedAction};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::json;

use super::backend::{BackendError, FirewallBackend};

pub const PROPOSE: &str = "delego_propose_action";
pub const RESOLVE: &str = "delego_resolve_action";
pub const AUDIT_TAIL: &str = "delego_audit_tail";
pub const PENDING: &str = "delego_pending";
pub const SHOW_POLICY: &str = "delego_show_policy";

/// `delego_audit_tail`'s bounds and default, as the reference's.
const LINES_DEFAULT: u64 = 20;
const LINES_MAX: u64 = 200;

/// What the agent is told to do about an uninitialised home.
const SETUP_FIX: &str = "Initialise the delego home once — `delego init` (or `delego init --home \
DIR`, or with DELEGO_HOME set) installs a starter policy and creates the signing keys — then call \
the tool again. delego never creates keys on first use.";

// -------------------------------------------------------------- catalogue

/// The tools, in the reference's order.
pub fn catalogue() -> Vec<Tool> {
    let action_fields = json!({
        "instruction": {
            "type": "string", "minLength": 1,
            "description": "The human's own instruction that this action carries out, word for word (for example 'order 2 boxes of paper'). It is hashed into the receipt and shown to the approver."
        },
        "method": {
            "type": "string", "minLength": 1,
            "description": "The HTTP method, such as GET or POST."
        },
        "url": {
            "type": "string",
            "description": "The absolute URL the action targets, such as https://api.example.com/orders."
        },
        "params": {
            "type": "object", "additionalProperties": true,
            "description": "The request fields the policy decides on (for example {\"amount\": 2400, \"currency\": \"USD\"})."
        }
    });
    let mut resolve_fields = action_fields.clone();
    if let Some(fields) = resolve_fields.as_object_mut() {
        fields.insert(
            "approval_id".into(),
            json!({
                "type": "string", "minLength": 1,
                "description": "The approval_id that delego_propose_action returned."
            }),
        );
        for (name, text) in [
            ("instruction", "The instruction of the original proposal, unchanged."),
            ("method", "The method of the original proposal, unchanged."),
            ("url", "The URL of the original proposal, unchanged."),
            ("params", "The params of the original proposal, unchanged: any difference is refused as a different action."),
        ] {
            if let Some(field) = fields.get_mut(name).and_then(|f| f.as_object_mut()) {
                field.insert("description".into(), text.into());
            }
        }
    }
    let dict_output = json!({"type": "object", "additionalProperties": true});
    let list_output = json!({
        "type": "object",
        "properties": {"result": {"anyOf": [
            {"type": "array", "items": {"type": "object", "additionalProperties": true}},
            {"type": "object", "additionalProperties": true}
        ]}},
        "required": ["result"]
    });
    vec![
        tool(
            PROPOSE,
            "Ask the delego firewall to authorise an action before any service is touched. The policy decides, deterministically: 'allow' (authorised, and carried out by the configured broker), 'deny' (refused; see 'reasons'), or 'needs_approval' (a human must decide first; an 'approval_id' comes back). Approving is not possible over MCP: the human decides elsewhere (`delego approve ID`), after which delego_resolve_action with the same action completes it. Returns the decision: outcome, rule, reasons, intent_hash, action_fingerprint, approval_id, executed, result, token — or {\"error\": \"setup_required\", …} when the delego home is not initialised.",
            params_schema(&action_fields, &["instruction", "method", "url"]),
            dict_output.clone(),
            ("Propose an action to the firewall", false, true, false, true),
        ),
        tool(
            RESOLVE,
            "Complete an action that came back 'needs_approval'. Send exactly the action that was proposed: an approval is bound to its fingerprint and instruction, and anything else is denied as a possibly substituted action (the reason names what the approval covers). Returns a decision shaped like delego_propose_action's: 'allow' once a human approved (carried out now, once only), 'deny' if the human denied or the action differs, 'needs_approval' while nobody has decided.",
            params_schema(&resolve_fields, &["approval_id", "instruction", "method", "url"]),
            dict_output.clone(),
            ("Complete an approved action", false, true, false, true),
        ),
        tool(
            AUDIT_TAIL,
            "Read the newest signed receipts of the audit ledger, oldest first. Each has seq, ts, phase, outcome, rule, reasons, intent_hash, action_fingerprint, action_summary, approval_id and the chain fields prev_hash, entry_hash and signature. Returned as {\"result\": [...]}, or {\"result\": {\"error\": \"setup_required\", …}}.",
            params_schema(
                &json!({"lines": {
                    "type": "integer", "minimum": 1, "maximum": LINES_MAX, "default": LINES_DEFAULT,
                    "description": "How many of the newest receipts to return."
                }}),
                &[],
            ),
            list_output.clone(),
            ("Read the newest audit receipts", true, false, true, false),
        ),
        tool(
            PENDING,
            "List the actions parked for a human decision (read-only). Deciding is deliberately impossible over MCP: whoever proposes an action must never be able to approve it; a human runs `delego approve ID` or `delego deny ID`. To learn how an approval ended, call delego_resolve_action with the same action. Each entry has id, summary, instruction, rule, action_fingerprint and created_at; returned as {\"result\": [...]}, or {\"result\": {\"error\": \"setup_required\", …}}.",
            no_arguments(),
            list_output,
            ("List actions awaiting a human", true, false, true, false),
        ),
        tool(
            SHOW_POLICY,
            "Show the policy in force: version, default, forbidden (each name and match) and rules (each name, decision, match and constraints) — or {\"error\": \"setup_required\", …} when the delego home is not initialised.",
            no_arguments(),
            dict_output,
            ("Show the policy in force", true, false, true, false),
        ),
    ]
}

/// `(title, read-only, destructive, idempotent, open world)`.
type Hints = (&'static str, bool, bool, bool, bool);

fn tool(
    name: &'static str,
    description: &'static str,
    input: serde_json::Value,
    output: serde_json::Value,
    hints: Hints,
) -> Tool {
    let (title, read_only, destructive, idempotent, open_world) = hints;
    Tool::new(name, description, Arc::new(object(input)))
        .with_raw_output_schema(Arc::new(object(output)))
        .with_annotations(
            ToolAnnotations::with_title(title)
                .read_only(read_only)
                .destructive(destructive)
                .idempotent(idempotent)
                .open_world(open_world),
        )
}

fn object(value: serde_json::Value) -> JsonObject {
    match value {
        serde_json::Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// `{"params": {<fields>}}`, both levels closed to unknown fields.
fn params_schema(fields: &serde_json::Value, required: &[&str]) -> serde_json::Value {
    let mut params = json!({"type": "object", "properties": fields, "additionalProperties": false});
    if !required.is_empty() {
        params["required"] = json!(required);
    }
    json!({
        "type": "object",
        "properties": {"params": params},
        "required": ["params"],
        "additionalProperties": false
    })
}

fn no_arguments() -> serde_json::Value {
    json!({"type": "object", "properties": {}, "additionalProperties": false})
}

// -------------------------------------------------------------- arguments

/// A tool call, its arguments read.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Propose(ProposedAction),
    Resolve {
        approval_id: String,
        action: ProposedAction,
    },
    AuditTail {
        lines: u64,
    },
    Pending,
    ShowPolicy,
}

const ACTION_KEYS: [&str; 4] = ["instruction", "method", "url", "params"];
const RESOLVE_KEYS: [&str; 5] = ["approval_id", "instruction", "method", "url", "params"];

/// Reads a call to `name`; the error says which field is wrong and why.
pub fn read_call(name: &str, arguments: Option<&JsonObject>) -> Result<Call, String> {
    let args = match arguments {
        None => Map::new(),
        Some(arguments) => {
            if let Some(path) = inexact_number(&serde_json::Value::Object(arguments.clone()), "") {
                return Err(format!(
                    "'{path}': a number of magnitude 2^63 or more cannot cross MCP exactly; send it as a string"
                ));
            }
            // Through our own strict parser, which refuses what canonical
            // JSON cannot hash (NaN, lone surrogates, excessive depth).
            let text = serde_json::to_string(arguments)
                .map_err(|e| format!("the arguments cannot be read: {e}"))?;
            match parse(&text).map_err(|e| format!("the arguments cannot be read: {e}"))? {
                Value::Object(map) => map,
                _ => return Err("the arguments must be an object".into()),
            }
        }
    };
    match name {
        PROPOSE => {
            let params = params_of(&args, &ACTION_KEYS)?;
            Ok(Call::Propose(action(params)?))
        }
        RESOLVE => {
            let params = params_of(&args, &RESOLVE_KEYS)?;
            Ok(Call::Resolve {
                approval_id: text(params, "approval_id", true)?,
                action: action(params)?,
            })
        }
        AUDIT_TAIL => {
            let params = params_of(&args, &["lines"])?;
            let lines = match params.get("lines") {
                None => LINES_DEFAULT,
                Some(value) => value
                    .as_i64()
                    .and_then(|n| u64::try_from(n).ok())
                    .filter(|n| (1..=LINES_MAX).contains(n))
                    .ok_or_else(|| {
                        format!("params.lines must be an integer from 1 to {LINES_MAX}")
                    })?,
            };
            Ok(Call::AuditTail { lines })
        }
        PENDING | SHOW_POLICY => {
            if let Some(key) = args.keys().next() {
                return Err(format!("unknown field '{key}': {name} takes no arguments"));
            }
            Ok(if name == PENDING {
                Call::Pending
            } else {
                Call::ShowPolicy
            })
        }
        _ => Err(format!(
            "unknown tool {name:?} (the tools are {PROPOSE}, {RESOLVE}, {AUDIT_TAIL}, {PENDING} and {SHOW_POLICY})"
        )),
    }
}

/// The path of a number the SDK may have read inexactly: a float of
/// magnitude 2^63 or more, which is what an integer outside 64 bits becomes.
fn inexact_number(value: &serde_json::Value, path: &str) -> Option<String> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    match value {
        serde_json::Value::Number(n) if n.is_f64() => n
            .as_f64()
            .filter(|x| x.abs() >= LIMIT)
            .map(|_| path.to_owned()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| inexact_number(v, &format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let path = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            inexact_number(v, &path)
        }),
        _ => None,
    }
}

/// The `params` object, which must hold only `allowed` keys.
fn params_of<'a>(args: &'a Map, allowed: &[&str]) -> Result<&'a Map, String> {
    if let Some(key) = args.keys().find(|k| k.as_str() != "params") {
        return Err(format!(
            "unknown field '{key}': the arguments are one object, 'params'"
        ));
    }
    let params = match args.get("params") {
        None => return Err("missing field 'params'".into()),
        Some(Value::Object(params)) => params,
        Some(_) => return Err("'params' must be an object".into()),
    };
    if let Some(key) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "unknown field 'params.{key}' (allowed: {})",
            allowed.join(", ")
        ));
    }
    Ok(params)
}

/// A string field, stripped; `non_empty` refuses one that is blank.
fn text(params: &Map, field: &str, non_empty: bool) -> Result<String, String> {
    match params.get(field) {
        None => Err(format!("missing field 'params.{field}'")),
        Some(Value::String(s)) => {
            let s = python_strip(s);
            if non_empty && s.is_empty() {
                Err(format!("'params.{field}' must not be empty"))
            } else {
                Ok(s.to_owned())
            }
        }
        Some(_) => Err(format!("'params.{field}' must be a string")),
    }
}

fn action(params: &Map) -> Result<ProposedAction, String> {
    Ok(ProposedAction {
        instruction: text(params, "instruction", true)?,
        method: text(params, "method", true)?,
        url: text(params, "url", false)?,
        params: match params.get("params") {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err("'params.params' must be an object".into()),
        },
    })
}

// ---------------------------------------------------------------- results

/// Runs `call` on `backend` and shapes the answer.
pub fn run(backend: &dyn FirewallBackend, call: Call, caller: Option<&Caller>) -> CallToolResult {
    let list_shaped = matches!(call, Call::AuditTail { .. } | Call::Pending);
    let answer = match call {
        Call::Propose(action) => backend.propose(action, caller).map(decision),
        Call::Resolve {
            approval_id,
            action,
        } => backend.resolve(&approval_id, action).map(decision),
        Call::AuditTail { lines } => backend.audit_tail(lines).map(list),
        Call::Pending => backend
            .pending(caller)
            .map(|records| list(records.iter().map(pending_entry).collect())),
        Call::ShowPolicy => backend.policy().map(Shaped::Object),
    };
    match answer {
        Ok(shaped) => success(shaped),
        Err(BackendError::SetupRequired(detail)) => {
            let mut payload = Map::new();
            payload.insert("error".into(), "setup_required".into());
            payload.insert("detail".into(), detail.into());
            payload.insert("fix".into(), SETUP_FIX.into());
            let payload = Value::Object(payload);
            success(if list_shaped {
                Shaped::Wrapped(payload)
            } else {
                Shaped::Object(payload)
            })
        }
        Err(BackendError::Failed(message)) => failure(message),
    }
}

/// A tool-level error the agent reads (not a protocol error).
pub fn failure(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// An answer in the reference's result shapes: an object as it is; a list
/// as `{"result": [...]}` with one text block per item; an object standing
/// in for a list (setup required) as `{"result": {...}}`.
enum Shaped {
    Object(Value),
    List(Vec<Value>),
    Wrapped(Value),
}

fn list(items: Vec<Value>) -> Shaped {
    Shaped::List(items)
}

fn success(shaped: Shaped) -> CallToolResult {
    let (structured, blocks) = match shaped {
        Shaped::Object(value) => (value.clone(), vec![value]),
        Shaped::List(items) => (wrap(Value::Array(items.clone())), items),
        Shaped::Wrapped(value) => (wrap(value.clone()), vec![value]),
    };
    // The text is our canonical JSON (exact at any number size); the
    // structured copy goes through the SDK's JSON.
    let content = blocks
        .iter()
        .map(|v| ContentBlock::text(to_canonical_string(v)))
        .collect();
    let mut result = CallToolResult::success(content);
    result.structured_content = serde_json::from_str(&to_canonical_string(&structured)).ok();
    result
}

fn wrap(value: Value) -> Value {
    let mut m = Map::new();
    m.insert("result".into(), value);
    Value::Object(m)
}

/// A decision with the reference's keys; a broker refusal says so in a
/// `note`, as the reference's refusal payload does.
fn decision(mut value: Value) -> Shaped {
    if let Value::Object(m) = &mut value {
        // The API's extra key; the reference's decision has no such key.
        m.remove("receipt_seq");
        let refused = m.get("outcome").and_then(Value::as_str) == Some(Outcome::Deny.as_str())
            && m.get("executed") == Some(&Value::Bool(false))
            && m.get("reasons")
                .and_then(Value::as_array)
                .and_then(<[Value]>::last)
                .and_then(Value::as_str)
                .is_some_and(is_broker_refusal);
        if refused {
            m.insert(
                "note".into(),
                "the broker did not carry the action out (fail-closed); the refusal is a deny receipt in the audit ledger".into(),
            );
        }
    }
    Shaped::Object(value)
}

/// A pending approval as the reference lists it, plus the §7.2 reason and
/// expiry when the policy set them.
fn pending_entry(record: &ApprovalRecord) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), record.id.as_str().into());
    m.insert("summary".into(), record.summary.as_str().into());
    m.insert("instruction".into(), record.instruction.as_str().into());
    m.insert("rule".into(), record.rule.clone().into());
    m.insert(
        "action_fingerprint".into(),
        record.action_fingerprint.as_str().into(),
    );
    m.insert("created_at".into(), record.created_at.as_str().into());
    if let Some(reason) = &record.reason {
        m.insert("reason".into(), reason.as_str().into());
    }
    if let Some(expiry) = record.expires_micros {
        m.insert(
            "expires_at".into(),
            delego_firewall::time::format_utc(expiry).into(),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use delego_firewall::api::keys::Role;

    fn args(text: &str) -> JsonObject {
        match serde_json::from_str(text).unwrap() {
            serde_json::Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn read(name: &str, text: &str) -> Result<Call, String> {
        read_call(name, Some(&args(text)))
    }

    #[test]
    fn strings_are_stripped_as_python_strips_them() {
        let call = read(
            PROPOSE,
            r#"{"params":{"instruction":"\u001c do it \u3000","method":" post ","url":" https://h/x\n","params":{"k":" v "}}}"#,
        )
        .unwrap();
        let Call::Propose(action) = call else {
            panic!("{call:?}")
        };
        assert_eq!(action.instruction, "do it");
        assert_eq!(action.method, "post");
        assert_eq!(action.url, "https://h/x");
        // Values inside params are the agent's, untouched.
        assert_eq!(action.params["k"].as_str(), Some(" v "));
        let Call::Resolve { approval_id, .. } = read(
            RESOLVE,
            r#"{"params":{"approval_id":" apr_1 ","instruction":"i","method":"GET","url":"https://h"}}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(approval_id, "apr_1");
    }

    #[test]
    fn bad_arguments_are_refused_with_the_field_named() {
        let cases = [
            (PROPOSE, r#"{}"#, "missing field 'params'"),
            (PROPOSE, r#"{"params":[]}"#, "'params' must be an object"),
            (
                PROPOSE,
                r#"{"params":{"method":"GET","url":"u"}}"#,
                "missing field 'params.instruction'",
            ),
            (
                PROPOSE,
                r#"{"params":{"instruction":"i","method":"\t","url":"u"}}"#,
                "'params.method' must not be empty",
            ),
            (
                PROPOSE,
                r#"{"params":{"instruction":"i","method":"GET","url":1}}"#,
                "'params.url' must be a string",
            ),
            (
                PROPOSE,
                r#"{"params":{"instruction":"i","method":"GET","url":"u","param":{}}}"#,
                "unknown field 'params.param'",
            ),
            (
                PROPOSE,
                r#"{"params":{"instruction":"i","method":"GET","url":"u","params":[1]}}"#,
                "'params.params' must be an object",
            ),
            (
                PROPOSE,
                r#"{"params":{"instruction":"i","method":"GET","url":"u"},"x":1}"#,
                "unknown field 'x'",
            ),
            (
                RESOLVE,
                r#"{"params":{"approval_id":" ","instruction":"i","method":"GET","url":"u"}}"#,
                "'params.approval_id' must not be empty",
            ),
            (AUDIT_TAIL, r#"{"params":{"lines":0}}"#, "params.lines"),
            (AUDIT_TAIL, r#"{"params":{"lines":201}}"#, "params.lines"),
            (AUDIT_TAIL, r#"{"params":{"lines":1e1}}"#, "params.lines"),
            (
                AUDIT_TAIL,
                r#"{"params":{"n":1}}"#,
                "unknown field 'params.n'",
            ),
            (PENDING, r#"{"params":{}}"#, "takes no arguments"),
            (SHOW_POLICY, r#"{"x":null}"#, "takes no arguments"),
            ("delego_approve", r#"{}"#, "unknown tool"),
            (
                PROPOSE,
                r#"{"params":{"instruction":"i","method":"GET","url":"u","params":{"a":[1, 123456789012345678901234]}}}"#,
                "'params.params.a[1]': a number of magnitude 2^63",
            ),
        ];
        for (name, text, expected) in cases {
            let problem = read(name, text).unwrap_err();
            assert!(problem.contains(expected), "{name} {text}: {problem}");
        }
    }

    #[test]
    fn numbers_within_64_bits_cross_exactly() {
        let Call::Propose(action) = read(
            PROPOSE,
            r#"{"params":{"instruction":"i","method":"GET","url":"u","params":{"a":18446744073709551615,"b":-9223372036854775808,"c":2400.0,"d":1e-7}}}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            to_canonical_string(&Value::Object(action.params)),
            r#"{"a":18446744073709551615,"b":-9223372036854775808,"c":2400.0,"d":1e-07}"#
        );
    }

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            read(AUDIT_TAIL, r#"{"params":{}}"#),
            Ok(Call::AuditTail { lines: 20 })
        );
        assert_eq!(
            read(AUDIT_TAIL, r#"{"params":{"lines":200}}"#),
            Ok(Call::AuditTail { lines: 200 })
        );
        assert_eq!(read_call(PENDING, None), Ok(Call::Pending));
        assert_eq!(read(SHOW_POLICY, "{}"), Ok(Call::ShowPolicy));
    }

    #[test]
    fn no_tool_decides_and_the_hints_match_the_reference() {
        let tools = catalogue();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, [PROPOSE, RESOLVE, AUDIT_TAIL, PENDING, SHOW_POLICY]);
        for tool in &tools {
            let hints = tool.annotations.clone().unwrap();
            let writes = matches!(tool.name.as_ref(), PROPOSE | RESOLVE);
            assert_eq!(hints.read_only_hint, Some(!writes));
            assert_eq!(hints.destructive_hint, Some(writes));
            assert_eq!(hints.idempotent_hint, Some(!writes));
            assert_eq!(hints.open_world_hint, Some(writes));
            assert!(tool.output_schema.is_some());
        }
    }

    /// Canned answers; records the caller it was given.
    struct Canned {
        answer: Result<Value, BackendError>,
        seen: std::sync::Mutex<Vec<Option<String>>>,
    }

    impl FirewallBackend for Canned {
        fn propose(&self, _: ProposedAction, caller: Option<&Caller>) -> Answer<Value> {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(caller.map(|c| c.name.clone()));
            }
            self.answer.clone()
        }
        fn resolve(&self, _: &str, _: ProposedAction) -> Answer<Value> {
            self.answer.clone()
        }
        fn audit_tail(&self, _: u64) -> Answer<Vec<Value>> {
            self.answer.clone().map(|v| vec![v.clone(), v])
        }
        fn pending(&self, _: Option<&Caller>) -> Answer<Vec<ApprovalRecord>> {
            self.answer.clone().map(|_| Vec::new())
        }
        fn policy(&self) -> Answer<Value> {
            self.answer.clone()
        }
    }

    use super::super::backend::Answer;

    fn canned(answer: Result<Value, BackendError>) -> Canned {
        Canned {
            answer,
            seen: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn structured(result: &CallToolResult) -> Value {
        parse(&result.structured_content.as_ref().unwrap().to_string()).unwrap()
    }

    fn propose_call() -> Call {
        Call::Propose(ProposedAction {
            instruction: "i".into(),
            method: "GET".into(),
            url: "https://h".into(),
            params: Map::new(),
        })
    }

    #[test]
    fn results_have_the_reference_shapes() {
        let decision = parse(
            r#"{"outcome":"deny","rule":"r","reasons":["matched","broker did not execute: no credential"],"intent_hash":"a","action_fingerprint":"b","approval_id":null,"executed":false,"result":null,"token":null,"receipt_seq":7}"#,
        )
        .unwrap();
        let agent = Caller {
            name: "agent-1".into(),
            role: Role::Agent,
        };
        let backend = canned(Ok(decision));
        let result = run(&backend, propose_call(), Some(&agent));
        assert_eq!(result.is_error, Some(false));
        let value = structured(&result);
        let m = value.as_object().unwrap();
        assert!(!m.contains_key("receipt_seq"));
        assert!(m["note"].as_str().unwrap().contains("fail-closed"));
        assert_eq!(backend.seen.lock().unwrap()[0].as_deref(), Some("agent-1"));

        // A list: wrapped in "result", one text block per item.
        let tail = run(&backend, Call::AuditTail { lines: 2 }, None);
        assert_eq!(tail.content.len(), 2);
        assert_eq!(
            structured(&tail).as_object().unwrap()["result"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let none = run(&backend, Call::Pending, None);
        assert!(none.content.is_empty());
        assert_eq!(to_canonical_string(&structured(&none)), r#"{"result":[]}"#);
    }

    #[test]
    fn setup_required_and_failures() {
        let backend = canned(Err(BackendError::SetupRequired("no policy".into())));
        let object = structured(&run(&backend, Call::ShowPolicy, None));
        assert_eq!(
            object.as_object().unwrap()["error"].as_str(),
            Some("setup_required")
        );
        assert_eq!(
            object.as_object().unwrap()["detail"].as_str(),
            Some("no policy")
        );
        let wrapped = structured(&run(&backend, Call::Pending, None));
        let inner = &wrapped.as_object().unwrap()["result"];
        assert_eq!(
            inner.as_object().unwrap()["error"].as_str(),
            Some("setup_required")
        );

        let backend = canned(Err(BackendError::Failed("store unavailable".into())));
        let failed = run(&backend, propose_call(), None);
        assert_eq!(failed.is_error, Some(true));
        assert!(failed.structured_content.is_none());
    }
}
