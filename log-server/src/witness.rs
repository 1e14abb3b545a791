//! The log's side of c2sp.org/tlog-witness: one `add-checkpoint` request
//! to one witness, its 409 retry, and the check of the cosignature that
//! comes back.
//!
//! The request carries the checkpoint with the log's signature only and a
//! consistency proof from the size the witness last cosigned. A 409 names
//! that size; the request is retried once from it, so a witness whose state
//! the log lost (or never knew) catches up in one round. A cosignature is
//! kept only if it verifies against the witness's configured key; lines
//! from other keys are ignored, as the protocol requires.
//!
//! This module owns the wire exchange. It never writes storage: the caller
//! stores what it returns.

use std::time::Duration;

use delego_spec::merkle::Hash;
use delego_spec::note::{
    parse_cosignature_lines, parse_size_body, verify_cosignature, AddCheckpointError,
    AddCheckpointRequest, Checkpoint, CosignatureError, Note, NoteSignature, ResponseError,
    WitnessStatus, TLOG_SIZE_CONTENT_TYPE,
};

use crate::config::WitnessConfig;
use crate::error::LogError;

/// Why a witness did not cosign.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WitnessError {
    #[error("cannot build the request: {0}")]
    Proof(#[from] LogError),
    #[error("cannot build the request: {0}")]
    Request(#[from] AddCheckpointError),
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("witness answered {code} ({meaning})")]
    Refused { code: u16, meaning: &'static str },
    #[error("witness answered {0}, which the protocol does not define")]
    UnexpectedStatus(u16),
    #[error("witness answered 409 without a {TLOG_SIZE_CONTENT_TYPE} body")]
    ConflictWithoutSize,
    #[error("witness has cosigned size {witness}, beyond this checkpoint's {checkpoint}")]
    WitnessAhead { witness: u64, checkpoint: u64 },
    #[error("witness answered 409 again, now at size {0}")]
    ConflictAgain(u64),
    #[error("witness response is malformed: {0}")]
    Response(#[from] ResponseError),
    #[error("witness response has no cosignature from its key")]
    NoCosignature,
    #[error("witness cosignature has timestamp 0, which add-checkpoint forbids")]
    ZeroTimestamp,
    #[error("witness cosignature does not verify: {0}")]
    BadCosignature(#[from] CosignatureError),
}

/// The outcome of one push: the cosignature, and any size the witness
/// reported along the way (to persist even when the push failed).
pub(crate) struct Pushed {
    pub result: Result<NoteSignature, WitnessError>,
    pub learned_size: Option<u64>,
}

/// The HTTP client all pushes share (keep-alive across rounds).
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, LogError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .build()
        .map_err(|e| LogError::Config(format!("cannot build the witness HTTP client: {e}")))
}

/// Pushes `note` (the checkpoint signed by the log) to `witness`, starting
/// from `old`, the size the witness is believed to have cosigned.
/// `proof_from(old)` gives the consistency proof from `old`.
pub(crate) async fn push(
    client: &reqwest::Client,
    witness: &WitnessConfig,
    note: &Note,
    checkpoint: &Checkpoint,
    old: u64,
    proof_from: impl Fn(u64) -> Result<Vec<Hash>, LogError>,
) -> Pushed {
    let mut learned_size = None;
    let result = async {
        match attempt(client, witness, note, checkpoint, old, &proof_from).await? {
            Attempt::Cosigned(signature) => Ok(signature),
            Attempt::Conflict(size) => {
                learned_size = Some(size);
                if size > checkpoint.size {
                    return Err(WitnessError::WitnessAhead {
                        witness: size,
                        checkpoint: checkpoint.size,
                    });
                }
                match attempt(client, witness, note, checkpoint, size, &proof_from).await? {
                    Attempt::Cosigned(signature) => Ok(signature),
                    Attempt::Conflict(again) => {
                        learned_size = Some(again);
                        Err(WitnessError::ConflictAgain(again))
                    }
                }
            }
        }
    }
    .await;
    Pushed {
        result,
        learned_size,
    }
}

enum Attempt {
    Cosigned(NoteSignature),
    Conflict(u64),
}

async fn attempt(
    client: &reqwest::Client,
    witness: &WitnessConfig,
    note: &Note,
    checkpoint: &Checkpoint,
    old: u64,
    proof_from: &impl Fn(u64) -> Result<Vec<Hash>, LogError>,
) -> Result<Attempt, WitnessError> {
    // From 0 or from the same size there is nothing to prove.
    let proof = if old == 0 || old == checkpoint.size {
        Vec::new()
    } else {
        proof_from(old)?
    };
    let body = AddCheckpointRequest::new(old, proof, note.clone())?.encode()?;
    let response = client
        .post(format!("{}/add-checkpoint", witness.url))
        .body(body)
        .send()
        .await?;
    let code = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned());
    let body = response.bytes().await?;
    match WitnessStatus::from_code(code) {
        Some(WitnessStatus::Cosigned) => {
            cosignature(witness, checkpoint, &body).map(Attempt::Cosigned)
        }
        Some(WitnessStatus::Conflict) => {
            if content_type.as_deref() != Some(TLOG_SIZE_CONTENT_TYPE) {
                return Err(WitnessError::ConflictWithoutSize);
            }
            let size = parse_size_body(&body).map_err(|_| WitnessError::ConflictWithoutSize)?;
            Ok(Attempt::Conflict(size))
        }
        Some(status) => Err(WitnessError::Refused {
            code,
            meaning: status.meaning(),
        }),
        None => Err(WitnessError::UnexpectedStatus(code)),
    }
}

/// The witness's cosignature from a 200 body: lines from other keys are
/// ignored; a line from its key that does not verify fails the push.
fn cosignature(
    witness: &WitnessConfig,
    checkpoint: &Checkpoint,
    body: &[u8],
) -> Result<NoteSignature, WitnessError> {
    let mut found = None;
    for line in parse_cosignature_lines(body)? {
        if line.name() != witness.key.name() || line.key_id() != witness.key.key_id() {
            continue;
        }
        if verify_cosignature(checkpoint, &line, &witness.key)? == 0 {
            return Err(WitnessError::ZeroTimestamp);
        }
        found.get_or_insert(line);
    }
    found.ok_or(WitnessError::NoCosignature)
}
