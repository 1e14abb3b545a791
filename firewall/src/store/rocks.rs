//! The RocksDB [`LedgerStore`]: one database per delego home, one atomic,
//! synced write batch per commit.
//!
//! Column families: `receipts` (seq → the receipt's canonical JSON, which is
//! also its transparency-log leaf), `approvals` (id → record), `pending`
//! (created time + id → nothing: the approval queue in order), `allows`
//! (rule + time + seq → nothing: the rate-limit index, counted by a bounded
//! range scan the first time a rule is counted, then mirrored in memory by
//! [`AllowWindows`]), `inflight` (reservation id → record: executions handed to a
//! broker and not yet settled). RocksDB's lock file makes the home
//! single-process, which is also why the next seq can be cached here.

use std::path::Path;
use std::sync::{Arc, Mutex};

use delego_spec::json::{parse, to_canonical_string};
use delego_spec::Receipt;
use rocksdb::{
    ColumnFamilyDescriptor, DBCompressionType, Direction, IteratorMode, Options, WriteBatch,
    WriteOptions, DB,
};

use super::allow_window::AllowWindows;
use super::{allow_index_entry, Batch, Head, LedgerStore, StoreError};
use crate::approval::{ApprovalRecord, ApprovalStatus};
use crate::reservation::Reservation;

const RECEIPTS: &str = "receipts";
const APPROVALS: &str = "approvals";
const PENDING: &str = "pending";
const ALLOWS: &str = "allows";
const INFLIGHT: &str = "inflight";
const FAMILIES: [&str; 5] = [RECEIPTS, APPROVALS, PENDING, ALLOWS, INFLIGHT];

/// See the module documentation.
pub struct RocksStore {
    /// Shared so that a transparency log can live in the same database
    /// (its own column families; the receipts family is its leaf data).
    db: Arc<DB>,
    /// The seq the next committed receipt must carry, once known: commits
    /// check continuity without re-reading the head.
    next_seq: Mutex<Option<u64>>,
    /// The allow index's recent tail per counted rule. Its lock is held
    /// across a commit's write and across a reload, so a reload never sees
    /// a commit that is then recorded twice.
    windows: Mutex<AllowWindows>,
}

fn storage(context: &str) -> impl Fn(rocksdb::Error) -> StoreError + '_ {
    move |e| StoreError(format!("{context}: {e}"))
}

/// Time as an order-preserving unsigned key (signed micros shifted).
fn time_key(micros: i64) -> [u8; 8] {
    ((micros as u64) ^ (1 << 63)).to_be_bytes()
}

/// The inverse of [`time_key`].
fn key_time(key: [u8; 8]) -> i64 {
    (u64::from_be_bytes(key) ^ (1 << 63)) as i64
}

/// `len(rule) ‖ rule`: a prefix no other rule's keys share.
fn rule_prefix(rule: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + rule.len() + 16);
    key.extend_from_slice(&(rule.len() as u32).to_be_bytes());
    key.extend_from_slice(rule.as_bytes());
    key
}

fn pending_key(record: &ApprovalRecord) -> Vec<u8> {
    let mut key = time_key(record.created_micros).to_vec();
    key.extend_from_slice(record.id.as_bytes());
    key
}

impl RocksStore {
    /// Opens (creating if needed) the database at `path`. Fails if another
    /// process holds it.
    pub fn open(path: &Path) -> Result<RocksStore, StoreError> {
        RocksStore::open_with(path, &[])
    }

