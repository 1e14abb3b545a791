//! Verifies a store's whole ledger the way `delego verify` verifies a file:
//! every receipt, in seq order, through the spec's chain verifier, read from
//! the store in pages so a million receipts never sit in memory as text.

use delego_firewall::store::{LedgerStore, StoreError};
use delego_spec::chain::ChainVerifier;
use delego_spec::keys::VerifyingKey;

/// Why a store's ledger did not verify.
#[derive(Debug, thiserror::Error)]
pub enum StoreChainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the chain has {count} problem(s); the first: {first}")]
    Invalid { count: usize, first: String },
    #[error("the store returned receipt seq {found} where seq {expected} was due")]
    Gap { expected: u64, found: u64 },
}

/// Walks every receipt of `store`; returns how many verified.
pub fn verify_store_chain<S: LedgerStore>(
    store: &S,
    key: &VerifyingKey,
) -> Result<u64, StoreChainError> {
    let mut verifier = ChainVerifier::new(key, None);
    let mut next = 0u64;
    let walked = delego_firewall::store::for_each_receipt(store, |receipt| {
        if receipt.payload.seq != next {
            return Err(StoreChainError::Gap {
                expected: next,
                found: receipt.payload.seq,
            });
        }
        verifier.push_line(&receipt.to_reference_line());
        next += 1;
        Ok(())
    })?;
    let report = verifier.finish();
    match report.problems.first() {
        Some(first) => Err(StoreChainError::Invalid {
            count: report.problems.len(),
            first: first.clone(),
        }),
        None => Ok(walked),
    }
}
