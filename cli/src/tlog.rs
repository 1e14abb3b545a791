//! The home's embedded transparency log: its configuration
//! (`<home>/log.json`, optional), its note key (`<home>/log.key`, 0600,
//! created on first use), opening it over the home's store, and the sink
//! through which the engine waits for witnessing (anchored durability).
//!
//! The log reads the receipts the firewall commits to the same database;
//! this module never writes a receipt. `log.json` is strict: unknown keys
//! and ill-typed values are errors, never a silent fall-back.
//!
//! ```json
//! {"origin": "example.com/delego",
//!  "witnesses": ["NAME=VKEY@URL", "..."],
//!  "policy": "trust-policy.txt",
//!  "interval_ms": 1000, "witness_timeout_ms": 5000,
//!  "anchored_timeout_ms": 10000}
//! ```
//! Every key is optional. The default origin is `delego.local/` + the first
//! 16 hex digits of the SHA-256 of the ledger's public key file.

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use delego_firewall::sink::{ReceiptSink, SinkError};
use delego_firewall::store::{LedgerStore, RocksStore};
use delego_log::{Log, LogConfig, LogStore, WitnessConfig};
use delego_spec::json::{parse, Map, Value};
use delego_spec::note::TrustPolicy;
use delego_spec::{sha256_hex, Receipt};

use crate::home::Home;
use crate::log_cmd::load_or_create_key;

/// The home's log settings, read from `log.json`.
pub struct HomeLogConfig {
    pub config: LogConfig,
    /// Spec §8.3 anchored durability: how long an execution may wait for a
    /// witnessed checkpoint; `None`: off.
    pub anchored: Option<Duration>,
}

fn only_keys(map: &Map, allowed: &[&str]) -> anyhow::Result<()> {
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        bail!("unknown key {unknown:?} (allowed: {})", allowed.join(", "));
    }
    Ok(())
}

fn millis(map: &Map, key: &str) -> anyhow::Result<Option<Duration>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_i64() {
            Some(ms) if (1..=3_600_000).contains(&ms) => {
                Ok(Some(Duration::from_millis(ms.unsigned_abs())))
            }
            _ => bail!("{key:?} must be an integer number of milliseconds from 1 to 3600000"),
        },
    }
}

/// The default origin: stable for the home's ledger key, unique per ledger.
fn default_origin(home: &Home) -> anyhow::Result<String> {
    let public = fs::read_to_string(home.public_key()).with_context(|| {
        format!(
            "cannot read {} (run `delego init` first)",
            home.public_key().display()
        )
    })?;
    Ok(format!("delego.local/{}", &sha256_hex(&public)[..16]))
}

impl HomeLogConfig {
    /// Reads `<home>/log.json` (absent: defaults, no witnesses) and loads or
    /// creates the log key.
    pub fn load(home: &Home) -> anyhow::Result<HomeLogConfig> {
        let path = home.dir.join("log.json");
        let map = if path.exists() {
            let text = fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let value = parse(&text).with_context(|| format!("{} is not JSON", path.display()))?;
            let map = value
                .as_object()
                .cloned()
                .with_context(|| format!("{} must hold a JSON object", path.display()))?;
            only_keys(
                &map,
                &[
                    "origin",
                    "witnesses",
                    "policy",
                    "interval_ms",
                    "witness_timeout_ms",
                    "anchored_timeout_ms",
                ],
            )
            .with_context(|| format!("{}", path.display()))?;
            map
        } else {
            Map::new()
        };
        Self::from_map(home, &map).with_context(|| format!("{}", path.display()))
    }

    fn from_map(home: &Home, map: &Map) -> anyhow::Result<HomeLogConfig> {
        let origin = match map.get("origin") {
            None => default_origin(home)?,
            Some(value) => value
                .as_str()
                .filter(|o| !o.is_empty() && !o.contains(char::is_whitespace) && !o.contains('+'))
                .context("\"origin\" must be a non-empty string without spaces or '+'")?
                .to_owned(),
        };
        let witnesses = match map.get("witnesses") {
            None => Vec::new(),
            Some(value) => value
                .as_array()
                .context("\"witnesses\" must be a list of \"NAME=VKEY@URL\" strings")?
                .iter()
                .map(|w| {
                    let flag = w
                        .as_str()
                        .context("each witness must be a \"NAME=VKEY@URL\" string")?;
                    Ok(WitnessConfig::parse(flag)?)
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        };
        let policy = match map.get("policy") {
            None => None,
            Some(value) => {
                let name = value
                    .as_str()
                    .context("\"policy\" must be a file name (relative to the home)")?;
                let file = home.dir.join(name);
                let bytes = fs::read(&file)
                    .with_context(|| format!("cannot read the trust policy {}", file.display()))?;
                Some(
                    TrustPolicy::parse(&bytes)
                        .with_context(|| format!("trust policy {}", file.display()))?,
                )
            }
        };
        let key = load_or_create_key(&home.dir, &origin)?;
        let mut config = LogConfig::new(&origin, key);
        config.witnesses = witnesses;
        config.policy = policy;
        if let Some(interval) = millis(map, "interval_ms")? {
            config.interval = interval;
        }
        if let Some(timeout) = millis(map, "witness_timeout_ms")? {
            config.witness_timeout = timeout;
        }
        Ok(HomeLogConfig {
            config,
            anchored: millis(map, "anchored_timeout_ms")?,
        })
    }
}

/// Opens the home's log over `store`, the firewall's database.
pub fn open(store: &RocksStore, config: LogConfig) -> anyhow::Result<Log> {
    let attached = LogStore::attach(store.db().clone(), RocksStore::RECEIPTS_FAMILY)?;
    Ok(Log::open(attached, config)?)
}

/// The embedded log as the engine's sink: committing a receipt to the store
/// is publishing it (the log reads the same family), so `publish` only asks
/// the sequencer to integrate now; `wait_witnessed` waits on the log.
pub struct EmbeddedSink {
    store: Arc<RocksStore>,
    log: Log,
}

impl EmbeddedSink {
    pub fn new(store: Arc<RocksStore>, log: Log) -> EmbeddedSink {
        EmbeddedSink { store, log }
    }
}

impl ReceiptSink for EmbeddedSink {
    fn size(&self) -> Result<u64, SinkError> {
        // Everything committed is in the log's entries already.
        self.store
            .head()
            .map(|head| head.map_or(0, |h| h.seq + 1))
            .map_err(|e| SinkError(e.to_string()))
    }

    fn publish(&self, _first_seq: u64, _receipts: &[Receipt]) -> Result<(), SinkError> {
        self.log.nudge();
        Ok(())
    }

    fn wait_witnessed(&self, seq: u64, timeout: Duration) -> Result<(), SinkError> {
        self.log
            .wait_witnessed(seq, timeout)
            .map(|_| ())
            .map_err(|e| SinkError(e.to_string()))
    }
}
