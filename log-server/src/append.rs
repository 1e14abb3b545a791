//! Appends to a standalone log: leaves arrive over HTTP (from the firewall's
//! `AppendClient`) instead of being written into a shared database.
//!
//! An append must continue the log exactly: it starts at the current entry
//! count, or overlaps stored entries with identical bytes (a retry after a
//! lost answer is then harmless). Each leaf must be a delego receipt in
//! canonical JSON whose `seq` is its index, so a standalone log holds
//! exactly what an embedded one reads from the firewall. An append is synced
//! before it is acknowledged.
//!
//! This module owns acceptance of new entries. It never integrates them (the
//! sequencer does) and never touches an embedded log's entries.

use delego_spec::json::parse;
use delego_spec::Receipt;
use rocksdb::WriteBatch;
use sha2::{Digest, Sha256};

use crate::error::LogError;
use crate::log::{lock, Log};

/// Leaves one append may carry.
pub const MAX_APPEND_LEAVES: usize = 10_000;
/// An entry bundle prefixes each entry with a 2-byte length.
pub const MAX_LEAF_BYTES: usize = u16::MAX as usize;

/// Checks that `bytes` is a receipt in canonical JSON with seq `index`.
fn check_receipt_leaf(index: u64, bytes: &[u8]) -> Result<(), LogError> {
    let not_a_receipt = |reason: String| LogError::NotAReceipt { index, reason };
    let text = std::str::from_utf8(bytes).map_err(|_| not_a_receipt("not UTF-8".into()))?;
    let value = parse(text).map_err(|e| not_a_receipt(format!("not JSON: {e}")))?;
    let receipt = Receipt::from_value(&value).map_err(|e| not_a_receipt(e.to_string()))?;
    if receipt.canonical_json() != text {
        return Err(not_a_receipt("not in canonical form".into()));
    }
    if receipt.payload.entry_hash() != receipt.entry_hash {
        return Err(not_a_receipt(
            "its entry_hash does not match its content".into(),
        ));
    }
    if receipt.payload.seq != index {
        return Err(not_a_receipt(format!("its seq is {}", receipt.payload.seq)));
    }
    Ok(())
}

/// Compares two equal-length byte strings without an early exit, so the
/// time taken says nothing about where they differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

impl Log {
    /// Whether `presented` is the configured append token (compared as
    /// SHA-256 digests, in constant time). No token configured: never.
    pub fn append_token_matches(&self, presented: &str) -> bool {
        let Some(expected) = &self.inner.append_token else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        constant_time_eq(&digest, expected)
    }

    /// Whether appends are enabled (standalone, with a token).
    pub fn accepts_appends(&self) -> bool {
        self.inner.store.is_standalone() && self.inner.append_token.is_some()
    }

    /// The number of stored entries of a standalone log (integrated or not).
    pub fn entry_count(&self) -> u64 {
        *lock(&self.inner.next_entry)
    }

    /// Appends `leaves` at `first_index` and syncs them; returns the new
    /// entry count. The sequencer is nudged to integrate them.
    pub fn append(&self, first_index: u64, leaves: &[Vec<u8>]) -> Result<u64, LogError> {
        let store = &self.inner.store;
        if !store.is_standalone() {
            return Err(LogError::NotStandalone);
        }
        if leaves.is_empty() {
            return Err(LogError::EmptyAppend);
        }
        if leaves.len() > MAX_APPEND_LEAVES {
            return Err(LogError::TooManyLeaves {
                max: MAX_APPEND_LEAVES,
            });
        }
        for (index, leaf) in (first_index..).zip(leaves) {
            if leaf.len() > MAX_LEAF_BYTES {
                return Err(LogError::LeafTooLarge {
                    index,
                    len: leaf.len(),
                });
            }
            check_receipt_leaf(index, leaf)?;
        }
        let mut next = lock(&self.inner.next_entry);
        if first_index > *next {
            return Err(LogError::AppendGap {
                first_index,
                size: *next,
            });
        }
        let overlap = (*next - first_index).min(leaves.len() as u64);
        let stored = store.entries(first_index, overlap)?;
        for ((index, stored), leaf) in (first_index..).zip(&stored).zip(leaves) {
            if stored != leaf {
                return Err(LogError::AppendConflict { index, size: *next });
            }
        }
        let fresh = &leaves[overlap as usize..];
        if fresh.is_empty() {
            return Ok(*next);
        }
        let mut batch = WriteBatch::default();
        for (index, leaf) in (*next..).zip(fresh) {
            store.put_entry(&mut batch, index, leaf)?;
        }
        store.write(batch)?;
        *next += fresh.len() as u64;
        let count = *next;
        drop(next);
        self.nudge();
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_every_byte() {
        let a = [7u8; 32];
        let mut b = a;
        assert!(constant_time_eq(&a, &b));
        b[31] ^= 1;
        assert!(!constant_time_eq(&a, &b));
        b = a;
        b[0] ^= 0x80;
        assert!(!constant_time_eq(&a, &b));
    }

    #[test]
    fn receipt_leaves_must_be_canonical_with_their_seq() {
        assert!(matches!(
            check_receipt_leaf(0, b"\xff"),
            Err(LogError::NotAReceipt { .. })
        ));
        assert!(matches!(
            check_receipt_leaf(0, b"{}"),
            Err(LogError::NotAReceipt { .. })
        ));
    }
}
