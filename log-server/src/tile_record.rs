//! How the tree is stored: one record per tlog-tiles tile, holding every
//! complete node of that tile's height-8 subtree, not only its bottom row.
//!
//! A tile at tile level L covers tree levels 8L..8L+7; row k of its record
//! holds the complete nodes of tree level 8L+k under it, left to right. A
//! tile whose bottom row has w hashes has ⌊w/2^k⌋ complete nodes in row k,
//! so a record is `w` (2 bytes, big-endian) followed by the rows, row 0
//! first. A full tile stores 510 hashes (16 KiB): the 256 hashes the tile
//! serves plus the 254 inner nodes a proof would otherwise rehash. The
//! subtree's own root is the bottom hash of the tile above, stored there.
//!
//! Why whole tiles: a proof's path stays inside one tile for 8 levels, so a
//! proof in a tree of n leaves reads about log₂(n)/8 records, and an
//! integration writes one record per 256 leaves instead of one key per node.
//!
//! This module owns the record layout; it never touches the database.

use delego_spec::merkle::{Hash, TileSpan, FULL_WIDTH, TILE_HEIGHT};

const ROWS: usize = TILE_HEIGHT as usize;
const WIDTH_BYTES: usize = 2;

/// The complete nodes of one tile's subtree, as they are built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TileRecord {
    index: u64,
    rows: [Vec<Hash>; ROWS],
}

/// Why a node cannot go into a record, or a stored record is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordError {
    #[error("tile record of {0} bytes is malformed")]
    Malformed(usize),
    #[error("node at row {row}, position {position} does not continue its tile (row has {len})")]
    OutOfOrder {
        row: usize,
        position: u64,
        len: usize,
    },
}

/// Where tree node (level, index) lives: tile (level / 8, tile index),
/// row level % 8, position in that row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeSlot {
    pub tile_level: u8,
    pub tile_index: u64,
    pub row: usize,
    pub position: usize,
}

impl NodeSlot {
    /// The slot of node (level, index); `None` for a node no tree of at
    /// most 2^64 - 1 leaves has.
    pub fn of(level: u8, index: u64) -> Option<NodeSlot> {
        let span = TileSpan::of_node(level, index).ok()?;
        let row = usize::from(level) % ROWS;
        Some(NodeSlot {
            tile_level: span.tile_level,
            tile_index: span.tile_index,
            row,
            position: usize::from(span.start) >> row,
        })
    }
}

/// Row lengths of a tile whose bottom row has `width` hashes.
fn row_len(width: usize, row: usize) -> usize {
    width >> row
}

fn row_offset(width: usize, row: usize) -> usize {
    (0..row).map(|r| row_len(width, r)).sum()
}

fn hash_count(width: usize) -> usize {
    row_offset(width, ROWS)
}

