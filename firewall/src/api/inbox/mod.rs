//! The approval inbox: a page for human approvers (`/inbox`, plain HTML, a
//! little JS, no build step), the live event stream it listens to
//! (`GET /v1/approvals/events`, server-sent events) and the history of
//! decided approvals with their receipts (`GET /v1/approvals/history`;
//! receipts are looked up in the newest 10,000 of the ledger).
//!
//! The page carries no data: it signs in with an approver key held in the
//! browser's sessionStorage and calls the same `/v1` API as every client,
//! so the trust boundary is the API's (an agent key gets 403 on every
//! inbox call). A strict Content-Security-Policy allows only this origin's
//! script and style, and the script renders agent-supplied text with
//! `textContent` only. The event stream never carries approval contents:
//! it says "changed" and the page re-reads the queue with its key.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use axum::Router;
use delego_spec::json::{Map, Value};

use super::error::{json, ApiError};
use super::keys::Role;
use super::{authorize, blocking, Shared};
use crate::store::LedgerStore;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("style.css");
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// How often the stream looks for a change in the queue.
const POLL: Duration = Duration::from_millis(250);
/// Decided approvals shown, newest first.
const HISTORY: usize = 50;
/// How far back in the ledger the history looks for an approval's
/// receipts (a bounded read, never a ledger scan).
const RECEIPT_WINDOW: u64 = 10_000;

pub(super) fn routes<S: LedgerStore>() -> Router<Shared<S>> {
    Router::new()
        .route("/inbox", get(page))
        .route("/inbox/app.js", get(script))
        .route("/inbox/style.css", get(style))
        .route("/v1/approvals/events", get(events::<S>))
        .route("/v1/approvals/history", get(history::<S>))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    response
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// What a change in the queue looks like: each approval's id, status at
/// `now` and vote count.
fn queue_state<S: LedgerStore>(
    store: &S,
    now: i64,
) -> Result<Vec<(String, String, usize)>, ApiError> {
    let records = store
        .pending_approvals()
        .map_err(crate::engine::FirewallError::from)?;
    Ok(records
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                r.status_at(now).as_str().to_owned(),
                r.votes.len(),
            )
        })
        .collect())
}

async fn events<S: LedgerStore>(
    State(state): State<Shared<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, &[Role::Approver])?;
    let firewall = state.firewall.clone();
    // One event now (the page loads the queue), then one per change; the
    // stream ends when the client goes away (the send fails).
    let stream =
        futures_util::stream::unfold(None, move |last: Option<Vec<(String, String, usize)>>| {
            let firewall = firewall.clone();
            async move {
                loop {
                    if last.is_some() {
                        tokio::time::sleep(POLL).await;
                    }
                    let reader = firewall.clone();
                    let now = reader.now_micros();
                    let current = tokio::task::spawn_blocking(move || {
                        queue_state(reader.store().as_ref(), now)
                    })
                    .await
                    .ok()
                    .and_then(Result::ok);
                    let Some(current) = current else { continue };
                    if last.as_ref() != Some(&current) {
                        let event = Event::default()
                            .event("changed")
                            .data(current.len().to_string());
                        return Some((Ok::<Event, Infallible>(event), Some(current)));
                    }
                }
            }
        });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

async fn history<S: LedgerStore>(
    State(state): State<Shared<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, &[Role::Approver])?;
    let firewall = state.firewall.clone();
    let now = firewall.now_micros();
    let (records, receipts) = blocking(move || {
        let store = firewall.store();
        let fail = crate::engine::FirewallError::from;
        let mut records = store.all_approvals().map_err(fail)?;
        records.retain(|r| r.status_at(now).as_str() != "pending");
        records.sort_by(|a, b| (b.created_micros, &b.id).cmp(&(a.created_micros, &a.id)));
        records.truncate(HISTORY);
        let next = store.head().map_err(fail)?.map_or(0, |h| h.seq + 1);
        let from = next.saturating_sub(RECEIPT_WINDOW);
        let mut receipts = Vec::new();
        let mut at = from;
        while at < next {
            let page = store.receipts(at, 1_000).map_err(fail)?;
            if page.is_empty() {
                break;
            }
            at += page.len() as u64;
            receipts.extend(page.into_iter().filter(|r| {
                r.payload
                    .approval_id
                    .as_deref()
                    .is_some_and(|id| records.iter().any(|rec| rec.id == id))
            }));
        }
        Ok((records, receipts))
    })
    .await?;
    let items = records
        .iter()
        .map(|r| {
            let mut value = r.to_value();
            if let Value::Object(m) = &mut value {
                m.insert("status".into(), r.status_at(now).as_str().into());
                let own = receipts
                    .iter()
                    .filter(|receipt| receipt.payload.approval_id.as_deref() == Some(r.id.as_str()))
                    .map(|receipt| {
                        let mut item = Map::new();
                        item.insert("seq".into(), receipt.payload.seq.into());
                        item.insert("phase".into(), receipt.payload.phase.as_str().into());
                        item.insert("outcome".into(), receipt.payload.outcome.as_str().into());
                        item.insert("entry_hash".into(), receipt.entry_hash.clone().into());
                        Value::Object(item)
                    })
                    .collect();
                m.insert("receipts".into(), Value::Array(own));
            }
            value
        })
        .collect();
    let mut body = Map::new();
    body.insert("approvals".into(), Value::Array(items));
    Ok(json(axum::http::StatusCode::OK, &Value::Object(body)))
}
