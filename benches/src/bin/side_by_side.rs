//! delego and the Python reference side by side, in one run, on the same
//! policy and the same action mix (target: ≥ 1,000× the reference's rate at
//! a 5,000-receipt ledger).
//!
//! Both ledgers are first filled to `--receipts` receipts by proposing the
//! mix; then the rate is measured over the next proposals: `--window` for
//! delego (64 concurrent callers, and separately one caller, each on its own
//! fresh store) and `--reference-window` for the reference (its
//! `Firewall.propose`, one caller, as its CLI, MCP server and daemon call
//! it). The reference runs from a venv (`--python`, default
//! `$TMPDIR/delego-ref-venv-0.3.4/bin/python`); when that has no `delego`
//! 0.3.4 the harness creates the venv and installs it from the package
//! index, and says so and exits 2 when it cannot.
//!
//! Run with `cargo run --release -p delego-benches --bin side_by_side`.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context as _};
use clap::Parser;
use delego_benches::workload::{
    compile, drive, mix_json_array, start_durable, DriveReport, BENCH_POLICY, BENCH_POLICY_NAME,
    MIX,
};
use delego_benches::{load_average, signing_key};
use delego_firewall::store::LedgerStore;
use delego_spec::json::{to_canonical_string, Number, Value};
use indicatif::{ProgressBar, ProgressStyle};

const REFERENCE_VERSION: &str = "0.3.4";

#[derive(Parser)]
#[command(about = "delego vs the Python reference on the same workload, same run")]
struct Args {
    /// Ledger size at which both are measured.
    #[arg(long, default_value_t = 5_000)]
    receipts: u64,
    /// Proposals timed for delego, from that ledger size.
    #[arg(long, default_value_t = 20_000)]
    window: u64,
    /// Proposals timed for the reference, from that ledger size.
    #[arg(long, default_value_t = 200)]
    reference_window: u64,
    /// Concurrent callers for delego's main measurement.
    #[arg(long, default_value_t = 64)]
    threads: usize,
    /// The reference venv's python.
    #[arg(long)]
    python: Option<PathBuf>,
}

/// The reference's driver: fills a fresh home's ledger by proposing the mix,
/// then times the next proposals. Prints progress lines, then one result.
const REFERENCE_DRIVER: &str = r#"
import json, sys, time, warnings
warnings.simplefilter("ignore")
import delego
from delego import ProposedAction

home, fill, window, mix_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(mix_path, encoding="utf-8") as f:
    mix = [ProposedAction(**a) for a in json.load(f)]
paths = delego.Paths.resolve(home)
fw = delego.build_firewall(paths)
i = 0
started = time.perf_counter()
while i < fill:
    fw.propose(mix[i % len(mix)])
    i += 1
    if i % 100 == 0:
        print(json.dumps({"progress": i}), flush=True)
fill_seconds = time.perf_counter() - started
outcomes = {}
started = time.perf_counter()
for _ in range(window):
    d = fw.propose(mix[i % len(mix)])
    i += 1
    outcomes[d.outcome] = outcomes.get(d.outcome, 0) + 1
window_seconds = time.perf_counter() - started
with open(paths.audit_log, encoding="utf-8") as f:
    lines = sum(1 for line in f if line.strip())
print(json.dumps({"fill_seconds": fill_seconds, "window_seconds": window_seconds,
                  "outcomes": outcomes, "ledger_lines": lines}), flush=True)
"#;

fn default_python() -> PathBuf {
    std::env::temp_dir()
        .join(format!("delego-ref-venv-{REFERENCE_VERSION}"))
        .join("bin")
        .join("python")
}

