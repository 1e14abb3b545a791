//! Durable proposals through the library (target: ≥ 20,000/s with a
//! 1,000,000-receipt ledger, flat as the ledger grows).
//!
//! Opens a RocksDB store (a temporary directory, or `--dir`), starts the
//! engine with the benchmark policy, and drives proposals of the benchmark
//! mix from `--threads` concurrent callers until the ledger holds
//! `--receipts` receipts. Every proposal writes exactly one receipt, so the
//! ledger size is the number of proposals answered. Prints the throughput of
//! each window of `--window` receipts and overall, latency percentiles, and
//! finally walks the whole ledger through the chain verifier.
//!
//! Run with `cargo run --release -p delego-benches --bin durable_throughput`.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use delego_benches::workload::{
    compile, mix_actions, start_durable, BENCH_POLICY, BENCH_POLICY_NAME,
};
use delego_benches::{load_average, percentile, signing_key, verify_store_chain};
use delego_firewall::store::LedgerStore;
use delego_spec::Outcome;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Parser)]
#[command(about = "Durable proposal throughput through the delego firewall library")]
struct Args {
    /// Drive proposals until the ledger holds this many receipts.
    #[arg(long, default_value_t = 1_000_000)]
    receipts: u64,
    /// Concurrent caller threads.
    #[arg(long, default_value_t = 64)]
    threads: usize,
    /// Receipts per reported window.
    #[arg(long, default_value_t = 100_000)]
    window: u64,
    /// The store's directory (kept); default: a temporary directory, removed.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// A policy file instead of the benchmark policy.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Skip the final chain verification.
    #[arg(long)]
    no_verify: bool,
}

/// What the callers record, shared.
struct Run {
    /// Proposals handed out so far (a caller stops at `needed`).
    issued: AtomicU64,
    /// Proposals answered so far.
    answered: AtomicU64,
    needed: u64,
    /// Ledger size before the run.
    start_len: u64,
    window: u64,
    started: Instant,
    /// When the ledger reached each window boundary (relative to `started`).
    boundaries: Mutex<Vec<(u64, Duration)>>,
    failed: AtomicBool,
}

/// One caller's record: (ledger size after its proposal, latency in µs)
/// per proposal, and outcome counts.
#[derive(Default)]
struct CallerLog {
    latencies: Vec<(u64, u32)>,
    outcomes: [u64; 3],
}

fn outcome_index(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Allow => 0,
        Outcome::NeedsApproval => 1,
        Outcome::Deny => 2,
    }
}

fn caller(
    fw: &delego_firewall::engine::Firewall<delego_firewall::store::RocksStore>,
    run: &Run,
    offset: usize,
) -> anyhow::Result<CallerLog> {
    let actions = mix_actions();
    let mut log = CallerLog::default();
    let mut next = offset;
    loop {
        let ticket = run.issued.fetch_add(1, Ordering::Relaxed);
        if ticket >= run.needed || run.failed.load(Ordering::Relaxed) {
            return Ok(log);
        }
        let action = actions[next % actions.len()].clone();
        next += 1;
        let sent = Instant::now();
        let decision = match fw.propose(action) {
            Ok(decision) => decision,
            Err(e) => {
                run.failed.store(true, Ordering::Relaxed);
                bail!("proposal {ticket} failed: {e}");
            }
        };
        let latency = sent.elapsed();
        let size = run.start_len + run.answered.fetch_add(1, Ordering::Relaxed) + 1;
        if size.is_multiple_of(run.window) {
            let at = run.started.elapsed();
            if let Ok(mut b) = run.boundaries.lock() {
                b.push((size, at));
            }
        }
        log.latencies
            .push((size, u32::try_from(latency.as_micros()).unwrap_or(u32::MAX)));
        log.outcomes[outcome_index(decision.outcome)] += 1;
    }
}

fn progress(total: u64, start_len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} receipts ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(start_len);
    bar
}

