//! `POST /v1/approvals/callback`: a signed approve/deny from a human
//! approval surface (spec §7.3). No bearer key: the signature by a
//! configured approver key is the authentication, and nothing else decides.
//! A malformed callback is 400, an unverifiable one 401, one after its
//! window 409 — each leaves the approval as it was. The deciding name is
//! the approver's, never an API key's, and it may not be the proposer's.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use delego_spec::json::Value;

use super::error::{json, ApiError};
use super::{blocking, body_json, read_body, Shared};
use crate::delivery::{verify_callback, CallbackError};
use crate::store::LedgerStore;

pub(super) async fn callback<S: LedgerStore>(
    State(state): State<Shared<S>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Some(delivery) = state.delivery.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "approval callbacks are not configured (approvals.json)",
        ));
    };
    let body = body_json(&headers, &read_body(body)?)?;
    let approval_id = body
        .as_object()
        .and_then(|m| m.get("approval_id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let firewall = state.firewall.clone();
    let now_seconds = firewall.now_micros().div_euclid(1_000_000);
    let record = blocking(move || {
        let issued = delivery
            .book
            .lookup(&approval_id)
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
        let verified = verify_callback(
            &body,
            issued.as_ref(),
            &delivery.config.approvers,
            now_seconds,
        )
        .map_err(|e| {
            let status = match e {
                CallbackError::Malformed(_) => StatusCode::BAD_REQUEST,
                CallbackError::Unverifiable(_) => StatusCode::UNAUTHORIZED,
                CallbackError::Expired { .. } => StatusCode::CONFLICT,
            };
            ApiError::new(status, e.to_string())
        })?;
        let current = firewall
            .store()
            .approval(&verified.approval_id)
            .map_err(crate::engine::FirewallError::from)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such approval"))?;
        if current.proposed_by.as_deref() == Some(verified.approver.as_str()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "the approver proposed this action; it cannot decide it",
            ));
        }
        firewall
            .decide(
                &verified.approval_id,
                verified.approve,
                &verified.approver,
                verified.note.as_deref(),
            )?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such approval"))
    })
    .await?;
    Ok(json(StatusCode::OK, &record.to_value()))
}
