//! Running a log as a server: the HTTP API on a bound listener and the
//! sequencer, both until one shutdown signal, then a graceful stop (in-flight
//! requests finish; the sequencer ends between ticks). It never binds a
//! socket itself: the caller does, and reports the address.

use std::future::Future;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::log::Log;

/// Serves `log` on `listener` and runs its sequencer until `shutdown`
/// completes; returns once both have stopped.
pub async fn run_server(
    log: Log,
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
    let sequencer = log.spawn_sequencer(until_stopped(stopped.clone()));
    let served = axum::serve(listener, log.router())
        .with_graceful_shutdown(until_stopped(stopped))
        .await;
    signal.abort();
    if sequencer.await.is_err() {
        tracing::error!("the sequencer task failed");
    }
    served
}
