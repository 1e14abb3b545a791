//! The JSON value model: integers and floats are distinct, integers are exact
//! at any size, objects are ordered by key code point.

use std::collections::BTreeMap;

use super::number::{Float, Int, Number};

/// A JSON object. `BTreeMap<String, _>` orders keys by UTF-8 bytes, which is
/// the same order as Unicode code points, so iteration order is canonical.
pub type Map = BTreeMap<String, Value>;

/// A JSON value. Floats are always finite (see [`Float`]), so every `Value` is
/// serialisable as standard JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The value as an `i64` when it is a JSON integer (never a float or bool)
    /// that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(Number::Int(i)) => i.as_i64(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Python truthiness, as the reference's `if value:` tests it.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(Number::Int(i)) => !i.is_zero(),
            Value::Number(Number::Float(f)) => f.get() != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(m) => !m.is_empty(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(Number::Int(Int::from(i)))
    }
}

impl From<u64> for Value {
    fn from(i: u64) -> Self {
        Value::Number(Number::Int(Int::from(i)))
    }
}

impl From<Float> for Value {
    fn from(f: Float) -> Self {
        Value::Number(Number::Float(f))
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}
