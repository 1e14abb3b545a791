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
//!
//! Standalone mode instead: the receipts go to a `delego log-server`, which
//! the firewall appends to before answering (a log outage refuses answers
//! and loses nothing; the backlog is published first when it is back):
//!
//! ```json
//! {"url": "http://127.0.0.1:7400", "append_token_file": "log-append.token",
//!  "anchored_timeout_ms": 10000}
//! ```

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

/// A sink and how long anchored durability waits on it (`None`: off).
pub type Anchoring = (Arc<dyn ReceiptSink>, Option<Duration>);

/// Where the home's receipts are logged.
pub enum LogMode {
    /// The log runs inside `delego serve`, over the same database.
    Embedded(Box<HomeLogConfig>),
    /// A standalone `delego log-server`.
    Standalone(StandaloneLog),
}

/// A standalone log the firewall appends to.
pub struct StandaloneLog {
    pub url: String,
    pub token: String,
    pub anchored: Option<Duration>,
}

const STANDALONE_KEYS: &[&str] = &["url", "append_token_file", "anchored_timeout_ms"];

/// `<home>/log.json` as a JSON object, or `None` when absent.
fn read_config(home: &Home) -> anyhow::Result<Option<Map>> {
    let path = home.dir.join("log.json");
    if !path.exists() {
        return Ok(None);
    }
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let value = parse(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    value
        .as_object()
        .cloned()
        .map(Some)
        .with_context(|| format!("{} must hold a JSON object", path.display()))
}

impl LogMode {
    /// Reads `<home>/log.json` (absent: an embedded log with defaults) and,
    /// for an embedded log, loads or creates its key.
    pub fn load(home: &Home) -> anyhow::Result<LogMode> {
        let map = read_config(home)?.unwrap_or_default();
        let mode = if map.contains_key("url") {
            only_keys(&map, STANDALONE_KEYS)
                .and_then(|()| StandaloneLog::from_map(home, &map))
                .map(LogMode::Standalone)
        } else {
            only_keys(&map, EMBEDDED_KEYS)
                .and_then(|()| HomeLogConfig::from_map(home, &map))
                .map(|config| LogMode::Embedded(Box::new(config)))
        };
        mode.with_context(|| format!("{}", home.dir.join("log.json").display()))
    }

    /// The sink CLI commands that write receipts in-process publish to: a
    /// standalone log's. An embedded log needs none (it reads the store
    /// when `delego serve` next runs), so nothing is created for it here.
    pub fn in_process_sink(home: &Home) -> anyhow::Result<Option<Anchoring>> {
        match read_config(home)? {
            Some(map) if map.contains_key("url") => match LogMode::load(home)? {
                LogMode::Standalone(log) => Ok(Some((
                    Arc::new(AppendSink::new(&log)?) as Arc<dyn ReceiptSink>,
                    log.anchored,
                ))),
                LogMode::Embedded(_) => Ok(None),
            },
            _ => Ok(None),
        }
    }
}

impl StandaloneLog {
    fn from_map(home: &Home, map: &Map) -> anyhow::Result<StandaloneLog> {
        let url = map
            .get("url")
            .and_then(Value::as_str)
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .context("\"url\" must be an http:// or https:// URL of a delego log-server")?
            .trim_end_matches('/')
            .to_owned();
        let token_file = map
            .get("append_token_file")
            .and_then(Value::as_str)
            .context("\"append_token_file\" (the log-server's append token, a file relative to the home) is required")?;
        let token_path = home.dir.join(token_file);
        let text = fs::read_to_string(&token_path)
            .with_context(|| format!("cannot read the append token {}", token_path.display()))?;
        let token = text.trim_end_matches(['\n', '\r']);
        if token.is_empty() || token.contains(char::is_whitespace) {
            bail!(
                "{} must hold one token without spaces",
                token_path.display()
            );
        }
        Ok(StandaloneLog {
            url,
            token: token.to_owned(),
            anchored: millis(map, "anchored_timeout_ms")?,
        })
    }
}

const EMBEDDED_KEYS: &[&str] = &[
    "origin",
    "witnesses",
    "policy",
    "interval_ms",
    "witness_timeout_ms",
    "anchored_timeout_ms",
];

/// The embedded log's settings.
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

/// A standalone log as the engine's sink: receipts are appended over HTTP
/// (`POST /v1/append`) before the firewall answers; anchored durability
/// polls the log's tlog-proof endpoint, which answers only once the log's
/// trust policy counts a checkpoint covering the receipt as witnessed.
pub struct AppendSink {
    client: delego_log::AppendClient,
    proofs: reqwest::blocking::Client,
    url: String,
}

impl AppendSink {
    pub fn new(log: &StandaloneLog) -> anyhow::Result<AppendSink> {
        let client = delego_log::AppendClient::new(&log.url, &log.token, Duration::from_secs(30))?;
        let proofs = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .context("cannot build the HTTP client")?;
        Ok(AppendSink {
            client,
            proofs,
            url: log.url.clone(),
        })
    }
}

impl ReceiptSink for AppendSink {
    fn size(&self) -> Result<u64, SinkError> {
        self.client
            .next_index()
            .map_err(|e| SinkError(format!("{}: {e}", self.url)))
    }

    fn publish(&self, first_seq: u64, receipts: &[Receipt]) -> Result<(), SinkError> {
        let leaves: Vec<String> = receipts.iter().map(Receipt::canonical_json).collect();
        for (offset, chunk) in leaves.chunks(delego_log::MAX_APPEND_LEAVES).enumerate() {
            let first = first_seq + (offset * delego_log::MAX_APPEND_LEAVES) as u64;
            self.client
                .append(first, chunk)
                .map_err(|e| SinkError(format!("{}: {e}", self.url)))?;
        }
        Ok(())
    }

    fn wait_witnessed(&self, seq: u64, timeout: Duration) -> Result<(), SinkError> {
        let deadline = std::time::Instant::now() + timeout;
        let url = format!("{}/v1/proof/tlog?index={seq}", self.url);
        loop {
            let status = self.proofs.get(&url).send().map(|r| r.status().as_u16());
            if let Ok(200) = status {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(SinkError(format!(
                    "no witnessed checkpoint of {} covered receipt {seq} within {timeout:?} (last answer: {status:?})",
                    self.url
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
