//! `delego log-server`: a standalone transparency log of delego receipts.
//!
//! It keeps its database and its note key (`log.key`, mode 0600, created at
//! first start) in `--dir` (one subdirectory per origin when it hosts
//! several), prints `listening on ADDR` and then one `log key: VKEY` line
//! per origin on stdout, serves the log's HTTP API, integrates appended
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
    /// A log's origin: its checkpoint origin line and key name. Repeat to
    /// host several logs (one per firewall ledger): each is then served
    /// under /ORIGIN/ and stored in its own subdirectory of --dir.
    #[arg(long = "origin", value_name = "ORIGIN", required = true)]
    origins: Vec<String>,
    /// A witness to push checkpoints to: NAME=VKEY@URL (repeatable).
    #[arg(long = "witness", value_name = "NAME=VKEY@URL")]
    witnesses: Vec<String>,
    /// A tlog-policy file deciding when a checkpoint counts as witnessed
    /// (default: every --witness must cosign).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// File holding the bearer token POST /v1/append requires (without it,
    /// appends are refused): one token for every hosted log, or one
    /// `ORIGIN TOKEN` line per log so that each firewall can append only
    /// to its own.
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

/// The append tokens in `path`: one token for all origins, or one
/// `ORIGIN TOKEN` line per origin (every hosted origin needs one).
fn read_tokens(path: &Path, origins: &[String]) -> anyhow::Result<Vec<String>> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the append token {}", path.display()))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let valid = |token: &str| !token.is_empty() && !token.contains(char::is_whitespace);
    if let [only] = lines.as_slice() {
        if valid(only) {
            return Ok(vec![(*only).to_owned(); origins.len()]);
        }
    }
    let mut tokens = Vec::with_capacity(origins.len());
    for origin in origins {
        let token = lines
            .iter()
            .filter_map(|line| line.split_once(' '))
            .find(|(o, _)| o == origin)
            .map(|(_, token)| token.trim())
            .filter(|token| valid(token))
            .with_context(|| {
                format!(
                    "{} must hold one token, or an `ORIGIN TOKEN` line for {origin}",
                    path.display()
                )
            })?;
        tokens.push(token.to_owned());
    }
    Ok(tokens)
}

/// Where a hosted log keeps its database and key: `--dir` itself for a
/// single log, else a subdirectory per origin (its name readable, and
/// unique through a hash of the origin).
fn log_dir(dir: &Path, origin: &str, hosted: usize) -> PathBuf {
    if hosted == 1 {
        return dir.to_path_buf();
    }
    let readable: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = delego_spec::sha256_hex(origin);
    dir.join(format!("origin-{readable}-{}", &hash[..8]))
}

/// Refuses a --dir laid out for a different number of logs, which would
/// otherwise start a fresh, empty log beside the existing one.
fn check_layout(dir: &Path, hosted: usize) -> anyhow::Result<()> {
    let single = dir.join("db").exists();
    let multi = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("origin-"))
        })
        .unwrap_or(false);
    if hosted == 1 && multi {
        bail!(
            "{} holds several logs (origin-* directories); give every --origin it hosts",
            dir.display()
        );
    }
    if hosted > 1 && single {
        bail!(
            "{} holds a single log (db/); it cannot host several origins — use another --dir",
            dir.display()
        );
    }
    Ok(())
}

/// The configuration of every hosted log from the flags, all checked
/// before anything is created on disk; the keys are loaded (or created)
/// last. Returns each log's directory with its configuration.
fn configs(args: &LogServerArgs) -> anyhow::Result<Vec<(PathBuf, LogConfig)>> {
    let mut seen = std::collections::HashSet::new();
    if let Some(repeated) = args.origins.iter().find(|o| !seen.insert(o.as_str())) {
        bail!("--origin {repeated} is given twice");
    }
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
    let tokens: Vec<Option<String>> = match &args.append_token_file {
        Some(path) => read_tokens(path, &args.origins)?
            .into_iter()
            .map(Some)
            .collect(),
        None => vec![None; args.origins.len()],
    };
    if args.interval_ms == 0 || args.witness_timeout_ms == 0 {
        bail!("--interval-ms and --witness-timeout-ms must be positive");
    }
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    check_layout(&args.dir, args.origins.len())?;
    let mut configs = Vec::with_capacity(args.origins.len());
    for (origin, append_token) in args.origins.iter().zip(tokens) {
        let dir = log_dir(&args.dir, origin, args.origins.len());
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let key = load_or_create_key(&dir, origin)?;
        let mut config = LogConfig::new(origin, key);
        config.witnesses = witnesses.clone();
        config.policy = policy.clone();
        config.append_token = append_token;
        config.interval = Duration::from_millis(args.interval_ms);
        config.witness_timeout = Duration::from_millis(args.witness_timeout_ms);
        configs.push((dir, config));
    }
    Ok(configs)
}

/// A future completing on SIGTERM or SIGINT. The handlers are installed
/// here, before the server announces itself, so that a signal sent as soon
/// as the address is printed is never missed.
pub(crate) fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
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
    let mut logs = Vec::new();
    for (dir, config) in configs(args)? {
        let store = LogStore::open_standalone(&dir.join("db"))?;
        logs.push(Log::open(store, config)?);
    }
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
        for log in &logs {
            writeln!(stdout, "log key: {}", log.verifier_key())?;
        }
        stdout.flush()?;
        drop(stdout);
        for log in &logs {
            tracing::info!(%address, origin = %log.origin(), size = log.size(), "log server started");
        }
        delego_log::run_server(logs, listener, shutdown)
            .await
            .context("the server failed")?;
        Ok(Outcome::Success)
    })
}
