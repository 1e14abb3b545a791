//! Where committed receipts go before anyone is answered: the transparency
//! log. The engine publishes every committed batch through a
//! [`ReceiptSink`] and acknowledges nothing the sink has not accepted, so a
//! receipt is in the log before the firewall reports it. When the log lives
//! in the same database (embedded mode) committing is publishing and no
//! sink is needed; a standalone log server is reached through one.
//!
//! This module owns the contract only; it never does I/O itself.

use std::time::Duration;

use delego_spec::Receipt;

/// The log refused or could not be reached. The receipts stay committed in
/// the ledger and are published again before anything newer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transparency log: {0}")]
pub struct SinkError(pub String);

/// A transparency log that receipts are appended to, in seq order.
pub trait ReceiptSink: Send + Sync + 'static {
    /// How many leaves the log holds (the seq its next leaf must have).
    fn size(&self) -> Result<u64, SinkError>;

    /// Appends `receipts` (seqs `first_seq..`) and returns once the log has
    /// them durably. Appending leaves the log already holds, identical, is
    /// not an error.
    fn publish(&self, first_seq: u64, receipts: &[Receipt]) -> Result<(), SinkError>;

    /// Blocks until receipt `seq` is covered by a checkpoint the trust policy
    /// counts as witnessed (spec §8.3 anchored durability), or fails after
    /// `timeout`.
    fn wait_witnessed(&self, seq: u64, timeout: Duration) -> Result<(), SinkError>;
}
