//! The delego home: where keys, policy and the store live, resolved as the
//! reference resolves it (`--home` > `DELEGO_HOME` > an existing
//! `./.claude/.delego` > `~/.delego`), with the reference's file names.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use delego_firewall::broker::{Broker, HttpProxyBroker, HttpProxyConfig, NullBroker};
use delego_firewall::engine::{EngineParts, Firewall, OsEntropy, SystemClock, TokenMinting};
use delego_firewall::evaluate::CompiledPolicy;
use delego_firewall::policy_file::load_policy;
use delego_firewall::store::RocksStore;
use delego_spec::keys::{
    generate_signing_key, signing_key_from_pem, signing_key_to_pem, verifying_key_from_pem,
    verifying_key_to_pem, SigningKey, VerifyingKey,
};
use delego_spec::token::{TokenIssuer, DEFAULT_TTL_SECONDS};

/// What must never be committed when a home lives inside a repository: the
/// reference's list, plus the RocksDB store.
const GITIGNORE: &str = "# delego runtime state — do not commit secrets or the audit ledger.\nsigning_key.pem\ntoken_key.pem\naudit.log.jsonl\napprovals.jsonl\n*.lock\nstore/\ngateway.json\n# Secrets of delego's own surfaces: the log's signing key, the API's\n# (hashed) keys, a running server's local admin token.\nlog.key\napi_keys.json\nserver.json\nserver.json.partial\nnotifications.jsonl\n";

/// The files of one home.
pub struct Home {
    pub dir: PathBuf,
}

impl Home {
    pub fn resolve(explicit: Option<&Path>) -> anyhow::Result<Home> {
        if let Some(dir) = explicit {
            return Ok(Home {
                dir: dir.to_owned(),
            });
        }
        if let Some(env) = std::env::var_os("DELEGO_HOME").filter(|v| !v.is_empty()) {
            return Ok(Home {
                dir: PathBuf::from(env),
            });
        }
        let project = std::env::current_dir()
            .context("cannot read the current directory")?
            .join(".claude")
            .join(".delego");
        if project.is_dir() {
            return Ok(Home { dir: project });
        }
        let user =
            std::env::var_os("HOME").context("cannot find the home directory: HOME is not set")?;
        Ok(Home {
            dir: PathBuf::from(user).join(".delego"),
        })
    }

    pub fn policy(&self) -> PathBuf {
        self.dir.join("policy.yaml")
    }
    pub fn private_key(&self) -> PathBuf {
        self.dir.join("signing_key.pem")
    }
    pub fn public_key(&self) -> PathBuf {
        self.dir.join("signing_key.pub")
    }
    pub fn token_private_key(&self) -> PathBuf {
        self.dir.join("token_key.pem")
    }
    pub fn token_public_key(&self) -> PathBuf {
        self.dir.join("token_key.pub")
    }
    pub fn store_dir(&self) -> PathBuf {
        self.dir.join("store")
    }
    /// Optional: the credential gateway allowed actions are forwarded to.
    pub fn gateway_config(&self) -> PathBuf {
        self.dir.join("gateway.json")
    }

