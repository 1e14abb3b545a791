//! JSON numbers: exact integers of any size and finite floats, kept apart so
//! that `2400` and `2400.0` stay different bytes, as they are in the reference.

use std::fmt;

use super::float::python_float_repr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("NaN and Infinity are not JSON numbers")]
    NonFinite,
    #[error("not an integer literal: {0:?}")]
    BadInteger(String),
}

/// An exact integer. Values outside `i64` keep their normalised decimal digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Int(IntRepr);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum IntRepr {
    Small(i64),
    /// Normalised decimal text: optional `-`, no leading zeros, never `-0`,
    /// and always outside the `i64` range.
    Big(Box<str>),
}

impl Int {
    /// Parses a decimal integer literal (`-?[0-9]+`). Leading zeros are
    /// accepted and dropped, and `-0` becomes `0`, as Python's `int()` does.
    pub fn from_decimal(text: &str) -> Result<Int, NumberError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NumberError::BadInteger(text.to_owned()));
        }
        if let Ok(small) = text.parse::<i64>() {
            return Ok(Int(IntRepr::Small(small)));
        }
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return Ok(Int(IntRepr::Small(0)));
        }
        let normalised = if negative {
            format!("-{trimmed}")
        } else {
            trimmed.to_owned()
        };
        // Leading zeros may have hidden a value that does fit after all.
        if let Ok(small) = normalised.parse::<i64>() {
            return Ok(Int(IntRepr::Small(small)));
        }
        Ok(Int(IntRepr::Big(normalised.into_boxed_str())))
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.0 {
            IntRepr::Small(v) => Some(*v),
            IntRepr::Big(_) => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match &self.0 {
            IntRepr::Small(v) => u64::try_from(*v).ok(),
            IntRepr::Big(text) => text.parse::<u64>().ok(),
        }
    }

    pub fn is_zero(&self) -> bool {
        matches!(self.0, IntRepr::Small(0))
    }

    pub fn is_negative(&self) -> bool {
        match &self.0 {
            IntRepr::Small(v) => *v < 0,
            IntRepr::Big(text) => text.starts_with('-'),
        }
    }

    /// The nearest `f64`, as Python's `float(int)` rounds it (or `None` when it
    /// overflows, where Python raises `OverflowError`).
    pub fn to_f64(&self) -> Option<f64> {
        let value = match &self.0 {
            IntRepr::Small(v) => return Some(*v as f64),
            IntRepr::Big(text) => text.parse::<f64>().ok()?,
        };
        value.is_finite().then_some(value)
    }
}

impl From<i64> for Int {
    fn from(v: i64) -> Self {
        Int(IntRepr::Small(v))
    }
}

impl From<u64> for Int {
    fn from(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(small) => Int(IntRepr::Small(small)),
            Err(_) => Int(IntRepr::Big(v.to_string().into_boxed_str())),
        }
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            IntRepr::Small(v) => write!(f, "{v}"),
            IntRepr::Big(text) => f.write_str(text),
        }
    }
}

/// A finite IEEE-754 double. NaN and ±Infinity cannot be constructed, so they
/// can never reach a hash (the reference would write `NaN`, which is not JSON).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Float(f64);

impl Float {
    pub fn new(value: f64) -> Result<Float, NumberError> {
        if value.is_finite() {
            Ok(Float(value))
        } else {
            Err(NumberError::NonFinite)
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Float {
    /// Python's `repr(float)`: `2400.0`, `1e+16`, `1e-07`, `-0.0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&python_float_repr(self.0))
    }
}

/// A JSON number: an exact integer or a finite float, never conflated.
#[derive(Clone, Debug, PartialEq)]
pub enum Number {
    Int(Int),
    Float(Float),
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => i.fmt(f),
            Number::Float(x) => x.fmt(f),
        }
    }
}
