//! The witness's cosigning key: an Ed25519 cosignature/v1 (type 0x04)
//! signer key, kept as its C2SP signer-key string (`PRIVATE+KEY+…`) and a
//! newline in one file that is created readable by its owner only.
//!
//! This module reads and writes that file; the key string format is
//! `delego_spec::note::SignerKey`'s. It never overwrites an existing key:
//! a witness that lost its key to an accidental re-init would silently
//! become a different witness.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use delego_spec::note::{KeyType, NoteError, SignerKey};
use rand_core::CryptoRngCore;

/// A key file that could not be created or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{} already exists; a witness key is never overwritten", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} is not a signer key: {source}", path.display())]
    Format { path: PathBuf, source: NoteError },
    #[error("{} holds an {found} key; a witness cosigns with an Ed25519 cosignature/v1 (0x04) key", path.display())]
    NotACosignatureKey { path: PathBuf, found: KeyType },
    #[error("witness name: {0}")]
    Name(NoteError),
}

/// A fresh cosignature/v1 key named `name`.
pub fn generate_witness_key(
    name: &str,
    rng: &mut impl CryptoRngCore,
) -> Result<SignerKey, KeyFileError> {
    SignerKey::generate(name, KeyType::CosignatureV1, rng).map_err(KeyFileError::Name)
}

/// Writes `key` to a new file at `path`, mode 0600 from its creation, and
/// syncs it and its directory so an acknowledged init survives a crash.
pub fn write_key_file(path: &Path, key: &SignerKey) -> Result<(), KeyFileError> {
    let write_error = |source| KeyFileError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(KeyFileError::Exists(path.to_owned()))
        }
        Err(e) => return Err(write_error(e)),
    };
    file.write_all(format!("{}\n", key.to_skey_string()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(write_error)?;
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(write_error)?;
    }
    Ok(())
}

/// Reads the key at `path`; it must be a cosignature/v1 key.
pub fn read_key_file(path: &Path) -> Result<SignerKey, KeyFileError> {
    let text = fs::read_to_string(path).map_err(|source| KeyFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let key = SignerKey::parse(line).map_err(|source| KeyFileError::Format {
        path: path.to_owned(),
        source,
    })?;
    if key.key_type() != KeyType::CosignatureV1 {
        return Err(KeyFileError::NotACosignatureKey {
            path: path.to_owned(),
            found: key.key_type(),
        });
    }
    Ok(key)
}
