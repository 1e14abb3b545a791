//! Canonical JSON (spec §3): the bytes that are hashed and signed.
//!
//! Byte-identical to Python's `json.dumps(obj, sort_keys=True,
//! separators=(",", ":"), ensure_ascii=False)`: keys in code-point order, no
//! whitespace, non-ASCII written raw, and only `"`, `\` and C0 controls
//! escaped (`\n`-style where Python has a short form, else lowercase `\u00XX`).

use std::fmt::Write as _;

use super::value::{Map, Value};

/// The canonical serialisation of `value`.
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_canonical(value, &mut out);
    out
}

/// Appends the canonical serialisation of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_canonical_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => write_canonical_object(map, out),
    }
}

/// Appends the canonical serialisation of a JSON object.
pub fn write_canonical_object(map: &Map, out: &mut String) {
    out.push('{');
    for (i, (key, item)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_canonical_str(key, out);
        out.push(':');
        write_canonical(item, out);
    }
    out.push('}');
}

/// Appends `s` as a canonical JSON string literal (with quotes).
pub fn write_canonical_str(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run_start..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
        run_start = i + 1;
    }
    out.push_str(&s[run_start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn sorts_keys_and_compacts() {
        let v = parse(r#"{"b": [1, 2.0, {"z": null, "a": true}], "a": "x"}"#).unwrap();
        assert_eq!(
            to_canonical_string(&v),
            r#"{"a":"x","b":[1,2.0,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn escapes_like_python() {
        let v = Value::from("a\"b\\c\n\t\u{1}\u{1f}\u{7f}é\u{2028}😀/");
        assert_eq!(
            to_canonical_string(&v),
            "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\u{7f}é\u{2028}😀/\""
        );
    }
}
