//! The log's storage in RocksDB: its own column families, and the entries
//! family it reads leaves from.
//!
//! Entries are `leaf index (8 bytes, big-endian) → leaf bytes`, the format of
//! the firewall's `receipts` family, so an embedded log reads the firewall's
//! receipts where they are and never copies or writes them. A standalone log
//! owns its database and an `entries` family that appends fill.
//!
//! The log's families ([`COLUMN_FAMILIES`]):
//! - `log_tiles`: tile level (1 byte) ‖ tile index (8 bytes BE) → a tile
//!   record (see `tile_record`): every complete node of that tile.
//! - `log_leaf_index`: leaf hash (32 bytes) → leaf index (8 bytes BE).
//! - `log_checkpoints`: tree size (8 bytes BE) → the signed checkpoint note,
//!   with the cosignatures it has gathered.
//! - `log_meta`: origin, log key, frontier, witnessed size, per-witness size.
//!
//! This module owns key layouts and synced writes. It never decides what to
//! write: integration, witnessing and appends build their batches and hand
//! them here whole, so every change is one atomic, synced write.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use delego_spec::merkle::Hash;
use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, IteratorMode, Options, WriteBatch,
    WriteOptions, DB,
};

use crate::error::LogError;
use crate::tile_record::TileRecord;

pub const TILES_FAMILY: &str = "log_tiles";
pub const LEAF_INDEX_FAMILY: &str = "log_leaf_index";
pub const CHECKPOINTS_FAMILY: &str = "log_checkpoints";
pub const META_FAMILY: &str = "log_meta";

/// The log's own column families: open a shared database with these.
pub const COLUMN_FAMILIES: &[&str] = &[
    TILES_FAMILY,
    LEAF_INDEX_FAMILY,
    CHECKPOINTS_FAMILY,
    META_FAMILY,
];

/// The entries family of a standalone log.
pub const STANDALONE_ENTRIES_FAMILY: &str = "entries";

pub(crate) const META_ORIGIN: &[u8] = b"origin";
pub(crate) const META_LOG_KEY: &[u8] = b"log_key";
pub(crate) const META_FRONTIER: &[u8] = b"frontier";
pub(crate) const META_WITNESSED: &[u8] = b"witnessed";
const META_WITNESS_PREFIX: &[u8] = b"witness/";

/// Where the log's data lives; see the module documentation.
pub struct LogStore {
    db: Arc<DB>,
    entries_family: String,
    standalone: bool,
    /// Tile records read, for tests that bound what an integration reads.
    tile_reads: AtomicU64,
}