    /// The broker: the home's credential gateway when `gateway.json` exists,
    /// else the null broker (which sends nothing). An unreadable or invalid
    /// configuration is an error, never a silent fall-back.
    pub fn broker(&self) -> anyhow::Result<Arc<dyn Broker>> {
        let path = self.gateway_config();
        if !path.exists() {
            return Ok(Arc::new(NullBroker));
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let value = delego_spec::json::parse(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let config = HttpProxyConfig::from_value(&value)
            .with_context(|| format!("in {}", path.display()))?;
        Ok(Arc::new(
            HttpProxyBroker::new(config).with_context(|| format!("in {}", path.display()))?,
        ))
    }

    /// Writes the `.gitignore` unless one exists.
    pub fn ensure_gitignore(&self) -> anyhow::Result<()> {
        let path = self.dir.join(".gitignore");
        if !path.exists() {
            fs::write(&path, GITIGNORE)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }

    /// Creates a key pair unless the private key exists. Private keys are
    /// created 0600 from the start, never widened.
    pub fn ensure_keys(&self, private: &Path, public: &Path) -> anyhow::Result<()> {
        if private.exists() {
            return Ok(());
        }
        let key = generate_signing_key(&mut rand_core::OsRng);
        write_private(private, &signing_key_to_pem(&key))?;
        fs::write(public, verifying_key_to_pem(&key.verifying_key()))
            .with_context(|| format!("cannot write {}", public.display()))?;
        Ok(())
    }

    pub fn signing_key(&self) -> anyhow::Result<SigningKey> {
        read_signing_key(&self.private_key())
    }

    pub fn verifying_key(&self) -> anyhow::Result<VerifyingKey> {
        let path = self.public_key();
        let pem = fs::read_to_string(&path)
            .with_context(|| format!("cannot read public key {}", path.display()))?;
        verifying_key_from_pem(&pem).with_context(|| format!("public key {}", path.display()))
    }

    /// The policy, validated; fails closed with every problem listed.
    pub fn load_policy(&self) -> anyhow::Result<CompiledPolicy> {
        let path = self.policy();
        if !path.exists() {
            bail!(
                "No delego policy at {}. Run `delego init --home {}` to install a starter policy (or create policy.yaml yourself).",
                path.display(),
                self.dir.display()
            );
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(load_policy(&text, &path.display().to_string())?)
    }

    /// Opens the store (fails if another process holds it).
    pub fn open_store(&self) -> anyhow::Result<Arc<RocksStore>> {
        let dir = self.store_dir();
        if !self.dir.is_dir() {
            bail!(
                "no delego home at {} — run `delego init` first",
                self.dir.display()
            );
        }
        // Always with the log's families: the embedded log shares the
        // database, and RocksDB refuses to open a database without all of
        // its families.
        Ok(Arc::new(
            RocksStore::open_with(&dir, delego_log::COLUMN_FAMILIES).with_context(|| {
                format!(
                    "cannot open the store at {} (is `delego serve` running for this home?)",
                    dir.display()
                )
            })?,
        ))
    }

    /// Starts the engine with the home's policy, or with a deny-all stand-in
    /// when only human decisions will be recorded.
    pub fn start(
        &self,
        decisions_only: bool,
        tokens: Option<&str>,
    ) -> anyhow::Result<Firewall<RocksStore>> {
        let sink = crate::tlog::LogMode::in_process_sink(self)?;
        self.start_on(self.open_store()?, decisions_only, tokens, sink)
    }

    /// [`Home::start`] over an open store, optionally publishing to a log
    /// sink with anchored durability (spec §8.3) waiting at most `anchored`.
    pub fn start_on(
        &self,
        store: Arc<RocksStore>,
        decisions_only: bool,
        tokens: Option<&str>,
        anchoring: Option<crate::tlog::Anchoring>,
    ) -> anyhow::Result<Firewall<RocksStore>> {
        let policy = if decisions_only {
            CompiledPolicy::deny_all()
        } else {
            self.load_policy()?
        };
        let tokens = match tokens {
            None => None,
            Some(audience) => {
                self.ensure_keys(&self.token_private_key(), &self.token_public_key())?;
                Some(TokenMinting {
                    issuer: TokenIssuer::new(
                        "delego:local",
                        read_signing_key(&self.token_private_key())?,
                        DEFAULT_TTL_SECONDS,
                    ),
                    audience: audience.to_owned(),
                })
            }
        };
        let broker: Arc<dyn Broker> = if decisions_only {
            Arc::new(NullBroker)
        } else {
            self.broker()?
        };
        let parts = EngineParts {
            signer: self.signing_key()?,
            broker,
            clock: Arc::new(SystemClock),
            entropy: Arc::new(OsEntropy),
            tokens,
            sink: anchoring.as_ref().map(|(sink, _)| sink.clone()),
            anchored: anchoring.and_then(|(_, anchored)| anchored),
        };
        Ok(Firewall::start(store, policy, parts)?)
    }
}

fn read_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let pem = fs::read_to_string(path)
        .with_context(|| format!("cannot read signing key {}", path.display()))?;
    signing_key_from_pem(&pem).with_context(|| format!("signing key {}", path.display()))
}

/// Writes a private key readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot sync {}", path.display()))
}
