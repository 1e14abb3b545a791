//! An in-test witness speaking c2sp.org/tlog-witness `add-checkpoint`: it
//! keeps the latest size and root it cosigned, answers 409 with that size
//! when a request's old size differs, checks every consistency proof, and
//! records what it was asked, so tests can check that the log only ever
//! sends consistent requests. It can also be told to misbehave.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use delego_spec::merkle::{verify_consistency, Hash, EMPTY_ROOT};
use delego_spec::note::{
    cosign, format_cosignature_lines, format_size_body, open_checkpoint_note, AddCheckpointRequest,
    KeyType, SignerKey, VerifierKey, WitnessStatus, TLOG_SIZE_CONTENT_TYPE,
};

/// How the witness answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Honest,
    /// Always this status (e.g. 403, 404, 422), empty body.
    Refuse(u16),
    /// Cosigns with its key ID but over another checkpoint.
    BadSignature,
    /// Sleeps this long before answering honestly.
    Slow(Duration),
}

/// One request the witness received: (old size, checkpoint size, answer).
pub type Seen = (u64, u64, u16);

pub struct FakeWitness {
    pub key: SignerKey,
    log_key: VerifierKey,
    state: Mutex<(u64, Hash)>,
    pub behaviour: Mutex<Behaviour>,
    pub seen: Mutex<Vec<Seen>>,
}

impl FakeWitness {
    pub fn new(name: &str, seed: u8, log_key: VerifierKey) -> Arc<FakeWitness> {
        let key = SignerKey::new(
            name,
            KeyType::CosignatureV1,
            ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
        )
        .expect("witness key");
        Arc::new(FakeWitness {
            key,
            log_key,
            state: Mutex::new((0, EMPTY_ROOT)),
            behaviour: Mutex::new(Behaviour::Honest),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// Starts as if it had already cosigned this tree head.
    pub fn set_state(&self, size: u64, root: Hash) {
        *self.state.lock().expect("state") = (size, root);
    }

    pub fn state(&self) -> (u64, Hash) {
        *self.state.lock().expect("state")
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen").clone()
    }

    /// The `--witness`/config flag for this witness at `url`.
    pub fn flag(&self, name: &str, url: &str) -> String {
        format!("{name}={}@{url}", self.key.verifier_key())
    }

    /// Serves the witness on 127.0.0.1; returns its URL.
    pub async fn serve(self: &Arc<Self>) -> String {
        let router = Router::new()
            .route("/add-checkpoint", post(add_checkpoint))
            .with_state(self.clone());
        super::serve(router).await
    }

    fn answer(&self, body: &[u8]) -> Response {
        let request = match AddCheckpointRequest::parse(body) {
            Ok(request) => request,
            Err(error) => return status(error.status().code()),
        };
        if let Err(error) =
            open_checkpoint_note(request.note(), std::slice::from_ref(&self.log_key))
        {
            return status(WitnessStatus::for_checkpoint_error(&error).code());
        }
        if let Err(error) = request.check_stateless_consistency() {
            return status(error.status().code());
        }
        let checkpoint = request.checkpoint();
        let mut state = self.state.lock().expect("state");
        let (size, root) = *state;
        if request.old_size() != size {
            return (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, TLOG_SIZE_CONTENT_TYPE)],
                format_size_body(size),
            )
                .into_response();
        }
        let consistent = if size == 0 {
            true
        } else {
            verify_consistency(
                size,
                checkpoint.size,
                request.proof(),
                &root,
                &checkpoint.root,
            )
            .is_ok()
        };
        if !consistent {
            return status(422);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let signed = if *self.behaviour.lock().expect("behaviour") == Behaviour::BadSignature {
            let mut other = checkpoint.clone();
            other.size += 1;
            cosign(&other, &self.key, now)
        } else {
            cosign(checkpoint, &self.key, now)
        }
        .expect("cosign");
        *state = (checkpoint.size, checkpoint.root);
        let body = format_cosignature_lines(&[signed]).expect("lines");
        (StatusCode::OK, body).into_response()
    }
}

fn status(code: u16) -> Response {
    StatusCode::from_u16(code)
        .unwrap_or(StatusCode::BAD_REQUEST)
        .into_response()
}

async fn add_checkpoint(State(witness): State<Arc<FakeWitness>>, body: Bytes) -> Response {
    let behaviour = *witness.behaviour.lock().expect("behaviour");
    let response = match behaviour {
        Behaviour::Refuse(code) => status(code),
        Behaviour::Slow(delay) => {
            tokio::time::sleep(delay).await;
            witness.answer(&body)
        }
        Behaviour::Honest | Behaviour::BadSignature => witness.answer(&body),
    };
    if let Ok(request) = AddCheckpointRequest::parse(&body) {
        witness.seen.lock().expect("seen").push((
            request.old_size(),
            request.checkpoint().size,
            response.status().as_u16(),
        ));
    }
    response
}
