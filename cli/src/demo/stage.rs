//! The demo's stage: a temporary home, child processes of this same binary
//! (two witnesses, `delego serve`), and a small HTTP client for the
//! firewall's API. Children are killed when the stage is dropped, so an
//! interrupted demo leaves nothing running.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use delego_spec::json::{parse, Value};

/// A server child whose first stdout line is `listening on ADDR`.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// SIGKILL and reap now (the store's lock is released when it returns).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs this binary with `args`; its stdout on success, else an error
/// carrying its stderr.
pub fn run(args: &[&str]) -> anyhow::Result<String> {
    let (code, stdout, stderr) = run_status(args)?;
    if code != 0 {
        bail!(
            "`delego {}` failed ({code}): {}",
            args.join(" "),
            stderr.trim()
        );
    }
    Ok(stdout)
}

/// Runs this binary with `args`: exit code, stdout, stderr.
pub fn run_status(args: &[&str]) -> anyhow::Result<(i32, String, String)> {
    let output = Command::new(std::env::current_exe().context("cannot find this program")?)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `delego {}`", args.join(" ")))?;
    Ok((
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// Starts a server child and waits (at most 30 s) for its address.
pub fn start(args: &[&str]) -> anyhow::Result<Server> {
    let mut child = Command::new(std::env::current_exe().context("cannot find this program")?)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start `delego {}`", args.join(" ")))?;
    let stdout = child.stdout.take().context("no stdout from the child")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        // Drained to the end so the child never blocks on a full pipe.
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = sender.send(line);
        }
    });
    let line = receiver.recv_timeout(Duration::from_secs(30)).ok();
    let Some(addr) = line
        .as_deref()
        .and_then(|l| l.strip_prefix("listening on "))
    else {
        let _ = child.kill();
        let _ = child.wait();
        bail!("`delego {}` did not start", args.join(" "));
    };
    Ok(Server {
        base: format!("http://{addr}"),
        child,
    })
}

pub fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .context("the temporary directory's path is not UTF-8")
}

/// The firewall's HTTP API, with one bearer key.
pub struct Api {
    client: reqwest::blocking::Client,
    base: String,
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Api> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Api {
            client,
            base: base.to_owned(),
        })
    }

    /// POSTs `body` as `key`; the status and the JSON answer.
    pub fn post(&self, key: &str, path: &str, body: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .with_context(|| format!("POST {path}"))?;
        let status = response.status().as_u16();
        let text = response.text().with_context(|| format!("POST {path}"))?;
        let value = parse(&text).with_context(|| format!("POST {path} answered {text:?}"))?;
        Ok((status, value))
    }

    /// GETs `path` as `key`; the JSON answer.
    pub fn get_json(&self, key: &str, path: &str) -> anyhow::Result<Value> {
        let text = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(key)
            .send()
            .and_then(|r| r.text())
            .with_context(|| format!("GET {path}"))?;
        parse(&text).with_context(|| format!("GET {path} answered {text:?}"))
    }

    pub fn get_text(&self, path: &str) -> anyhow::Result<String> {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .and_then(|r| r.text())
            .with_context(|| format!("GET {path}"))
    }
}

/// A string member of a JSON object, or "".
pub fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value
        .as_object()
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The `reasons` list of a decision, joined.
pub fn reasons(value: &Value) -> String {
    value
        .as_object()
        .and_then(|m| m.get("reasons"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// `dir/name` as an owned path.
pub fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
