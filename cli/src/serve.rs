//! `delego serve`: the one process that owns a home's store, serving the
//! HTTP API and running the home's embedded transparency log (its read API
//! under `/log`, its sequencer pushing checkpoints to the witnesses). Graceful shutdown on SIGTERM/SIGINT: in-flight requests finish
//! and the engine drains before the store closes.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use delego_firewall::api::metrics::{LogGauges, Metrics};
use delego_firewall::api::{router, ApiState};
use delego_firewall::delivery::{ApprovalDelivery, DeliveryConfig, NonceBook};
use delego_firewall::sink::ReceiptSink;

use crate::daemon_socket::{self, DaemonState};
use crate::exit::Outcome;
use crate::home::Home;
use crate::keys_cmd::HomeKeys;
use crate::tlog::{self, AppendSink, EmbeddedSink, LogMode};

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
    let store = home.open_store()?;
    let (log, anchoring) = match LogMode::load(home)? {
        LogMode::Embedded(settings) => {
            let log = tlog::open(&store, settings.config)?;
            let anchoring = settings.anchored.map(|timeout| {
                let sink: Arc<dyn ReceiptSink> =
                    Arc::new(EmbeddedSink::new(store.clone(), log.clone()));
                (sink, Some(timeout))
            });
            (Some(log), anchoring)
        }
        LogMode::Standalone(standalone) => {
            let sink: Arc<dyn ReceiptSink> = Arc::new(AppendSink::new(&standalone)?);
            tracing::info!(log = %standalone.url, "receipts go to a standalone log");
            (None, Some((sink, standalone.anchored)))
        }
    };
    let firewall = Arc::new(home.start_on(store, false, None, anchoring)?);
    // The local admin key of this run: in server.json (0600) for the CLI
    // and `delego mcp` of this home, never in api_keys.json.
    let mut session_keys = delego_firewall::api::keys::ApiKeys::default();
    let mut random = [0u8; 24];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
    let session_token = session_keys.add(
        crate::keys_cmd::SESSION_ADMIN,
        delego_firewall::api::keys::Role::Admin,
        random,
        delego_firewall::time::format_utc(firewall.now_micros()),
    )?;
    let state = Arc::new(ApiState {
        firewall: firewall.clone(),
        keys: Arc::new(HomeKeys::with_session(home, session_keys)),
        delivery: approval_delivery(home)?,
        metrics: Metrics::new(),
    });
    if let Some(log) = &log {
        let log = log.clone();
        state.metrics.set_log_source(move || LogGauges {
            size: log.size(),
            witnessed_size: log.latest_witnessed().map_or(0, |w| w.checkpoint.size),
        });
    }
    let socket = daemon_socket::socket_path(&home.dir)?;
    let daemon = Arc::new(DaemonState {
        firewall: firewall.clone(),
        ledger_key: home.verifying_key()?,
    });
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        // The reference's daemon socket: its CLI and DaemonClient route here.
        let daemon_listener = daemon_socket::bind(&socket).await?;
        let daemon_task = tokio::spawn(daemon_socket::serve(daemon_listener, daemon));
        // One signal stops both the server and the sequencer.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            // A dropped sender is a stop too.
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let shutdown = crate::log_cmd::shutdown_signal()?;
        let signal = tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let sequencer = log
            .as_ref()
            .map(|log| log.spawn_sequencer(until_stopped(stopped.clone())));
        // Checkpoint latency: watch the witnessed size move.
        let watcher = log.clone().map(|log| {
            let metrics = state.metrics.clone();
            tokio::spawn(async move {
                loop {
                    let size = log.latest_witnessed().map_or(0, |w| w.checkpoint.size);
                    metrics.observe_witnessed(size);
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            })
        });
        // The first line is for scripts and tests that bind port 0.
        let mut announcement = format!("listening on {bound}\n");
        let mut app = crate::mcp::mount(router(state.clone()), &state);
        if let Some(log) = &log {
            announcement.push_str(&format!("log key: {}\n", log.verifier_key()));
            app = app.nest("/log", log.router());
        }
        let server_file =
            crate::client::ServerFile::write(home, &format!("http://{bound}"), &session_token)?;
        // A reader that stopped after the first line must not stop the server.
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(announcement.as_bytes())
            .and_then(|()| stdout.flush());
        drop(stdout);
        tracing::info!(%bound, home = %home.dir.display(), "delego serve started");
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(until_stopped(stopped))
            .await
            .context("the server failed");
        signal.abort();
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        drop(server_file);
        daemon_task.abort();
        let _ = std::fs::remove_file(&socket);
        if let Some(Err(_)) = match sequencer {
            Some(task) => Some(task.await),
            None => None,
        } {
            tracing::error!("the sequencer task failed");
        }
        served
    })?;
    drop(runtime);
    firewall.shutdown();
    tracing::info!("delego serve stopped");
    Ok(Outcome::Success)
}

/// Spec §7.3 approval delivery from `<home>/approvals.json`, if present;
/// issued nonces are kept in `<home>/notifications.jsonl`.
fn approval_delivery(home: &Home) -> anyhow::Result<Option<Arc<ApprovalDelivery>>> {
    let path = home.dir.join("approvals.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let value = delego_spec::json::parse(&text)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let config =
        DeliveryConfig::from_value(&value).with_context(|| format!("{}", path.display()))?;
    let book = NonceBook::open(&home.dir.join("notifications.jsonl"))?;
    Ok(Some(Arc::new(ApprovalDelivery::new(config, book)?)))
}
