//! The firewall's HTTP API (`/v1`, JSON), for agents, approvers and
//! auditors, over one [`Firewall`]. Every call authenticates a bearer key
//! and checks its role; an agent key can never approve or deny, and no key
//! may approve what it proposed (spec §7.3 trust boundary).
//!
//! Handlers only translate: the engine decides, the store persists. The
//! engine blocks until durable, so it runs on the blocking pool.

mod callback;
pub mod error;
mod inbox;
pub mod keys;
pub mod metrics;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use axum::Router;
use delego_spec::json::{parse, Map, Value};
use delego_spec::ProposedAction;

use crate::decision::Decision;
use crate::engine::Firewall;
use crate::store::LedgerStore;
use error::{json, ApiError};
use keys::{ApiKeys, Caller, Role};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The current API keys (re-read by the implementation when they change,
/// so a revocation takes effect without a restart).
pub trait KeySource: Send + Sync + 'static {
    fn keys(&self) -> Result<Arc<ApiKeys>, String>;
}

/// Fixed keys.
impl KeySource for ApiKeys {
    fn keys(&self) -> Result<Arc<ApiKeys>, String> {
        Ok(Arc::new(self.clone()))
    }
}

/// What the handlers share.
pub struct ApiState<S: LedgerStore> {
    pub firewall: Arc<Firewall<S>>,
    pub keys: Arc<dyn KeySource>,
    /// Spec §7.3 approval delivery (webhook + signed callbacks), if set up.
    pub delivery: Option<Arc<crate::delivery::ApprovalDelivery>>,
    /// What `/metrics` exposes.
    pub metrics: Arc<metrics::Metrics>,
}

type Shared<S> = Arc<ApiState<S>>;

/// The OpenAPI 3.1 document of these routes: data kept beside the router
/// and checked against the live server by `firewall/tests/api.rs`.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn metrics_text<S: LedgerStore>(
    State(state): State<Shared<S>>,
) -> Result<Response, ApiError> {
    let firewall = state.firewall.clone();
    let now = firewall.now_micros();
    let pending = blocking(move || {
        Ok(firewall
            .store()
            .pending_approvals()
            .map_err(crate::engine::FirewallError::from)?
            .iter()
            .filter(|r| r.status_at(now).as_str() == "pending")
            .count())
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(pending),
    )
        .into_response())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The `/v1` routes and `/healthz`.
pub fn router<S: LedgerStore>(state: Shared<S>) -> Router {
    Router::new()
        .merge(inbox::routes::<S>())
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics_text::<S>))
        .route("/v1/actions", post(propose::<S>))
        .route("/v1/approvals", get(pending::<S>))
        .route("/v1/approvals/callback", post(callback::callback::<S>))
        .route("/v1/approvals/{id}/resolve", post(resolve::<S>))
        .route("/v1/approvals/{id}/approve", post(approve::<S>))
        .route("/v1/approvals/{id}/deny", post(deny::<S>))
        .route("/v1/receipts", get(receipts::<S>))
        .route("/v1/policy", get(policy::<S>))
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// The caller, if its key is valid and its role is one of `roles` (an
/// admin key passes every check). Also guards `/mcp` (see the CLI).
pub fn authorize<S: LedgerStore>(
    state: &ApiState<S>,
    headers: &HeaderMap,
    roles: &[Role],
) -> Result<Caller, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing bearer key (Authorization: Bearer <key>)",
            )
        })?;
    let keys = state.keys.keys().map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("API keys unavailable: {e}"),
        )
    })?;
    let caller = keys
        .authenticate(token.trim())
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unknown or revoked key"))?;
    if caller.role == Role::Admin || roles.contains(&caller.role) {
        Ok(caller)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("a {} key cannot do this", caller.role.as_str()),
        ))
    }
}

/// The body, or the JSON error for one that could not be read (too large).
fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the body is larger than {MAX_BODY_BYTES} bytes")
        } else {
            format!("cannot read the body: {rejection}")
        };
        ApiError::new(status, message)
    })
}

