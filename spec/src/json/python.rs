//! Python's renderings of JSON values, for the places where the reference
//! shows a value to a human or writes its ledger:
//!
//! - [`write_python_default`]: `json.dumps(obj)` with default settings
//!   (`", "`/`": "` separators, ASCII-only with `\uXXXX` escapes);
//! - [`python_repr`] / [`python_str`]: `repr()` and `str()` of the value
//!   `json.loads` would produce, as interpolated into the reference's messages;
//! - [`python_eq`]: Python `==` between such values (`1 == 1.0 == True`).

use std::fmt::Write as _;

use super::number::Number;
use super::value::Value;

/// Appends Python's default `json.dumps(value)` rendering. Object keys come
/// out in `Value`'s (sorted) order; callers needing insertion order write the
/// object themselves and use this for the members.
pub fn write_python_default(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_ascii_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_default(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_ascii_str(key, out);
                out.push_str(": ");
                write_python_default(item, out);
            }
            out.push('}');
        }
    }
}

/// A JSON string literal with everything outside printable ASCII escaped, as
/// `json.dumps(..., ensure_ascii=True)` writes it.
fn write_ascii_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python's type name for the value `json.loads` would produce.
pub fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(Number::Int(_)) => "int",
        Value::Number(Number::Float(_)) => "float",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `str(value)`: strings bare, everything else as `repr`.
pub fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// Python's `repr(value)` for the value `json.loads` would produce.
pub fn python_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, &mut out);
    out
}

fn write_repr(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str_repr(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(key, out);
                out.push_str(": ");
                write_repr(item, out);
            }
            out.push('}');
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text has a `'` and no `"`;
/// non-printable characters escaped as `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
pub(crate) fn write_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_python_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable()` for one character, approximated by the
/// Unicode general categories it excludes (Cc, Cf, Cs, Co, Cn, Zl, Zp, and
/// every Z* but the ASCII space). Exact for ASCII and Latin-1, and for the
/// common format and separator characters beyond.
fn is_python_printable(c: char) -> bool {
    let code = c as u32;
    match code {
        0x20..=0x7e => true,
        0x00..=0x1f | 0x7f..=0xa0 | 0xad => false,
        0x1680 | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x2066..=0x206f => false,
        0x3000 | 0xfeff | 0xfff9..=0xfffb => false,
        0x180e | 0x061c | 0x110bd | 0x110cd | 0xe0001 | 0xe0020..=0xe007f => false,
        0xd800..=0xdfff | 0xe000..=0xf8ff | 0xf0000..=0x10ffff => false,
        0xfdd0..=0xfdef => false,
        _ => (code & 0xfffe) != 0xfffe,
    }
}

/// Python `==` between two values as `json.loads` produces them: numbers
/// compare by value across int, float and bool; containers element-wise.
pub fn python_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| python_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| python_eq(v, w)))
        }
        _ => match (numeric(a), numeric(b)) {
            (Some(x), Some(y)) => numeric_eq(&x, &y),
            _ => false,
        },
    }
}

enum Numeric<'a> {
    Int(std::borrow::Cow<'a, super::number::Int>),
    Float(f64),
}

fn numeric(value: &Value) -> Option<Numeric<'_>> {
    match value {
        Value::Bool(b) => Some(Numeric::Int(std::borrow::Cow::Owned(i64::from(*b).into()))),
        Value::Number(Number::Int(i)) => Some(Numeric::Int(std::borrow::Cow::Borrowed(i))),
        Value::Number(Number::Float(f)) => Some(Numeric::Float(f.get())),
        _ => None,
    }
}

fn numeric_eq(a: &Numeric<'_>, b: &Numeric<'_>) -> bool {
    match (a, b) {
        (Numeric::Int(x), Numeric::Int(y)) => x == y,
        (Numeric::Float(x), Numeric::Float(y)) => x == y,
        (Numeric::Int(i), Numeric::Float(f)) | (Numeric::Float(f), Numeric::Int(i)) => {
            int_eq_float(i, *f)
        }
    }
}

/// Exact comparison, as Python does it: a float equals an int only if it is
/// integral and its exact value is that integer.
fn int_eq_float(i: &super::number::Int, f: f64) -> bool {
    if f.fract() != 0.0 {
        return false;
    }
    if let Some(small) = i.as_i64() {
        // Every i64 that round-trips through f64 unchanged is exactly
        // representable; compare in i128 to avoid saturation at the ends.
        if (-9.3e18..=9.3e18).contains(&f) {
            return (f as i128) == i128::from(small);
        }
        return false;
    }
    // A big integer equals the float only if the float's exact integer value
    // prints to the same digits.
    format!("{f:.0}") == i.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn default_dumps_escapes_to_ascii() {
        let mut out = String::new();
        write_python_default(&parse(r#"{"b": ["é", "😀"], "a": 1.5}"#).unwrap(), &mut out);
        assert_eq!(out, r#"{"a": 1.5, "b": ["\u00e9", "\ud83d\ude00"]}"#);
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(
            python_repr(&parse(r#"["a", "it's", 1.0, true, null, {"k": "x\n"}]"#).unwrap()),
            r#"['a', "it's", 1.0, True, None, {'k': 'x\n'}]"#
        );
        assert_eq!(python_repr(&Value::from("a'b\"c")), r#"'a\'b"c'"#);
        assert_eq!(
            python_repr(&Value::from("\u{1}\u{85}é\u{2028}")),
            r"'\x01\x85é\u2028'"
        );
    }

    #[test]
    fn equality_is_pythons() {
        let one = parse("1").unwrap();
        assert!(python_eq(&one, &parse("1.0").unwrap()));
        assert!(python_eq(&one, &parse("true").unwrap()));
        assert!(!python_eq(&one, &parse("\"1\"").unwrap()));
        assert!(python_eq(
            &parse("[1, {\"a\": 0}]").unwrap(),
            &parse("[1.0, {\"a\": false}]").unwrap()
        ));
        let big = parse("18446744073709551616").unwrap();
        assert!(python_eq(&big, &parse("1.8446744073709552e19").unwrap()));
        assert!(!python_eq(
            &parse("9007199254740993").unwrap(),
            &parse("9007199254740992.0").unwrap()
        ));
    }
}
