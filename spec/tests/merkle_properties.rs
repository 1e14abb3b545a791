//! Property tests of the Merkle module: the frontier, the stored tree and
//! the `ct-merkle` oracle agree on every root; frontiers survive a round
//! trip through storage; tile paths round-trip and have one name each; tile
//! coordinates invert and match the tree's nodes.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use delego_spec::merkle::{
    leaf_hash, mth, partial_tiles, root, tiles_for_size, EntryBundle, Frontier, FrontierError,
    Hash, MemoryTree, NodeSource, Tile, TilePath, TilePosition, TileSpan, EMPTY_ROOT, FULL_WIDTH,
};
use proptest::prelude::*;
use sha2::Sha256;

fn leaves() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 0..300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Frontier root == stored-tree root == oracle root, at every size, and
    /// the frontier reports each complete subtree exactly once.
    #[test]
    fn frontier_tree_and_oracle_agree(leaves in leaves()) {
        let mut oracle = MemoryBackedTree::<Sha256, Vec<u8>>::new();
        let mut tree = MemoryTree::new();
        let mut frontier = Frontier::new();
        let mut reported = 0u64;
        for data in &leaves {
            oracle.push(data.clone());
            tree.push(leaf_hash(data));
            for node in frontier.push(leaf_hash(data)).expect("room") {
                prop_assert_eq!(tree.node(node.level, node.index), Ok(node.hash));
                reported += 1;
            }
            let want: Hash = oracle.root().as_bytes().as_slice().try_into().expect("32 bytes");
            prop_assert_eq!(frontier.root(), want);
            prop_assert_eq!(root(frontier.size(), &tree), Ok(want));
        }
        // A tree of n leaves has 2n - popcount(n) complete subtrees.
        let n = leaves.len() as u64;
        prop_assert_eq!(reported, 2 * n - u64::from(n.count_ones()));
        let hashes: Vec<Hash> = leaves.iter().map(|d| leaf_hash(d)).collect();
        prop_assert_eq!(mth(&hashes), frontier.root());
    }

    /// A frontier restored from its parts, or from stored nodes, is the same
    /// frontier and keeps growing the same way.
    #[test]
    fn frontier_round_trips_through_storage(leaves in leaves(), more in leaves()) {
        let tree = MemoryTree::from_leaf_hashes(leaves.iter().map(|d| leaf_hash(d)));
        let mut frontier = Frontier::new();
        for data in &leaves {
            frontier.push(leaf_hash(data)).expect("room");
        }
        let size = frontier.size();
        let mut restored = Frontier::from_parts(size, frontier.hashes().to_vec()).expect("valid");
        prop_assert_eq!(&restored, &frontier);
        prop_assert_eq!(Frontier::from_source(size, &tree), Ok(frontier.clone()));
        for node in frontier.nodes() {
            prop_assert_eq!(tree.node(node.level, node.index), Ok(node.hash));
        }
        for data in &more {
            let a = frontier.push(leaf_hash(data)).expect("room").to_vec();
            let b = restored.push(leaf_hash(data)).expect("room").to_vec();
            prop_assert_eq!(a, b);
        }
        prop_assert_eq!(restored.root(), frontier.root());
        let mut hashes = restored.hashes().to_vec();
        let size = restored.size();
        hashes.push(EMPTY_ROOT);
        prop_assert_eq!(
            Frontier::from_parts(size, hashes.clone()),
            Err(FrontierError::WrongHashCount { size, got: hashes.len(), want: hashes.len() - 1 })
        );
    }

    /// Any size with one hash per set bit restores, and names its subtrees
    /// left to right, covering exactly [0, size).
    #[test]
    fn frontier_parts_of_any_size(size in any::<u64>()) {
        let count = size.count_ones() as usize;
        let frontier = Frontier::from_parts(size, vec![EMPTY_ROOT; count]).expect("valid");
        let mut covered: u128 = 0;
        for node in frontier.nodes() {
            prop_assert_eq!(u128::from(node.index) << node.level, covered);
            covered += 1u128 << node.level;
        }
        prop_assert_eq!(covered, u128::from(size));
        prop_assert!(Frontier::from_parts(size, vec![EMPTY_ROOT; count + 1]).is_err());
    }

    /// Tile paths parse back to what encoded them.
    #[test]
    fn tile_paths_round_trip(level in 0u8..=63, index in any::<u64>(), width in 1u16..=256) {
        let tile = TilePath::Tile(Tile::new(level, index, width).expect("valid"));
        prop_assert_eq!(tile.to_string().parse::<TilePath>(), Ok(tile));
        let bundle = TilePath::Entries(EntryBundle::new(index, width).expect("valid"));
        prop_assert_eq!(bundle.to_string().parse::<TilePath>(), Ok(bundle));
    }

    /// Whatever parses is canonical: it re-encodes to the same text.
    #[test]
    fn accepted_tile_paths_are_canonical(
        path in "tile/(entries|[0-9]{1,3})/(x[0-9]{3}/){0,7}([0-9]{3}|[0-9]{1,4})(\\.p/([1-9][0-9]{0,2}|[0-9]{1,4}))?"
    ) {
        if let Ok(parsed) = path.parse::<TilePath>() {
            prop_assert_eq!(parsed.to_string(), path);
        }
    }

    /// Canonical paths with one non-canonical edit are refused.
    #[test]
    fn non_canonical_tile_paths_are_refused(
        level in 0u8..=63,
        index in any::<u64>(),
        width in 1u16..=256,
        edit in 0usize..8,
    ) {
        let canonical = Tile::new(level, index, width).expect("valid").to_string();
        let body = canonical.strip_prefix("tile/").expect("prefix");
        let (level_text, rest) = body.split_once('/').expect("level");
        let (index_text, suffix) = rest.split_once(".p/").map_or((rest, None), |(i, w)| (i, Some(w)));
        let with_suffix = |index_text: &str| match suffix {
            Some(w) => format!("{index_text}.p/{w}"),
            None => index_text.to_owned(),
        };
        let bad = match edit {
            0 => format!("tile/0{level_text}/{rest}"),
            1 => format!("tile/{level_text}/x000/{rest}"),
            2 => format!("tile/{level_text}/0{rest}"),
            3 => format!("tile/{level_text}/{}", with_suffix(&index_text[1..])),
            4 => format!("tile/{level_text}/{}", with_suffix(&index_text.replacen('x', "", 1).replace("/x", "/"))),
            5 => format!("{canonical}/"),
            6 => match suffix {
                Some(w) => format!("tile/{level_text}/{index_text}.p/0{w}"),
                None => format!("{canonical}.p/256"),
            },
            _ => format!("/{canonical}"),
        };
        // Edit 4 is a no-op for a one-group index; nothing else is.
        if bad != canonical {
            prop_assert!(bad.parse::<TilePath>().is_err(), "{} accepted", bad);
        }
    }

    /// Stored nodes map to tile positions and back.
    #[test]
    fn tile_positions_invert(tile_level in 0u8..8, raw in any::<u64>()) {
        let level = tile_level * 8;
        let index = raw % (u64::MAX >> level);
        let position = TilePosition::of_node(level, index).expect("stored level");
        prop_assert_eq!(position.tile_level, tile_level);
        prop_assert_eq!(position.node(), Ok((level, index)));
        prop_assert!(TilePosition::of_node(level, u64::MAX >> level).is_err());
    }

    /// Any node's span covers its descendants on the tile's row.
    #[test]
    fn tile_spans_cover_the_node(level in 0u8..64, raw in any::<u64>()) {
        let index = raw % (u64::MAX >> level);
        let span = TileSpan::of_node(level, index).expect("fits");
        let below = level % 8;
        prop_assert_eq!(span.count, 1u16 << below);
        prop_assert!(u16::from(span.start) + span.count <= FULL_WIDTH);
        let first = TilePosition { tile_level: span.tile_level, tile_index: span.tile_index, position: span.start };
        prop_assert_eq!(first.node(), Ok((level - below, index << below)));
    }

    /// The tiles of a tree hold exactly its hashes at levels 0, 8, 16, …,
    /// with the partial tiles last on each level.
    #[test]
    fn tiles_cover_each_level(size in 0u64..5_000_000) {
        let mut per_level = [0u64; 8];
        let mut last: Option<Tile> = None;
        for tile in tiles_for_size(size) {
            prop_assert_eq!(Tile::at_size(tile.level(), tile.index(), size), Some(tile));
            if let Some(previous) = last.filter(|t| t.level() == tile.level()) {
                prop_assert!(previous.is_full());
                prop_assert_eq!(previous.index() + 1, tile.index());
            }
            per_level[usize::from(tile.level())] += u64::from(tile.width());
            last = Some(tile);
        }
        for (level, hashes) in per_level.iter().enumerate() {
            prop_assert_eq!(*hashes, size >> (8 * level));
        }
        let partial: Vec<Tile> = tiles_for_size(size).filter(|t| !t.is_full()).collect();
        prop_assert_eq!(partial_tiles(size).collect::<Vec<_>>(), partial);
    }
}

