//! Per-request latency of the witness's `add-checkpoint` handling without
//! the network (parse, log signature, consistency proof, cosignature,
//! synced RocksDB write), as percentiles over 2,000 sequential requests;
//! target p99 ≤ 5 ms. For context it also times the same requests' work
//! without the state (CPU only) and the synced state write alone (the
//! disk's share).
//!
//! It first waits (up to 15 minutes) for the 1-minute load average to drop
//! below 0.7 and prints the load it measured at.
//!
//! Run with `cargo run --release -p delego-benches --bin witness_latency`
//! (`-- --no-wait` skips the wait; `-- --requests N` changes the count).
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use delego_benches::witness::{WitnessFixture, START_SIZE, STEP};
use delego_witness::WitnessStore;

const TARGET_P99: Duration = Duration::from_millis(5);
const WARM_UP: usize = 100;
const QUIET_LOAD: f64 = 0.7;
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Waits until the 1-minute load is below [`QUIET_LOAD`] or [`MAX_WAIT`]
/// passed; returns the load then.
fn wait_until_quiet() -> Option<f64> {
    let start = Instant::now();
    loop {
        let load = load_average()?;
        if load < QUIET_LOAD || start.elapsed() >= MAX_WAIT {
            return Some(load);
        }
        eprintln!("waiting for a quiet machine: 1-minute load {load:.2}");
        thread::sleep(Duration::from_secs(15));
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(label: &str, mut times: Vec<Duration>) -> Duration {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    let p99 = percentile(&times, 0.99);
    println!(
        "{label} ({} requests): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms, mean {:.3} ms",
        times.len(),
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.90)),
        ms(p99),
        ms(times[times.len() - 1]),
        ms(mean),
    );
    p99
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut wait = true;
    let mut requests = 2_000usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-wait" => wait = false,
            "--requests" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => requests = n,
                _ => {
                    eprintln!("error: --requests needs a positive count");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!("error: unknown argument {other:?}");
                return ExitCode::from(2);
            }
        }
    }

    let setup = Instant::now();
    let mut fixture = WitnessFixture::new();
    let mut previous = fixture.checkpoint(START_SIZE);
    let warm_up = fixture.next_requests(WARM_UP);
    let bodies = fixture.next_requests(requests);
    eprintln!(
        "fixture: log of {START_SIZE} leaves, +{STEP} per checkpoint, built in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let load = if wait {
        wait_until_quiet()
    } else {
        load_average()
    };
    match load {
        Some(load) => println!("1-minute load average when measuring: {load:.2}"),
        None => println!("1-minute load average: unknown"),
    }

    // The state-free part first (it does not advance the witness).
    let mut compute = Vec::with_capacity(bodies.len());
    for body in warm_up.iter().chain(&bodies) {
        let start = Instant::now();
        let (checkpoint, _) = fixture.compute_only(&previous, body);
        compute.push(start.elapsed());
        previous = checkpoint;
    }
    report(
        "parse + log signature + proof + cosign, no state",
        compute.split_off(WARM_UP),
    );

    for body in &warm_up {
        fixture.submit(body);
    }
    let times: Vec<Duration> = bodies
        .iter()
        .map(|body| {
            let start = Instant::now();
            fixture.submit(body);
            start.elapsed()
        })
        .collect();
    let p99 = report("add-checkpoint", times);

    // The disk's share: the same synced write, alone, into a fresh store.
    let latest = fixture
        .witness
        .logs()
        .ok()
        .and_then(|logs| logs.into_iter().next())
        .and_then(|log| log.latest);
    let dir = tempfile::tempdir();
    if let (Some(latest), Ok(dir)) = (latest, dir) {
        if let Ok(store) = WitnessStore::open(&dir.path().join("state")) {
            let writes: Vec<Duration> = (0..requests)
                .map(|_| {
                    let start = Instant::now();
                    if let Err(error) = store.put_latest(&latest) {
                        eprintln!("error: synced write failed: {error}");
                    }
                    start.elapsed()
                })
                .collect();
            report("synced state write alone", writes);
        }
    }

    println!(
        "target p99 <= {} ms: {}",
        TARGET_P99.as_millis(),
        if p99 <= TARGET_P99 { "MET" } else { "MISSED" }
    );
    ExitCode::SUCCESS
}
