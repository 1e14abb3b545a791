//! YAML policy documents read as the reference reads them (PyYAML
//! `safe_load`, YAML 1.1), refusing every place where YAML 1.1 and YAML 1.2
//! would read the document differently.
//!
//! A plain scalar such as `yes`, `on`, `010`, `1e3`, `1_000`, `1:30` or
//! `2026-01-01` means one thing to the reference (YAML 1.1) and another to a
//! YAML 1.2 tool that a policy author may have checked it with. In a security
//! policy that is a guess we refuse to make: the document is rejected with
//! the line, the column and both readings. Likewise refused, rather than
//! silently resolved: duplicate keys, non-string keys, aliases, tags other
//! than `!!str`, multiple documents, and non-finite floats.

use delego_spec::json::{Float, Int, Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A YAML document refused, with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses one YAML document into a JSON value.
pub fn parse_yaml(text: &str) -> Result<Value, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let marker = e.marker();
        return Err(YamlError {
            line: marker.line(),
            column: marker.col() + 1,
            message: e.info().to_owned(),
        });
    }
    if let Some(error) = builder.error {
        return Err(error);
    }
    if builder.documents > 1 {
        return Err(YamlError {
            line: 1,
            column: 1,
            message: "expected a single YAML document, found several".into(),
        });
    }
    Ok(builder.root.unwrap_or(Value::Null))
}

