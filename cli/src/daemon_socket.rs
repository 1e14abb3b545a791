//! The reference's daemon protocol, answered by `delego serve`: a Unix
//! socket at the path the reference derives from the home (in
//! `$XDG_RUNTIME_DIR`, else the temp dir: `delego-<16 hex of SHA-256 of the
//! resolved home>.sock`, mode 0600), one JSON request per line, one
//! `{"ok": true, "result": …}` or `{"ok": false, "error": "Type: message"}`
//! per line back. The reference's own CLI (`pending`, `approve`, `deny`)
//! and its `DaemonClient` then route through our single writer unchanged.
//!
//! Ops: `ping`, `propose`, `resolve`, `decide`, `pending`, `audit_tail`,
//! `verify`, `policy`. This module translates; the engine decides. It never
//! opens the store itself: everything goes through the serve process's
//! firewall, so rate limits stay exact across both protocols.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use delego_firewall::engine::Firewall;
use delego_firewall::store::{LedgerStore, RocksStore};
use delego_spec::chain::ChainVerifier;
use delego_spec::json::{parse, to_canonical_string, Map, Value};
use delego_spec::keys::VerifyingKey;
use delego_spec::ProposedAction;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};

const PROTOCOL: i64 = 1;

/// Where the reference looks for the daemon of `home`.
pub fn socket_path(home: &Path) -> anyhow::Result<PathBuf> {
    let resolved = home
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", home.display()))?;
    let text = resolved
        .to_str()
        .context("the home's path is not UTF-8; the reference's socket path needs it")?;
    let digest = delego_spec::sha256_hex(text);
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(python_temp_dir);
    Ok(runtime.join(format!("delego-{}.sock", &digest[..16])))
}

/// Python's `tempfile.gettempdir()` on Unix: `$TMPDIR`, `$TEMP`, `$TMP`,
/// then /tmp.
fn python_temp_dir() -> PathBuf {
    ["TMPDIR", "TEMP", "TMP"]
        .iter()
        .filter_map(std::env::var_os)
        .find(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// What the protocol's handlers need.
pub struct DaemonState {
    pub firewall: Arc<Firewall<RocksStore>>,
    pub ledger_key: VerifyingKey,
}

/// Binds the socket (refusing when a live daemon already answers there,
/// replacing a stale one) and serves it until the task is dropped.
pub async fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            anyhow::bail!("a delego daemon is already answering on {}", path.display());
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    Ok(listener)
}

/// Accepts connections forever; each is served on its own task.
pub async fn serve(listener: UnixListener, state: Arc<DaemonState>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, state.clone()));
            }
            Err(error) => {
                tracing::warn!(%error, "daemon socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(stream: UnixStream, state: Arc<DaemonState>) {
    let (read, mut write) = stream.into_split();
    // Bounded lines: a request is an action, never megabytes.
    let mut lines = BufReader::new(read.take(16 << 20)).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let state = state.clone();
        let answer = tokio::task::spawn_blocking(move || answer(&line, &state))
            .await
            .unwrap_or_else(|_| failure("RuntimeError", "the request failed"));
        if write.write_all(answer.as_bytes()).await.is_err()
            || write.write_all(b"\n").await.is_err()
        {
            return;
        }
    }
}

fn failure(kind: &str, message: &str) -> String {
    let mut map = Map::new();
    map.insert("ok".into(), false.into());
    map.insert("error".into(), format!("{kind}: {message}").into());
    to_canonical_string(&Value::Object(map))
}

/// One request line → one response line.
fn answer(line: &str, state: &DaemonState) -> String {
    let request = match parse(line.trim()) {
        Ok(Value::Object(map)) if map.contains_key("op") => map,
        Ok(_) => {
            return failure(
                "ValueError",
                "each request must be a JSON object with an 'op'",
            )
        }
        Err(e) => return failure("JSONDecodeError", &e.to_string()),
    };
    match dispatch(&request, state) {
        Ok(result) => {
            let mut map = Map::new();
            map.insert("ok".into(), true.into());
            map.insert("result".into(), result);
            to_canonical_string(&Value::Object(map))
        }
        Err((kind, message)) => failure(kind, &message),
    }
}

