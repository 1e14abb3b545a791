//! The C2SP transparency-log text formats, as pure functions:
//! signed notes and their keys (c2sp.org/signed-note), checkpoints
//! (c2sp.org/tlog-checkpoint), Ed25519 cosignatures (c2sp.org/tlog-cosignature,
//! cosignature/v1), the witness protocol's wire messages
//! (c2sp.org/tlog-witness), offline proofs (c2sp.org/tlog-proof@v1) and trust
//! policies (c2sp.org/tlog-policy).
//!
//! This module owns the bytes a log signs, a witness cosigns and an auditor
//! checks. It never hashes Merkle trees or verifies inclusion or consistency
//! proofs — proof hashes pass through as `[u8; 32]` for the Merkle module —
//! and it never performs I/O, reads a clock (cosignature timestamps are passed
//! in) or draws randomness of its own.
//!
//! Parsers are strict: every value has one accepted spelling, inputs are
//! bounded, and a signature from a known key that fails to verify rejects the
//! whole note.

mod checkpoint;
mod cosignature;
mod error;
mod key;
mod lines;
mod policy;
mod proof;
mod quorum;
mod signed;
mod verify;
mod witness;

pub use checkpoint::{
    open_checkpoint, open_checkpoint_note, Checkpoint, CheckpointError, OpenedCheckpoint,
};
pub use cosignature::{
    cosign, cosignature_message, cosignature_timestamp, verify_cosignature, CosignatureError,
    COSIGNATURE_V1_HEADER, MAX_TIMESTAMP,
};
pub use error::NoteError;
pub use key::{check_key_name, key_id, KeyType, SignerKey, VerifierKey};
pub use policy::{
    PolicyError, PolicyGroup, PolicyLineError, PolicyLog, PolicyName, PolicyWitness, Quorum,
    Threshold, TrustPolicy, MAX_POLICY_BYTES, MAX_POLICY_ENTRIES,
};
pub use proof::{
    ProofError, TlogProof, MAX_EXTRA_BYTES, MAX_INCLUSION_PROOF_HASHES, TLOG_PROOF_HEADER,
};
pub use quorum::{Cosigner, PolicyVerdict};
pub use signed::{Note, NoteLimits, NoteSignature, SIGNATURE_LINE_PREFIX};
pub use verify::{VerifiedNote, VerifiedSignature, Verifiers};
pub use witness::{
    format_cosignature_lines, format_size_body, origin_hash, parse_cosignature_lines,
    parse_size_body, AddCheckpointError, AddCheckpointRequest, ResponseError, WitnessStatus,
    EMPTY_TREE_ROOT, MAX_CONSISTENCY_PROOF_LINES, TLOG_SIZE_CONTENT_TYPE,
};
