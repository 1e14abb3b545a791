//! `delego-log`: the transparency log of delego receipts.
//!
//! Leaf `i` is receipt `seq = i`, its bytes the receipt's canonical JSON;
//! one log per origin. The tree (RFC 6962) lives in RocksDB next to the
//! entries it covers — in the firewall's own database when embedded
//! ([`LogStore::attach`] to its `receipts` family), or in the log's own when
//! standalone ([`LogStore::open_standalone`], filled by `POST /v1/append`).
//!
//! A sequencer integrates new entries in batches: leaf hashes, completed
//! tiles, the frontier and a new C2SP checkpoint signed with the log's
//! Ed25519 note key go into one synced write, so the signed head always
//! matches the persisted tree and never forks, even across crashes. Each
//! new checkpoint is pushed to the configured witnesses
//! (c2sp.org/tlog-witness); a trust policy (c2sp.org/tlog-policy) says when
//! the gathered cosignatures make it witnessed.
//!
//! Clients read the log over HTTP ([`Log::router`]): tlog-tiles resources
//! and JSON proofs. Merkle hashing, proofs, tiles, notes, checkpoints,
//! cosignatures and policies are the spec crate's; this crate stores,
//! sequences, serves and talks to witnesses. It never writes the entries of
//! an embedded log: the firewall owns them.
#![forbid(unsafe_code)]

mod append;
mod append_client;
mod config;
mod cosign;
mod error;
mod http;
mod integrate;
mod log;
mod sequencer;
mod server;
mod store;
mod tile_record;
mod tree;
mod witness;

#[cfg(test)]
mod tests;

pub use append::{MAX_APPEND_LEAVES, MAX_LEAF_BYTES};
pub use append_client::{AppendClient, AppendClientError};
pub use config::{generate_log_key, LogConfig, WitnessConfig};
pub use error::LogError;
pub use http::{router, ApiError};
pub use log::{Log, SignedCheckpoint, WitnessReport};
pub use server::run_server;
pub use store::{LogStore, COLUMN_FAMILIES, STANDALONE_ENTRIES_FAMILY};

impl Log {
    /// The HTTP API over this log; see [`router`].
    pub fn router(&self) -> axum::Router {
        router(self.clone())
    }

    /// An HTTP client for [`Log::witness_now`], with the configured
    /// witness timeout.
    pub fn witness_client(&self) -> Result<reqwest::Client, LogError> {
        witness::client(self.inner.witness_timeout)
    }
}
