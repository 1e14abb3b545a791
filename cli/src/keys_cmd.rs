//! `delego keys`: the HTTP API's bearer keys in the home (`api_keys.json`,
//! 0600, hashes only). A running server re-reads the file when it changes,
//! so a revocation takes effect at once.

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{anyhow, bail, Context as _};
use clap::Subcommand;
use delego_firewall::api::keys::{ApiKeys, Role};
use delego_firewall::api::KeySource;
use delego_firewall::time::format_utc;

use crate::exit::Outcome;
use crate::home::Home;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key (printed once; only its hash is stored).
    Add {
        name: String,
        /// agent | approver | auditor | admin
        #[arg(long)]
        role: String,
    },
    /// Revoke a key; its name is never reused.
    Revoke { name: String },
    /// List keys (names, roles, state; never the keys).
    List,
}

/// The caller name of `delego serve`'s per-run admin key (in server.json,
/// never in api_keys.json); no stored key may take it.
pub const SESSION_ADMIN: &str = "local-admin";

pub fn keys_file(home: &Home) -> PathBuf {
    home.dir.join("api_keys.json")
}

pub fn load(home: &Home) -> anyhow::Result<ApiKeys> {
    let path = keys_file(home);
    if !path.exists() {
        return Ok(ApiKeys::default());
    }
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let value = delego_spec::json::parse(&text)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    ApiKeys::from_value(&value).with_context(|| format!("in {}", path.display()))
}

fn save(home: &Home, keys: &ApiKeys) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = keys_file(home);
    let temp = path.with_extension("json.tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .with_context(|| format!("cannot write {}", temp.display()))?;
    file.write_all(delego_spec::json::to_canonical_string(&keys.to_value()).as_bytes())?;
    file.sync_all()?;
    // Atomic replace: a server re-reading never sees half a file.
    fs::rename(&temp, &path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

pub fn run(home: &Home, command: &KeysCommand) -> anyhow::Result<Outcome> {
    if !home.dir.is_dir() {
        bail!(
            "no delego home at {} — run `delego init` first",
            home.dir.display()
        );
    }
    let mut keys = load(home)?;
    match command {
        KeysCommand::Add { name, role } => {
            if name == SESSION_ADMIN {
                bail!("{SESSION_ADMIN:?} is reserved for the local admin key of a running `delego serve`");
            }
            let role = Role::parse(role).ok_or_else(|| {
                anyhow!("unknown role {role:?}: use agent, approver, auditor or admin")
            })?;
            let mut random = [0u8; 24];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(0));
            let token = keys.add(name, role, random, format_utc(now))?;
            save(home, &keys)?;
            eprintln!(
                "Created {} key {name:?}. It is shown once; store it now:",
                role.as_str()
            );
            println!("{token}");
        }
        KeysCommand::Revoke { name } => {
            keys.revoke(name)?;
            save(home, &keys)?;
            println!("Revoked key {name:?}.");
        }
        KeysCommand::List => {
            for key in keys.records() {
                let state = if key.revoked { "revoked" } else { "active" };
                println!(
                    "{}\t{}\t{state}\tcreated {}",
                    key.name,
                    key.role.as_str(),
                    key.created_at
                );
            }
        }
    }
    Ok(Outcome::Success)
}

/// The home's key file, re-read when its modification time changes.
pub struct HomeKeys {
    path: PathBuf,
    cached: Mutex<(Option<SystemTime>, Arc<ApiKeys>)>,
    /// Keys that live only as long as the server (its local admin key).
    session: ApiKeys,
}

impl HomeKeys {
    /// The home's keys plus `session`, which is never written anywhere.
    pub fn with_session(home: &Home, session: ApiKeys) -> HomeKeys {
        HomeKeys {
            path: keys_file(home),
            cached: Mutex::new((None, Arc::new(ApiKeys::default()))),
            session,
        }
    }
}

impl KeySource for HomeKeys {
    fn keys(&self) -> Result<Arc<ApiKeys>, String> {
        let modified = match fs::metadata(&self.path) {
            Ok(meta) => meta.modified().ok(),
            // No file: only the session's keys.
            Err(_) => return Ok(Arc::new(self.session.clone())),
        };
        let mut cached = self
            .cached
            .lock()
            .map_err(|_| "key cache poisoned".to_owned())?;
        if cached.0.is_none() || cached.0 != modified {
            let text = fs::read_to_string(&self.path).map_err(|e| e.to_string())?;
            let value = delego_spec::json::parse(&text).map_err(|e| e.to_string())?;
            let keys = ApiKeys::from_value(&value).map_err(|e| e.to_string())?;
            *cached = (modified, Arc::new(keys.merged(&self.session)));
        }
        Ok(cached.1.clone())
    }
}