/// Tiles hold what the spec says: a full tile's hashes are the leaves of
/// the height-8 subtree above them, and any node is the MTH of its span.
#[test]
fn tiles_hold_the_tree() {
    let size = 70_000u64;
    let tree = MemoryTree::from_leaf_hashes((0..size).map(|i| leaf_hash(&i.to_be_bytes())));
    let tile_hashes = |tile: &Tile| -> Vec<Hash> {
        (0..tile.width())
            .map(|position| {
                let position = u8::try_from(position).expect("below 256");
                let (level, index) = tile.node(position).expect("in range");
                tree.node(level, index).expect("stored")
            })
            .collect()
    };
    let mut full = 0;
    for tile in tiles_for_size(size) {
        let hashes = tile_hashes(&tile);
        assert_eq!(hashes.len(), usize::from(tile.width()));
        if tile.is_full() {
            let above = tree.node(8 * tile.level() + 8, tile.index());
            assert_eq!(above, Ok(mth(&hashes)), "{tile}");
            full += 1;
        }
    }
    assert_eq!(full, 274);
    for (level, index) in [
        (0u8, 69_999u64),
        (3, 33),
        (7, 500),
        (9, 100),
        (12, 16),
        (15, 1),
    ] {
        let span = TileSpan::of_node(level, index).expect("fits");
        let tile = Tile::at_size(span.tile_level, span.tile_index, size).expect("served");
        let hashes = tile_hashes(&tile);
        let start = usize::from(span.start);
        let covered = &hashes[start..start + usize::from(span.count)];
        assert_eq!(
            tree.node(level, index),
            Ok(mth(covered)),
            "({level}, {index})"
        );
    }
}
