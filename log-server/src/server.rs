//! Running a log as a server: the HTTP API on a bound listener and the
//! sequencer, both until one shutdown signal, then a graceful stop (in-flight
//! requests finish; the sequencer ends between ticks). It never binds a
//! socket itself: the caller does, and reports the address.

use std::future::Future;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::log::Log;

/// Serves `logs` on `listener` and runs their sequencers until `shutdown`
/// completes; returns once all have stopped. A single log is served at the
/// root; several are each served under `/<origin>/`.
pub async fn run_server(
    logs: Vec<Log>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let signal = tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: watch::Receiver<bool>| async move {
        // An error means the sender is gone, which is a stop too.
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let sequencers: Vec<_> = logs
        .iter()
        .map(|log| log.spawn_sequencer(until_stopped(stopped.clone())))
        .collect();
    let router = match logs.as_slice() {
        [only] => only.router(),
        several => several.iter().fold(axum::Router::new(), |router, log| {
            router.nest(&format!("/{}", log.origin()), log.router())
        }),
    };
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(until_stopped(stopped))
        .await;
    signal.abort();
    for sequencer in sequencers {
        if sequencer.await.is_err() {
            tracing::error!("a sequencer task failed");
        }
    }
    served
}
