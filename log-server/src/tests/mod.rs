//! Unit tests of storage and integration over a real RocksDB in a temporary
//! directory, laid out as the firewall lays out its database: the log's
//! families next to a `receipts` family that the test writes directly, as
//! the firewall would.

mod integration;
mod proofs;
mod tiles;

use std::path::Path;
use std::sync::Arc;

use delego_spec::merkle::{leaf_hash, Hash, MemoryTree};
use delego_spec::note::{KeyType, SignerKey};
use rocksdb::{Options, WriteBatch, WriteOptions, DB};

use crate::{Log, LogConfig, LogStore, COLUMN_FAMILIES};

pub(crate) const ORIGIN: &str = "log.test/receipts";
const RECEIPTS: &str = "receipts";

pub(crate) fn log_key() -> SignerKey {
    SignerKey::new(
        ORIGIN,
        KeyType::Ed25519,
        ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
    )
    .expect("valid key")
}

/// The leaf bytes of index `i` (varying lengths, so bundles are uneven).
pub(crate) fn leaf(i: u64) -> Vec<u8> {
    format!(
        "{{\"seq\":{i},\"pad\":\"{}\"}}",
        "x".repeat((i % 13) as usize)
    )
    .into_bytes()
}

pub(crate) fn open_db(path: &Path) -> Arc<DB> {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    let families = COLUMN_FAMILIES.iter().copied().chain([RECEIPTS]);
    Arc::new(DB::open_cf(&options, path, families).expect("open the test database"))
}

/// Writes leaves `[from, to)` into the receipts family, as the firewall
/// commits receipts.
pub(crate) fn write_leaves(db: &DB, from: u64, to: u64) {
    let family = db.cf_handle(RECEIPTS).expect("receipts family");
    let mut batch = WriteBatch::default();
    for i in from..to {
        batch.put_cf(family, i.to_be_bytes(), leaf(i));
    }
    let mut options = WriteOptions::default();
    options.set_sync(true);
    db.write_opt(batch, &options).expect("write leaves");
}

pub(crate) fn open_log(db: &Arc<DB>, max_leaves_per_step: u64) -> Log {
    let store = LogStore::attach(db.clone(), RECEIPTS).expect("attach");
    let mut config = LogConfig::new(ORIGIN, log_key());
    config.max_leaves_per_step = max_leaves_per_step;
    Log::open(store, config).expect("open the log")
}

pub(crate) fn leaf_hashes(size: u64) -> Vec<Hash> {
    (0..size).map(|i| leaf_hash(&leaf(i))).collect()
}

pub(crate) fn memory_tree(size: u64) -> MemoryTree {
    MemoryTree::from_leaf_hashes(leaf_hashes(size))
}
