//! An in-memory [`LedgerStore`] for tests and for evaluating the state
//! machine without a disk. Atomic (one lock); not durable.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use delego_spec::Receipt;

use super::{allow_index_entry, Batch, Head, LedgerStore, StoreError};
use crate::approval::{ApprovalRecord, ApprovalStatus};
use crate::reservation::Reservation;

#[derive(Default)]
struct State {
    receipts: Vec<Receipt>,
    approvals: HashMap<String, ApprovalRecord>,
    /// rule → time (micros) → how many allows at that time.
    allows: HashMap<String, BTreeMap<i64, u64>>,
    inflight: BTreeMap<u64, Reservation>,
}

/// See the module documentation.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError("memory store lock poisoned".into()))
    }
}

impl LedgerStore for MemoryStore {
    fn head(&self) -> Result<Option<Head>, StoreError> {
        Ok(self.lock()?.receipts.last().map(|r| Head {
            seq: r.payload.seq,
            entry_hash: r.entry_hash.clone(),
        }))
    }

    fn count_allows(&self, rule: &str, since_micros: i64, limit: u64) -> Result<u64, StoreError> {
        let state = self.lock()?;
        let Some(times) = state.allows.get(rule) else {
            return Ok(0);
        };
        let mut count = 0;
        for n in times.range(since_micros..).map(|(_, n)| n) {
            count += n;
            if count >= limit {
                break;
            }
        }
        Ok(count)
    }

    fn approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        Ok(self.lock()?.approvals.get(id).cloned())
    }

    fn all_approvals(&self) -> Result<Vec<ApprovalRecord>, StoreError> {
        Ok(self.lock()?.approvals.values().cloned().collect())
    }

    fn pending_approvals(&self) -> Result<Vec<ApprovalRecord>, StoreError> {
        let state = self.lock()?;
        let mut pending: Vec<ApprovalRecord> = state
            .approvals
            .values()
            .filter(|a| a.status == ApprovalStatus::Pending)
            .cloned()
            .collect();
        pending.sort_by(|a, b| (a.created_micros, &a.id).cmp(&(b.created_micros, &b.id)));
        Ok(pending)
    }

    fn receipts(&self, from_seq: u64, limit: usize) -> Result<Vec<Receipt>, StoreError> {
        let state = self.lock()?;
        let start = usize::try_from(from_seq)
            .unwrap_or(usize::MAX)
            .min(state.receipts.len());
        Ok(state.receipts[start..]
            .iter()
            .take(limit)
            .cloned()
            .collect())
    }

    fn inflight(&self) -> Result<Vec<Reservation>, StoreError> {
        Ok(self.lock()?.inflight.values().cloned().collect())
    }

    fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        // Validate everything before changing anything: all or nothing.
        let index: Vec<Option<(String, i64)>> = batch
            .receipts
            .iter()
            .map(allow_index_entry)
            .collect::<Result<_, _>>()?;
        let mut state = self.lock()?;
        for (expected, receipt) in (state.receipts.len() as u64..).zip(&batch.receipts) {
            if receipt.payload.seq != expected {
                return Err(StoreError(format!(
                    "receipt seq {} does not continue the ledger (expected {expected})",
                    receipt.payload.seq
                )));
            }
        }
        for (receipt, entry) in batch.receipts.iter().zip(index) {
            if let Some((rule, micros)) = entry {
                *state
                    .allows
                    .entry(rule)
                    .or_default()
                    .entry(micros)
                    .or_default() += 1;
            }
            state.receipts.push(receipt.clone());
        }
        for approval in &batch.approvals {
            state
                .approvals
                .insert(approval.id.clone(), approval.clone());
        }
        for reservation in &batch.reserved {
            state.inflight.insert(reservation.id, reservation.clone());
        }
        for id in &batch.settled {
            state.inflight.remove(id);
        }
        Ok(())
    }
}
