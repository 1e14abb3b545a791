//! C2SP tlog-tiles coordinates: which tiles a tree of a given size is
//! served as, and where a tree node's hash lives in them.
//!
//! A tile at tile level L holds up to 256 consecutive hashes of tree level
//! 8·L; a full tile is the bottom row of a complete subtree of height 8,
//! whose inner levels are recomputed from it. Tile N at level L covers the
//! leaves `[N·256^(L+1), (N+1)·256^(L+1))`. Only tiles at levels 0..=7 can
//! hold any hash of a tree of at most 2^64 - 1 leaves; paths may still name
//! levels up to 63, which the tlog-tiles syntax allows.

/// Tree levels a tile spans.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile.
pub const FULL_WIDTH: u16 = 1 << TILE_HEIGHT;
/// The highest tile level a path may name.
pub const MAX_TILE_LEVEL: u8 = 63;

/// Why tile coordinates are invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("tile level {0} is above {MAX_TILE_LEVEL}")]
    Level(u8),
    #[error("tile width {0} is not in 1..=256")]
    Width(u16),
    #[error("tree level {0} is not a multiple of 8, so tiles do not store it")]
    NotStoredLevel(u8),
    #[error("no tree of at most 2^64 - 1 leaves has node {index} at level {level}")]
    NodeOutOfRange { level: u8, index: u64 },
    #[error(
        "no tree of at most 2^64 - 1 leaves has hash {position} of tile {index} at level {level}"
    )]
    PositionOutOfRange { level: u8, index: u64, position: u8 },
}

/// A Merkle tree tile: `width` hashes (256 when full) of tile `index` at
/// tile level `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    level: u8,
    index: u64,
    width: u16,
}

impl Tile {
    pub fn new(level: u8, index: u64, width: u16) -> Result<Self, TileError> {
        if level > MAX_TILE_LEVEL {
            return Err(TileError::Level(level));
        }
        check_width(width)?;
        Ok(Tile {
            level,
            index,
            width,
        })
    }

    /// The tile as it stands in a tree of `tree_size` leaves: full, partial
    /// with the width that size gives it, or `None` if that tree has no
    /// hash in it (such tiles are never served).
    pub fn at_size(level: u8, index: u64, tree_size: u64) -> Option<Self> {
        let hashes = hashes_at_level(level, tree_size);
        let first = index.checked_mul(u64::from(FULL_WIDTH))?;
        let width = hashes.checked_sub(first).filter(|w| *w > 0)?;
        let width = u16::try_from(width.min(u64::from(FULL_WIDTH))).ok()?;
        Tile::new(level, index, width).ok()
    }

    pub fn level(&self) -> u8 {
        self.level
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    /// The number of hashes: 256 for a full tile, 1..=255 for a partial one.
    pub fn width(&self) -> u16 {
        self.width
    }

    pub fn is_full(&self) -> bool {
        self.width == FULL_WIDTH
    }

    /// The tree node that the tile's hash at `position` is.
    pub fn node(&self, position: u8) -> Result<(u8, u64), TileError> {
        TilePosition {
            tile_level: self.level,
            tile_index: self.index,
            position,
        }
        .node()
    }
}

/// An entry bundle: `width` entries (256 when full) of bundle `index`, the
/// leaves whose hashes level-0 tile `index` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryBundle {
    index: u64,
    width: u16,
}

impl EntryBundle {
    pub fn new(index: u64, width: u16) -> Result<Self, TileError> {
        check_width(width)?;
        Ok(EntryBundle { index, width })
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    pub fn width(&self) -> u16 {
        self.width
    }

    pub fn is_full(&self) -> bool {
        self.width == FULL_WIDTH
    }

    /// The level-0 tile holding these entries' leaf hashes.
    pub fn tile(&self) -> Tile {
        Tile {
            level: 0,
            index: self.index,
            width: self.width,
        }
    }
}

fn check_width(width: u16) -> Result<(), TileError> {
    if (1..=FULL_WIDTH).contains(&width) {
        Ok(())
    } else {
        Err(TileError::Width(width))
    }
}

/// Where a stored node (a tree level that is a multiple of 8) sits: hash
/// `position` of tile `tile_index` at `tile_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TilePosition {
    pub tile_level: u8,
    pub tile_index: u64,
    pub position: u8,
}

