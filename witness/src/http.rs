//! The witness's HTTP routes (axum):
//!
//! - `POST <prefix>/add-checkpoint` — c2sp.org/tlog-witness. 200 with the
//!   cosignature line(s) (`text/plain; charset=utf-8`); 409 with the
//!   latest cosigned size (`text/x.tlog.size`); 400/403/404/422 with a JSON
//!   `{"error": "..."}` body (the protocol fixes no body for those); 413
//!   for a body over [`MAX_BODY_BYTES`]; 500 when the witness itself failed.
//! - `GET <prefix>/<origin hash>/checkpoint` — the protocol's monitor
//!   retrieval path: the last cosigned checkpoint of the log whose origin's
//!   SHA-256 is the lowercase-hex `<origin hash>`, with the log signatures
//!   the witness verified and its own cosignature; 404 if there is none.
//!   The monitoring prefix is the submission prefix.
//! - `GET /healthz` — 200 `ok`.
//!
//! This module maps requests to [`Witness`] calls and outcomes to
//! responses; it decides nothing. The blocking work (signature checks, a
//! synced write) runs on tokio's blocking pool.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use delego_spec::json::{to_canonical_string, Map, Value};
use delego_spec::note::{format_size_body, TLOG_SIZE_CONTENT_TYPE};

use crate::refusal::Refusal;
use crate::witness::Witness;

/// The largest request body accepted: a checkpoint with a few signatures
/// and 63 proof lines is under 4 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const TEXT: &str = "text/plain; charset=utf-8";

/// A URL prefix that cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("the URL prefix must be empty or start with '/'")]
    NoLeadingSlash,
    #[error("the URL prefix must not end with '/' or contain an empty segment")]
    EmptySegment,
    #[error("the URL prefix may only hold letters, digits, '-', '.', '_', '~' and '/'")]
    Character,
}

/// Checks a submission (and monitoring) prefix: empty, or `/seg/seg…`.
pub fn check_prefix(prefix: &str) -> Result<(), PrefixError> {
    if prefix.is_empty() {
        return Ok(());
    }
    let rest = prefix
        .strip_prefix('/')
        .ok_or(PrefixError::NoLeadingSlash)?;
    for segment in rest.split('/') {
        if segment.is_empty() {
            return Err(PrefixError::EmptySegment);
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(PrefixError::Character);
        }
    }
    Ok(())
}

/// The routes, under `prefix` (see [`check_prefix`]).
pub fn router(witness: Arc<Witness>, prefix: &str) -> Result<Router, PrefixError> {
    check_prefix(prefix)?;
    Ok(Router::new()
        .route(
            &format!("{prefix}/add-checkpoint"),
            post(add_checkpoint).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route(
            &format!("{prefix}/{{origin_hash}}/checkpoint"),
            get(checkpoint),
        )
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(witness))
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let mut body = Map::new();
    body.insert("error".into(), message.into());
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        to_canonical_string(&Value::Object(body)),
    )
        .into_response()
}

fn refusal_response(refusal: &Refusal) -> Response {
    if let Refusal::Conflict { latest, .. } = refusal {
        return (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, TLOG_SIZE_CONTENT_TYPE)],
            format_size_body(*latest),
        )
            .into_response();
    }
    let status =
        StatusCode::from_u16(refusal.http_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::error!(error = %refusal, "add-checkpoint failed");
    } else {
        tracing::debug!(status = status.as_u16(), reason = %refusal, "add-checkpoint refused");
    }
    json_error(status, &refusal.to_string())
}

async fn add_checkpoint(
    State(witness): State<Arc<Witness>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return json_error(rejection.status(), &rejection.body_text()),
    };
    match tokio::task::spawn_blocking(move || witness.add_checkpoint(&body)).await {
        Ok(Ok(cosigned)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, TEXT)],
            cosigned.body,
        )
            .into_response(),
        Ok(Err(refusal)) => refusal_response(&refusal),
        Err(error) => {
            tracing::error!(%error, "add-checkpoint task failed");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

async fn checkpoint(
    State(witness): State<Arc<Witness>>,
    Path(origin_hash): Path<String>,
) -> Response {
    match witness.cosigned_note_by_hash(&origin_hash) {
        Ok(Some(note)) => (StatusCode::OK, [(header::CONTENT_TYPE, TEXT)], note).into_response(),
        Ok(None) => json_error(
            StatusCode::NOT_FOUND,
            "no checkpoint cosigned for a log with this origin hash",
        ),
        Err(error) => {
            tracing::error!(%error, "cannot read a cosigned checkpoint");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        for good in ["", "/w", "/a/b-c.d_e~f"] {
            assert_eq!(check_prefix(good), Ok(()), "{good:?}");
        }
        assert_eq!(check_prefix("w"), Err(PrefixError::NoLeadingSlash));
        assert_eq!(check_prefix("/"), Err(PrefixError::EmptySegment));
        assert_eq!(check_prefix("/a/"), Err(PrefixError::EmptySegment));
        assert_eq!(check_prefix("/a//b"), Err(PrefixError::EmptySegment));
        assert_eq!(check_prefix("/{x}"), Err(PrefixError::Character));
        assert_eq!(check_prefix("/a*"), Err(PrefixError::Character));
    }
}
