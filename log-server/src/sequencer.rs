//! The sequencer loop: integrate, then run a witnessing round, then wait for
//! the interval (or a nudge) — until shutdown.
//!
//! Integration runs on a blocking thread (RocksDB and fsync block). A failed
//! tick is logged and retried at the next one; nothing it wrote is partial,
//! since every write is one atomic batch. The loop never blocks the async
//! runtime on storage.

use std::future::Future;

use tokio::task::JoinHandle;

use crate::log::Log;
use crate::witness;

impl Log {
    /// Runs the sequencer on the current tokio runtime until `shutdown`
    /// completes.
    pub fn spawn_sequencer(
        &self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let log = self.clone();
        tokio::spawn(async move {
            let client = match witness::client(log.inner.witness_timeout) {
                Ok(client) => client,
                Err(error) => {
                    tracing::error!(%error, "the sequencer cannot start");
                    return;
                }
            };
            tokio::pin!(shutdown);
            loop {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = log.tick(&client) => {}
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(log.inner.interval) => {}
                    () = log.inner.nudge.notified() => {}
                }
            }
            tracing::info!("sequencer stopped");
        })
    }

    /// One integration and, when there are witnesses, one witnessing round.
    async fn tick(&self, client: &reqwest::Client) {
        let log = self.clone();
        match tokio::task::spawn_blocking(move || log.integrate_now()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::error!(%error, "integration failed"),
            Err(error) => tracing::error!(%error, "integration was interrupted"),
        }
        if self.inner.witnesses.is_empty() {
            return;
        }
        if let Err(error) = self.witness_now(client).await {
            tracing::error!(%error, "storing cosignatures failed");
        }
    }
}
