//! `POST /v1/append` on a standalone log, and `GET /v1/append` for where
//! the next append starts.
//!
//! Request: `Authorization: Bearer <token>` and a JSON body
//! `{"first_index": N, "leaves": ["<base64>", ...]}`, each leaf the standard
//! base64 of the exact leaf bytes (a receipt's canonical JSON). Bytes, not
//! JSON objects, so that the log stores what the firewall hashed and never
//! re-serialises it. Answers 200 `{"next_index": count}` once the leaves are
//! synced; 401 without the right token (checked before the body is read);
//! 413 for a body over 64 MiB; 400 for a malformed body or a leaf that is
//! not a receipt with its index as seq; 409 `{"error", "next_index"}` when
//! the append does not continue the log.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use delego_spec::json::{parse, Map, Value};

use super::error::{json, ApiError};
use crate::log::Log;

fn unauthorized(message: &str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// The request's leaves, decoded.
fn parse_body(body: &[u8]) -> Result<(u64, Vec<Vec<u8>>), ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("body is not UTF-8"))?;
    let value = parse(text).map_err(|e| ApiError::bad_request(format!("body is not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::bad_request("body must be a JSON object"))?;
    if let Some(unknown) = object
        .keys()
        .find(|k| *k != "first_index" && *k != "leaves")
    {
        return Err(ApiError::bad_request(format!("unknown member {unknown:?}")));
    }
    let first_index = match object.get("first_index") {
        Some(Value::Number(delego_spec::json::Number::Int(n))) => n.as_u64(),
        _ => None,
    }
    .ok_or_else(|| ApiError::bad_request("first_index must be a non-negative integer"))?;
    let leaves = object
        .get("leaves")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("leaves must be an array of base64 strings"))?;
    let leaves = leaves
        .iter()
        .enumerate()
        .map(|(i, leaf)| {
            leaf.as_str()
                .and_then(|b64| STANDARD.decode(b64).ok())
                .ok_or_else(|| ApiError::bad_request(format!("leaves[{i}] is not standard base64")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((first_index, leaves))
}

/// The largest body read: 10,000 receipts of a few hundred bytes, base64.
const BODY_LIMIT: usize = 64 << 20;

/// The append token check, shared by both append routes: the refusal, or
/// `None` when the token is right.
fn refusal(log: &Log, headers: &header::HeaderMap) -> Option<Response> {
    if !log.accepts_appends() {
        return Some(unauthorized(
            "appends are disabled: the log has no append token",
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return Some(unauthorized("a bearer token is required"));
    };
    if !log.append_token_matches(token) {
        return Some(unauthorized("the bearer token is not valid"));
    }
    None
}

/// `GET /v1/append`: `{"next_index": count}`, the index the next append
/// must start at (the appender's view of the log's size, with the same
/// token, so a firewall can resume after a restart).
pub(crate) async fn next_index(State(log): State<Log>, headers: header::HeaderMap) -> Response {
    if let Some(response) = refusal(&log, &headers) {
        return response;
    }
    let mut body = Map::new();
    body.insert("next_index".into(), log.entry_count().into());
    json(StatusCode::OK, body)
}

pub(crate) async fn append(State(log): State<Log>, request: Request) -> Response {
    // The token is checked before the body is read.
    if let Some(response) = refusal(&log, request.headers()) {
        return response;
    }
    let body = match axum::body::to_bytes(request.into_body(), BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => {
            let message = format!("the body is unreadable or larger than {BODY_LIMIT} bytes");
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message).into_response();
        }
    };
    let (first_index, leaves) = match parse_body(&body) {
        Ok(parsed) => parsed,
        Err(error) => return error.into_response(),
    };
    let appender = log.clone();
    let appended = tokio::task::spawn_blocking(move || appender.append(first_index, &leaves)).await;
    match appended {
        Ok(Ok(next_index)) => {
            let mut body = Map::new();
            body.insert("next_index".into(), next_index.into());
            json(StatusCode::OK, body)
        }
        Ok(Err(error)) => ApiError::from(error).into_response(),
        Err(_) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the append was interrupted",
        )
        .into_response(),
    }
}
