//! `delego log-server`: a standalone transparency log of delego receipts.
//!
//! It keeps its database and its note key (`log.key`, mode 0600, created at
//! first start) in `--dir`, prints `listening on ADDR` and then
//! `log key: VKEY` on stdout, serves the log's HTTP API, integrates appended
//! receipts and pushes checkpoints to the configured witnesses, until
//! SIGTERM or SIGINT. Logs go to stderr (`RUST_LOG` filters them).

use std::fs::{self, OpenOptions};
use std::io::{IsTerminal as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use delego_log::{generate_log_key, Log, LogConfig, LogStore, WitnessConfig};
use delego_spec::note::{SignerKey, TrustPolicy};

use crate::exit::Outcome;

#[derive(clap::Args)]
pub struct LogServerArgs {
    /// Directory for the log's database and key (created if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    listen: String,
    /// The log's origin: its checkpoint origin line and key name.
    #[arg(long, value_name = "ORIGIN")]
    origin: String,
    /// A witness to push checkpoints to: NAME=VKEY@URL (repeatable).
    #[arg(long = "witness", value_name = "NAME=VKEY@URL")]
    witnesses: Vec<String>,
    /// A tlog-policy file deciding when a checkpoint counts as witnessed
    /// (default: every --witness must cosign).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// File holding the bearer token POST /v1/append requires (without it,
    /// appends are refused).
    #[arg(long, value_name = "FILE")]
    append_token_file: Option<PathBuf>,
    /// Pause between integrations, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    interval_ms: u64,
    /// Timeout of one witness request, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    witness_timeout_ms: u64,
}

/// Loads `<dir>/log.key`, or creates it (mode 0600) on first start (also
/// the embedded log's key, in the home).
pub(crate) fn load_or_create_key(dir: &Path, origin: &str) -> anyhow::Result<SignerKey> {
    let path = dir.join("log.key");
    if path.exists() {
        let mode = fs::metadata(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by other users (mode {:o}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            );
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        return SignerKey::parse(text.trim_end())
            .with_context(|| format!("{} is not a signer key", path.display()));
    }
    let key = generate_log_key(origin)?;
    // Written aside and renamed, so a crash never leaves a half-written key.
    let partial = dir.join("log.key.partial");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    writeln!(file, "{}", key.to_skey_string())?;
    file.sync_all()?;
    fs::rename(&partial, &path).with_context(|| format!("cannot create {}", path.display()))?;
    fs::File::open(dir)?.sync_all()?;
    Ok(key)
}

fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the append token {}", path.display()))?;
    let token = text.trim_end_matches(['\n', '\r']);
    if token.is_empty() || token.contains(char::is_whitespace) {
        bail!(
            "{} must hold one token without spaces (and at most a final newline)",
            path.display()
        );
    }
    Ok(token.to_owned())
}

/// The configuration from the flags, all checked before anything is
/// created on disk; the key is loaded (or created) last.
fn config(args: &LogServerArgs) -> anyhow::Result<LogConfig> {
    let witnesses = args
        .witnesses
        .iter()
        .map(|flag| WitnessConfig::parse(flag))
        .collect::<Result<Vec<_>, _>>()?;
    let policy = match &args.policy {
        None => None,
        Some(path) => {
            let bytes = fs::read(path)
                .with_context(|| format!("cannot read the policy {}", path.display()))?;
            let policy = TrustPolicy::parse(&bytes)
                .with_context(|| format!("invalid policy {}", path.display()))?;
            Some(policy)
        }
    };
    let append_token = args
        .append_token_file
        .as_deref()
        .map(read_token)
        .transpose()?;
    if args.interval_ms == 0 || args.witness_timeout_ms == 0 {
        bail!("--interval-ms and --witness-timeout-ms must be positive");
    }
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let key = load_or_create_key(&args.dir, &args.origin)?;
    let mut config = LogConfig::new(&args.origin, key);
    config.witnesses = witnesses;
    config.policy = policy;
    config.append_token = append_token;
    config.interval = Duration::from_millis(args.interval_ms);
    config.witness_timeout = Duration::from_millis(args.witness_timeout_ms);
    Ok(config)
}

/// A future completing on SIGTERM or SIGINT. The handlers are installed
/// here, before the server announces itself, so that a signal sent as soon
/// as the address is printed is never missed.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("shutting down");
    })
}

pub fn run(args: &LogServerArgs) -> anyhow::Result<Outcome> {
    let config = config(args)?;
    let store = LogStore::open_standalone(&args.dir.join("db"))?;
    let log = Log::open(store, config)?;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {address}")?;
        writeln!(stdout, "log key: {}", log.verifier_key())?;
        stdout.flush()?;
        drop(stdout);
        tracing::info!(%address, origin = %log.origin(), size = log.size(), "log server started");
        delego_log::run_server(log, listener, shutdown)
            .await
            .context("the server failed")?;
        Ok(Outcome::Success)
    })
}
