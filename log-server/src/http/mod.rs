//! The log's HTTP API (axum): the C2SP tlog-tiles read API, JSON proofs,
//! witness status, and — on a standalone log with a token — appends.
//!
//! Routes:
//! - `GET /checkpoint`: the latest checkpoint note, with its cosignatures.
//! - `GET /tile/<L>/<N>[.p/<W>]`, `GET /tile/entries/<N>[.p/<W>]`: tiles
//!   and entry bundles (c2sp.org/tlog-tiles), immutable once served.
//! - `GET /v1/proof/inclusion?index=I&size=N` (or `leaf_hash=<hex>` instead
//!   of `index`) and `GET /v1/proof/consistency?old=M&new=N`: JSON proofs.
//! - `GET /v1/witnesses`: what the log knows about each witness.
//! - `POST /v1/append` (standalone only): bearer-token authenticated.
//!
//! Reads need no credentials. Every error is a JSON body `{"error": ...}`
//! with a 4xx status for bad requests and 500 for a broken store (whose
//! details go to the log, not the client). Nothing here writes, except an
//! authenticated append on a standalone log.

mod append;
mod error;
mod proofs;
mod read;

use axum::routing::{get, post};
use axum::Router;

use crate::log::Log;

pub use error::ApiError;

/// The log's routes; appends are routed only when the log accepts them.
pub fn router(log: Log) -> Router {
    let mut router = Router::new()
        .route("/checkpoint", get(read::checkpoint))
        .route("/v1/checkpoint/witnessed", get(read::witnessed_checkpoint))
        .route("/tile/{*path}", get(read::tile))
        .route("/v1/proof/inclusion", get(proofs::inclusion))
        .route("/v1/proof/consistency", get(proofs::consistency))
        .route("/v1/proof/tlog", get(proofs::tlog_proof))
        .route("/v1/witnesses", get(read::witnesses));
    if log.store().is_standalone() {
        router = router.route("/v1/append", post(append::append).get(append::next_index));
    }
    router.fallback(error::not_found).with_state(log)
}
