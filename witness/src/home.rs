//! A witness home directory: `witness.key` (the cosigning key, 0600) and
//! `state/` (the RocksDB database of [`crate::store`]). Creating a home
//! never replaces an existing key; opening one checks the key is a witness
//! key.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use delego_spec::note::{check_key_name, SignerKey};
use rand_core::CryptoRngCore;

use crate::clock::Clock;
use crate::key::{generate_witness_key, read_key_file, write_key_file, KeyFileError};
use crate::refusal::WitnessError;
use crate::store::{StoreError, WitnessStore};
use crate::witness::Witness;

/// A home that could not be created or opened.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("cannot create {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error("{} is not initialised (run `delego witness init`)", .0.display())]
    NotInitialised(PathBuf),
    #[error("this witness is already named {existing:?}, not {requested:?}")]
    NameMismatch { existing: String, requested: String },
    #[error("no usable default witness name from the host name {0:?}; give one with --name")]
    NoDefaultName(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Witness(#[from] WitnessError),
}

/// What `init` found or made.
#[derive(Debug)]
pub struct Initialised {
    pub key: SignerKey,
    /// False when the home already had its key.
    pub created: bool,
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct WitnessHome {
    dir: PathBuf,
}

impl WitnessHome {
    pub fn new(dir: impl Into<PathBuf>) -> WitnessHome {
        WitnessHome { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.join("witness.key")
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// Creates the home: a new key named `name` (default
    /// [`default_witness_name`]) and an empty state. Run again, it keeps
    /// the existing key, which must then have the requested name if one is
    /// given.
    pub fn init(
        &self,
        name: Option<&str>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Initialised, HomeError> {
        let key_path = self.key_path();
        let initialised = if key_path.exists() {
            let key = read_key_file(&key_path)?;
            if let Some(requested) = name.filter(|requested| *requested != key.name()) {
                return Err(HomeError::NameMismatch {
                    existing: key.name().to_owned(),
                    requested: requested.to_owned(),
                });
            }
            Initialised {
                key,
                created: false,
            }
        } else {
            let name = match name {
                Some(name) => name.to_owned(),
                None => default_witness_name()?,
            };
            let key = generate_witness_key(&name, rng)?;
            create_private_dir(&self.dir)?;
            write_key_file(&key_path, &key)?;
            Initialised { key, created: true }
        };
        WitnessStore::open(&self.state_path())?;
        Ok(initialised)
    }

    /// The cosigning key.
    pub fn key(&self) -> Result<SignerKey, HomeError> {
        let path = self.key_path();
        if !path.exists() {
            return Err(HomeError::NotInitialised(self.dir.clone()));
        }
        Ok(read_key_file(&path)?)
    }

    /// Opens the witness (key and state). The state is single-process.
    pub fn open(&self, clock: Arc<dyn Clock>) -> Result<Witness, HomeError> {
        let key = self.key()?;
        let store = WitnessStore::open(&self.state_path())?;
        Ok(Witness::new(store, key, clock)?)
    }
}

fn create_private_dir(dir: &Path) -> Result<(), HomeError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| HomeError::CreateDir {
        path: dir.to_owned(),
        source,
    })
}

/// `witness.<host name>`, the host name read from the kernel (or
/// `/etc/hostname`), `localhost` when neither says.
pub fn default_witness_name() -> Result<String, HomeError> {
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .map(|text| text.trim().to_owned())
        .find(|host| !host.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let name = format!("witness.{host}");
    check_key_name(&name).map_err(|_| HomeError::NoDefaultName(host))?;
    Ok(name)
}
