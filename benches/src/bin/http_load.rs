//! `delego serve` under load over HTTP (targets: ≥ 10,000 durable
//! proposals/s at p99 ≤ 20 ms with 64 concurrent clients; approval round
//! trip p99 ≤ 10 ms, plus the checkpoint interval with anchored durability).
//!
//! Starts the release `delego` binary found next to this one (`cargo build
//! --release --workspace --bins` builds both) on 127.0.0.1 in a temporary
//! home with the benchmark policy, then:
//! 1. `--clients` threads, each with its own keep-alive connection (a
//!    minimal HTTP/1.1 client over a TCP socket, so the generator costs as
//!    little CPU as possible), POST the benchmark mix to `/v1/actions` for
//!    `--seconds`; every 200 is a decision whose receipt was synced before
//!    the answer.
//! 2. one client runs `--round-trips` approval round trips (propose an order
//!    → an approver approves → the agent resolves it), then again on a
//!    second server with anchored durability on (the execution is reported
//!    only once a witnessed checkpoint covers it; no witnesses configured,
//!    so "witnessed" is the log's own signed checkpoint).
//!
//! The load generator runs on the same two cores as the server: the figures
//! are for both together.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use delego_benches::workload::{BENCH_POLICY, MIX};
use delego_benches::{load_average, percentile};

#[derive(Parser)]
#[command(about = "delego serve under concurrent HTTP load")]
struct Args {
    /// Concurrent clients proposing.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// How long the proposal load runs.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Approval round trips measured (each mode).
    #[arg(long, default_value_t = 500)]
    round_trips: usize,
    /// The `delego` binary (default: next to this one).
    #[arg(long)]
    delego: Option<PathBuf>,
}

const ORDER: &str = r#"{"instruction":"Place an order for 24 units of item 42","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal"}}"#;

struct Served {
    child: Child,
    base: String,
    _home: tempfile::TempDir,
    agent: String,
    approver: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn delego(bin: &Path, home: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "delego {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A fresh home with the benchmark policy, keys, and `delego serve` on it.
fn serve(bin: &Path, log_json: Option<&str>) -> anyhow::Result<Served> {
    let home = tempfile::tempdir()?;
    delego(bin, home.path(), &["init"])?;
    std::fs::write(home.path().join("policy.yaml"), BENCH_POLICY)?;
    if let Some(config) = log_json {
        std::fs::write(home.path().join("log.json"), config)?;
    }
    let agent = delego(
        bin,
        home.path(),
        &["keys", "add", "agent", "--role", "agent"],
    )?;
    let approver = delego(
        bin,
        home.path(),
        &["keys", "add", "alice", "--role", "approver"],
    )?;
    let mut child = Command::new(bin)
        .arg("--home")
        .arg(home.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start delego serve")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = sender.send(line);
        }
    });
    let line = receiver
        .recv_timeout(Duration::from_secs(30))
        .context("delego serve printed no address")?;
    let addr = line
        .strip_prefix("listening on ")
        .context("unexpected first line")?
        .to_owned();
    Ok(Served {
        child,
        base: format!("http://{addr}"),
        _home: home,
        agent,
        approver,
    })
}

fn client() -> anyhow::Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1)
        .no_proxy()
        .build()?)
}

fn post(
    client: &reqwest::blocking::Client,
    url: &str,
    key: &str,
    body: &str,
) -> anyhow::Result<String> {
    let response = client
        .post(url)
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()?;
    let status = response.status();
    let text = response.text()?;
    if !status.is_success() {
        bail!("{url}: {status}: {text}");
    }
    Ok(text)
}

fn summary(label: &str, count: usize, elapsed: Duration, latencies: &mut [u32]) {
    latencies.sort_unstable();
    println!(
        "{label}: {count} in {:.2} s = {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        f64::from(percentile(latencies, 50.0)) / 1000.0,
        f64::from(percentile(latencies, 99.0)) / 1000.0,
        f64::from(latencies.last().copied().unwrap_or(0)) / 1000.0,
    );
}

/// One keep-alive HTTP/1.1 connection speaking just enough of the protocol
/// to POST and read a `Content-Length` answer: a load generator sharing two
/// cores with the server must cost as little as possible.
struct RawConnection {
    stream: std::io::BufReader<std::net::TcpStream>,
}

