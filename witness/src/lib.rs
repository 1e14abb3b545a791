//! `delego-witness`: a transparency-log witness (c2sp.org/tlog-witness).
//!
//! A witness follows logs, each named by its origin and trusted through its
//! Ed25519 note verifier key(s). For every log it keeps the last checkpoint
//! it cosigned, and it cosigns a new one only when the log proves the new
//! tree extends that one. It therefore never cosigns two views of a log
//! that contradict each other, which is what lets a client that sees
//! enough cosignatures trust a checkpoint offline.
//!
//! This crate owns the witness's state and its decisions: the durable store
//! ([`store`]), the check-and-cosign step ([`Witness::add_checkpoint`]), the
//! evidence it keeps of refused but validly signed checkpoints
//! ([`evidence`]), its key file ([`key`]), its home directory ([`home`]) and
//! the HTTP routes ([`http`]). Every byte format — notes, checkpoints,
//! cosignatures, request and response bodies — and every Merkle check comes
//! from `delego-spec`; this crate never re-implements them. It never answers
//! with a cosignature before the checkpoint it vouches for is durably stored.
#![forbid(unsafe_code)]

mod check;
pub mod clock;
pub mod evidence;
pub mod home;
pub mod http;
pub mod key;
mod refusal;
pub mod store;
pub mod test_log;
mod witness;

pub use clock::{Clock, FixedClock, SystemClock};
pub use evidence::Evidence;
pub use home::{HomeError, Initialised, WitnessHome};
pub use refusal::{Inconsistency, Refusal, WitnessError};
pub use store::{Latest, StoreError, WitnessStore};
pub use test_log::{TestLog, TestLogError};
pub use witness::{AddLogError, Cosigned, LogSummary, Witness};
