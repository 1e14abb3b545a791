//! `delego witness …`: set up and run a transparency-log witness
//! (c2sp.org/tlog-witness) from the `delego-witness` crate.
//!
//! The witness home is `--home` > `$DELEGO_WITNESS_HOME` >
//! `~/.delego-witness`; it holds `witness.key` and `state/`. The state is
//! single-process: `add-log` and `list` need the server stopped. This
//! module parses words and prints; every decision is the library's.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;
use delego_spec::note::VerifierKey;
use delego_witness::{http, SystemClock, WitnessHome};

use crate::exit::Outcome;

#[derive(Subcommand)]
pub enum WitnessCommand {
    /// Create the witness key (cosignature/v1) and state, or keep the
    /// existing ones; print the witness's verifier key (name+id+base64).
    Init {
        /// The witness's key name, e.g. witness.example.com/w1
        /// (default: witness.<host name>).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// Follow a log: its origin and its Ed25519 note verifier key, whose
    /// name must be the origin. Another key for a followed log is added
    /// beside the first (key rotation).
    AddLog {
        origin: String,
        /// The log's verifier key, name+id+base64.
        vkey: String,
    },
    /// List the followed logs with the last size and root cosigned for each.
    List,
    /// Serve add-checkpoint and the monitoring path over HTTP until SIGTERM
    /// or SIGINT; the first stdout line is `listening on ADDR`.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port).
        #[arg(long, value_name = "ADDR")]
        listen: String,
        /// URL prefix for add-checkpoint and the monitoring path, e.g. /witness.
        #[arg(long, value_name = "P", default_value = "")]
        prefix: String,
    },
}

/// The witness home: `--home` > `$DELEGO_WITNESS_HOME` > `~/.delego-witness`.
fn resolve_home(explicit: Option<&Path>) -> anyhow::Result<WitnessHome> {
    if let Some(dir) = explicit {
        return Ok(WitnessHome::new(dir));
    }
    if let Some(env) = std::env::var_os("DELEGO_WITNESS_HOME").filter(|v| !v.is_empty()) {
        return Ok(WitnessHome::new(PathBuf::from(env)));
    }
    let user =
        std::env::var_os("HOME").context("cannot find the home directory: HOME is not set")?;
    Ok(WitnessHome::new(
        PathBuf::from(user).join(".delego-witness"),
    ))
}

pub fn run(home: Option<&Path>, command: &WitnessCommand) -> anyhow::Result<Outcome> {
    let home = resolve_home(home)?;
    match command {
        WitnessCommand::Init { name } => init(&home, name.as_deref()),
        WitnessCommand::AddLog { origin, vkey } => add_log(&home, origin, vkey),
        WitnessCommand::List => list(&home),
        WitnessCommand::Serve { listen, prefix } => serve(&home, listen, prefix),
    }
}

fn init(home: &WitnessHome, name: Option<&str>) -> anyhow::Result<Outcome> {
    let initialised = home.init(name, &mut rand_core::OsRng)?;
    println!("{}", initialised.key.verifier_key());
    Ok(Outcome::Success)
}

fn add_log(home: &WitnessHome, origin: &str, vkey: &str) -> anyhow::Result<Outcome> {
    let key = VerifierKey::parse(vkey).context("VKEY is not a verifier key")?;
    let witness = home.open(Arc::new(SystemClock))?;
    let key_shown = format!("{}+{:08x}", key.name(), key.key_id());
    if witness.add_log(origin, key)? {
        println!("following {origin} with key {key_shown}");
    } else {
        println!("already following {origin} with key {key_shown}");
    }
    Ok(Outcome::Success)
}

fn list(home: &WitnessHome) -> anyhow::Result<Outcome> {
    let witness = home.open(Arc::new(SystemClock))?;
    for log in witness.logs()? {
        // The root as the checkpoint states it (its third line).
        let (size, root) = match &log.latest {
            Some(latest) => (
                latest.checkpoint.size,
                latest.note.lines().nth(2).unwrap_or_default().to_owned(),
            ),
            None => (0, "none".to_owned()),
        };
        println!(
            "{} size={size} root={root} keys={} evidence={}",
            log.origin,
            log.keys.len(),
            log.evidence
        );
    }
    Ok(Outcome::Success)
}

fn serve(home: &WitnessHome, listen: &str, prefix: &str) -> anyhow::Result<Outcome> {
    http::check_prefix(prefix).context("--prefix")?;
    let witness = Arc::new(home.open(Arc::new(SystemClock))?);
    let router = http::router(witness, prefix)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on {addr}")
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
        init_logging();
        tracing::info!(%addr, prefix, "witness serving");
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving failed")?;
        tracing::info!("witness stopped");
        Ok(Outcome::Success)
    })
}

/// Logs to stderr; `DELEGO_LOG` filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DELEGO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Resolves on SIGINT or SIGTERM. If SIGTERM cannot be handled, it
/// resolves at once: better no server than one that ignores SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::error!(%error, "cannot handle SIGTERM; stopping");
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
