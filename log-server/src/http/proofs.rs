//! Proofs: JSON `GET /v1/proof/inclusion` and `GET /v1/proof/consistency`,
//! and the offline `c2sp.org/tlog-proof@v1` text at `GET /v1/proof/tlog`.
//!
//! Hashes in answers are standard base64 (as in checkpoints and tiles),
//! except `leaf_hash`, which is lowercase hex as it is queried. Query
//! parameters are strict: each known name once, decimals without sign or
//! leading zeros, no percent-encoding (nothing valid needs it). Proofs are
//! computed by the spec crate; this module never hashes.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use delego_spec::json::{Map, Value};
use delego_spec::merkle::Hash;

use super::error::{json, ApiError};
use crate::log::Log;

/// The query's parameters, each known name at most once.
fn parameters<'q>(
    query: Option<&'q str>,
    known: &[&str],
) -> Result<Vec<(&'q str, &'q str)>, ApiError> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').ok_or_else(|| {
            ApiError::bad_request(format!("query parameter {pair:?} has no value"))
        })?;
        if !known.contains(&name) {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {name:?} (expected {})",
                known.join(", ")
            )));
        }
        if out.iter().any(|(seen, _)| *seen == name) {
            return Err(ApiError::bad_request(format!(
                "query parameter {name:?} is repeated"
            )));
        }
        out.push((name, value));
    }
    Ok(out)
}

fn find<'q>(params: &[(&str, &'q str)], name: &str) -> Option<&'q str> {
    params.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// A decimal without sign or leading zeros that fits 64 bits.
fn decimal(name: &str, text: &str) -> Result<u64, ApiError> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name} must be a decimal integer without sign or leading zeros"
            ))
        })
}

fn required(params: &[(&str, &str)], name: &str) -> Result<u64, ApiError> {
    let text = find(params, name)
        .ok_or_else(|| ApiError::bad_request(format!("query parameter {name} is required")))?;
    decimal(name, text)
}

fn leaf_hash(text: &str) -> Result<Hash, ApiError> {
    let bad = || ApiError::bad_request("leaf_hash must be 64 lowercase hex digits");
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(bad());
    }
    hex::decode(text)
        .ok()
        .and_then(|bytes| Hash::try_from(bytes).ok())
        .ok_or_else(bad)
}

fn base64_list(hashes: &[Hash]) -> Value {
    Value::Array(hashes.iter().map(|h| STANDARD.encode(h).into()).collect())
}

/// `index=I&size=N` or `leaf_hash=<hex>&size=N`.
pub(crate) async fn inclusion(
    State(log): State<Log>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = parameters(query.as_deref(), &["index", "leaf_hash", "size"])?;
    let size = required(&params, "size")?;
    let index = match (find(&params, "index"), find(&params, "leaf_hash")) {
        (Some(index), None) => decimal("index", index)?,
        (None, Some(hex)) => log.leaf_index(&leaf_hash(hex)?)?,
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of index and leaf_hash",
            ))
        }
    };
    let proof = log.inclusion_proof(index, size)?;
    let hash = log.leaf_hash(index)?;
    let mut body = Map::new();
    body.insert("index".into(), index.into());
    body.insert("size".into(), size.into());
    body.insert("leaf_hash".into(), hex::encode(hash).into());
    body.insert("root".into(), STANDARD.encode(log.root(size)?).into());
    body.insert("proof".into(), base64_list(&proof));
    Ok(json(StatusCode::OK, body))
}

/// `old=M&new=N`.
pub(crate) async fn consistency(
    State(log): State<Log>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = parameters(query.as_deref(), &["old", "new"])?;
    let (old, new) = (required(&params, "old")?, required(&params, "new")?);
    let proof = log.consistency_proof(old, new)?;
    let mut body = Map::new();
    body.insert("old".into(), old.into());
    body.insert("new".into(), new.into());
    body.insert("old_root".into(), STANDARD.encode(log.root(old)?).into());
    body.insert("new_root".into(), STANDARD.encode(log.root(new)?).into());
    body.insert("proof".into(), base64_list(&proof));
    Ok(json(StatusCode::OK, body))
}

/// `index=I`: the leaf's `c2sp.org/tlog-proof@v1` proof against the newest
/// witnessed checkpoint (503 until one covers it).
pub(crate) async fn tlog_proof(
    State(log): State<Log>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = parameters(query.as_deref(), &["index"])?;
    let index = required(&params, "index")?;
    let text = log.tlog_proof(index)?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parameters() {
        assert_eq!(decimal("n", "0").ok(), Some(0));
        assert_eq!(decimal("n", "120").ok(), Some(120));
        for bad in ["", "01", "+1", "-1", "1 ", "x", "18446744073709551616"] {
            assert!(decimal("n", bad).is_err(), "{bad:?}");
        }
        assert!(parameters(Some("size=1&size=2"), &["size"]).is_err());
        assert!(parameters(Some("sizes=1"), &["size"]).is_err());
        assert!(parameters(Some("size"), &["size"]).is_err());
        assert_eq!(
            parameters(Some("size=1&index=0"), &["size", "index"]).ok(),
            Some(vec![("size", "1"), ("index", "0")])
        );
        assert!(leaf_hash(&"A".repeat(64)).is_err());
        assert!(leaf_hash(&"a".repeat(63)).is_err());
        assert_eq!(leaf_hash(&"ab".repeat(32)).ok(), Some([0xab; 32]));
    }
}