impl RawConnection {
    fn open(addr: &str) -> anyhow::Result<RawConnection> {
        let stream = std::net::TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(RawConnection {
            stream: std::io::BufReader::new(stream),
        })
    }

    /// Sends `request` (complete bytes) and returns the status code.
    fn exchange(&mut self, request: &[u8]) -> anyhow::Result<u16> {
        use std::io::{BufRead as _, Read as _, Write as _};
        self.stream.get_mut().write_all(request)?;
        let mut line = String::new();
        self.stream.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.stream.read_line(&mut line)? == 0 {
                bail!("the server closed the connection");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse()?;
                }
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body)?;
        Ok(status)
    }
}

fn proposals(served: &Served, clients: usize, seconds: u64) -> anyhow::Result<()> {
    let addr = served
        .base
        .strip_prefix("http://")
        .context("not an http URL")?
        .to_owned();
    // Every request pre-built: the mix, cycled.
    let requests: Vec<Vec<u8>> = MIX
        .iter()
        .map(|(_, body)| {
            format!(
                "POST /v1/actions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                served.agent,
                body.len()
            )
            .into_bytes()
        })
        .collect();
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let results: Vec<anyhow::Result<Vec<u32>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|i| {
                let (addr, stop, requests) = (&addr, &stop, &requests);
                scope.spawn(move || -> anyhow::Result<Vec<u32>> {
                    let mut connection = RawConnection::open(addr)?;
                    let mut latencies = Vec::new();
                    let mut next = i;
                    while !stop.load(Ordering::Relaxed) {
                        let request = &requests[next % requests.len()];
                        next += 1;
                        let sent = Instant::now();
                        let status = connection.exchange(request)?;
                        if status != 200 {
                            bail!("a proposal answered {status}");
                        }
                        latencies
                            .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                    Ok(latencies)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a client panicked")))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let mut all = Vec::new();
    for result in results {
        all.extend(result?);
    }
    summary(
        &format!("durable proposals over HTTP, {clients} keep-alive clients"),
        all.len(),
        elapsed,
        &mut all,
    );
    Ok(())
}

/// The `approval_id` member of a decision.
fn approval_id(decision: &str) -> anyhow::Result<String> {
    let value = delego_spec::json::parse(decision)?;
    value
        .as_object()
        .and_then(|m| m.get("approval_id"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .with_context(|| format!("no approval_id in {decision}"))
}

fn round_trips(served: &Served, count: usize, label: &str) -> anyhow::Result<()> {
    let client = client()?;
    let base = &served.base;
    let mut latencies = Vec::with_capacity(count);
    let started = Instant::now();
    for _ in 0..count {
        let sent = Instant::now();
        let parked = post(&client, &format!("{base}/v1/actions"), &served.agent, ORDER)?;
        let id = approval_id(&parked)?;
        post(
            &client,
            &format!("{base}/v1/approvals/{id}/approve"),
            &served.approver,
            "",
        )?;
        let released = post(
            &client,
            &format!("{base}/v1/approvals/{id}/resolve"),
            &served.agent,
            ORDER,
        )?;
        if !released.contains("\"outcome\":\"allow\"") {
            bail!("the release was not an allow: {released}");
        }
        latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    summary(label, count, started.elapsed(), &mut latencies);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = match args.delego {
        Some(bin) => bin,
        None => std::env::current_exe()?
            .parent()
            .context("no directory")?
            .join("delego"),
    };
    if !bin.is_file() {
        bail!(
            "{} not found: run `cargo build --release --workspace --bins` first",
            bin.display()
        );
    }
    println!(
        "http_load: {} ({} clients, {} s), load average at start: {}",
        bin.display(),
        args.clients,
        args.seconds,
        load_average()
    );
    let served = serve(&bin, None)?;
    proposals(&served, args.clients, args.seconds)?;
    round_trips(
        &served,
        args.round_trips,
        "approval round trips (propose → approve → resolve), one client",
    )?;
    drop(served);
    let anchored = serve(
        &bin,
        Some(r#"{"interval_ms": 1000, "anchored_timeout_ms": 30000}"#),
    )?;
    round_trips(
        &anchored,
        args.round_trips,
        "approval round trips with anchored durability (interval 1 s), one client",
    )?;
    println!("load average at end: {}", load_average());
    Ok(())
}