/// The JSON body, strictly parsed.
fn body_json(headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "the body is not UTF-8"))?;
    parse(text).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
        )
    })
}

fn action_of(value: &Value) -> Result<ProposedAction, ApiError> {
    ProposedAction::from_value(value)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
}

/// Runs blocking engine work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request was interrupted",
        )
    })?
}

fn decision_response(decision: &Decision) -> Response {
    let mut value = decision.to_value();
    if let (Value::Object(m), Some(seq)) = (&mut value, decision.receipt_seq) {
        m.insert("receipt_seq".into(), seq.into());
    }
    json(StatusCode::OK, &value)
}

async fn propose<S: LedgerStore>(
    State(state): State<Shared<S>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, &[Role::Agent])?;
    let action = action_of(&body_json(&headers, &read_body(body)?)?)?;
    let firewall = state.firewall.clone();
    let delivery = state.delivery.clone();
    let started = std::time::Instant::now();
    let (decision, notification) = blocking(move || {
        let decision = firewall.propose_as(action, Some(&caller.name))?;
        // A parked action's nonce is synced before anyone is told of it; a
        // failure to notify never fails the (already durable) decision.
        let notification = match (&delivery, &decision.approval_id) {
            (Some(delivery), Some(id))
                if decision.outcome == delego_spec::Outcome::NeedsApproval =>
            {
                let record = firewall.store().approval(id).ok().flatten();
                record.and_then(|record| {
                    let nonce = hex::encode(
                        rand_core::RngCore::next_u64(&mut rand_core::OsRng).to_be_bytes(),
                    ) + &hex::encode(
                        rand_core::RngCore::next_u64(&mut rand_core::OsRng).to_be_bytes(),
                    );
                    let now = firewall.now_micros().div_euclid(1_000_000);
                    match delivery.issue(&record, now, nonce) {
                        Ok(body) => Some((delivery.clone(), body)),
                        Err(error) => {
                            tracing::error!(%error, "cannot issue an approval notification");
                            None
                        }
                    }
                })
            }
            _ => None,
        };
        Ok((decision, notification))
    })
    .await?;
    state
        .metrics
        .record_decision(decision.outcome, started.elapsed(), decision.receipt_seq);
    if let Some((delivery, body)) = notification {
        delivery.send(body);
    }
    Ok(decision_response(&decision))
}

async fn resolve<S: LedgerStore>(
    State(state): State<Shared<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, &[Role::Agent])?;
    let value = body_json(&headers, &read_body(body)?)?;
    // `{"action": {...}}` or the action itself.
    let action = action_of(
        value
            .as_object()
            .and_then(|m| m.get("action"))
            .unwrap_or(&value),
    )?;
    let firewall = state.firewall.clone();
    let started = std::time::Instant::now();
    let decision = blocking(move || Ok(firewall.resolve(&id, action)?)).await?;
    state
        .metrics
        .record_decision(decision.outcome, started.elapsed(), decision.receipt_seq);
    Ok(decision_response(&decision))
}

async fn pending<S: LedgerStore>(
    State(state): State<Shared<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = authorize(&state, &headers, &[Role::Agent, Role::Approver])?;
    let firewall = state.firewall.clone();
    let now = firewall.now_micros();
    let records = blocking(move || {
        Ok(firewall
            .store()
            .pending_approvals()
            .map_err(crate::engine::FirewallError::from)?)
    })
    .await?;
    let items = records
        .iter()
        // An agent sees only what it proposed.
        .filter(|r| caller.role != Role::Agent || r.proposed_by.as_deref() == Some(&caller.name))
        .map(|r| {
            let mut value = r.to_value();
            if let Value::Object(m) = &mut value {
                m.insert("status".into(), r.status_at(now).as_str().into());
            }
            value
        })
        .collect();
    let mut body = Map::new();
    body.insert("approvals".into(), Value::Array(items));
    Ok(json(StatusCode::OK, &Value::Object(body)))
}

