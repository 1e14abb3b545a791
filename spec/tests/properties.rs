//! Property tests of the wire-format invariants that hashing relies on.

use delego_spec::json::{
    parse, python_float_repr, to_canonical_string, Float, Int, Map, Number, Value,
};
use delego_spec::text::python_splitlines;
use delego_spec::url::{canonical_query, unquote_plus};
use proptest::prelude::*;

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        (-1e6f64..1e6f64),
        Just(0.0),
        Just(-0.0),
        (any::<i32>(), -30i32..30).prop_map(|(m, e)| f64::from(m) * 10f64.powi(e)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "-?[1-9][0-9]{18,40}"
            .prop_map(|d| Value::Number(Number::Int(Int::from_decimal(&d).expect("digits")))),
        finite_f64().prop_map(|f| Value::Number(Number::Float(Float::new(f).expect("finite")))),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Canonical text parses back to the same value and is a fixed point.
    #[test]
    fn canonical_round_trips(value in json_value()) {
        let text = to_canonical_string(&value);
        let reparsed = parse(&text).expect("canonical output is JSON");
        prop_assert_eq!(&reparsed, &value);
        prop_assert_eq!(to_canonical_string(&reparsed), text);
    }

    /// Canonical text has no insignificant whitespace and escapes exactly
    /// `"`, `\` and C0 controls.
    #[test]
    fn canonical_strings_escape_only_what_python_does(s in any::<String>()) {
        let text = to_canonical_string(&Value::String(s.clone()));
        let inner = &text[1..text.len() - 1];
        prop_assert!(!inner.chars().any(|c| c < ' '));
        let unescaped_len: usize = s.chars().map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if c < ' ' => 6,
            c => c.len_utf8(),
        }).sum();
        prop_assert_eq!(inner.len(), unescaped_len);
    }

    /// Python's float repr reads back to the same double, and follows its
    /// layout: exponent form only outside [1e-4, 1e16), always a '.' or 'e'.
    #[test]
    fn float_repr_round_trips(f in finite_f64()) {
        let repr = python_float_repr(f);
        prop_assert_eq!(repr.parse::<f64>().expect("parses"), f);
        prop_assert!(repr.contains('.') || repr.contains('e'));
        let magnitude = f.abs();
        let exponent_form = repr.contains('e');
        if magnitude != 0.0 {
            prop_assert_eq!(exponent_form, !(1e-4..1e16).contains(&magnitude), "{}", repr);
        }
    }

    /// Integers and floats never collapse into each other.
    #[test]
    fn int_and_float_stay_apart(i in any::<i32>()) {
        let int = to_canonical_string(&Value::from(i64::from(i)));
        let float = to_canonical_string(&Value::Number(Number::Float(Float::new(f64::from(i)).expect("finite"))));
        prop_assert_ne!(int, float);
    }

    /// Text with no '%' or '+' is unchanged by query decoding; the canonical
    /// query is sorted and keeps every pair.
    #[test]
    fn query_folding_invariants(pairs in prop::collection::vec(("[a-z0-9._~-]{0,6}", "[a-z0-9._~-]{0,6}"), 0..8)) {
        for (name, value) in &pairs {
            prop_assert_eq!(&unquote_plus(name), name);
            prop_assert_eq!(&unquote_plus(value), value);
        }
        let query: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let folded = canonical_query(&query.join("&"));
        if pairs.is_empty() {
            prop_assert!(folded.is_empty());
        } else {
            prop_assert_eq!(folded.len(), pairs.len());
            prop_assert!(folded.windows(2).all(|w| w[0] <= w[1]));
        }
    }

    /// Percent-encoding any text and decoding it gives the text back.
    #[test]
    fn unquote_plus_inverts_percent_encoding(s in any::<String>()) {
        let encoded: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
        prop_assert_eq!(unquote_plus(&encoded), s);
    }

    /// Lines each ended by '\n' split back into the same lines.
    #[test]
    fn splitlines_inverts_joining(lines in prop::collection::vec("[^\n\r\u{b}\u{c}\u{1c}-\u{1e}\u{85}\u{2028}\u{2029}]{0,12}", 1..6)) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let split: Vec<&str> = python_splitlines(&text).collect();
        let expected: Vec<&str> = lines.iter().map(String::as_str).collect();
        prop_assert_eq!(split, expected);
    }
}
