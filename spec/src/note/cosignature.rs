//! Ed25519 witness cosignatures (c2sp.org/tlog-cosignature, cosignature/v1,
//! signature type 0x04): a timestamped signature over
//! `cosignature/v1\ntime <T>\n` followed by the checkpoint text.
//!
//! The signature line's bytes are key ID (4) ‖ timestamp (8, big-endian) ‖
//! Ed25519 signature (64). The timestamp is the caller's: this crate reads no
//! clock. The signed message does not name the witness, so one key must
//! never serve two witness names; that is the operator's rule to keep.

use ed25519_dalek::Signer as _;

use super::checkpoint::{Checkpoint, CheckpointError};
use super::error::NoteError;
use super::key::{KeyType, SignerKey, VerifierKey};
use super::signed::NoteSignature;
use super::verify::check_cosignature_v1;

/// The domain-separation header line.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1";

/// Timestamps MUST NOT exceed 2^63 - 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// A cosignature that could not be made, read or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    #[error("a cosignature/v1 needs an Ed25519 cosignature (0x04) key, not {0}")]
    NotACosignatureKey(KeyType),
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    TimestampTooLarge(u64),
    #[error("signature line is from {line_name}+{line_id:08x}, not the witness key {key_name}+{key_id:08x}")]
    KeyMismatch {
        line_name: String,
        line_id: u32,
        key_name: String,
        key_id: u32,
    },
    #[error("cosignature is {0} bytes after the key ID; a cosignature/v1 is 72")]
    Length(usize),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// The message a cosignature/v1 signs over a checkpoint text `body`.
pub fn cosignature_message(body: &str, timestamp: u64) -> Vec<u8> {
    format!("{COSIGNATURE_V1_HEADER}\ntime {timestamp}\n{body}").into_bytes()
}

/// Cosigns `checkpoint` at `timestamp` (POSIX seconds). A witness answering
/// `add-checkpoint` must pass the current time: that protocol forbids 0.
pub fn cosign(
    checkpoint: &Checkpoint,
    witness_key: &SignerKey,
    timestamp: u64,
) -> Result<NoteSignature, CosignatureError> {
    if witness_key.key_type() != KeyType::CosignatureV1 {
        return Err(CosignatureError::NotACosignatureKey(witness_key.key_type()));
    }
    if timestamp > MAX_TIMESTAMP {
        return Err(CosignatureError::TimestampTooLarge(timestamp));
    }
    let message = cosignature_message(&checkpoint.to_text()?, timestamp);
    let signature = witness_key.signing_key().sign(&message);
    let mut bytes = Vec::with_capacity(KeyType::CosignatureV1.signature_len());
    bytes.extend_from_slice(&timestamp.to_be_bytes());
    bytes.extend_from_slice(&signature.to_bytes());
    Ok(NoteSignature::new(
        witness_key.name(),
        witness_key.key_id(),
        bytes,
    )?)
}

/// Verifies one cosignature line by `witness_key` on `checkpoint` and returns
/// its timestamp.
pub fn verify_cosignature(
    checkpoint: &Checkpoint,
    signature: &NoteSignature,
    witness_key: &VerifierKey,
) -> Result<u64, CosignatureError> {
    if witness_key.key_type() != KeyType::CosignatureV1 {
        return Err(CosignatureError::NotACosignatureKey(witness_key.key_type()));
    }
    if signature.name() != witness_key.name() || signature.key_id() != witness_key.key_id() {
        return Err(CosignatureError::KeyMismatch {
            line_name: signature.name().to_owned(),
            line_id: signature.key_id(),
            key_name: witness_key.name().to_owned(),
            key_id: witness_key.key_id(),
        });
    }
    Ok(check_cosignature_v1(
        witness_key,
        &checkpoint.to_text()?,
        signature.signature(),
    )?)
}

/// The timestamp a cosignature/v1 line claims, read without verifying it
/// (for display and diagnostics; trust only [`verify_cosignature`]).
pub fn cosignature_timestamp(signature: &NoteSignature) -> Result<u64, CosignatureError> {
    let bytes = signature.signature();
    let Some((timestamp, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(CosignatureError::Length(bytes.len()));
    };
    if rest.len() != 64 {
        return Err(CosignatureError::Length(bytes.len()));
    }
    let timestamp = u64::from_be_bytes(*timestamp);
    if timestamp > MAX_TIMESTAMP {
        return Err(CosignatureError::TimestampTooLarge(timestamp));
    }
    Ok(timestamp)
}
