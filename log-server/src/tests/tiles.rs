//! Served tiles hold exactly the memory tree's nodes, partial tiles are
//! prefixes, nothing beyond the tree is served, and entry bundles give back
//! the leaves.

use delego_spec::merkle::{tiles_for_size, EntryBundle, MemoryTree, NodeSource, Tile};

use super::{leaf, memory_tree, open_db, open_log, write_leaves};
use crate::{Log, LogError};

/// Past 65,536 leaves: full tiles at levels 0 and 1, partial ones at 0, 1, 2.
const LEAVES: u64 = 70_000;

fn expected_tile(tree: &MemoryTree, tile: Tile) -> Vec<u8> {
    let level = tile.level() * 8;
    (0..u64::from(tile.width()))
        .flat_map(|i| {
            tree.node(level, tile.index() * 256 + i)
                .expect("node of the tree")
        })
        .collect()
}

fn decode_bundle(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut entries = Vec::new();
    let mut rest = bytes;
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len));
        entries.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    entries
}

fn integrated(leaves: u64, step: u64) -> (tempfile::TempDir, Log) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(&dir.path().join("db"));
    write_leaves(&db, 0, leaves);
    let log = open_log(&db, step);
    log.integrate_now().expect("integrate");
    (dir, log)
}

#[test]
fn every_served_hash_is_the_memory_tree_node() {
    let (_dir, log) = integrated(LEAVES, 10_007);
    let tree = memory_tree(LEAVES);
    let mut served = 0;
    for tile in tiles_for_size(LEAVES) {
        let bytes = log.tile(tile).expect("read").expect("served");
        assert_eq!(bytes, expected_tile(&tree, tile), "tile {tile}");
        served += 1;
        // Every narrower partial version is a prefix of it.
        for width in [1u16, 17, 112, 255] {
            if width < tile.width() {
                let narrow = Tile::new(tile.level(), tile.index(), width).expect("valid");
                let bytes = log.tile(narrow).expect("read").expect("served");
                assert_eq!(bytes, expected_tile(&tree, narrow), "tile {narrow}");
            }
        }
    }
    assert_eq!(served, 273 + 1 + 1 + 1 + 1);
}

#[test]
fn nothing_beyond_the_tree_is_served() {
    let (_dir, log) = integrated(LEAVES, 50_000);
    let absent = [
        Tile::new(0, 273, 113), // wider than the partial tile
        Tile::new(0, 273, 256), // the full version of a partial tile
        Tile::new(0, 274, 1),   // past the end
        Tile::new(1, 1, 256),
        Tile::new(2, 0, 256),
        Tile::new(3, 0, 1),
        Tile::new(63, 0, 1),
    ];
    for tile in absent {
        let tile = tile.expect("valid");
        assert_eq!(log.tile(tile).expect("read"), None, "tile {tile}");
    }
    let bundle = EntryBundle::new(273, 113).expect("valid");
    assert_eq!(log.entry_bundle(bundle).expect("read"), None);
    let bundle = EntryBundle::new(u64::MAX, 1).expect("valid");
    assert_eq!(log.entry_bundle(bundle).expect("read"), None);
}

#[test]
fn entry_bundles_round_trip() {
    let (_dir, log) = integrated(600, 250);
    for (index, width) in [(0u64, 256u16), (1, 256), (2, 88), (2, 1), (0, 3)] {
        let bundle = EntryBundle::new(index, width).expect("valid");
        let bytes = log.entry_bundle(bundle).expect("read").expect("served");
        let want: Vec<Vec<u8>> = (0..u64::from(width))
            .map(|i| leaf(index * 256 + i))
            .collect();
        assert_eq!(decode_bundle(&bytes), want, "bundle {bundle}");
    }
}

#[test]
fn an_entry_too_long_for_a_bundle_is_an_error_not_a_truncation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(&dir.path().join("db"));
    let family = db.cf_handle("receipts").expect("family");
    db.put_cf(family, 0u64.to_be_bytes(), vec![b'x'; 70_000])
        .expect("put");
    let log = open_log(&db, 10);
    assert_eq!(log.integrate_now().expect("integrate"), 1);
    let bundle = EntryBundle::new(0, 1).expect("valid");
    assert!(matches!(
        log.entry_bundle(bundle),
        Err(LogError::EntryTooLarge {
            index: 0,
            len: 70_000
        })
    ));
}
