//! JSON error responses, and which status each log error maps to. A broken
//! store is never described to the client: its details go to the log.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use delego_spec::json::{to_canonical_string, Map, Value};

use crate::error::LogError;

/// An HTTP error with a JSON body `{"error": message, ...extra}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub extra: Map,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            extra: Map::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// Adds a member to the body.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.extra.insert(key.to_owned(), value.into());
        self
    }
}

/// A JSON response body in canonical form.
pub(crate) fn json(status: StatusCode, body: Map) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        to_canonical_string(&Value::Object(body)),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = self.extra;
        body.insert("error".into(), self.message.into());
        json(self.status, body)
    }
}

impl From<LogError> for ApiError {
    fn from(error: LogError) -> ApiError {
        use LogError as E;
        let status = match &error {
            E::IndexOutOfRange { .. }
            | E::SizesOutOfOrder { .. }
            | E::EmptyOldTree
            | E::EmptyAppend
            | E::TooManyLeaves { .. }
            | E::LeafTooLarge { .. }
            | E::NotAReceipt { .. } => StatusCode::BAD_REQUEST,
            E::SizeBeyondTree { .. } | E::UnknownLeafHash | E::NotStandalone => {
                StatusCode::NOT_FOUND
            }
            E::AppendGap { .. } | E::AppendConflict { .. } => StatusCode::CONFLICT,
            // Not an error of the request: the same request succeeds later.
            E::NotWitnessedYet { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%error, "request failed");
            return ApiError::new(status, "internal error; see the log server's log");
        }
        let api = ApiError::new(status, error.to_string());
        match error {
            E::AppendGap { size, .. } | E::AppendConflict { size, .. } => {
                api.with("next_index", size)
            }
            _ => api,
        }
    }
}

/// Any unrouted path or method.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such resource")
}
