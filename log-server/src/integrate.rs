//! Integration: the sequencer's one job. It reads the entries past the
//! integrated size, hashes them into the tree, and writes the completed
//! tiles, the leaf index, the new frontier and the new signed checkpoint in
//! one synced batch.
//!
//! The state it keeps between steps is the frontier (one hash per set bit
//! of the size) and, per tile level, the one tile still being filled: at
//! most 8 × 510 + 64 hashes whatever the log's size. A full tile is written
//! once, when its last node completes, and never read back; restarting reads
//! the frontier and at most 8 partial tiles.
//!
//! A step works on a copy of that state and adopts it only once the batch is
//! durable, so a failed write leaves nothing half-applied, and the
//! checkpoint it signed never leaves the process. The checkpoint is computed
//! from the persisted tree only, and the tree only grows, so no two signed
//! checkpoints can be inconsistent, across restarts too.

use delego_spec::merkle::{leaf_hash, Frontier, Hash, Node};
use delego_spec::note::{Checkpoint, SignerKey};
use rocksdb::WriteBatch;

use crate::error::LogError;
use crate::store::{LogStore, META_FRONTIER, META_WITNESSED};
use crate::tile_record::{NodeSlot, TileRecord};

/// Tile levels a tree of at most 2^64 - 1 leaves has (tree levels 0..=63).
const TILE_LEVELS: usize = 8;

/// The in-memory state of integration; see the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct Integrator {
    frontier: Frontier,
    /// Per tile level, the tile being filled (empty when none started).
    open: Vec<TileRecord>,
}

/// What one step integrated.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub checkpoint: Checkpoint,
    /// The signed checkpoint note as stored.
    pub note: String,
}

/// What signs and labels a step's checkpoint.
pub(crate) struct Signing<'a> {
    pub origin: &'a str,
    pub key: &'a SignerKey,
    /// Whether a new checkpoint counts as witnessed the moment it is
    /// written (a trust policy with `quorum none`).
    pub witnessed_on_write: bool,
}

/// The stored frontier: size (8 bytes BE) then its hashes.
pub(crate) fn encode_frontier(frontier: &Frontier) -> Vec<u8> {
    let mut out = frontier.size().to_be_bytes().to_vec();
    for hash in frontier.hashes() {
        out.extend_from_slice(hash);
    }
    out
}

pub(crate) fn decode_frontier(bytes: &[u8]) -> Result<Frontier, LogError> {
    let corrupt = || LogError::Corrupt("the stored frontier is malformed".into());
    let (size, hashes) = bytes.split_first_chunk::<8>().ok_or_else(corrupt)?;
    if hashes.len() % 32 != 0 {
        return Err(corrupt());
    }
    let hashes: Vec<Hash> = hashes
        .chunks_exact(32)
        .map(|h| Hash::try_from(h).map_err(|_| corrupt()))
        .collect::<Result<_, _>>()?;
    Ok(Frontier::from_parts(u64::from_be_bytes(*size), hashes)?)
}

/// Puts a newly completed node into its tile; a tile whose last node this is
/// goes into the batch at once, and is never touched again.
fn place(
    open: &mut [TileRecord],
    dirty: &mut [bool; TILE_LEVELS],
    store: &LogStore,
    batch: &mut WriteBatch,
    node: &Node,
) -> Result<(), LogError> {
    let slot = NodeSlot::of(node.level, node.index).ok_or_else(|| {
        LogError::Corrupt(format!("node {}/{} fits no tile", node.level, node.index))
    })?;
    let level = usize::from(slot.tile_level);
    let tile = open
        .get_mut(level)
        .ok_or_else(|| LogError::Corrupt(format!("tile level {level} out of range")))?;
    if tile.index() != slot.tile_index {
        if !tile.is_empty() {
            return Err(LogError::Corrupt(format!(
                "tile {level}/{} ended before it was full",
                tile.index()
            )));
        }
        *tile = TileRecord::new(slot.tile_index);
    }
    tile.push(slot.row, slot.position, node.hash)
        .map_err(|e| LogError::Corrupt(format!("tile {level}/{}: {e}", slot.tile_index)))?;
    // The subtree's rightmost top-row node is the last to complete.
    let complete = slot.row == TILE_LEVELS - 1 && slot.position == 1;
    if complete {
        store.put_tile(batch, slot.tile_level, tile)?;
        *tile = TileRecord::new(slot.tile_index + 1);
    }
    dirty[level] = !complete;
    Ok(())
}

impl Integrator {
    /// Resumes from the persisted frontier, reading only the partial tiles
    /// at its edge (at most one per tile level).
    pub fn restore(store: &LogStore, frontier: Frontier) -> Result<Integrator, LogError> {
        let size = frontier.size();
        let mut open = Vec::with_capacity(TILE_LEVELS);
        for level in 0..TILE_LEVELS as u8 {
            let hashes = size.checked_shr(8 * u32::from(level)).unwrap_or(0);
            let (index, width) = (hashes >> 8, (hashes % 256) as usize);
            let record = if width == 0 {
                TileRecord::new(index)
            } else {
                store.tile_record(level, index)?.ok_or_else(|| {
                    LogError::Corrupt(format!("partial tile {level}/{index} is missing"))
                })?
            };
            if record.width() != width {
                return Err(LogError::Corrupt(format!(
                    "tile {level}/{index} has {} hashes, the tree size implies {width}",
                    record.width()
                )));
            }
            open.push(record);
        }
        Ok(Integrator { frontier, open })
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Hashes held in memory between steps (bounded: see the module docs).
    pub fn hashes_held(&self) -> usize {
        self.frontier.hashes().len() + self.open.iter().map(TileRecord::hashes_held).sum::<usize>()
    }

    /// Integrates up to `max_leaves` new entries in one synced batch with
    /// their checkpoint. `None` when there was nothing to integrate.
    pub fn step(
        &mut self,
        store: &LogStore,
        signing: &Signing<'_>,
        max_leaves: u64,
    ) -> Result<Option<Step>, LogError> {
        let mut next = self.clone();
        let mut batch = WriteBatch::default();
        let mut dirty = [false; TILE_LEVELS];
        let leaf_index = store.leaf_index_family()?;
        let read = {
            let Integrator { frontier, open } = &mut next;
            store.for_each_entry(self.size(), max_leaves, |index, bytes| {
                let hash = leaf_hash(bytes);
                batch.put_cf(leaf_index, hash, index.to_be_bytes());
                for node in frontier.push(hash)? {
                    place(open, &mut dirty, store, &mut batch, node)?;
                }
                Ok(())
            })?
        };
        if read == 0 {
            return Ok(None);
        }
        for (level, tile) in next.open.iter().enumerate() {
            if dirty[level] {
                store.put_tile(&mut batch, level as u8, tile)?;
            }
        }
        let checkpoint = Checkpoint {
            origin: signing.origin.to_owned(),
            size: next.size(),
            root: next.root(),
            extensions: Vec::new(),
        };
        let note = checkpoint.sign(signing.key)?.encode()?;
        store.put_checkpoint(&mut batch, checkpoint.size, note.as_bytes())?;
        store.put_meta(&mut batch, META_FRONTIER, &encode_frontier(&next.frontier))?;
        if signing.witnessed_on_write {
            store.put_meta(&mut batch, META_WITNESSED, &checkpoint.size.to_be_bytes())?;
        }
        store.write(batch)?;
        *self = next;
        Ok(Some(Step { checkpoint, note }))
    }
}
