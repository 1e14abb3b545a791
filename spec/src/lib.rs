//! `delego-spec`: the delego wire formats, as pure functions.
//!
//! This crate owns every byte that is hashed, signed or exchanged between
//! implementations: canonical JSON, the intent hash and action fingerprint,
//! receipts and chain verification with head anchors, Ed25519 key files,
//! authorization tokens, and the policy document model with its fail-closed
//! validation. It performs no I/O — no files, sockets, clocks or ambient
//! randomness; time and randomness are passed in — so that the firewall, the
//! log, witnesses and offline auditors all share one implementation.
#![forbid(unsafe_code)]

pub mod action;
pub mod audit;
pub mod chain;
pub mod conformance;
pub mod hash;
pub mod json;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod receipt;
pub mod text;
pub mod token;
pub mod url;

pub use action::{ActionError, ActionIdentity, ProposedAction};
pub use chain::{verify_chain, AnchorStatus, ChainReport, ChainVerifier, HeadAnchor};
pub use hash::sha256_hex;
pub use receipt::{HashedPayload, Outcome, Phase, Receipt, ReceiptPayload, GENESIS};