enum Frame {
    Sequence(Vec<Value>),
    /// A mapping and the key awaiting its value.
    Mapping(Map, Option<String>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    documents: usize,
    error: Option<YamlError>,
}

impl Builder {
    fn fail(&mut self, mark: Marker, message: String) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                line: mark.line(),
                column: mark.col() + 1,
                message,
            });
        }
    }

    fn push_value(&mut self, value: Value, mark: Marker) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence(items)) => items.push(value),
            Some(Frame::Mapping(map, pending)) => match pending.take() {
                Some(key) => {
                    map.insert(key, value);
                }
                None => {
                    let Value::String(key) = value else {
                        return self.fail(mark, "mapping keys must be strings".into());
                    };
                    if map.contains_key(&key) {
                        return self.fail(mark, format!("duplicate key {key:?}"));
                    }
                    *pending = Some(key);
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::DocumentStart => self.documents += 1,
            Event::Alias(_) => {
                self.fail(mark, "aliases (*name) are not supported in policies".into())
            }
            Event::Scalar(text, style, _anchor, tag) => {
                if let Some(tag) = tag {
                    let is_str = tag.suffix == "str"
                        && matches!(tag.handle.as_str(), "tag:yaml.org,2002:" | "!!");
                    if !is_str {
                        return self.fail(
                            mark,
                            format!("unsupported tag {}{}", tag.handle, tag.suffix),
                        );
                    }
                    return self.push_value(Value::String(text), mark);
                }
                let value = if style == TScalarStyle::Plain {
                    match resolve_plain(&text) {
                        Ok(value) => value,
                        Err(message) => return self.fail(mark, message),
                    }
                } else {
                    Value::String(text)
                };
                self.push_value(value, mark);
            }
            Event::SequenceStart(_, tag) | Event::MappingStart(_, tag) if tag.is_some() => self
                .fail(
                    mark,
                    "tags on collections are not supported in policies".into(),
                ),
            Event::SequenceStart(..) => self.stack.push(Frame::Sequence(Vec::new())),
            Event::MappingStart(..) => self.stack.push(Frame::Mapping(Map::new(), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                let value = match self.stack.pop() {
                    Some(Frame::Sequence(items)) => Value::Array(items),
                    Some(Frame::Mapping(map, _)) => Value::Object(map),
                    None => return self.fail(mark, "unbalanced collection".into()),
                };
                self.push_value(value, mark);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// A plain scalar's meaning under one YAML version.
#[derive(Debug, Clone, PartialEq)]
enum Reading {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    /// YAML 1.1 only: a timestamp, a merge key `<<` or a value key `=`.
    Special(&'static str),
    Str,
}

impl Reading {
    fn describe(&self, text: &str) -> String {
        match self {
            Reading::Null => "null".into(),
            Reading::Bool(b) => format!("the boolean {b}"),
            Reading::Int(i) => format!("the integer {i}"),
            Reading::Float(f) => format!("the float {f:?}"),
            Reading::Special(what) => (*what).into(),
            Reading::Str => format!("the string {text:?}"),
        }
    }
}

/// Resolves a plain scalar, refusing it when YAML 1.1 and 1.2 disagree.
fn resolve_plain(text: &str) -> Result<Value, String> {
    let (old, new) = (read_yaml11(text), read_yaml12(text));
    let same = match (&old, &new) {
        (Reading::Float(a), Reading::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
        (a, b) => a == b,
    };
    if !same {
        return Err(format!(
            "{text:?} is {} in YAML 1.1 (as the reference reads it) but {} in YAML 1.2; quote it or write it unambiguously",
            old.describe(text),
            new.describe(text)
        ));
    }
    Ok(match old {
        Reading::Null => Value::Null,
        Reading::Bool(b) => Value::Bool(b),
        Reading::Int(i) => Value::Number(Number::Int(
            Int::from_decimal(&i.to_string()).map_err(|e| e.to_string())?,
        )),
        Reading::Float(f) => Value::Number(Number::Float(
            Float::new(f).map_err(|_| format!("{text:?} is not a finite number"))?,
        )),
        Reading::Special(what) => {
            return Err(format!("{text:?} is {what}, which policies do not use"))
        }
        Reading::Str => Value::String(text.to_owned()),
    })
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

fn all(text: &str, pred: impl Fn(u8) -> bool) -> bool {
    !text.is_empty() && text.bytes().all(pred)
}

fn signed(negative: bool, magnitude: i128) -> i128 {
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// PyYAML's implicit resolvers (bool, float, int, merge, null, timestamp,
/// value), in its order.
fn read_yaml11(text: &str) -> Reading {
    if matches!(
        text,
        "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE"
    ) {
        return Reading::Bool(true);
    }
    if matches!(
        text,
        "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE"
    ) {
        return Reading::Bool(false);
    }
    if let Some(f) = yaml11_float(text) {
        return Reading::Float(f);
    }
    if let Some(i) = yaml11_int(text) {
        return i;
    }
    if text == "<<" {
        return Reading::Special("a merge key");
    }
    if matches!(text, "~" | "null" | "Null" | "NULL" | "") {
        return Reading::Null;
    }
    if looks_like_timestamp(text) {
        return Reading::Special("a timestamp");
    }
    if text == "=" {
        return Reading::Special("a value key");
    }
    Reading::Str
}

fn yaml11_float(text: &str) -> Option<f64> {
    let (negative, body) = split_sign(text);
    let lower = body.to_ascii_lowercase();
    if lower == ".inf" && matches!(body, ".inf" | ".Inf" | ".INF") {
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN);
    }
    // [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*  (sexagesimal) — read as Special.
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    if let Some(exp) = exponent {
        // The exponent needs an explicit sign in YAML 1.1.
        let digits = exp.strip_prefix(['+', '-'])?;
        if !exp.starts_with(['+', '-']) || !all(digits, |b| b.is_ascii_digit()) {
            return None;
        }
    }
    let (int_part, frac_part) = mantissa.split_once('.')?;
    let int_ok = if int_part.is_empty() {
        // `\.[0-9][0-9_]*` form: no sign allowed, a digit first.
        !text.starts_with(['+', '-'])
            && frac_part.as_bytes().first().is_some_and(u8::is_ascii_digit)
    } else {
        int_part.as_bytes()[0].is_ascii_digit()
            && all(int_part, |b| b.is_ascii_digit() || b == b'_')
    };
    if !int_ok || !frac_part.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    cleaned.parse::<f64>().ok()
}

fn yaml11_int(text: &str) -> Option<Reading> {
    let (negative, body) = split_sign(text);
    let parse_radix = |digits: &str, radix: u32| -> Option<Reading> {
        let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
        if cleaned.is_empty() {
            return Some(Reading::Int(0));
        }
        i128::from_str_radix(&cleaned, radix)
            .ok()
            .map(|m| Reading::Int(signed(negative, m)))
            .or(Some(Reading::Special("an integer too large to read")))
    };
    if let Some(bits) = body.strip_prefix("0b") {
        return all(bits, |b| matches!(b, b'0' | b'1' | b'_'))
            .then(|| parse_radix(bits, 2))
            .flatten();
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return all(hex, |b| b.is_ascii_hexdigit() || b == b'_')
            .then(|| parse_radix(hex, 16))
            .flatten();
    }
    if body.len() > 1 && body.starts_with('0') {
        return all(&body[1..], |b| matches!(b, b'0'..=b'7' | b'_'))
            .then(|| parse_radix(&body[1..], 8))
            .flatten();
    }
    if body == "0" {
        return Some(Reading::Int(0));
    }
    if body
        .as_bytes()
        .first()
        .is_some_and(|b| (b'1'..=b'9').contains(b))
    {
        if all(body, |b| b.is_ascii_digit() || b == b'_') {
            return parse_radix(body, 10);
        }
        // Sexagesimal `[1-9][0-9_]*(:[0-5]?[0-9])+`.
        let mut parts = body.split(':');
        let head = parts.next()?;
        let tail: Vec<&str> = parts.collect();
        let sexagesimal = all(head, |b| b.is_ascii_digit() || b == b'_')
            && !tail.is_empty()
            && tail.iter().all(|p| {
                matches!(p.len(), 1 | 2)
                    && all(p, |b| b.is_ascii_digit())
                    && (p.len() == 1 || p.as_bytes()[0] <= b'5')
            });
        if sexagesimal {
            return Some(Reading::Special("a base-60 integer"));
        }
    }
    None
}

/// PyYAML's timestamp resolver, loosely: `YYYY-MM-DD` and date-times.
fn looks_like_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit()
}

/// The YAML 1.2 core schema.
fn read_yaml12(text: &str) -> Reading {
    if matches!(text, "null" | "Null" | "NULL" | "~" | "") {
        return Reading::Null;
    }
    if matches!(text, "true" | "True" | "TRUE") {
        return Reading::Bool(true);
    }
    if matches!(text, "false" | "False" | "FALSE") {
        return Reading::Bool(false);
    }
    let (negative, body) = split_sign(text);
    if all(body, |b| b.is_ascii_digit()) {
        return body
            .parse::<i128>()
            .map(|m| Reading::Int(signed(negative, m)))
            .unwrap_or(Reading::Special("an integer too large to read"));
    }
    if let Some(octal) = text.strip_prefix("0o") {
        if all(octal, |b| matches!(b, b'0'..=b'7')) {
            return i128::from_str_radix(octal, 8)
                .map(Reading::Int)
                .unwrap_or(Reading::Special("an integer too large to read"));
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if all(hex, |b| b.is_ascii_hexdigit()) {
            return i128::from_str_radix(hex, 16)
                .map(Reading::Int)
                .unwrap_or(Reading::Special("an integer too large to read"));
        }
    }
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return Reading::Float(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Reading::Float(f64::NAN);
    }
    // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => all(frac, |b| b.is_ascii_digit()),
        Some((int, frac)) => {
            all(int, |b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => all(mantissa, |b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        all(e.strip_prefix(['+', '-']).unwrap_or(e), |b| {
            b.is_ascii_digit()
        })
    });
    if mantissa_ok && exponent_ok {
        if let Ok(f) = text.parse::<f64>() {
            return Reading::Float(f);
        }
    }
    Reading::Str
}

#[cfg(test)]
mod tests {
    use super::*;
    use delego_spec::json::to_canonical_string;

    fn json(yaml: &str) -> String {
        to_canonical_string(&parse_yaml(yaml).unwrap())
    }

    fn refusal(yaml: &str) -> String {
        parse_yaml(yaml).unwrap_err().to_string()
    }

    #[test]
    fn reads_unambiguous_documents() {
        assert_eq!(
            json("version: 1\ndefault: deny # c\nrules:\n  - name: r\n    match: { method: [GET, POST], path: /a/** }\n    constraints:\n      amount: { field: amount, max: 5000.5, currency: USD }\n      allow_list: { field: d, in: [internal, 7, null, true, '010'] }\n"),
            r#"{"default":"deny","rules":[{"constraints":{"allow_list":{"field":"d","in":["internal",7,null,true,"010"]},"amount":{"currency":"USD","field":"amount","max":5000.5}},"match":{"method":["GET","POST"],"path":"/a/**"},"name":"r"}],"version":1}"#
        );
        assert_eq!(json(""), "null");
        assert_eq!(
            json("a: 007\nb: +5\nc: 1.5e+3\nd: 5.\ne: ~\n"),
            r#"{"a":7,"b":5,"c":1500.0,"d":5.0,"e":null}"#
        );
    }

    #[test]
    fn refuses_what_yaml_versions_read_differently() {
        for (doc, fragment) in [
            ("a: yes", "the boolean true in YAML 1.1"),
            ("a: off", "the boolean false in YAML 1.1"),
            ("a: 010", "the integer 8 in YAML 1.1"),
            ("a: 1e3", "the string \"1e3\" in YAML 1.1"),
            ("a: 1_000", "the integer 1000 in YAML 1.1"),
            ("a: 1:30", "a base-60 integer"),
            ("a: 2026-01-01", "a timestamp"),
            ("a: 0o17", "the integer 15 in YAML 1.2"),
            ("a: 0b101", "the integer 5 in YAML 1.1"),
            ("on: x", "the boolean true"),
        ] {
            let message = refusal(doc);
            assert!(message.contains(fragment), "{doc}: {message}");
            assert!(message.starts_with("line 1, column"), "{message}");
        }
    }

    #[test]
    fn refuses_unsafe_structure() {
        assert!(refusal("a: 1\na: 2").contains("duplicate key"));
        assert!(refusal("a: &x 1\nb: *x").contains("aliases"));
        assert!(refusal("1: x").contains("keys must be strings"));
        assert!(refusal("a: !!python/object x").contains("unsupported tag"));
        assert!(refusal("a: .inf").contains("not a finite number"));
        assert!(refusal("a: 1\n---\nb: 2").contains("single YAML document"));
        assert!(refusal("a: [1, 2").contains("line"));
    }
}
