//! The API's error answers: a status and a JSON body `{"error": "..."}`
//! naming what was wrong. Never a stack trace.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use delego_spec::json::{to_canonical_string, Map, Value};

use crate::engine::FirewallError;

/// A refused request.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

/// A JSON body with `status`.
pub fn json(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        to_canonical_string(value),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("error".into(), self.message.into());
        json(self.status, &Value::Object(body))
    }
}

impl From<FirewallError> for ApiError {
    fn from(error: FirewallError) -> ApiError {
        let status = match &error {
            FirewallError::InvalidAction(_) => StatusCode::UNPROCESSABLE_ENTITY,
            FirewallError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            FirewallError::Store(_)
            | FirewallError::Log(_)
            | FirewallError::Stopped
            | FirewallError::Signing => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, error.to_string())
    }
}
