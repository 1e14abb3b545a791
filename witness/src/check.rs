//! The one decision that needs the witness's state: may a request whose log
//! signature verified be cosigned, given the checkpoint cosigned last?
//! Pure: the caller holds the origin's lock, so what is checked here is
//! what gets replaced.

use delego_spec::merkle::{verify_consistency, VerifyError};
use delego_spec::note::{AddCheckpointRequest, Checkpoint};

use crate::refusal::{Inconsistency, Refusal};

/// Checks, in the order tlog-witness lists them: the old size is the size
/// cosigned last (zero if none) — else 409; then the checks needing no
/// state, and the consistency proof from the cosigned tree — else 422.
pub(crate) fn check_against_latest(
    request: &AddCheckpointRequest,
    latest: Option<&Checkpoint>,
) -> Result<(), Refusal> {
    let latest_size = latest.map_or(0, |checkpoint| checkpoint.size);
    let old = request.old_size();
    if old != latest_size {
        return Err(Refusal::Conflict {
            old,
            latest: latest_size,
        });
    }
    request
        .check_stateless_consistency()
        .map_err(|e| Refusal::Inconsistent(Inconsistency::Stateless(e)))?;
    // The empty tree is a prefix of every tree: nothing to prove.
    let Some(latest) = latest.filter(|_| old > 0) else {
        return Ok(());
    };
    let new = request.checkpoint();
    verify_consistency(old, new.size, request.proof(), &latest.root, &new.root).map_err(|error| {
        Refusal::Inconsistent(match error {
            VerifyError::SameSizeDifferentRoots => Inconsistency::SplitView { size: old },
            error => Inconsistency::Proof {
                old,
                new: new.size,
                error,
            },
        })
    })
}
