//! Why an `add-checkpoint` request was not cosigned, each reason mapped to
//! the status tlog-witness prescribes, and the witness's own failures
//! (which are 500s: the request may have been fine).
//!
//! Messages never echo the request (it may be large or hostile): they name
//! the rule that was broken and the sizes involved.

use delego_spec::merkle::VerifyError;
use delego_spec::note::{
    AddCheckpointError, CheckpointError, CosignatureError, KeyType, NoteError, ResponseError,
    WitnessStatus,
};

use crate::store::StoreError;

/// A request the witness refused to cosign.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// 400 (the request cannot be read, or its old size exceeds its size).
    #[error("malformed request: {0}")]
    Malformed(AddCheckpointError),
    /// 404.
    #[error("the witness does not follow this checkpoint's origin")]
    UnknownOrigin,
    /// 403 (or 400 for a note no key can be matched against).
    #[error("log signature: {0}")]
    Signature(CheckpointError),
    /// 409: the client's old size is not what the witness last cosigned.
    #[error("old size {old} is not the witness's latest cosigned size {latest}")]
    Conflict { old: u64, latest: u64 },
    /// 422.
    #[error(transparent)]
    Inconsistent(Inconsistency),
    /// 500: the witness could not do its part.
    #[error("witness failure: {0}")]
    Internal(WitnessError),
}

/// Why a validly signed checkpoint is not consistent with the witness's view.
#[derive(Debug, thiserror::Error)]
pub enum Inconsistency {
    /// A size-zero checkpoint without the empty root, or a proof from zero.
    #[error("{0}")]
    Stateless(AddCheckpointError),
    /// The log signed a different root for the size the witness cosigned.
    #[error(
        "split view: the log signed a root for size {size} other than the one the witness cosigned"
    )]
    SplitView { size: u64 },
    #[error("consistency proof from size {old} to {new} does not verify: {error}")]
    Proof {
        old: u64,
        new: u64,
        error: VerifyError,
    },
}

/// A failure of the witness itself.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot cosign: {0}")]
    Cosign(#[from] CosignatureError),
    #[error("cannot render the cosigned checkpoint: {0}")]
    Note(#[from] NoteError),
    #[error("cannot render the cosignature lines: {0}")]
    Response(#[from] ResponseError),
    #[error("the clock does not tell the time; a cosignature timestamp may not be 0")]
    NoTime,
    #[error("the state of log {0:?} is unavailable after a panic while it was held")]
    Poisoned(String),
    #[error("the witness key is an {0} key, not a cosignature/v1 key")]
    NotACosignatureKey(KeyType),
}

impl Refusal {
    /// The protocol status, or `None` for a witness failure (HTTP 500).
    pub fn status(&self) -> Option<WitnessStatus> {
        match self {
            Refusal::Malformed(error) => Some(error.status()),
            Refusal::UnknownOrigin => Some(WitnessStatus::UnknownOrigin),
            Refusal::Signature(error) => Some(WitnessStatus::for_checkpoint_error(error)),
            Refusal::Conflict { .. } => Some(WitnessStatus::Conflict),
            Refusal::Inconsistent(_) => Some(WitnessStatus::InconsistentProof),
            Refusal::Internal(_) => None,
        }
    }

    /// The HTTP status code.
    pub fn http_code(&self) -> u16 {
        self.status().map_or(500, WitnessStatus::code)
    }
}

impl From<WitnessError> for Refusal {
    fn from(error: WitnessError) -> Refusal {
        Refusal::Internal(error)
    }
}