    /// Opens the database with `extra` column families besides the
    /// firewall's (created if missing), for another component sharing it.
    /// Families already in the database are opened too, so a database that
    /// some component extended still opens.
    pub fn open_with(path: &Path, extra: &[&str]) -> Result<RocksStore, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(DBCompressionType::None);
        let mut names: Vec<String> = FAMILIES
            .iter()
            .chain(extra)
            .map(|n| (*n).to_owned())
            .collect();
        if let Ok(existing) = DB::list_cf(&options, path) {
            names.extend(existing.into_iter().filter(|n| n != "default"));
        }
        names.sort();
        names.dedup();
        let families = names.iter().map(|name| {
            let mut family = Options::default();
            family.set_compression_type(DBCompressionType::None);
            ColumnFamilyDescriptor::new(name, family)
        });
        let db = DB::open_cf_descriptors(&options, path, families).map_err(storage(&format!(
            "cannot open the store at {}",
            path.display()
        )))?;
        Ok(RocksStore {
            db: Arc::new(db),
            next_seq: Mutex::new(None),
            windows: Mutex::new(AllowWindows::default()),
        })
    }

    /// The database, for a component that shares it (see [`Self::open_with`]).
    pub fn db(&self) -> &Arc<DB> {
        &self.db
    }

    /// The column family holding receipts: seq (8 bytes, big-endian) → the
    /// receipt's canonical JSON, i.e. exactly a transparency-log leaf.
    pub const RECEIPTS_FAMILY: &'static str = RECEIPTS;

    fn family(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StoreError(format!("column family {name} is missing")))
    }

    fn decode_receipt(bytes: &[u8]) -> Result<Receipt, StoreError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| StoreError(format!("stored receipt is not UTF-8: {e}")))?;
        let value =
            parse(text).map_err(|e| StoreError(format!("stored receipt is not JSON: {e}")))?;
        Receipt::from_value(&value)
            .map_err(|e| StoreError(format!("stored receipt is malformed: {e}")))
    }

    fn decode_reservation(bytes: &[u8]) -> Result<Reservation, StoreError> {
        let value = std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| parse(text).ok());
        value
            .as_ref()
            .and_then(Reservation::from_value)
            .ok_or_else(|| StoreError("stored in-flight reservation is malformed".into()))
    }

    fn decode_approval(bytes: &[u8]) -> Result<ApprovalRecord, StoreError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| StoreError(format!("stored approval is not UTF-8: {e}")))?;
        let value =
            parse(text).map_err(|e| StoreError(format!("stored approval is not JSON: {e}")))?;
        ApprovalRecord::from_value(&value)
            .ok_or_else(|| StoreError("stored approval is malformed".into()))
    }
}

impl LedgerStore for RocksStore {
    fn head(&self) -> Result<Option<Head>, StoreError> {
        let receipts = self.family(RECEIPTS)?;
        match self.db.iterator_cf(receipts, IteratorMode::End).next() {
            None => Ok(None),
            Some(item) => {
                let (_, value) = item.map_err(storage("cannot read the head"))?;
                let receipt = Self::decode_receipt(&value)?;
                Ok(Some(Head {
                    seq: receipt.payload.seq,
                    entry_hash: receipt.entry_hash,
                }))
            }
        }
    }

    fn count_allows(&self, rule: &str, since_micros: i64, limit: u64) -> Result<u64, StoreError> {
        let mut windows = self
            .windows
            .lock()
            .map_err(|_| StoreError("store lock poisoned".into()))?;
        if let Some(count) = windows.count(rule, since_micros, limit) {
            return Ok(count);
        }
        // Not held from that far back: read the rule's allows since then.
        let allows = self.family(ALLOWS)?;
        let prefix = rule_prefix(rule);
        let mut start = prefix.clone();
        start.extend_from_slice(&time_key(since_micros));
        let mut times = Vec::new();
        for item in self
            .db
            .iterator_cf(allows, IteratorMode::From(&start, Direction::Forward))
        {
            let (key, _) = item.map_err(storage("cannot count allows"))?;
            let Some(rest) = key.strip_prefix(prefix.as_slice()) else {
                break;
            };
            let time = rest
                .first_chunk::<8>()
                .ok_or_else(|| StoreError("allow index key is malformed".into()))?;
            times.push(key_time(*time));
        }
        let count = (times.len() as u64).min(limit);
        windows.load(rule, since_micros, times);
        Ok(count)
    }

