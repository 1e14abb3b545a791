//! `/mcp` on `delego serve`: MCP over Streamable HTTP, on the serve
//! process's own engine.
//!
//! Authentication: every request carries `Authorization: Bearer <key>` of
//! the API's keys, checked as `/v1` checks them (missing or revoked 401,
//! wrong role 403, revocation effective on the next request). Only an
//! `agent` key (or `admin`) is accepted; the tools act as that key: a
//! proposal records it as the proposer (so it can never approve it), and
//! `delego_pending` shows an agent key only what it proposed. The tools
//! include no way to approve or deny, whatever the key. They are the
//! reference's agent tools, so an agent key reads the audit tail and the
//! policy here, as the reference's MCP server lets its agent do, although
//! `/v1/receipts` is for auditor keys.
//!
//! Stateless, answering in JSON: no session to hijack or leak, nothing kept
//! between requests, and no long-lived stream to hold up a graceful
//! shutdown.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::Router;
use delego_firewall::api::keys::Role;
use delego_firewall::api::{authorize, ApiState, MAX_BODY_BYTES};
use delego_firewall::store::LedgerStore;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

use super::backend::EngineBackend;
use super::server::DelegoMcp;

/// The path MCP clients are configured with.
pub const PATH: &str = "/mcp";

/// `app` with `/mcp` added, over the engine and keys of `state`.
pub fn mount<S: LedgerStore>(app: Router, state: &Arc<ApiState<S>>) -> Router {
    let backend = Arc::new(EngineBackend::new(state.firewall.clone()));
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        // Every request needs a bearer key, which a rebinding page cannot
        // present; and `/v1` does not restrict Host either, so `/mcp` is
        // reachable wherever the API is.
        .disable_allowed_hosts();
    let service = StreamableHttpService::new(
        move || Ok(DelegoMcp::authenticated(backend.clone())),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    app.merge(Router::new().route_service(PATH, service).route_layer(
        middleware::from_fn_with_state(state.clone(), require_agent::<S>),
    ))
}

/// Lets a request through only with an agent (or admin) key, which it then
/// carries to the tools.
async fn require_agent<S: LedgerStore>(
    State(state): State<Arc<ApiState<S>>>,
    mut request: Request,
    next: Next,
) -> Response {
    match authorize(&state, request.headers(), &[Role::Agent]) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refused) => refused.into_response(),
    }
}
