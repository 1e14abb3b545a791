//! RFC 6962 / RFC 9162 Merkle trees for the receipt transparency log, and
//! the C2SP tlog-tiles coordinates the log is served in.
//!
//! This module owns the tree hashing with its leaf/node domain separation,
//! the frontier a log appends with, inclusion and consistency proofs built
//! from any store of complete-subtree hashes, their verification, and tile
//! paths and coordinates. It never does I/O: storage sits behind
//! [`NodeSource`], and verification needs only hashes. Nothing here panics
//! on its input: sizes, indices, proofs and paths arrive from the network,
//! and every bad one is an error.

mod frontier;
mod hash;
mod prove;
mod source;
mod tile_path;
mod tiles;
mod verify;

pub use frontier::{Frontier, FrontierError, Node};
pub use hash::{leaf_hash, mth, node_hash, Hash, EMPTY_ROOT};
pub use prove::{consistency_proof, inclusion_proof, root, ProofError};
pub use source::{MemoryTree, MissingNode, NodeSource};
pub use tile_path::{TilePath, TilePathError};
pub use tiles::{
    partial_tiles, tiles_for_size, EntryBundle, Tile, TileError, TilePosition, TileSpan,
    FULL_WIDTH, MAX_TILE_LEVEL, TILE_HEIGHT,
};
pub use verify::{root_from_inclusion, verify_consistency, verify_inclusion, VerifyError};