fn tile_key(level: u8, index: u64) -> [u8; 9] {
    let mut key = [0; 9];
    key[0] = level;
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

fn index_key(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

pub(crate) fn witness_meta_key(vkey: &str) -> Vec<u8> {
    [META_WITNESS_PREFIX, vkey.as_bytes()].concat()
}

impl LogStore {
    /// Attaches to a database another component opened with
    /// [`COLUMN_FAMILIES`], reading leaves from its `entries_family`
    /// (embedded mode: the firewall's `receipts`). The log never writes that
    /// family.
    pub fn attach(db: Arc<DB>, entries_family: &str) -> Result<LogStore, LogError> {
        let store = LogStore {
            db,
            entries_family: entries_family.to_owned(),
            standalone: false,
            tile_reads: AtomicU64::new(0),
        };
        store.check_families()?;
        Ok(store)
    }

    /// Opens (creating if needed) a standalone log's own database at `path`,
    /// with an `entries` family that appends fill. Fails if another process
    /// holds it.
    pub fn open_standalone(path: &Path) -> Result<LogStore, LogError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(DBCompressionType::None);
        let mut names: Vec<String> = COLUMN_FAMILIES
            .iter()
            .chain(&[STANDALONE_ENTRIES_FAMILY])
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
        let db = DB::open_cf_descriptors(&options, path, families)
            .map_err(LogError::storage("cannot open the log database"))?;
        let store = LogStore {
            db: Arc::new(db),
            entries_family: STANDALONE_ENTRIES_FAMILY.to_owned(),
            standalone: true,
            tile_reads: AtomicU64::new(0),
        };
        store.check_families()?;
        Ok(store)
    }

    fn check_families(&self) -> Result<(), LogError> {
        for name in COLUMN_FAMILIES
            .iter()
            .chain([&self.entries_family.as_str()])
        {
            self.family(name)?;
        }
        Ok(())
    }

    /// Whether this log owns its entries (and so accepts appends).
    pub fn is_standalone(&self) -> bool {
        self.standalone
    }

    /// The shared database.
    pub fn db(&self) -> &Arc<DB> {
        &self.db
    }

    fn family(&self, name: &str) -> Result<&ColumnFamily, LogError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| LogError::MissingFamily(name.to_owned()))
    }

    /// Applies a batch atomically and durably (fsync before returning).
    pub(crate) fn write(&self, batch: WriteBatch) -> Result<(), LogError> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db
            .write_opt(batch, &options)
            .map_err(LogError::storage("cannot write to the log"))
    }

    // --- entries ---------------------------------------------------------

    /// Calls `each(index, bytes)` for the contiguous entries from `from`, at
    /// most `max` of them, stopping at the first missing index. Returns how
    /// many were visited.
    pub(crate) fn for_each_entry(
        &self,
        from: u64,
        max: u64,
        mut each: impl FnMut(u64, &[u8]) -> Result<(), LogError>,
    ) -> Result<u64, LogError> {
        let family = self.family(&self.entries_family)?;
        let start = from.to_be_bytes();
        let mut iter = self.db.raw_iterator_cf(family);
        iter.seek(start);
        let mut expected = from;
        while expected - from < max && iter.valid() {
            let (Some(key), Some(value)) = (iter.key(), iter.value()) else {
                break;
            };
            if index_key(key) != Some(expected) {
                break;
            }
            each(expected, value)?;
            expected += 1;
            iter.next();
        }
        iter.status()
            .map_err(LogError::storage("cannot read entries"))?;
        Ok(expected - from)
    }

    /// The entries `[from, from + count)`, which must all exist.
    pub(crate) fn entries(&self, from: u64, count: u64) -> Result<Vec<Vec<u8>>, LogError> {
        let mut out = Vec::with_capacity(count as usize);
        let read = self.for_each_entry(from, count, |_, bytes| {
            out.push(bytes.to_vec());
            Ok(())
        })?;
        if read != count {
            return Err(LogError::Corrupt(format!(
                "entry {} of an integrated range is missing",
                from + read
            )));
        }
        Ok(out)
    }

    /// One past the highest stored entry index (0 when there are none).
    pub(crate) fn entries_end(&self) -> Result<u64, LogError> {
        let family = self.family(&self.entries_family)?;
        match self.db.iterator_cf(family, IteratorMode::End).next() {
            None => Ok(0),
            Some(item) => {
                let (key, _) = item.map_err(LogError::storage("cannot read entries"))?;
                index_key(&key)
                    .and_then(|i| i.checked_add(1))
                    .ok_or_else(|| LogError::Corrupt("an entry key is not an 8-byte index".into()))
            }
        }
    }

    pub(crate) fn put_entry(
        &self,
        batch: &mut WriteBatch,
        index: u64,
        bytes: &[u8],
    ) -> Result<(), LogError> {
        batch.put_cf(
            self.family(&self.entries_family)?,
            index.to_be_bytes(),
            bytes,
        );
        Ok(())
    }

    // --- tiles -----------------------------------------------------------

    /// The stored record of tile (level, index), if any.
    pub(crate) fn tile_record_bytes(
        &self,
        level: u8,
        index: u64,
    ) -> Result<Option<Vec<u8>>, LogError> {
        self.tile_reads.fetch_add(1, Ordering::Relaxed);
        self.db
            .get_cf(self.family(TILES_FAMILY)?, tile_key(level, index))
            .map_err(LogError::storage("cannot read a tile"))
    }

    /// The decoded record of tile (level, index), if any.
    pub(crate) fn tile_record(
        &self,
        level: u8,
        index: u64,
    ) -> Result<Option<TileRecord>, LogError> {
        self.tile_record_bytes(level, index)?
            .map(|bytes| {
                TileRecord::decode(index, &bytes)
                    .map_err(|e| LogError::Corrupt(format!("tile {level}/{index}: {e}")))
            })
            .transpose()
    }

    pub(crate) fn put_tile(
        &self,
        batch: &mut WriteBatch,
        level: u8,
        record: &TileRecord,
    ) -> Result<(), LogError> {
        batch.put_cf(
            self.family(TILES_FAMILY)?,
            tile_key(level, record.index()),
            record.encode(),
        );
        Ok(())
    }

    /// Tile records read since the store was opened.
    #[cfg(test)]
    pub(crate) fn tile_reads(&self) -> u64 {
        self.tile_reads.load(Ordering::Relaxed)
    }

    // --- leaf index --------------------------------------------------------

    pub(crate) fn leaf_index(&self, leaf_hash: &Hash) -> Result<Option<u64>, LogError> {
        let value = self
            .db
            .get_pinned_cf(self.family(LEAF_INDEX_FAMILY)?, leaf_hash)
            .map_err(LogError::storage("cannot read the leaf index"))?;
        value
            .map(|v| index_key(&v).ok_or_else(|| LogError::Corrupt("leaf index value".into())))
            .transpose()
    }

    pub(crate) fn leaf_index_family(&self) -> Result<&ColumnFamily, LogError> {
        self.family(LEAF_INDEX_FAMILY)
    }

    // --- checkpoints ---------------------------------------------------------

    /// The signed checkpoint note stored for tree size `size`.
    pub(crate) fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, LogError> {
        self.db
            .get_cf(self.family(CHECKPOINTS_FAMILY)?, size.to_be_bytes())
            .map_err(LogError::storage("cannot read a checkpoint"))
    }

    /// The newest stored checkpoint: (size, note).
    pub(crate) fn latest_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, LogError> {
        let family = self.family(CHECKPOINTS_FAMILY)?;
        let Some(item) = self.db.iterator_cf(family, IteratorMode::End).next() else {
            return Ok(None);
        };
        let (key, value) = item.map_err(LogError::storage("cannot read checkpoints"))?;
        let size = index_key(&key)
            .ok_or_else(|| LogError::Corrupt("a checkpoint key is not an 8-byte size".into()))?;
        Ok(Some((size, value.into_vec())))
    }

    pub(crate) fn put_checkpoint(
        &self,
        batch: &mut WriteBatch,
        size: u64,
        note: &[u8],
    ) -> Result<(), LogError> {
        batch.put_cf(self.family(CHECKPOINTS_FAMILY)?, size.to_be_bytes(), note);
        Ok(())
    }

    // --- meta ------------------------------------------------------------------

    pub(crate) fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LogError> {
        self.db
            .get_cf(self.family(META_FAMILY)?, key)
            .map_err(LogError::storage("cannot read log metadata"))
    }

    pub(crate) fn meta_u64(&self, key: &[u8]) -> Result<Option<u64>, LogError> {
        self.meta(key)?
            .map(|v| {
                index_key(&v).ok_or_else(|| {
                    LogError::Corrupt(format!(
                        "metadata {} is not an 8-byte integer",
                        String::from_utf8_lossy(key)
                    ))
                })
            })
            .transpose()
    }

    pub(crate) fn put_meta(
        &self,
        batch: &mut WriteBatch,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), LogError> {
        batch.put_cf(self.family(META_FAMILY)?, key, value);
        Ok(())
    }
}
