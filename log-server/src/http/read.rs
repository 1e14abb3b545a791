//! The tlog-tiles read API: the checkpoint, tiles and entry bundles, with
//! the caching the spec asks for; and the witness status. Nothing beyond the
//! latest checkpoint's tree is ever served.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use delego_spec::json::{Map, Value};
use delego_spec::merkle::TilePath;

use super::error::{json, ApiError};
use crate::log::Log;

/// A tile's bytes never change: a partial tile of width W is a prefix of
/// every later version of that tile, so it is as immutable as a full one.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint changes with every integration and cosignature.
const MUTABLE: &str = "no-cache";

pub(crate) async fn checkpoint(State(log): State<Log>) -> Response {
    let latest = log.latest_checkpoint();
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, MUTABLE),
        ],
        latest.note.clone(),
    )
        .into_response()
}

/// The newest checkpoint the trust policy counts as witnessed, with its
/// cosignatures (404 until there is one): what auditors pin.
pub(crate) async fn witnessed_checkpoint(State(log): State<Log>) -> Result<Response, ApiError> {
    let witnessed = log
        .latest_witnessed()
        .ok_or_else(|| ApiError::not_found("no checkpoint is witnessed yet"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, MUTABLE),
        ],
        witnessed.note.clone(),
    )
        .into_response())
}

pub(crate) async fn tile(
    State(log): State<Log>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(path) = path.map_err(|e| ApiError::not_found(e.body_text()))?;
    let full_path = format!("tile/{path}");
    let parsed: TilePath = full_path
        .parse()
        .map_err(|e| ApiError::not_found(format!("{e}")))?;
    let bytes = match parsed {
        TilePath::Tile(tile) => log.tile(tile)?,
        TilePath::Entries(bundle) => log.entry_bundle(bundle)?,
    };
    let bytes = bytes.ok_or_else(|| {
        ApiError::not_found(format!(
            "{full_path} is not part of the tree of size {}",
            log.size()
        ))
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        bytes,
    )
        .into_response())
}

pub(crate) async fn witnesses(State(log): State<Log>) -> Response {
    let reports: Vec<Value> = log
        .witness_reports()
        .into_iter()
        .map(|report| {
            let mut map = Map::new();
            map.insert("name".into(), report.name.into());
            map.insert("url".into(), report.url.into());
            map.insert("known_size".into(), report.known_size.into());
            map.insert("cosigned".into(), report.cosigned.into());
            map.insert("conflicts".into(), report.conflicts.into());
            map.insert("refused".into(), report.refused.into());
            map.insert("failures".into(), report.failures.into());
            map.insert(
                "last_error".into(),
                report.last_error.map_or(Value::Null, Value::from),
            );
            Value::Object(map)
        })
        .collect();
    let mut body = Map::new();
    body.insert(
        "witnessed_size".into(),
        log.latest_witnessed()
            .map_or(Value::Null, |w| w.checkpoint.size.into()),
    );
    body.insert("witnesses".into(), Value::Array(reports));
    json(StatusCode::OK, body)
}
