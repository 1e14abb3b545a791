//! Finding the `delego serve` that owns a home's store, so that commands
//! go through its single writer instead of opening the store (which RocksDB
//! would refuse while the server holds it). The server writes
//! `<home>/server.json` (mode 0600: its URL, pid and a per-run admin token)
//! once it listens and removes it when it stops; whoever can read the home
//! can act through it, exactly as they could open the store.

use std::fs;
use std::time::Duration;

use anyhow::{bail, Context as _};
use delego_spec::json::{parse, Value};

use crate::home::Home;

const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// A `delego serve` answering for a home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningServer {
    /// Base URL, e.g. `http://127.0.0.1:7300`.
    pub url: String,
    /// The server's per-run local admin token.
    pub token: String,
}

// ======================================================================
// SERVER DISCOVERY — the one place that decides whether a command goes
// through a running server.
//
// Reads `<home>/server.json` — `{"url": …, "pid": …, "token": …}`, written
// by `delego serve` (0600) — and answers `Some` only when the process is
// alive and the URL answers `GET /healthz`. A missing or stale file is
// `None`; an unreadable or malformed one is an error, never a guess.
// ======================================================================
pub fn running_server(home: &Home) -> anyhow::Result<Option<RunningServer>> {
    let path = home.dir.join("server.json");
    let meta = match fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    // Only a file as `delego serve` writes it is trusted with the token:
    // readable by its owner alone.
    use std::os::unix::fs::PermissionsExt as _;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "{} is readable by other users; remove it (a running `delego serve` writes it 0600)",
            path.display()
        );
    }
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let value = parse(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let field = |name: &str| value.as_object().and_then(|m| m.get(name));
    let (Some(Value::String(url)), Some(Value::String(token))) = (field("url"), field("token"))
    else {
        bail!(
            "{} must hold the strings \"url\" and \"token\"",
            path.display()
        );
    };
    // The local admin token never leaves this host.
    let loopback = ["http://127.0.0.1:", "http://[::1]:", "http://localhost:"];
    if !loopback.iter().any(|prefix| url.starts_with(prefix)) {
        bail!(
            "{}: \"url\" must be a loopback http:// address, not {url:?}",
            path.display()
        );
    }
    // A dead server's file: its port may belong to another process now,
    // which must never receive the token.
    if let Some(pid) = field("pid").and_then(Value::as_i64) {
        if cfg!(target_os = "linux") && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            return Ok(None);
        }
    }
    let url = url.trim_end_matches('/').to_owned();
    let healthy = reqwest::blocking::Client::builder()
        .timeout(HEALTH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .context("cannot build an HTTP client")?
        .get(format!("{url}/healthz"))
        .send()
        .is_ok_and(|r| r.status().is_success());
    Ok(healthy.then(|| RunningServer {
        url,
        token: token.clone(),
    }))
}

/// Written by `delego serve` once it listens; removed when it stops.
pub struct ServerFile {
    path: std::path::PathBuf,
}

impl ServerFile {
    /// Writes `<home>/server.json` (0600, aside then renamed) announcing
    /// `url` and the session admin `token` of this process.
    pub fn write(home: &Home, url: &str, token: &str) -> anyhow::Result<ServerFile> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = home.dir.join("server.json");
        let partial = home.dir.join("server.json.partial");
        let mut body = delego_spec::json::Map::new();
        body.insert("url".into(), url.into());
        body.insert("pid".into(), i64::from(std::process::id()).into());
        body.insert("token".into(), token.into());
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        writeln!(
            file,
            "{}",
            delego_spec::json::to_canonical_string(&Value::Object(body))
        )?;
        file.sync_all()?;
        fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(ServerFile { path })
    }
}

impl Drop for ServerFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}