async fn decide<S: LedgerStore>(
    state: Shared<S>,
    id: String,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    approve: bool,
) -> Result<Response, ApiError> {
    let mut caller = authorize(&state, &headers, &[Role::Approver])?;
    // The server's local admin acts for a named human (`delego approve --as
    // NAME` routed through the server); no other role may rename itself.
    if let Some(name) = headers.get("x-delego-approver") {
        if caller.role != Role::Admin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "only an admin key may decide as a named approver",
            ));
        }
        caller.name = name
            .to_str()
            .ok()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "X-Delego-Approver must be a non-empty name",
                )
            })?
            .to_owned();
    }
    let body = read_body(body)?;
    let note = if body.is_empty() {
        None
    } else {
        match body_json(&headers, &body)? {
            Value::Object(m) => match m.get("note") {
                None | Some(Value::Null) => None,
                Some(Value::String(note)) => Some(note.clone()),
                Some(_) => {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "field 'note' must be a string",
                    ))
                }
            },
            _ => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "the body must be a JSON object",
                ))
            }
        }
    };
    let firewall = state.firewall.clone();
    let record = blocking(move || {
        let current = firewall
            .store()
            .approval(&id)
            .map_err(crate::engine::FirewallError::from)?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no approval {id}")))?;
        if current.proposed_by.as_deref() == Some(caller.name.as_str()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "a key cannot approve or deny an action it proposed",
            ));
        }
        firewall
            .decide(&id, approve, &caller.name, note.as_deref())?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no approval {id}")))
    })
    .await?;
    Ok(json(StatusCode::OK, &record.to_value()))
}

async fn approve<S: LedgerStore>(
    State(state): State<Shared<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    decide(state, id, headers, body, true).await
}

async fn deny<S: LedgerStore>(
    State(state): State<Shared<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    decide(state, id, headers, body, false).await
}

async fn receipts<S: LedgerStore>(
    State(state): State<Shared<S>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, &[Role::Auditor])?;
    let number = |name: &str, default: u64| -> Result<u64, ApiError> {
        match query.iter().find(|(k, _)| k == name) {
            None => Ok(default),
            Some((_, v)) => v.parse().map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("query parameter '{name}' must be a non-negative integer"),
                )
            }),
        }
    };
    // `tail=N`: the newest N receipts, for a caller that does not know the
    // head; otherwise `from`/`limit` page forward.
    let given = |name: &str| query.iter().any(|(k, _)| k == name);
    if given("tail") && given("from") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "query parameters 'tail' and 'from' exclude each other",
        ));
    }
    let tail = if given("tail") {
        Some(number("tail", 0)?.min(1_000))
    } else {
        None
    };
    let from = number("from", 0)?;
    let limit = number("limit", 100)?.min(1_000) as usize;
    let firewall = state.firewall.clone();
    let receipts = blocking(move || {
        let store = firewall.store();
        let (from, limit) = match tail {
            None => (from, limit),
            Some(n) => {
                let head = store.head().map_err(crate::engine::FirewallError::from)?;
                let next = head.map_or(0, |h| h.seq + 1);
                (next.saturating_sub(n), n as usize)
            }
        };
        Ok(store
            .receipts(from, limit)
            .map_err(crate::engine::FirewallError::from)?)
    })
    .await?;
    let items = receipts
        .iter()
        .map(|r| parse(&r.canonical_json()).unwrap_or(Value::Null))
        .collect();
    let mut body = Map::new();
    body.insert("receipts".into(), Value::Array(items));
    Ok(json(StatusCode::OK, &Value::Object(body)))
}

/// The policy in force, summarised (any valid key).
async fn policy<S: LedgerStore>(
    State(state): State<Shared<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(
        &state,
        &headers,
        &[Role::Agent, Role::Approver, Role::Auditor],
    )?;
    let summary = crate::policy_summary::policy_summary(state.firewall.policy().policy());
    Ok(json(StatusCode::OK, &summary))
}
