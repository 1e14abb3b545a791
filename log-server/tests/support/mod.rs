//! Shared fixtures for the HTTP tests: a real RocksDB in a temporary
//! directory, real signed receipts as leaves, and the log's router served on
//! 127.0.0.1 at a free port.
#![allow(dead_code)] // each test file uses a different subset

pub mod fake_witness;

use std::sync::Arc;

use delego_log::{Log, LogConfig, LogStore, COLUMN_FAMILIES};
use delego_spec::json::{parse, Map};
use delego_spec::note::{KeyType, SignerKey};
use delego_spec::{Outcome, Phase, ReceiptPayload, GENESIS};
use rocksdb::{Options, WriteBatch, WriteOptions, DB};

pub const ORIGIN: &str = "log.test/http";
pub const RECEIPTS: &str = "receipts";

pub fn log_key() -> SignerKey {
    SignerKey::new(
        ORIGIN,
        KeyType::Ed25519,
        ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
    )
    .expect("valid key")
}

/// A chain of `count` signed receipts, as canonical JSON leaves.
pub fn receipts(count: u64) -> Vec<Vec<u8>> {
    chain(count, "")
}

/// Another chain of `count` receipts: same seqs, different content.
pub fn forked_receipts(count: u64) -> Vec<Vec<u8>> {
    chain(count, "fork/")
}

fn chain(count: u64, path: &str) -> Vec<Vec<u8>> {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let mut prev = GENESIS.to_owned();
    (0..count)
        .map(|seq| {
            let receipt = ReceiptPayload {
                seq,
                ts: format!("2025-01-01T00:00:{:02}.000000+00:00", seq % 60),
                phase: Phase::Decision,
                outcome: if seq % 3 == 0 {
                    Outcome::Deny
                } else {
                    Outcome::Allow
                },
                rule: Some(format!("rule-{}", seq % 7)),
                reasons: vec![format!("reason {seq}")],
                intent_hash: format!("{seq:064x}"),
                action_fingerprint: format!("{:064x}", seq * 31),
                action_summary: format!("GET api.example.com/items/{path}{seq}"),
                approval_id: None,
                prev_hash: prev.clone(),
            }
            .sign(&key);
            prev = receipt.entry_hash.clone();
            receipt.canonical_json().into_bytes()
        })
        .collect()
}

/// A database laid out as the firewall's, with `leaves` committed to its
/// receipts family.
pub fn embedded_db(dir: &std::path::Path, leaves: &[Vec<u8>]) -> Arc<DB> {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    let families = COLUMN_FAMILIES.iter().copied().chain([RECEIPTS]);
    let db = DB::open_cf(&options, dir.join("db"), families).expect("open the database");
    commit(&db, 0, leaves);
    Arc::new(db)
}

/// Commits `leaves` from index `first` to the receipts family, synced, as
/// the firewall commits receipts.
pub fn commit(db: &DB, first: u64, leaves: &[Vec<u8>]) {
    let family = db.cf_handle(RECEIPTS).expect("receipts family");
    let mut batch = WriteBatch::default();
    for (seq, leaf) in (first..).zip(leaves) {
        batch.put_cf(family, seq.to_be_bytes(), leaf);
    }
    let mut sync = WriteOptions::default();
    sync.set_sync(true);
    db.write_opt(batch, &sync).expect("commit receipts");
}

/// An embedded log over `leaves`, integrated.
pub fn embedded_log(dir: &std::path::Path, leaves: &[Vec<u8>], config: LogConfig) -> Log {
    let db = embedded_db(dir, leaves);
    let log = Log::open(LogStore::attach(db, RECEIPTS).expect("attach"), config).expect("open");
    log.integrate_now().expect("integrate");
    log
}

/// Serves `router` on 127.0.0.1 at a free port; returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let address = listener.local_addr().expect("bound address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    format!("http://{address}")
}

/// A GET's status, content type, cache control and body.
pub struct Got {
    pub status: u16,
    pub content_type: String,
    pub cache_control: String,
    pub body: Vec<u8>,
}

impl Got {
    pub fn json(&self) -> Map {
        let text = std::str::from_utf8(&self.body).expect("UTF-8 body");
        parse(text)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_else(|| panic!("not a JSON object: {text}"))
    }

    /// Asserts a JSON error with this status; returns its message.
    pub fn error(&self, status: u16) -> String {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type, "application/json");
        let body = self.json();
        body.get("error")
            .and_then(|e| e.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no error member in {body:?}"))
    }
}

pub async fn get(url: &str) -> Got {
    let response = reqwest::get(url).await.expect("GET");
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let cache_control = header(reqwest::header::CACHE_CONTROL);
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body").to_vec();
    Got {
        status,
        content_type,
        cache_control,
        body,
    }
}
