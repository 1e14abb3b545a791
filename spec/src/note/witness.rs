//! The wire messages of the witness protocol (c2sp.org/tlog-witness,
//! `add-checkpoint`): the request body, the 200 body of cosignature lines, the
//! 409 body giving the witness's size, and the status codes as data, so a log
//! and a witness built from this crate map outcomes the same way.
//!
//! No HTTP here, no witness state, no Merkle proof checking: the consistency
//! proof is carried as hashes for the Merkle module to verify, and the checks
//! that need the witness's stored checkpoint are the witness's.

use sha2::{Digest, Sha256};

use super::checkpoint::{Checkpoint, CheckpointError};
use super::error::NoteError;
use super::lines::{control_character_offset, encode_base64, parse_decimal, parse_hash, take_line};
use super::signed::{Note, NoteLimits, NoteSignature};

/// A client MUST NOT send more consistency proof lines than this.
pub const MAX_CONSISTENCY_PROOF_LINES: usize = 63;

/// `Content-Type` of the 409 body.
pub const TLOG_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// SHA-256 of the empty string: RFC 6962's root of the empty tree, which a
/// checkpoint of size zero must carry.
pub const EMPTY_TREE_ROOT: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Old-size line and proof lines: "old " and 20 digits, then 44 base64
/// characters per hash, each with its newline, then the blank line.
const MAX_REQUEST_HEADER_BYTES: usize = 25 + 45 * MAX_CONSISTENCY_PROOF_LINES + 1;

/// The outcomes of `add-checkpoint`, each a status code with its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WitnessStatus {
    /// 200: cosigned; the body is cosignature lines.
    Cosigned,
    /// 400: the request is malformed, or its old size exceeds the checkpoint's.
    BadRequest,
    /// 403: no valid signature from a key the witness trusts for the origin,
    /// or such a key's signature is invalid.
    Forbidden,
    /// 404: the witness does not know the checkpoint's origin.
    UnknownOrigin,
    /// 409: the old size is not the witness's latest cosigned size; the body
    /// is that size (`text/x.tlog.size`).
    Conflict,
    /// 422: the proof does not prove consistency (or is non-empty from size
    /// zero), equal sizes have different roots, or a size-zero checkpoint's
    /// root is not the empty tree's.
    InconsistentProof,
}

impl WitnessStatus {
    pub const ALL: [WitnessStatus; 6] = [
        WitnessStatus::Cosigned,
        WitnessStatus::BadRequest,
        WitnessStatus::Forbidden,
        WitnessStatus::UnknownOrigin,
        WitnessStatus::Conflict,
        WitnessStatus::InconsistentProof,
    ];

    /// The HTTP status code.
    pub const fn code(self) -> u16 {
        match self {
            WitnessStatus::Cosigned => 200,
            WitnessStatus::BadRequest => 400,
            WitnessStatus::Forbidden => 403,
            WitnessStatus::UnknownOrigin => 404,
            WitnessStatus::Conflict => 409,
            WitnessStatus::InconsistentProof => 422,
        }
    }

    /// What the status means in this protocol, in one line.
    pub const fn meaning(self) -> &'static str {
        match self {
            WitnessStatus::Cosigned => "checkpoint cosigned; the body is cosignature lines",
            WitnessStatus::BadRequest => {
                "malformed request, or old size larger than the checkpoint size"
            }
            WitnessStatus::Forbidden => {
                "no valid signature from a trusted log key, or an invalid one"
            }
            WitnessStatus::UnknownOrigin => "the witness does not know the checkpoint origin",
            WitnessStatus::Conflict => {
                "old size is not the latest size the witness cosigned; the body is that size"
            }
            WitnessStatus::InconsistentProof => {
                "consistency proof or empty-tree root does not check out"
            }
        }
    }

    /// The `Content-Type` the body must have, where the spec fixes one.
    pub const fn content_type(self) -> Option<&'static str> {
        match self {
            WitnessStatus::Conflict => Some(TLOG_SIZE_CONTENT_TYPE),
            _ => None,
        }
    }

    pub const fn from_code(code: u16) -> Option<WitnessStatus> {
        match code {
            200 => Some(WitnessStatus::Cosigned),
            400 => Some(WitnessStatus::BadRequest),
            403 => Some(WitnessStatus::Forbidden),
            404 => Some(WitnessStatus::UnknownOrigin),
            409 => Some(WitnessStatus::Conflict),
            422 => Some(WitnessStatus::InconsistentProof),
            _ => None,
        }
    }

    /// The status for a checkpoint that failed to open with the log keys:
    /// unknown origin is 404, signature trouble 403, anything else 400.
    pub fn for_checkpoint_error(error: &CheckpointError) -> WitnessStatus {
        match error {
            CheckpointError::UnknownOrigin(_) => WitnessStatus::UnknownOrigin,
            CheckpointError::NoLogSignature
            | CheckpointError::Note(
                NoteError::InvalidSignature { .. } | NoteError::NoVerifiedSignature,
            ) => WitnessStatus::Forbidden,
            _ => WitnessStatus::BadRequest,
        }
    }
}

