//! The nonces issued with notifications, one per approval, persisted
//! (appended and synced) before the notification is sent: a callback is
//! checked against what was issued, even after a restart.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use delego_spec::json::{parse, to_canonical_string, Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum NonceBookError {
    #[error("cannot use the nonce book {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the nonce book {path} is corrupt at line {line}")]
    Corrupt { path: PathBuf, line: usize },
    #[error("the nonce book's lock is poisoned")]
    Poisoned,
}

/// What a notification promised: its nonce and the epoch second after
/// which a callback is a no-op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub nonce: String,
    pub exp: i64,
}

/// See the module documentation.
pub struct NonceBook {
    path: PathBuf,
    issued: Mutex<HashMap<String, Issued>>,
}

impl NonceBook {
    /// Opens (or creates) the book at `path`.
    pub fn open(path: &Path) -> Result<NonceBook, NonceBookError> {
        let io = |source| NonceBookError::Io {
            path: path.to_owned(),
            source,
        };
        let mut issued = HashMap::new();
        if path.exists() {
            let file = File::open(path).map_err(io)?;
            for (i, line) in BufReader::new(file).lines().enumerate() {
                let line = line.map_err(io)?;
                let corrupt = || NonceBookError::Corrupt {
                    path: path.to_owned(),
                    line: i + 1,
                };
                let value = parse(&line).map_err(|_| corrupt())?;
                let map = value.as_object().ok_or_else(corrupt)?;
                let field = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
                let (Some(id), Some(nonce), Some(exp)) = (
                    field("approval_id"),
                    field("nonce"),
                    map.get("exp").and_then(Value::as_i64),
                ) else {
                    return Err(corrupt());
                };
                issued.insert(id, Issued { nonce, exp });
            }
        }
        Ok(NonceBook {
            path: path.to_owned(),
            issued: Mutex::new(issued),
        })
    }

    /// Records `issued` for `approval_id`, synced, before it is announced.
    pub fn issue(&self, approval_id: &str, issued: &Issued) -> Result<(), NonceBookError> {
        let mut book = self.issued.lock().map_err(|_| NonceBookError::Poisoned)?;
        let mut line = Map::new();
        line.insert("approval_id".into(), approval_id.into());
        line.insert("nonce".into(), issued.nonce.clone().into());
        line.insert("exp".into(), issued.exp.into());
        let io = |source| NonceBookError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        writeln!(file, "{}", to_canonical_string(&Value::Object(line))).map_err(io)?;
        file.sync_data().map_err(io)?;
        book.insert(approval_id.to_owned(), issued.clone());
        Ok(())
    }

    /// What was issued for `approval_id`, if anything.
    pub fn lookup(&self, approval_id: &str) -> Result<Option<Issued>, NonceBookError> {
        let book = self.issued.lock().map_err(|_| NonceBookError::Poisoned)?;
        Ok(book.get(approval_id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_nonces_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notifications.jsonl");
        let book = NonceBook::open(&path).unwrap();
        let issued = Issued {
            nonce: "n1".into(),
            exp: 1_800_000_000,
        };
        book.issue("apr_000000000001", &issued).unwrap();
        drop(book);
        let book = NonceBook::open(&path).unwrap();
        assert_eq!(book.lookup("apr_000000000001").unwrap(), Some(issued));
        assert_eq!(book.lookup("apr_000000000002").unwrap(), None);
        std::fs::write(&path, "not json\n").unwrap();
        assert!(matches!(
            NonceBook::open(&path),
            Err(NonceBookError::Corrupt { line: 1, .. })
        ));
    }
}