type OpError = (&'static str, String);

fn field<'a>(request: &'a Map, key: &str) -> Result<&'a Value, OpError> {
    request.get(key).ok_or(("KeyError", format!("'{key}'")))
}

fn text<'a>(request: &'a Map, key: &str) -> Result<&'a str, OpError> {
    field(request, key)?
        .as_str()
        .ok_or(("TypeError", format!("'{key}' must be a string")))
}

fn action(request: &Map) -> Result<ProposedAction, OpError> {
    let mut map = Map::new();
    for key in ["instruction", "method", "url"] {
        map.insert(key.into(), field(request, key)?.clone());
    }
    map.insert(
        "params".into(),
        request
            .get("params")
            .cloned()
            .unwrap_or(Value::Object(Map::new())),
    );
    ProposedAction::from_value(&Value::Object(map)).map_err(|e| ("ValueError", e.to_string()))
}

fn engine(error: impl std::fmt::Display) -> OpError {
    ("RuntimeError", error.to_string())
}

fn dispatch(request: &Map, state: &DaemonState) -> Result<Value, OpError> {
    let firewall = &state.firewall;
    let op = text(request, "op")?;
    match op {
        "ping" => {
            let mut map = Map::new();
            map.insert("protocol".into(), PROTOCOL.into());
            map.insert("ok".into(), true.into());
            Ok(Value::Object(map))
        }
        "propose" => Ok(firewall
            .propose(action(request)?)
            .map_err(engine)?
            .to_value()),
        "resolve" => {
            let id = text(request, "approval_id")?;
            Ok(firewall
                .resolve(id, action(request)?)
                .map_err(engine)?
                .to_value())
        }
        "decide" => {
            let id = text(request, "approval_id")?;
            let approved = field(request, "approved")?.is_truthy();
            let approver = match request.get("approver") {
                None => "daemon",
                Some(_) => text(request, "approver")?,
            };
            Ok(firewall
                .decide(id, approved, approver, None)
                .map_err(engine)?
                .map_or(Value::Null, |record| record.to_value()))
        }
        "pending" => {
            let now = firewall.now_micros();
            let records = firewall.store().pending_approvals().map_err(engine)?;
            Ok(Value::Array(
                records
                    .iter()
                    .filter(|r| r.status_at(now).as_str() == "pending")
                    .map(|r| r.to_value())
                    .collect(),
            ))
        }
        "audit_tail" => {
            let lines = match request.get("lines") {
                None => 20,
                Some(v) => v
                    .as_i64()
                    .ok_or(("ValueError", "'lines' must be an integer".to_owned()))?,
            };
            let store = firewall.store();
            let next = store.head().map_err(engine)?.map_or(0, |h| h.seq + 1);
            let count = u64::try_from(lines.clamp(0, 100_000)).unwrap_or(0);
            let receipts = store
                .receipts(next.saturating_sub(count), count as usize)
                .map_err(engine)?;
            Ok(Value::Array(
                receipts
                    .iter()
                    .map(|r| parse(&r.to_reference_line()).unwrap_or(Value::Null))
                    .collect(),
            ))
        }
        "verify" => {
            if !matches!(request.get("expected_head"), None | Some(Value::Null)) {
                return Err((
                    "ValueError",
                    "expected_head is not supported over the socket; use `delego verify --expected-head`".to_owned(),
                ));
            }
            let mut verifier = ChainVerifier::new(&state.ledger_key, None);
            delego_firewall::store::for_each_receipt(firewall.store().as_ref(), |receipt| {
                verifier.push_line(&receipt.to_reference_line());
                Ok::<(), delego_firewall::store::StoreError>(())
            })
            .map_err(engine)?;
            let report = verifier.finish();
            let mut map = Map::new();
            map.insert("valid".into(), report.problems.is_empty().into());
            map.insert(
                "problems".into(),
                Value::Array(report.problems.iter().map(|p| p.clone().into()).collect()),
            );
            Ok(Value::Object(map))
        }
        "policy" => Ok(delego_firewall::policy_summary::policy_summary(
            firewall.policy().policy(),
        )),
        other => Err(("ValueError", format!("unknown op '{other}'"))),
    }
}
