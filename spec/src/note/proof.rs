//! Offline proofs of logging (c2sp.org/tlog-proof@v1): optional extra data,
//! the entry's index, its Merkle inclusion proof and the (co)signed
//! checkpoint, as one text file (`.tlog-proof`).
//!
//! This module reads and writes the format and checks its structure. It
//! verifies nothing: the checkpoint's signatures are checked with the trust
//! policy, and the inclusion proof by the Merkle module.

use super::checkpoint::{Checkpoint, CheckpointError};
use super::error::NoteError;
use super::lines::{decode_base64, encode_base64, parse_decimal, parse_hash, take_line};
use super::signed::{Note, NoteLimits};

/// The first line of every proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A tree of at most 2^64 - 1 leaves is at most 64 levels deep.
pub const MAX_INCLUSION_PROOF_HASHES: usize = 64;

/// Extra data is opaque and unauthenticated; bound it like a note.
pub const MAX_EXTRA_BYTES: usize = 64 << 10;

/// A proof file that is not a well-formed tlog-proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("proof is larger than the limit")]
    TooLarge,
    #[error("proof is not valid UTF-8")]
    NotUtf8,
    #[error("proof does not start with the line {TLOG_PROOF_HEADER}")]
    BadHeader,
    #[error("proof extra line is not \"extra \" and non-empty canonical base64")]
    BadExtra,
    #[error("proof extra data is larger than {MAX_EXTRA_BYTES} bytes")]
    ExtraTooLarge,
    #[error("proof index line is not \"index \" and a decimal without leading zeroes")]
    BadIndex,
    #[error("proof has more than {MAX_INCLUSION_PROOF_HASHES} inclusion proof hashes")]
    TooManyHashes,
    #[error("inclusion proof line {0} is not the canonical base64 of 32 bytes")]
    BadHash(usize),
    #[error("proof has no blank line before the checkpoint")]
    MissingBlankLine,
    #[error("checkpoint note: {0}")]
    Note(NoteError),
    #[error("checkpoint: {0}")]
    Checkpoint(CheckpointError),
    #[error("entry index {index} is not inside the checkpoint's tree of size {size}")]
    IndexOutsideTree { index: u64, size: u64 },
}

/// A parsed tlog-proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    extra: Option<Vec<u8>>,
    index: u64,
    inclusion_proof: Vec<[u8; 32]>,
    note: Note,
    checkpoint: Checkpoint,
}

impl TlogProof {
    /// A proof of the entry at `index` in the tree of the checkpoint `note`.
    /// Absent extra data is `None`; `Some` must hold at least one byte, since
    /// an empty extra line has no encoding distinct from no line.
    pub fn new(
        extra: Option<Vec<u8>>,
        index: u64,
        inclusion_proof: Vec<[u8; 32]>,
        note: Note,
    ) -> Result<TlogProof, ProofError> {
        match &extra {
            Some(data) if data.is_empty() => return Err(ProofError::BadExtra),
            Some(data) if data.len() > MAX_EXTRA_BYTES => return Err(ProofError::ExtraTooLarge),
            _ => {}
        }
        if inclusion_proof.len() > MAX_INCLUSION_PROOF_HASHES {
            return Err(ProofError::TooManyHashes);
        }
        let checkpoint = Checkpoint::parse(note.text()).map_err(ProofError::Checkpoint)?;
        if index >= checkpoint.size {
            return Err(ProofError::IndexOutsideTree {
                index,
                size: checkpoint.size,
            });
        }
        Ok(TlogProof {
            extra,
            index,
            inclusion_proof,
            note,
            checkpoint,
        })
    }

    /// Parses a proof file.
    pub fn parse(file: &[u8]) -> Result<TlogProof, ProofError> {
        let max_header = TLOG_PROOF_HEADER.len()
            + 8
            + MAX_EXTRA_BYTES.div_ceil(3) * 4
            + 27
            + 45 * MAX_INCLUSION_PROOF_HASHES
            + 1;
        if file.len() > max_header + NoteLimits::DEFAULT.max_note_bytes {
            return Err(ProofError::TooLarge);
        }
        let file = std::str::from_utf8(file).map_err(|_| ProofError::NotUtf8)?;
        let (header, mut rest) = take_line(file).ok_or(ProofError::BadHeader)?;
        if header != TLOG_PROOF_HEADER {
            return Err(ProofError::BadHeader);
        }
        let (mut line, mut next) = take_line(rest).ok_or(ProofError::BadIndex)?;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            if encoded.len() > MAX_EXTRA_BYTES.div_ceil(3) * 4 {
                return Err(ProofError::ExtraTooLarge);
            }
            extra = Some(decode_base64(encoded).ok_or(ProofError::BadExtra)?);
            (line, next) = take_line(next).ok_or(ProofError::BadIndex)?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(ProofError::BadIndex)?;
        rest = next;
        let mut inclusion_proof = Vec::new();
        loop {
            let (line, next) = take_line(rest).ok_or(ProofError::MissingBlankLine)?;
            rest = next;
            if line.is_empty() {
                break;
            }
            if inclusion_proof.len() == MAX_INCLUSION_PROOF_HASHES {
                return Err(ProofError::TooManyHashes);
            }
            inclusion_proof
                .push(parse_hash(line).ok_or(ProofError::BadHash(inclusion_proof.len() + 1))?);
        }
        let note = Note::parse(rest.as_bytes()).map_err(ProofError::Note)?;
        TlogProof::new(extra, index, inclusion_proof, note)
    }

    /// The proof file.
    pub fn encode(&self) -> Result<String, ProofError> {
        let note = self.note.encode().map_err(ProofError::Note)?;
        let mut file = format!("{TLOG_PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            file.push_str("extra ");
            file.push_str(&encode_base64(extra));
            file.push('\n');
        }
        file.push_str(&format!("index {}\n", self.index));
        for hash in &self.inclusion_proof {
            file.push_str(&encode_base64(hash));
            file.push('\n');
        }
        file.push('\n');
        file.push_str(&note);
        Ok(file)
    }

    /// Opaque, unauthenticated application data.
    pub fn extra(&self) -> Option<&[u8]> {
        self.extra.as_deref()
    }

    /// The entry's zero-based index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Sibling hashes from the leaf's up to the root's child.
    pub fn inclusion_proof(&self) -> &[[u8; 32]] {
        &self.inclusion_proof
    }

    /// The checkpoint note, verbatim, with all its signature lines.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The note's text, parsed (its signatures not yet checked).
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
}
