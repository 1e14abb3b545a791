//! delego as an MCP server, on the official Rust SDK (`rmcp`): `delego mcp`
//! over stdio, and `/mcp` (Streamable HTTP) on `delego serve`.
//!
//! It offers the reference's five tools — propose, resolve, audit tail,
//! pending, show policy — with their names, input schemas, annotations and
//! result shapes. It must never offer a way to approve or deny: the agent
//! that proposes an action must not be able to release it (spec §7.3); a
//! human decides through the CLI or the API with an approver key.
//!
//! `delego mcp` sends each call through the running `delego serve` of its
//! home when there is one, so one writer decides for every agent and rate
//! limits stay exact; otherwise it opens the home itself for that call.
//! stdout belongs to the protocol: logs go to stderr only.

mod args;
mod backend;
mod http;
pub(crate) mod remote;
mod results;
mod server;
mod tools;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rmcp::ServiceExt as _;

pub use http::mount;

/// `delego serve`'s default log filter: the MCP SDK reports every
/// stateless request at info, which would drown the server's own lines.
pub const LOG_FILTER: &str = "info,rmcp=warn";

use crate::exit::Outcome;
use crate::home::Home;
use backend::HomeBackend;
use server::DelegoMcp;

/// `delego mcp`: serves MCP on stdin/stdout until the client closes stdin.
pub fn run(home: &Home) -> anyhow::Result<Outcome> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    // Held here as well, so the backend (and any blocking HTTP client in
    // it) is dropped after the runtime, outside async code.
    let backend: Arc<HomeBackend> = Arc::new(HomeBackend::new(home));
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let served = runtime.block_on(async {
        let running = DelegoMcp::local(backend.clone())
            .serve(rmcp::transport::stdio())
            .await
            .context("the MCP handshake on stdio failed")?;
        running
            .waiting()
            .await
            .context("the MCP server stopped abnormally")
    });
    // Lets a decision still being committed finish; bounded, since a read
    // of stdin may still be parked if the client vanished without EOF.
    runtime.shutdown_timeout(Duration::from_secs(10));
    served?;
    drop(backend);
    Ok(Outcome::Success)
}
