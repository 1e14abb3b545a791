//! Everything the log can refuse or fail at, one precise variant each, so
//! that the HTTP layer can map each to its status and a caller embedding the
//! log can tell bad input from a broken store. Nothing here decides a
//! status code: the HTTP layer maps variants.

use delego_spec::merkle::FrontierError;
use delego_spec::note::{CheckpointError, NoteError};

/// A log operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    // --- storage -------------------------------------------------------
    #[error("{context}: {source}")]
    Storage {
        context: &'static str,
        #[source]
        source: rocksdb::Error,
    },
    #[error("column family {0:?} is missing from the database (open it with delego_log::COLUMN_FAMILIES)")]
    MissingFamily(String),
    #[error("the stored log is corrupt: {0}")]
    Corrupt(String),
    #[error("the database holds the log of origin {stored:?}, not {configured:?}")]
    OriginMismatch { stored: String, configured: String },
    #[error(
        "the database's checkpoints are signed by {stored}, not the configured key {configured}"
    )]
    KeyMismatch { stored: String, configured: String },

    // --- configuration -------------------------------------------------
    #[error("the log key is named {key:?}, but a log's key name must be its origin {origin:?}")]
    KeyNotForOrigin { key: String, origin: String },
    #[error("the log key must be an Ed25519 (0x01) note key")]
    NotALogKey,
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error(transparent)]
    Frontier(#[from] FrontierError),

    // --- reads and proofs ------------------------------------------------
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is beyond the log's {tree_size} integrated leaves")]
    SizeBeyondTree { size: u64, tree_size: u64 },
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizesOutOfOrder { old: u64, new: u64 },
    #[error("there is no consistency proof from the empty tree")]
    EmptyOldTree,
    #[error("no leaf with this hash is in the log")]
    UnknownLeafHash,
    #[error("entry {index} is {len} bytes; an entry bundle holds entries of at most 65535 bytes")]
    EntryTooLarge { index: u64, len: usize },

    // --- appends (standalone log) ----------------------------------------
    #[error("this log's entries are written by its host; it accepts no appends")]
    NotStandalone,
    #[error("an append must carry at least one leaf")]
    EmptyAppend,
    #[error("an append may carry at most {max} leaves")]
    TooManyLeaves { max: usize },
    #[error("append starts at {first_index}, but the log has {size} entries: appends must be contiguous")]
    AppendGap { first_index: u64, size: u64 },
    #[error("leaf {index} differs from the leaf already stored at that index")]
    AppendConflict { index: u64, size: u64 },
    #[error("leaf {index} is {len} bytes; the limit is 65535 (an entry bundle's 2-byte length)")]
    LeafTooLarge { index: u64, len: usize },
    #[error("leaf {index} is not a delego receipt in canonical JSON with seq {index}: {reason}")]
    NotAReceipt { index: u64, reason: String },

    // --- witnessing ------------------------------------------------------
    #[error("leaf {index} is not covered by a witnessed checkpoint yet (witnessed size {witnessed}); retry after the next checkpoint is cosigned")]
    NotWitnessedYet { index: u64, witnessed: u64 },
    #[error("cannot encode the proof: {0}")]
    Proof(String),
    #[error("no witnessed checkpoint covers leaf {index} within the timeout (witnessed size {witnessed})")]
    WitnessTimeout { index: u64, witnessed: u64 },
}

impl LogError {
    /// A storage error with what was being done.
    pub(crate) fn storage(context: &'static str) -> impl FnOnce(rocksdb::Error) -> LogError {
        move |source| LogError::Storage { context, source }
    }
}
