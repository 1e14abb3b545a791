//! The MCP server handler: lists the tools and runs a call on the backend,
//! off the async workers (every backend call blocks until durable).

use std::sync::Arc;

use axum::http::request::Parts;
use delego_firewall::api::keys::Caller;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::args::read_call;
use super::backend::FirewallBackend;
use super::results::{failure, run};
use super::tools::catalogue;

/// Told to the client at start-up.
const INSTRUCTIONS: &str = "delego is an authorization firewall. Propose every action to \
delego_propose_action before touching a service, and act only on its decision. A \
'needs_approval' outcome waits for a human, who decides outside MCP; then complete it with \
delego_resolve_action and the identical action.";

/// The delego MCP server over one backend.
#[derive(Clone)]
pub struct DelegoMcp {
    backend: Arc<dyn FirewallBackend>,
    /// Over `/mcp` every call must carry the key the transport
    /// authenticated; a call without one is refused.
    authenticated: bool,
}

impl DelegoMcp {
    /// For `delego mcp` (stdio): the caller is the home's owner.
    pub fn local(backend: Arc<dyn FirewallBackend>) -> DelegoMcp {
        DelegoMcp {
            backend,
            authenticated: false,
        }
    }

    /// For `/mcp`: each call acts as the key its request presented.
    pub fn authenticated(backend: Arc<dyn FirewallBackend>) -> DelegoMcp {
        DelegoMcp {
            backend,
            authenticated: true,
        }
    }
}

impl ServerHandler for DelegoMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("delego", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(catalogue()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        catalogue().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // The HTTP transport hands over the request's parts, where the
        // `/mcp` guard put the authenticated caller.
        let caller = context
            .extensions
            .get::<Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned();
        if self.authenticated && caller.is_none() {
            return Ok(failure("refused: this call carries no authenticated key").into());
        }
        let call = match read_call(&request.name, request.arguments.as_ref()) {
            Ok(call) => call,
            Err(problem) => {
                return Ok(failure(format!("invalid call to {}: {problem}", request.name)).into())
            }
        };
        tracing::info!(
            tool = %request.name,
            key = caller.as_ref().map_or("-", |c| c.name.as_str()),
            "MCP tool call"
        );
        let backend = self.backend.clone();
        let result =
            tokio::task::spawn_blocking(move || run(backend.as_ref(), call, caller.as_ref()))
                .await
                .unwrap_or_else(|_| failure("the call was interrupted before it answered"));
        if result.is_error == Some(true) {
            tracing::warn!(tool = %request.name, "MCP tool call refused or failed");
        }
        Ok(result.into())
    }
}
