//! Persistence behind one trait, so the firewall's state machine runs the
//! same over RocksDB and over memory (for tests).
//!
//! A store owns durability and atomicity: [`LedgerStore::commit`] writes a
//! [`Batch`] — receipts, approval records and the allow index derived from
//! the receipts, in-flight execution reservations — all or nothing, and
//! returns only once it is durable. It never decides anything and never
//! signs anything.

#[cfg(feature = "rocksdb")]
mod allow_window;
mod memory;
#[cfg(feature = "rocksdb")]
mod rocks;

pub use memory::MemoryStore;
#[cfg(feature = "rocksdb")]
pub use rocks::RocksStore;

use delego_spec::Receipt;

use crate::approval::ApprovalRecord;
use crate::reservation::Reservation;

/// A storage failure. The firewall refuses the request; nothing acknowledged
/// is lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage error: {0}")]
pub struct StoreError(pub String);

/// The chain's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub entry_hash: String,
}

/// One atomic state change.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Receipts in seq order, continuing the chain.
    pub receipts: Vec<Receipt>,
    /// Approval records to insert or replace.
    pub approvals: Vec<ApprovalRecord>,
    /// Executions handed to a broker from this batch on.
    pub reserved: Vec<Reservation>,
    /// Reservations whose execution receipt is in this batch.
    pub settled: Vec<u64>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.receipts.is_empty()
            && self.approvals.is_empty()
            && self.reserved.is_empty()
            && self.settled.is_empty()
    }
}

/// Where `allow` receipts are indexed for rate limits: the rule and the
/// receipt's time. Derived from a receipt, so it can never disagree with it.
pub fn allow_index_entry(receipt: &Receipt) -> Result<Option<(String, i64)>, StoreError> {
    let p = &receipt.payload;
    match (&p.rule, p.outcome) {
        (Some(rule), delego_spec::Outcome::Allow) => {
            let micros = crate::time::parse_iso(&p.ts).ok_or_else(|| {
                StoreError(format!("receipt {} has an unreadable ts {:?}", p.seq, p.ts))
            })?;
            Ok(Some((rule.clone(), micros)))
        }
        _ => Ok(None),
    }
}

/// The firewall's persistent state.
pub trait LedgerStore: Send + Sync + 'static {
    /// The last receipt's seq and hash, or `None` for an empty ledger.
    fn head(&self) -> Result<Option<Head>, StoreError>;

    /// `allow` receipts of `rule` at or after `since_micros`, counting at
    /// most `limit`.
    fn count_allows(&self, rule: &str, since_micros: i64, limit: u64) -> Result<u64, StoreError>;

    fn approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError>;

    /// Approvals whose stored status is pending, oldest first.
    fn pending_approvals(&self) -> Result<Vec<ApprovalRecord>, StoreError>;

    /// Every approval record, in no particular order (the inbox's history;
    /// a scan of the approvals, never of the ledger).
    fn all_approvals(&self) -> Result<Vec<ApprovalRecord>, StoreError>;

    /// Up to `limit` receipts from `from_seq` on, in order.
    fn receipts(&self, from_seq: u64, limit: usize) -> Result<Vec<Receipt>, StoreError>;

    /// Reservations not yet settled, by id.
    fn inflight(&self) -> Result<Vec<Reservation>, StoreError>;

    /// Writes the batch atomically and durably.
    fn commit(&self, batch: &Batch) -> Result<(), StoreError>;
}

/// Receipts read per page by [`for_each_receipt`].
const RECEIPT_PAGE: usize = 10_000;

/// Calls `f` with every receipt of `store` in seq order, read in pages so a
/// large ledger never sits in memory. Stops at the first error of `f`.
pub fn for_each_receipt<S: LedgerStore + ?Sized, E: From<StoreError>>(
    store: &S,
    mut f: impl FnMut(&Receipt) -> Result<(), E>,
) -> Result<u64, E> {
    let mut next = 0u64;
    loop {
        let page = store.receipts(next, RECEIPT_PAGE)?;
        if page.is_empty() {
            return Ok(next);
        }
        for receipt in &page {
            f(receipt)?;
        }
        next += page.len() as u64;
    }
}
