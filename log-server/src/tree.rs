//! The stored tree as a [`NodeSource`] for the spec crate's proofs, and the
//! tiles and entry bundles served from it.
//!
//! A proof's nodes cluster in a few tiles (a path stays in one tile for
//! eight levels), so the source keeps the few records it has read for the
//! duration of one proof instead of reading one per node. Reads only: this
//! module never writes, and never serves a node the stored tree lacks.

use std::cell::RefCell;

use delego_spec::merkle::{EntryBundle, Hash, NodeSource, Tile};

use crate::error::LogError;
use crate::store::LogStore;
use crate::tile_record::{bottom_row, node_in_record, NodeSlot};

/// Records one proof keeps: enough for every tile level of the tree plus an
/// ephemeral node's neighbours.
const CACHED_RECORDS: usize = 16;

/// A tile's (level, index) and its stored record.
type CachedRecord = ((u8, u64), Vec<u8>);

/// The tree as stored, for one proof at a time.
pub(crate) struct StoredTree<'a> {
    store: &'a LogStore,
    records: RefCell<Vec<CachedRecord>>,
}

impl<'a> StoredTree<'a> {
    pub fn new(store: &'a LogStore) -> StoredTree<'a> {
        StoredTree {
            store,
            records: RefCell::new(Vec::new()),
        }
    }
}

impl NodeSource for StoredTree<'_> {
    type Error = LogError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, LogError> {
        let missing = || LogError::Corrupt(format!("node {level}/{index} of the tree is missing"));
        let slot = NodeSlot::of(level, index).ok_or_else(missing)?;
        let tile = (slot.tile_level, slot.tile_index);
        let mut records = self.records.borrow_mut();
        let at = match records.iter().position(|(key, _)| *key == tile) {
            Some(at) => at,
            None => {
                let bytes = self
                    .store
                    .tile_record_bytes(tile.0, tile.1)?
                    .ok_or_else(missing)?;
                if records.len() == CACHED_RECORDS {
                    records.remove(0);
                }
                records.push((tile, bytes));
                records.len() - 1
            }
        };
        let (_, bytes) = &records[at];
        node_in_record(bytes, slot.row, slot.position)
            .map_err(|e| LogError::Corrupt(format!("tile {}/{}: {e}", tile.0, tile.1)))?
            .ok_or_else(missing)
    }
}

/// The hashes of a tile (32 bytes each, concatenated) as a tree of
/// `tree_size` leaves has them; `None` if that tree has no such tile (the
/// tile is beyond it, or is full where that tree's is partial).
pub(crate) fn tile_bytes(
    store: &LogStore,
    tile: Tile,
    tree_size: u64,
) -> Result<Option<Vec<u8>>, LogError> {
    let Some(current) = Tile::at_size(tile.level(), tile.index(), tree_size) else {
        return Ok(None);
    };
    if tile.width() > current.width() {
        return Ok(None);
    }
    let Some(record) = store.tile_record_bytes(tile.level(), tile.index())? else {
        return Err(LogError::Corrupt(format!(
            "tile {}/{} of the tree is missing",
            tile.level(),
            tile.index()
        )));
    };
    let row = bottom_row(&record, usize::from(tile.width()))
        .map_err(|e| LogError::Corrupt(format!("tile {}/{}: {e}", tile.level(), tile.index())))?;
    Ok(row.map(<[u8]>::to_vec))
}

/// An entry bundle (each entry as a 2-byte big-endian length and its
/// bytes) as a tree of `tree_size` leaves has it; `None` if it has no such
/// bundle.
pub(crate) fn entry_bundle_bytes(
    store: &LogStore,
    bundle: EntryBundle,
    tree_size: u64,
) -> Result<Option<Vec<u8>>, LogError> {
    let Some(current) = Tile::at_size(0, bundle.index(), tree_size) else {
        return Ok(None);
    };
    if bundle.width() > current.width() {
        return Ok(None);
    }
    let first = bundle.index() * 256;
    let entries = store.entries(first, u64::from(bundle.width()))?;
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.len() + 2).sum());
    for (index, entry) in (first..).zip(&entries) {
        let len = u16::try_from(entry.len()).map_err(|_| LogError::EntryTooLarge {
            index,
            len: entry.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(Some(out))
}
