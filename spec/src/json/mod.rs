//! JSON values as delego hashes and signs them.
//!
//! This module owns the in-memory JSON model ([`Value`]), a strict parser, and
//! the two serialisations the wire format needs: the canonical form that is
//! hashed and signed (§3), and the reference's default `json.dumps` form used in
//! its JSONL ledger. It never touches `serde_json`: serde_json's float output and
//! its optional `preserve_order`/`arbitrary_precision` features would change
//! bytes that are signed.

mod canonical;
mod float;
mod number;
mod parse;
mod python;
mod value;

pub use canonical::{
    to_canonical_string, write_canonical, write_canonical_object, write_canonical_str,
};
pub use float::python_float_repr;
pub use number::{Float, Int, Number, NumberError};
pub use parse::{parse, ParseError, MAX_DEPTH, MAX_INT_DIGITS};
pub use python::{python_eq, python_repr, python_str, python_type_name, write_python_default};
pub use value::{Map, Value};