/// An `add-checkpoint` request that was refused before any witness state was
/// consulted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddCheckpointError {
    #[error("request body is larger than the limit")]
    TooLarge,
    #[error("request body is not valid UTF-8")]
    NotUtf8,
    #[error("request body does not start with a newline-terminated old size line")]
    MissingOldSize,
    #[error("old size line is not \"old \" and a decimal without leading zeroes")]
    BadOldSize,
    #[error("request has no blank line between the proof and the checkpoint")]
    MissingBlankLine,
    #[error("request has more than {MAX_CONSISTENCY_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    #[error("consistency proof line {0} is not the canonical base64 of 32 bytes")]
    BadProofHash(usize),
    #[error("checkpoint note: {0}")]
    Note(NoteError),
    #[error("checkpoint: {0}")]
    Checkpoint(CheckpointError),
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldSizeBeyondCheckpoint { old: u64, size: u64 },
    #[error("a checkpoint of size zero must have the empty tree's root hash")]
    EmptyTreeRoot,
    #[error("the consistency proof from old size zero must be empty")]
    ProofFromZero,
}

impl AddCheckpointError {
    /// The status the witness answers with.
    pub fn status(&self) -> WitnessStatus {
        match self {
            AddCheckpointError::EmptyTreeRoot | AddCheckpointError::ProofFromZero => {
                WitnessStatus::InconsistentProof
            }
            _ => WitnessStatus::BadRequest,
        }
    }
}

/// An `add-checkpoint` request body: the witness's last known size, a
/// consistency proof from it, and the signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    old_size: u64,
    proof: Vec<[u8; 32]>,
    note: Note,
    checkpoint: Checkpoint,
}

impl AddCheckpointRequest {
    /// A request; the note's text must be a checkpoint no smaller than
    /// `old_size`.
    pub fn new(
        old_size: u64,
        proof: Vec<[u8; 32]>,
        note: Note,
    ) -> Result<AddCheckpointRequest, AddCheckpointError> {
        if proof.len() > MAX_CONSISTENCY_PROOF_LINES {
            return Err(AddCheckpointError::TooManyProofLines);
        }
        let checkpoint = Checkpoint::parse(note.text()).map_err(AddCheckpointError::Checkpoint)?;
        if old_size > checkpoint.size {
            return Err(AddCheckpointError::OldSizeBeyondCheckpoint {
                old: old_size,
                size: checkpoint.size,
            });
        }
        Ok(AddCheckpointRequest {
            old_size,
            proof,
            note,
            checkpoint,
        })
    }

    /// Parses a request body. Every failure here is a 400.
    pub fn parse(body: &[u8]) -> Result<AddCheckpointRequest, AddCheckpointError> {
        if body.len() > MAX_REQUEST_HEADER_BYTES + NoteLimits::DEFAULT.max_note_bytes {
            return Err(AddCheckpointError::TooLarge);
        }
        let body = std::str::from_utf8(body).map_err(|_| AddCheckpointError::NotUtf8)?;
        let (old_line, mut rest) = take_line(body).ok_or(AddCheckpointError::MissingOldSize)?;
        let old_size = old_line
            .strip_prefix("old ")
            .and_then(parse_decimal)
            .ok_or(AddCheckpointError::BadOldSize)?;
        let mut proof = Vec::new();
        loop {
            let (line, next) = take_line(rest).ok_or(AddCheckpointError::MissingBlankLine)?;
            rest = next;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_CONSISTENCY_PROOF_LINES {
                return Err(AddCheckpointError::TooManyProofLines);
            }
            proof.push(parse_hash(line).ok_or(AddCheckpointError::BadProofHash(proof.len() + 1))?);
        }
        let note = Note::parse(rest.as_bytes()).map_err(AddCheckpointError::Note)?;
        AddCheckpointRequest::new(old_size, proof, note)
    }