impl TilePosition {
    /// The tile position of tree node (level, index).
    pub fn of_node(level: u8, index: u64) -> Result<Self, TileError> {
        if u32::from(level) % TILE_HEIGHT != 0 {
            return Err(TileError::NotStoredLevel(level));
        }
        let span = TileSpan::of_node(level, index)?;
        Ok(TilePosition {
            tile_level: span.tile_level,
            tile_index: span.tile_index,
            position: span.start,
        })
    }

    /// The tree node (level, index) at this position.
    pub fn node(&self) -> Result<(u8, u64), TileError> {
        let out_of_range = TileError::PositionOutOfRange {
            level: self.tile_level,
            index: self.tile_index,
            position: self.position,
        };
        let level = u32::from(self.tile_level) * TILE_HEIGHT;
        let index = self
            .tile_index
            .checked_mul(u64::from(FULL_WIDTH))
            .and_then(|i| i.checked_add(u64::from(self.position)))
            .filter(|&i| node_fits(level, i))
            .ok_or(out_of_range)?;
        let level = u8::try_from(level).map_err(|_| out_of_range)?;
        Ok((level, index))
    }
}

/// The hashes of one tile from which any tree node's hash is computed:
/// positions `start..start + count` of tile `tile_index` at `tile_level`,
/// whose MTH ([`crate::merkle::mth`]) is the node. `count` is 2^(level mod 8);
/// 1 for a stored node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileSpan {
    pub tile_level: u8,
    pub tile_index: u64,
    pub start: u8,
    pub count: u16,
}

impl TileSpan {
    pub fn of_node(level: u8, index: u64) -> Result<Self, TileError> {
        let out_of_range = TileError::NodeOutOfRange { level, index };
        if !node_fits(u32::from(level), index) {
            return Err(out_of_range);
        }
        let below = u32::from(level) % TILE_HEIGHT;
        // The node's leftmost descendant on the tile's row; it fits, as the
        // node's leaves do.
        let first = index.checked_shl(below).ok_or(out_of_range)?;
        let tile_level = u8::try_from(u32::from(level) / TILE_HEIGHT).map_err(|_| out_of_range)?;
        Ok(TileSpan {
            tile_level,
            tile_index: first >> TILE_HEIGHT,
            start: (first % u64::from(FULL_WIDTH)) as u8,
            count: 1 << below,
        })
    }
}

/// Whether node (level, index) is complete in some tree of at most
/// 2^64 - 1 leaves: `(index + 1)·2^level <= u64::MAX`.
fn node_fits(level: u32, index: u64) -> bool {
    level < u64::BITS && index < u64::MAX >> level
}

/// How many hashes tree level 8·`tile_level` has in a tree of `tree_size`
/// leaves.
fn hashes_at_level(tile_level: u8, tree_size: u64) -> u64 {
    tree_size
        .checked_shr(u32::from(tile_level) * TILE_HEIGHT)
        .unwrap_or(0)
}

/// Every tile of a tree of `tree_size` leaves, level by level and left to
/// right: the full tiles of each level, then its partial tile if any.
/// Entry bundles are the level-0 tiles' ([`EntryBundle::tile`]).
pub fn tiles_for_size(tree_size: u64) -> impl Iterator<Item = Tile> {
    (0..=MAX_TILE_LEVEL)
        .map(move |level| (level, hashes_at_level(level, tree_size)))
        .take_while(|(_, hashes)| *hashes > 0)
        .flat_map(move |(level, hashes)| {
            let tiles = hashes.div_ceil(u64::from(FULL_WIDTH));
            (0..tiles).filter_map(move |index| Tile::at_size(level, index, tree_size))
        })
}

