//! Reading a tool call's arguments, strictly: each tool takes one `params`
//! object (none for `delego_pending` and `delego_show_policy`), strings are
//! stripped of surrounding whitespace as Python's `str.strip()` does, and
//! an unknown field — at the top or inside `params` — is refused, never
//! ignored. Stricter than the reference in two ways, both fail-closed: a
//! top-level field other than `params` is refused (the reference ignores
//! it), and `lines` must be a JSON integer (the reference also takes `"5"`
//! or `5.0`).
//!
//! Arguments reach us through the SDK's JSON (serde_json), which reads an
//! integer beyond 64 bits as a float: such a number (any of magnitude
//! 2^63 or more) is refused rather than hashed as a different value.

use delego_spec::json::{parse, Map, Value};
use delego_spec::text::python_strip;
use delego_spec::ProposedAction;
use rmcp::model::JsonObject;

use super::tools::{AUDIT_TAIL, LINES_DEFAULT, LINES_MAX, PENDING, PROPOSE, RESOLVE, SHOW_POLICY};

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

#[cfg(test)]
mod tests {
    use super::*;
    use delego_spec::json::to_canonical_string;

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
}
