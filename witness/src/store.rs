//! The witness's durable state, in its own RocksDB database: which logs it
//! follows, the last checkpoint it cosigned for each, and the evidence of
//! refused requests. Every write is synced before it returns, so whatever
//! the witness answered after a write survives a crash or `kill -9`.
//!
//! Column families: `logs` (origin → the log's verifier keys, one per
//! line), `latest` (origin → the cosigned checkpoint note served to
//! monitors; its size and root are parsed from it), `evidence` (see
//! [`crate::evidence`]). This module stores and reads; it never decides
//! whether a checkpoint may be cosigned, and it does not serialise
//! concurrent writers of one origin — the witness holds that origin's lock
//! around the check and the write.

use std::path::{Path, PathBuf};

use delego_spec::note::{Checkpoint, Note, VerifierKey};
use rocksdb::{
    ColumnFamilyDescriptor, DBCompressionType, Direction, IteratorMode, Options, WriteOptions, DB,
};

use crate::evidence::{origin_prefix, Evidence};

const LOGS: &str = "logs";
const LATEST: &str = "latest";
const EVIDENCE: &str = "evidence";
const FAMILIES: [&str; 3] = [LOGS, LATEST, EVIDENCE];

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the witness state at {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rocksdb::Error,
    },
    #[error("the witness state has no column family {0}")]
    MissingFamily(&'static str),
    #[error("cannot read {what}: {source}")]
    Read {
        what: &'static str,
        source: rocksdb::Error,
    },
    #[error("cannot write {what}: {source}")]
    Write {
        what: &'static str,
        source: rocksdb::Error,
    },
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

/// The last checkpoint the witness cosigned for one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    pub checkpoint: Checkpoint,
    /// The note served to monitors: the checkpoint text, the log signatures
    /// the witness verified, and the witness's cosignature.
    pub note: String,
}

impl Latest {
    /// Reads a stored note back, checking it is a checkpoint of `origin`.
    pub fn from_note(origin: &str, note: String) -> Result<Latest, StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            what: "cosigned checkpoint",
            detail,
        };
        let parsed = Note::parse(note.as_bytes()).map_err(|e| corrupt(e.to_string()))?;
        let checkpoint = Checkpoint::parse(parsed.text()).map_err(|e| corrupt(e.to_string()))?;
        if checkpoint.origin != origin {
            return Err(corrupt(format!(
                "a checkpoint of {:?} is stored under {origin:?}",
                checkpoint.origin
            )));
        }
        Ok(Latest { checkpoint, note })
    }
}

/// See the module documentation.
pub struct WitnessStore {
    db: DB,
}

fn synced() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(true);
    options
}

fn utf8(what: &'static str, bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|_| StoreError::Corrupt {
        what,
        detail: "not UTF-8".into(),
    })
}

fn decode_keys(text: &str) -> Result<Vec<VerifierKey>, StoreError> {
    text.lines()
        .map(|line| {
            VerifierKey::parse(line).map_err(|e| StoreError::Corrupt {
                what: "log key",
                detail: e.to_string(),
            })
        })
        .collect()
}

impl WitnessStore {
    /// Opens (creating if needed) the database at `path`. RocksDB's lock
    /// makes it single-process: a second opener fails.
    pub fn open(path: &Path) -> Result<WitnessStore, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(DBCompressionType::None);
        let families = FAMILIES.iter().map(|name| {
            let mut family = Options::default();
            family.set_compression_type(DBCompressionType::None);
            ColumnFamilyDescriptor::new(*name, family)
        });
        let db = DB::open_cf_descriptors(&options, path, families).map_err(|source| {
            StoreError::Open {
                path: path.to_owned(),
                source,
            }
        })?;
        Ok(WitnessStore { db })
    }

    fn family(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or(StoreError::MissingFamily(name))
    }

    fn put(&self, family: &'static str, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.db
            .put_cf_opt(self.family(family)?, key, value, &synced())
            .map_err(|source| StoreError::Write {
                what: family,
                source,
            })
    }

    fn get(&self, family: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .get_cf(self.family(family)?, key)
            .map_err(|source| StoreError::Read {
                what: family,
                source,
            })
    }

    /// Every followed log: origin and verifier keys, by origin.
    pub fn logs(&self) -> Result<Vec<(String, Vec<VerifierKey>)>, StoreError> {
        let mut logs = Vec::new();
        for item in self.db.iterator_cf(self.family(LOGS)?, IteratorMode::Start) {
            let (origin, keys) = item.map_err(|source| StoreError::Read { what: LOGS, source })?;
            let origin = utf8("log origin", origin.into_vec())?;
            let keys = decode_keys(&utf8("log keys", keys.into_vec())?)?;
            logs.push((origin, keys));
        }
        Ok(logs)
    }

    /// Records the verifier keys of `origin` (replacing its earlier list).
    pub fn put_log(&self, origin: &str, keys: &[VerifierKey]) -> Result<(), StoreError> {
        let lines: String = keys.iter().map(|key| format!("{key}\n")).collect();
        self.put(LOGS, origin.as_bytes(), lines.as_bytes())
    }

    /// The last cosigned checkpoint of `origin`, if any.
    pub fn latest(&self, origin: &str) -> Result<Option<Latest>, StoreError> {
        match self.get(LATEST, origin.as_bytes())? {
            None => Ok(None),
            Some(bytes) => Latest::from_note(origin, utf8("cosigned checkpoint", bytes)?).map(Some),
        }
    }

    /// Durably records `latest` as the last cosigned checkpoint of its log.
    pub fn put_latest(&self, latest: &Latest) -> Result<(), StoreError> {
        self.put(
            LATEST,
            latest.checkpoint.origin.as_bytes(),
            latest.note.as_bytes(),
        )
    }

    /// Durably records `evidence` under `key` unless a record is already
    /// there; returns whether it was written.
    pub fn add_evidence(&self, key: &[u8], evidence: &Evidence) -> Result<bool, StoreError> {
        if self.get(EVIDENCE, key)?.is_some() {
            return Ok(false);
        }
        self.put(EVIDENCE, key, evidence.to_json().as_bytes())?;
        Ok(true)
    }

    /// Every evidence record of `origin`.
    pub fn evidence(&self, origin: &str) -> Result<Vec<Evidence>, StoreError> {
        let prefix = origin_prefix(origin);
        let mut records = Vec::new();
        let mode = IteratorMode::From(&prefix, Direction::Forward);
        for item in self.db.iterator_cf(self.family(EVIDENCE)?, mode) {
            let (key, value) = item.map_err(|source| StoreError::Read {
                what: EVIDENCE,
                source,
            })?;
            if !key.starts_with(&prefix) {
                break;
            }
            let text = utf8("evidence", value.into_vec())?;
            records.push(Evidence::from_json(&text).ok_or(StoreError::Corrupt {
                what: "evidence",
                detail: "not an evidence record".into(),
            })?);
        }
        Ok(records)
    }
}