fn latency_line(label: &str, latencies: &mut [u32]) -> String {
    latencies.sort_unstable();
    format!(
        "{label}: p50 {} µs, p99 {} µs, max {} µs",
        percentile(latencies, 50.0),
        percentile(latencies, 99.0),
        latencies.last().copied().unwrap_or(0)
    )
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.threads == 0 || args.window == 0 {
        bail!("--threads and --window must be at least 1");
    }
    let (policy_text, policy_name) = match &args.policy {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (BENCH_POLICY.to_owned(), BENCH_POLICY_NAME.to_owned()),
    };
    let policy = compile(&policy_text, &policy_name)?;
    let temp;
    let dir: &Path = match &args.dir {
        Some(dir) => dir,
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary directory")?;
            temp.path()
        }
    };
    let key = signing_key();
    let fw = start_durable(dir, policy, key.clone())?;
    let start_len = fw.store().head()?.map_or(0, |h| h.seq + 1);
    if start_len >= args.receipts {
        bail!(
            "the ledger at {} already holds {start_len} receipts (target {})",
            dir.display(),
            args.receipts
        );
    }
    println!(
        "durable_throughput: store {}, policy {policy_name}, {} caller threads, ledger {start_len} -> {} receipts, load average at start: {}",
        dir.display(),
        args.threads,
        args.receipts,
        load_average()
    );
    let run = Run {
        issued: AtomicU64::new(0),
        answered: AtomicU64::new(0),
        needed: args.receipts - start_len,
        start_len,
        window: args.window,
        started: Instant::now(),
        boundaries: Mutex::new(Vec::new()),
        failed: AtomicBool::new(false),
    };
    let bar = progress(args.receipts, start_len);
    let logs: Vec<anyhow::Result<CallerLog>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.threads)
            .map(|i| {
                let (fw, run) = (&fw, &run);
                scope.spawn(move || caller(fw, run, i))
            })
            .collect();
        while handles.iter().any(|h| !h.is_finished()) {
            bar.set_position(start_len + run.answered.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(200));
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a caller panicked")))
            })
            .collect()
    });
    let elapsed = run.started.elapsed();
    bar.finish_and_clear();
    let mut latencies = Vec::with_capacity(run.needed as usize);
    let mut outcomes = [0u64; 3];
    for log in logs {
        let log = log?;
        latencies.extend(log.latencies);
        for (total, n) in outcomes.iter_mut().zip(log.outcomes) {
            *total += n;
        }
    }
    let answered = run.answered.load(Ordering::Relaxed);

    println!("window (ledger size)          receipts/s    p50 µs    p99 µs");
    let mut boundaries = run.boundaries.lock().map(|b| b.clone()).unwrap_or_default();
    boundaries.sort();
    let mut previous = (start_len, Duration::ZERO);
    for &(size, at) in &boundaries {
        let mut window: Vec<u32> = latencies
            .iter()
            .filter(|(s, _)| *s > previous.0 && *s <= size)
            .map(|(_, l)| *l)
            .collect();
        window.sort_unstable();
        let rate = (size - previous.0) as f64 / (at - previous.1).as_secs_f64();
        println!(
            "{:>9} .. {:>9}        {:>10.0}  {:>8}  {:>8}",
            previous.0,
            size,
            rate,
            percentile(&window, 50.0),
            percentile(&window, 99.0)
        );
        previous = (size, at);
    }
    let mut all: Vec<u32> = latencies.iter().map(|(_, l)| *l).collect();
    println!(
        "overall: {answered} proposals in {:.2} s = {:.0} proposals/s ({} allow, {} needs_approval, {} deny); {}",
        elapsed.as_secs_f64(),
        answered as f64 / elapsed.as_secs_f64(),
        outcomes[0],
        outcomes[1],
        outcomes[2],
        latency_line("latency per proposal", &mut all)
    );
    println!("load average at end: {}", load_average());

    let head = fw.store().head()?.map_or(0, |h| h.seq + 1);
    if head != args.receipts || answered != run.needed {
        bail!(
            "ledger holds {head} receipts after {answered} proposals; expected exactly {}",
            args.receipts
        );
    }
    if args.no_verify {
        println!("ledger: {head} receipts (chain verification skipped)");
        return Ok(());
    }
    let started = Instant::now();
    let verified = verify_store_chain(fw.store().as_ref(), &key.verifying_key())?;
    println!(
        "ledger: {head} receipts, seq 0..{}; chain verified ({verified} receipts, 0 problems) in {:.1} s",
        head - 1,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