fn has_reference(python: &Path) -> bool {
    python.is_file()
        && Command::new(python)
            .args([
                "-c",
                &format!("import sys, delego; sys.exit(0 if delego.__version__ == '{REFERENCE_VERSION}' else 1)"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Creates the venv that holds `python` and installs the reference into it.
fn install_reference(python: &Path) -> anyhow::Result<()> {
    let venv = python
        .parent()
        .and_then(Path::parent)
        .context("--python must be <venv>/bin/python")?;
    eprintln!(
        "installing delego=={REFERENCE_VERSION} into {} (package index)",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .status()
        .context("cannot run python3")?;
    if !status.success() {
        bail!("python3 -m venv {} failed", venv.display());
    }
    let status = Command::new(venv.join("bin").join("pip"))
        .args([
            "install",
            "--quiet",
            &format!("delego=={REFERENCE_VERSION}"),
        ])
        .status()
        .context("cannot run pip")?;
    if !status.success() || !has_reference(python) {
        bail!("pip install delego=={REFERENCE_VERSION} failed");
    }
    Ok(())
}

/// delego on a fresh store: fill to `receipts` with 64 callers, then time
/// `window` proposals from `threads` callers.
fn measure_delego(receipts: u64, window: u64, threads: usize) -> anyhow::Result<DriveReport> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let policy = compile(BENCH_POLICY, BENCH_POLICY_NAME)?;
    let fw = start_durable(dir.path(), policy, signing_key())?;
    drive(&fw, 64, receipts, 0)?;
    let report = drive(&fw, threads, window, (receipts % MIX.len() as u64) as usize)?;
    let size = fw.store().head()?.map_or(0, |h| h.seq + 1);
    if size != receipts + window {
        bail!(
            "delego's ledger holds {size} receipts, expected {}",
            receipts + window
        );
    }
    Ok(report)
}

fn field<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_object().and_then(|m| m.get(key))
}

fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(Number::Float(f)) => Some(f.get()),
        Value::Number(Number::Int(i)) => i.to_f64(),
        _ => None,
    }
}

struct ReferenceReport {
    fill_seconds: f64,
    window_seconds: f64,
    outcomes: String,
}

fn measure_reference(python: &Path, receipts: u64, window: u64) -> anyhow::Result<ReferenceReport> {
    let home = tempfile::tempdir().context("cannot create a temporary directory")?;
    std::fs::write(home.path().join("policy.yaml"), BENCH_POLICY)?;
    let mix_path = home.path().join("mix.json");
    std::fs::write(&mix_path, mix_json_array())?;
    let mut child = Command::new(python)
        .args(["-c", REFERENCE_DRIVER])
        .arg(home.path())
        .arg(receipts.to_string())
        .arg(window.to_string())
        .arg(&mix_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the reference's driver")?;
    let stdout = child.stdout.take().context("no stdout from the driver")?;
    let bar = ProgressBar::new(receipts);
    bar.set_style(
        ProgressStyle::with_template(
            "reference: filling its ledger {pos}/{len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut result = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("cannot read the driver's output")?;
        let value = delego_spec::json::parse(&line)
            .with_context(|| format!("the driver printed {line:?}"))?;
        if let Some(progress) = number(field(&value, "progress")) {
            bar.set_position(progress as u64);
        } else {
            result = Some(value);
        }
    }
    bar.finish_and_clear();
    let status = child.wait()?;
    let value = match (status.success(), result) {
        (true, Some(value)) => value,
        _ => bail!("the reference's driver failed ({status})"),
    };
    let seconds = |key: &str| {
        number(field(&value, key)).with_context(|| format!("the driver's result has no {key}"))
    };
    let lines = number(field(&value, "ledger_lines"));
    if lines != Some((receipts + window) as f64) {
        bail!(
            "the reference's ledger holds {lines:?} receipts, expected {}",
            receipts + window
        );
    }
    Ok(ReferenceReport {
        fill_seconds: seconds("fill_seconds")?,
        window_seconds: seconds("window_seconds")?,
        outcomes: field(&value, "outcomes")
            .map(to_canonical_string)
            .unwrap_or_default(),
    })
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let python = args.python.clone().unwrap_or_else(default_python);
    if !has_reference(&python) {
        if let Err(e) = install_reference(&python) {
            eprintln!("side_by_side: the reference cannot run here, so nothing is compared: {e:#}");
            return Ok(ExitCode::from(2));
        }
    }
    println!(
        "side_by_side: policy {BENCH_POLICY_NAME}, mix of {} actions, ledger filled to {} receipts; load average at start: {}",
        MIX.len(),
        args.receipts,
        load_average()
    );
    let many = measure_delego(args.receipts, args.window, args.threads)?;
    let one = measure_delego(args.receipts, args.window.min(5_000), 1)?;
    let reference = measure_reference(&python, args.receipts, args.reference_window)?;
    let reference_rate = args.reference_window as f64 / reference.window_seconds;
    let line = |label: &str, report: &DriveReport| {
        println!(
            "delego ({label}): {} proposals from ledger size {} in {:.3} s = {:.0}/s (allow/needs_approval/deny {:?}) = {:.0}x the reference",
            report.proposals,
            args.receipts,
            report.elapsed.as_secs_f64(),
            report.per_second(),
            report.outcomes,
            report.per_second() / reference_rate
        );
    };
    println!(
        "reference {REFERENCE_VERSION}: filled 0..{} in {:.1} s; {} proposals from ledger size {} in {:.2} s = {:.1}/s (outcomes {})",
        args.receipts,
        reference.fill_seconds,
        args.reference_window,
        args.receipts,
        reference.window_seconds,
        reference_rate,
        reference.outcomes
    );
    line(&format!("{} callers", args.threads), &many);
    line("1 caller", &one);
    println!("load average at end: {}", load_average());
    std::io::stdout().flush()?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("side_by_side: {e:#}");
            ExitCode::FAILURE
        }
    }
}