    fn approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        let approvals = self.family(APPROVALS)?;
        match self
            .db
            .get_cf(approvals, id.as_bytes())
            .map_err(storage("cannot read an approval"))?
        {
            None => Ok(None),
            Some(bytes) => Self::decode_approval(&bytes).map(Some),
        }
    }

    fn all_approvals(&self) -> Result<Vec<ApprovalRecord>, StoreError> {
        let approvals = self.family(APPROVALS)?;
        let mut out = Vec::new();
        for item in self.db.iterator_cf(approvals, IteratorMode::Start) {
            let (_, value) = item.map_err(storage("cannot list approvals"))?;
            out.push(Self::decode_approval(&value)?);
        }
        Ok(out)
    }

    fn pending_approvals(&self) -> Result<Vec<ApprovalRecord>, StoreError> {
        let pending = self.family(PENDING)?;
        let mut out = Vec::new();
        for item in self.db.iterator_cf(pending, IteratorMode::Start) {
            let (key, _) = item.map_err(storage("cannot list pending approvals"))?;
            let id = std::str::from_utf8(&key[8.min(key.len())..])
                .map_err(|e| StoreError(e.to_string()))?;
            if let Some(record) = self.approval(id)? {
                out.push(record);
            }
        }
        Ok(out)
    }

    fn receipts(&self, from_seq: u64, limit: usize) -> Result<Vec<Receipt>, StoreError> {
        let receipts = self.family(RECEIPTS)?;
        let start = from_seq.to_be_bytes();
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(receipts, IteratorMode::From(&start, Direction::Forward))
            .take(limit)
        {
            let (_, value) = item.map_err(storage("cannot read receipts"))?;
            out.push(Self::decode_receipt(&value)?);
        }
        Ok(out)
    }

    fn inflight(&self) -> Result<Vec<Reservation>, StoreError> {
        let inflight = self.family(INFLIGHT)?;
        let mut out = Vec::new();
        for item in self.db.iterator_cf(inflight, IteratorMode::Start) {
            let (_, value) = item.map_err(storage("cannot list in-flight executions"))?;
            out.push(Self::decode_reservation(&value)?);
        }
        Ok(out)
    }

    fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        let (receipts, approvals, pending, allows, inflight) = (
            self.family(RECEIPTS)?,
            self.family(APPROVALS)?,
            self.family(PENDING)?,
            self.family(ALLOWS)?,
            self.family(INFLIGHT)?,
        );
        // Held across the write: commits are serialised, and the cache moves
        // only when the write succeeded.
        let mut next_seq = self
            .next_seq
            .lock()
            .map_err(|_| StoreError("store lock poisoned".into()))?;
        let expected = match *next_seq {
            Some(seq) => seq,
            None => self.head()?.map_or(0, |h| h.seq + 1),
        };
        let mut windows = self
            .windows
            .lock()
            .map_err(|_| StoreError("store lock poisoned".into()))?;
        let mut allowed = Vec::new();
        let mut write = WriteBatch::default();
        for (expected, receipt) in (expected..).zip(&batch.receipts) {
            let seq = receipt.payload.seq;
            if seq != expected {
                return Err(StoreError(format!(
                    "receipt seq {seq} does not continue the ledger (expected {expected})"
                )));
            }
            write.put_cf(
                receipts,
                seq.to_be_bytes(),
                receipt.canonical_json().as_bytes(),
            );
            if let Some((rule, micros)) = allow_index_entry(receipt)? {
                let mut key = rule_prefix(&rule);
                key.extend_from_slice(&time_key(micros));
                key.extend_from_slice(&seq.to_be_bytes());
                write.put_cf(allows, key, []);
                allowed.push((rule, micros));
            }
        }
        for record in &batch.approvals {
            write.put_cf(
                approvals,
                record.id.as_bytes(),
                to_canonical_string(&record.to_value()).as_bytes(),
            );
            if record.status == ApprovalStatus::Pending {
                write.put_cf(pending, pending_key(record), []);
            } else {
                write.delete_cf(pending, pending_key(record));
            }
        }
        for reservation in &batch.reserved {
            write.put_cf(
                inflight,
                reservation.id.to_be_bytes(),
                to_canonical_string(&reservation.to_value()).as_bytes(),
            );
        }
        for id in &batch.settled {
            write.delete_cf(inflight, id.to_be_bytes());
        }
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db
            .write_opt(write, &options)
            .map_err(storage("cannot commit"))?;
        *next_seq = Some(expected + batch.receipts.len() as u64);
        for (rule, micros) in allowed {
            windows.record(&rule, micros);
        }
        Ok(())
    }
}