    /// The request body.
    pub fn encode(&self) -> Result<String, AddCheckpointError> {
        let note = self.note.encode().map_err(AddCheckpointError::Note)?;
        let mut body = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            body.push_str(&encode_base64(hash));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&note);
        Ok(body)
    }

    /// The 422 checks that need no witness state: a size-zero checkpoint has
    /// the empty tree's root, and there is no proof from size zero. Whether
    /// the proof verifies, and whether equal sizes have equal roots, is for
    /// the witness to check against what it stored.
    pub fn check_stateless_consistency(&self) -> Result<(), AddCheckpointError> {
        if self.checkpoint.size == 0 && self.checkpoint.root != EMPTY_TREE_ROOT {
            return Err(AddCheckpointError::EmptyTreeRoot);
        }
        if self.old_size == 0 && !self.proof.is_empty() {
            return Err(AddCheckpointError::ProofFromZero);
        }
        Ok(())
    }

    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    /// The consistency proof, from the old size to the checkpoint's.
    pub fn proof(&self) -> &[[u8; 32]] {
        &self.proof
    }

    /// The signed checkpoint, all its signature lines included.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The note's text, parsed (its signatures not yet checked).
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
}

/// A witness response body that a client could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("response body is larger than the limit")]
    TooLarge,
    #[error("response body is not valid UTF-8")]
    NotUtf8,
    #[error("response body contains an ASCII control character other than newline")]
    ControlCharacter,
    #[error("response body has no signature lines")]
    Empty,
    #[error("response body does not end with a newline")]
    MissingFinalNewline,
    #[error("response body has more than {max} signature lines")]
    TooManySignatures { max: usize },
    #[error("response signature line: {0}")]
    Signature(NoteError),
    #[error("size body is not a decimal without leading zeroes and a newline")]
    BadSize,
}

/// Parses a 200 body: one or more signature lines, each ending in a newline.
/// Which of them are from trusted witnesses is for the caller to verify.
pub fn parse_cosignature_lines(body: &[u8]) -> Result<Vec<NoteSignature>, ResponseError> {
    let limits = NoteLimits::DEFAULT;
    if body.len() > limits.max_note_bytes {
        return Err(ResponseError::TooLarge);
    }
    let body = std::str::from_utf8(body).map_err(|_| ResponseError::NotUtf8)?;
    if control_character_offset(body).is_some() {
        return Err(ResponseError::ControlCharacter);
    }
    if body.is_empty() {
        return Err(ResponseError::Empty);
    }
    let body = body
        .strip_suffix('\n')
        .ok_or(ResponseError::MissingFinalNewline)?;
    let mut signatures = Vec::new();
    for line in body.split('\n') {
        if signatures.len() == limits.max_signatures {
            return Err(ResponseError::TooManySignatures {
                max: limits.max_signatures,
            });
        }
        signatures.push(NoteSignature::parse_line(line).map_err(ResponseError::Signature)?);
    }
    Ok(signatures)
}

/// Renders a 200 body.
pub fn format_cosignature_lines(signatures: &[NoteSignature]) -> Result<String, ResponseError> {
    if signatures.is_empty() {
        return Err(ResponseError::Empty);
    }
    if signatures.len() > NoteLimits::DEFAULT.max_signatures {
        return Err(ResponseError::TooManySignatures {
            max: NoteLimits::DEFAULT.max_signatures,
        });
    }
    Ok(signatures.iter().map(NoteSignature::to_line).collect())
}

/// Parses a 409 body: the witness's latest cosigned size and a newline.
pub fn parse_size_body(body: &[u8]) -> Result<u64, ResponseError> {
    std::str::from_utf8(body)
        .ok()
        .and_then(|text| text.strip_suffix('\n'))
        .and_then(parse_decimal)
        .ok_or(ResponseError::BadSize)
}

/// Renders a 409 body.
pub fn format_size_body(size: u64) -> String {
    format!("{size}\n")
}

/// The origin's path segment in the monitoring API
/// (`<monitoring prefix>/<origin hash>/checkpoint`): lowercase hex SHA-256.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(Sha256::digest(b"").as_slice(), EMPTY_TREE_ROOT);
    }

    #[test]
    fn status_codes_are_a_bijection() {
        for status in WitnessStatus::ALL {
            assert_eq!(WitnessStatus::from_code(status.code()), Some(status));
            assert!(!status.meaning().is_empty());
        }
        assert_eq!(WitnessStatus::from_code(500), None);
        assert_eq!(
            WitnessStatus::Conflict.content_type(),
            Some("text/x.tlog.size")
        );
        assert_eq!(WitnessStatus::Cosigned.content_type(), None);
    }

    #[test]
    fn size_bodies_are_strict() {
        assert_eq!(parse_size_body(b"20852163\n"), Ok(20_852_163));
        assert_eq!(parse_size_body(b"0\n"), Ok(0));
        assert_eq!(format_size_body(0), "0\n");
        for bad in [&b"1"[..], b"01\n", b"1\n\n", b" 1\n", b"1\r\n", b"\n", b""] {
            assert_eq!(parse_size_body(bad), Err(ResponseError::BadSize), "{bad:?}");
        }
    }

    #[test]
    fn origin_hash_is_lowercase_hex_sha256() {
        assert_eq!(
            origin_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
