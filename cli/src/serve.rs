//! `delego serve`: the one process that owns a home's store, serving the
//! HTTP API. Graceful shutdown on SIGTERM/SIGINT: in-flight requests finish
//! and the engine drains before the store closes.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use delego_firewall::api::{router, ApiState};

use crate::exit::Outcome;
use crate::home::Home;
use crate::keys_cmd::HomeKeys;

pub fn run(home: &Home, listen: &str) -> anyhow::Result<Outcome> {
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen:?} is not an address like 127.0.0.1:7300"))?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(crate::mcp::LOG_FILTER)),
        )
        .with_writer(std::io::stderr)
        .init();
    // Built before the runtime: the engine and any blocking broker client
    // must not be created on an async worker.
    let firewall = Arc::new(home.start(false, None)?);
    let state = Arc::new(ApiState {
        firewall: firewall.clone(),
        keys: Arc::new(HomeKeys::new(home)),
    });
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        // The first line is for scripts and tests that bind port 0.
        println!("listening on {bound}");
        tracing::info!(%bound, home = %home.dir.display(), "delego serve started");
        axum::serve(listener, crate::mcp::mount(router(state.clone()), &state))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("the server failed")
    })?;
    drop(runtime);
    firewall.shutdown();
    tracing::info!("delego serve stopped");
    Ok(Outcome::Success)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}
