//! Checks the target "verifying a chain of 100,000 receipts under 3 s on one
//! core": builds a 100,000-receipt ledger, writes it to a temporary file,
//! and times `delego_spec::verify_chain` (one thread) and, if it has been
//! built, `target/release/delego verify`.
//!
//! Run with `cargo run --release -p delego-benches --bin verify_100k`. The
//! CLI binary is looked up at `$DELEGO_BIN`, else `<workspace>/target/release/delego`
//! (build it with `cargo build --release -p delego-cli`).
#![forbid(unsafe_code)]

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use delego_benches::{build_ledger, signing_key};
use delego_spec::keys::verifying_key_to_pem;
use delego_spec::verify_chain;

const RECEIPTS: u64 = 100_000;
const RUNS: usize = 3;
const TARGET: Duration = Duration::from_secs(3);

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn report(label: &str, times: &[Duration]) -> Duration {
    let med = median(times.to_vec());
    let all: Vec<String> = times
        .iter()
        .map(|t| format!("{:.3}", t.as_secs_f64()))
        .collect();
    println!(
        "{label}: median {:.3} s ({:.0} receipts/s; runs: {} s) -> target < {} s {}",
        med.as_secs_f64(),
        RECEIPTS as f64 / med.as_secs_f64(),
        all.join(", "),
        TARGET.as_secs(),
        if med < TARGET { "MET" } else { "MISSED" },
    );
    med
}

/// CPU time consumed so far as `(this process, waited-for children)`, from
/// `/proc/self/stat` (Linux only; `None` elsewhere). On a shared machine
/// this is less disturbed by other work than wall-clock time.
fn cpu_times() -> Option<(Duration, Duration)> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime is field 14.
    let fields: Vec<u64> = stat
        .rsplit_once(") ")?
        .1
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let hz = clock_ticks_per_second();
    let ticks = |t: u64| Duration::from_secs_f64(t as f64 / hz);
    Some((ticks(fields[0] + fields[1]), ticks(fields[2] + fields[3])))
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn report_cpu(label: &str, cpu: Duration, runs: usize) {
    let per_run = cpu / runs as u32;
    println!(
        "{label}: {:.2} s CPU per run (user+sys, mean of {runs})",
        per_run.as_secs_f64()
    );
}

fn cli_path() -> PathBuf {
    match env::var_os("DELEGO_BIN") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/delego"),
    }
}

fn main() -> ExitCode {
    let key = signing_key();
    let public = key.verifying_key();

    let start = Instant::now();
    let ledger = build_ledger(RECEIPTS, &key);
    println!(
        "built {RECEIPTS} receipts ({:.1} MiB) in {:.3} s",
        ledger.len() as f64 / (1024.0 * 1024.0),
        start.elapsed().as_secs_f64()
    );

    let dir = env::temp_dir();
    let stem = format!("delego-verify-100k-{}", std::process::id());
    let ledger_path = dir.join(format!("{stem}.jsonl"));
    let pubkey_path = dir.join(format!("{stem}.pub.pem"));
    if let Err(e) = fs::write(&ledger_path, &ledger)
        .and_then(|()| fs::write(&pubkey_path, verifying_key_to_pem(&public)))
    {
        eprintln!("cannot write to {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    drop(ledger);
    println!("ledger: {}", ledger_path.display());

    let mut ok = true;

    // In-process: read the file and walk the chain on this thread.
    let mut in_memory = Vec::with_capacity(RUNS);
    let mut with_read = Vec::with_capacity(RUNS);
    let cpu_before = cpu_times();
    for _ in 0..RUNS {
        let start = Instant::now();
        let text = match fs::read_to_string(&ledger_path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("cannot read {}: {e}", ledger_path.display());
                ok = false;
                break;
            }
        };
        let read = start.elapsed();
        let report = verify_chain(&text, &public, None);
        let total = start.elapsed();
        if !report.is_valid() || report.seqs.len() as u64 != RECEIPTS {
            eprintln!("verification failed: {:?}", &report.problems[..]);
            ok = false;
        }
        in_memory.push(total - read);
        with_read.push(total);
    }
    if !in_memory.is_empty() {
        report("verify_chain (in memory, 1 thread)", &in_memory);
        report("read file + verify_chain (1 thread)", &with_read);
        if let (Some((before, _)), Some((after, _))) = (cpu_before, cpu_times()) {
            report_cpu("read file + verify_chain", after - before, with_read.len());
        }
    }

    // The CLI, as an auditor would run it.
    let cli = cli_path();
    if cli.is_file() {
        let mut times = Vec::with_capacity(RUNS);
        let cpu_before = cpu_times();
        for _ in 0..RUNS {
            let start = Instant::now();
            let output = Command::new(&cli)
                .arg("verify")
                .arg("--ledger")
                .arg(&ledger_path)
                .arg("--pubkey")
                .arg(&pubkey_path)
                .output();
            let elapsed = start.elapsed();
            match output {
                Ok(out) if out.status.success() => times.push(elapsed),
                Ok(out) => {
                    eprintln!(
                        "delego verify failed ({}):\n{}{}",
                        out.status,
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                    ok = false;
                    break;
                }
                Err(e) => {
                    eprintln!("cannot run {}: {e}", cli.display());
                    ok = false;
                    break;
                }
            }
        }
        if !times.is_empty() {
            report(
                &format!("{} verify (wall clock, whole process)", cli.display()),
                &times,
            );
            if let (Some((_, before)), Some((_, after))) = (cpu_before, cpu_times()) {
                report_cpu("delego verify", after - before, times.len());
            }
        }
    } else {
        println!(
            "CLI not timed: {} not found (cargo build --release -p delego-cli)",
            cli.display()
        );
    }

    let _ = fs::remove_file(&ledger_path);
    let _ = fs::remove_file(&pubkey_path);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