impl TileRecord {
    /// An empty record for tile `index`.
    pub fn new(index: u64) -> TileRecord {
        TileRecord {
            index,
            rows: Default::default(),
        }
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    /// Hashes in the bottom row.
    pub fn width(&self) -> usize {
        self.rows[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows[0].is_empty()
    }

    #[cfg(test)]
    pub fn is_full(&self) -> bool {
        self.width() == usize::from(FULL_WIDTH)
    }

    /// Hashes held (what an integration keeps in memory per tile level).
    pub fn hashes_held(&self) -> usize {
        self.rows.iter().map(Vec::len).sum()
    }

    /// Appends a node: nodes of a row arrive strictly left to right.
    pub fn push(&mut self, row: usize, position: usize, hash: Hash) -> Result<(), RecordError> {
        let out_of_order = |len| RecordError::OutOfOrder {
            row,
            position: position as u64,
            len,
        };
        let cells = self.rows.get_mut(row).ok_or(out_of_order(0))?;
        if cells.len() != position || position >= usize::from(FULL_WIDTH) >> row {
            return Err(out_of_order(cells.len()));
        }
        cells.push(hash);
        Ok(())
    }

    /// The stored form: width, then rows 0..8.
    pub fn encode(&self) -> Vec<u8> {
        let width = self.width();
        let mut out = Vec::with_capacity(WIDTH_BYTES + 32 * hash_count(width));
        out.extend_from_slice(&(width as u16).to_be_bytes());
        for (row, cells) in self.rows.iter().enumerate() {
            // Only complete nodes are ever pushed, so each row has exactly
            // the length the width implies; encode that many regardless.
            for hash in cells.iter().take(row_len(width, row)) {
                out.extend_from_slice(hash);
            }
        }
        out
    }

    /// Reads a stored record back.
    pub fn decode(index: u64, bytes: &[u8]) -> Result<TileRecord, RecordError> {
        let width = record_width(bytes)?;
        let mut record = TileRecord::new(index);
        let mut chunks = bytes[WIDTH_BYTES..].chunks_exact(32);
        for (row, cells) in record.rows.iter_mut().enumerate() {
            for _ in 0..row_len(width, row) {
                let hash = chunks
                    .next()
                    .and_then(|c| Hash::try_from(c).ok())
                    .ok_or(RecordError::Malformed(bytes.len()))?;
                cells.push(hash);
            }
        }
        Ok(record)
    }
}

/// The bottom-row width of a stored record, checking its length.
pub(crate) fn record_width(bytes: &[u8]) -> Result<usize, RecordError> {
    let malformed = RecordError::Malformed(bytes.len());
    let (width, hashes) = bytes.split_first_chunk::<WIDTH_BYTES>().ok_or(malformed)?;
    let width = usize::from(u16::from_be_bytes(*width));
    if width == 0 || width > usize::from(FULL_WIDTH) || hashes.len() != 32 * hash_count(width) {
        return Err(RecordError::Malformed(bytes.len()));
    }
    Ok(width)
}

/// One node of a stored record, or `None` if the record does not hold it
/// (the node is not complete in the tree the record was written for).
pub(crate) fn node_in_record(
    bytes: &[u8],
    row: usize,
    position: usize,
) -> Result<Option<Hash>, RecordError> {
    let width = record_width(bytes)?;
    if row >= ROWS || position >= row_len(width, row) {
        return Ok(None);
    }
    let at = WIDTH_BYTES + 32 * (row_offset(width, row) + position);
    Ok(bytes.get(at..at + 32).and_then(|h| Hash::try_from(h).ok()))
}

/// The first `width` hashes of a stored record's bottom row, as a tile
/// serves them (32-byte hashes concatenated).
pub(crate) fn bottom_row(bytes: &[u8], width: usize) -> Result<Option<&[u8]>, RecordError> {
    let stored = record_width(bytes)?;
    if width > stored {
        return Ok(None);
    }
    Ok(bytes.get(WIDTH_BYTES..WIDTH_BYTES + 32 * width))
}

#[cfg(test)]
mod tests {
    use super::*;
    use delego_spec::merkle::{leaf_hash, Frontier, MemoryTree, NodeSource};

    /// Builds the level-0 records of a tree of `n` leaves from the frontier.
    fn records(n: u64) -> (MemoryTree, Vec<TileRecord>) {
        let mut frontier = Frontier::new();
        let mut tree = MemoryTree::new();
        let mut tiles: Vec<TileRecord> = Vec::new();
        for i in 0..n {
            let leaf = leaf_hash(&i.to_be_bytes());
            tree.push(leaf);
            for node in frontier.push(leaf).expect("room").to_vec() {
                let slot = NodeSlot::of(node.level, node.index).expect("fits");
                if slot.tile_level != 0 {
                    continue;
                }
                let at = slot.tile_index as usize;
                if tiles.len() == at {
                    tiles.push(TileRecord::new(slot.tile_index));
                }
                tiles[at]
                    .push(slot.row, slot.position, node.hash)
                    .expect("in order");
            }
        }
        (tree, tiles)
    }

    #[test]
    fn records_hold_every_complete_node_of_their_tile() {
        let (tree, tiles) = records(256 + 77);
        assert_eq!(tiles.len(), 2);
        assert!(tiles[0].is_full());
        assert_eq!(tiles[0].hashes_held(), 510);
        assert_eq!(tiles[1].width(), 77);
        for record in &tiles {
            let bytes = record.encode();
            assert_eq!(
                TileRecord::decode(record.index(), &bytes).as_ref(),
                Ok(record)
            );
            for level in 0..8u8 {
                let per_tile = 256u64 >> level;
                for position in 0..per_tile as usize {
                    let index = record.index() * per_tile + position as u64;
                    let want = tree.node(level, index).ok();
                    let got = node_in_record(&bytes, usize::from(level), position).expect("valid");
                    assert_eq!(got, want, "level {level} index {index}");
                }
            }
        }
        let bytes = tiles[1].encode();
        let row = bottom_row(&bytes, 5).expect("valid").expect("wide enough");
        assert_eq!(&row[32..64], &tree.node(0, 257).expect("leaf"));
        assert_eq!(bottom_row(&bytes, 78), Ok(None));
    }

    #[test]
    fn malformed_records_and_out_of_order_nodes_are_refused() {
        assert!(record_width(&[]).is_err());
        assert!(record_width(&[0, 0]).is_err());
        assert!(record_width(&[1, 1]).is_err());
        assert!(record_width(&[0, 1, 9]).is_err());
        let mut record = TileRecord::new(0);
        assert!(record.push(0, 1, [0; 32]).is_err());
        assert!(record.push(8, 0, [0; 32]).is_err());
        assert!(record.push(7, 2, [0; 32]).is_err());
        assert_eq!(record.push(0, 0, [0; 32]), Ok(()));
        assert!(record.push(0, 0, [0; 32]).is_err());
    }

    #[test]
    fn node_slots() {
        let slot = NodeSlot::of(9, 5).expect("fits");
        assert_eq!(
            (slot.tile_level, slot.tile_index, slot.row, slot.position),
            (1, 0, 1, 5)
        );
        let slot = NodeSlot::of(0, 513).expect("fits");
        assert_eq!(
            (slot.tile_level, slot.tile_index, slot.row, slot.position),
            (0, 2, 0, 1)
        );
        let slot = NodeSlot::of(63, 0).expect("fits");
        assert_eq!((slot.tile_level, slot.row, slot.position), (7, 7, 0));
        assert_eq!(NodeSlot::of(64, 0), None);
    }
}