/// The partial tiles of a tree of `tree_size` leaves, lowest level first:
/// the tiles a log writes (besides newly full ones) for each new checkpoint.
pub fn partial_tiles(tree_size: u64) -> impl Iterator<Item = Tile> {
    (0..=MAX_TILE_LEVEL)
        .map(move |level| (level, hashes_at_level(level, tree_size)))
        .take_while(|(_, hashes)| *hashes > 0)
        .filter_map(move |(level, hashes)| {
            Tile::at_size(level, hashes / u64::from(FULL_WIDTH), tree_size)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_of_70000_leaves() {
        let tiles: Vec<Tile> = tiles_for_size(70_000).collect();
        let full = |level| {
            tiles
                .iter()
                .filter(|t| t.level == level && t.is_full())
                .count()
        };
        let partial: Vec<_> = partial_tiles(70_000)
            .map(|t| (t.level, t.index, t.width))
            .collect();
        assert_eq!((full(0), full(1), full(2)), (273, 1, 0));
        assert_eq!(partial, vec![(0, 273, 112), (1, 1, 17), (2, 0, 1)]);
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
        let at_256: Vec<_> = tiles_for_size(256)
            .map(|t| (t.level, t.index, t.width))
            .collect();
        assert_eq!(at_256, vec![(0, 0, 256), (1, 0, 1)]);
        assert_eq!(tiles_for_size(0).count(), 0);
    }

    #[test]
    fn tiles_at_a_size() {
        assert_eq!(Tile::at_size(0, 1, 300), Tile::new(0, 1, 44).ok());
        assert_eq!(Tile::at_size(0, 0, 300), Tile::new(0, 0, 256).ok());
        assert_eq!(Tile::at_size(0, 2, 300), None);
        assert_eq!(Tile::at_size(1, 0, 255), None);
        assert_eq!(Tile::at_size(7, 0, u64::MAX), Tile::new(7, 0, 255).ok());
        assert_eq!(Tile::at_size(8, 0, u64::MAX), None);
        assert_eq!(Tile::at_size(0, u64::MAX, u64::MAX), None);
        assert_eq!(partial_tiles(u64::MAX).last(), Tile::new(7, 0, 255).ok());
        assert_eq!(partial_tiles(u64::MAX).count(), 8);
    }

    #[test]
    fn node_positions() {
        let p = TilePosition::of_node(8, 1000).expect("stored level");
        assert_eq!((p.tile_level, p.tile_index, p.position), (1, 3, 232));
        assert_eq!(p.node(), Ok((8, 1000)));
        assert_eq!(
            TilePosition::of_node(3, 0),
            Err(TileError::NotStoredLevel(3))
        );
        // A tree of 2^64 - 1 leaves has 255 complete subtrees at level 56.
        assert_eq!(
            TilePosition::of_node(56, 255),
            Err(TileError::NodeOutOfRange {
                level: 56,
                index: 255
            })
        );
        let top = TilePosition::of_node(56, 254).expect("fits");
        assert_eq!((top.tile_level, top.tile_index, top.position), (7, 0, 254));
        let last = TilePosition {
            tile_level: 7,
            tile_index: 0,
            position: 255,
        };
        assert_eq!(
            last.node(),
            Err(TileError::PositionOutOfRange {
                level: 7,
                index: 0,
                position: 255
            })
        );
        let beyond = TilePosition {
            tile_level: 8,
            tile_index: 0,
            position: 0,
        };
        assert!(beyond.node().is_err());
        let beyond = TilePosition {
            tile_level: 0,
            tile_index: u64::MAX,
            position: 0,
        };
        assert!(beyond.node().is_err());
    }

    #[test]
    fn spans_of_unstored_levels() {
        // Level 3, index 33: leaves 264..272, i.e. level-0 tile 1,
        // positions 8..16.
        let span = TileSpan::of_node(3, 33).expect("fits");
        assert_eq!(
            (span.tile_level, span.tile_index, span.start, span.count),
            (0, 1, 8, 8)
        );
        let span = TileSpan::of_node(15, 5).expect("fits");
        assert_eq!(
            (span.tile_level, span.tile_index, span.start, span.count),
            (1, 2, 128, 128)
        );
        assert_eq!(
            TileSpan::of_node(64, 0),
            Err(TileError::NodeOutOfRange {
                level: 64,
                index: 0
            })
        );
        assert!(TileSpan::of_node(63, 1).is_err());
        assert!(TileSpan::of_node(63, 0).is_ok());
    }

    #[test]
    fn constructors_check_ranges() {
        assert_eq!(Tile::new(64, 0, 1), Err(TileError::Level(64)));
        assert_eq!(Tile::new(0, 0, 0), Err(TileError::Width(0)));
        assert_eq!(Tile::new(0, 0, 257), Err(TileError::Width(257)));
        assert_eq!(EntryBundle::new(3, 0), Err(TileError::Width(0)));
        let bundle = EntryBundle::new(3, 12).expect("valid");
        assert_eq!(bundle.tile(), Tile::new(0, 3, 12).expect("valid"));
    }
}
