//! `GET /metrics`: Prometheus text exposition (format 0.0.4) of what an
//! operator watches — decisions by outcome, the approval queue, how long a
//! decision takes to be durable, and, when the log is embedded, how long
//! until a witnessed checkpoint covers a receipt, the log's size, its
//! witnessed size and how long ago the witnessed head last moved.
//!
//! Counters are atomics updated by the API handlers; gauges are read at
//! scrape time. It owns no decision and never blocks a request: a scrape
//! reads the store on a blocking thread. Aggregate counts only — no action,
//! key or receipt content — so it needs no key.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use delego_spec::Outcome;

/// Upper bounds (seconds) of the decision latency histogram.
const BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// A Prometheus histogram over [`BUCKETS`].
#[derive(Default)]
struct Histogram {
    /// Counts per bucket (not cumulative), then +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// Receipts answered but not yet under a witnessed checkpoint, kept for
/// the checkpoint latency; bounded (the oldest are dropped beyond it).
const AWAITING_WITNESS: usize = 100_000;

/// The embedded log's sizes, read at scrape time.
#[derive(Debug, Clone, Copy)]
pub struct LogGauges {
    pub size: u64,
    pub witnessed_size: u64,
}

type LogSource = Box<dyn Fn() -> LogGauges + Send + Sync>;

/// See the module documentation.
pub struct Metrics {
    decisions: [AtomicU64; 3],
    decision_latency: Histogram,
    /// From a decision's answer to the first witnessed checkpoint covering
    /// its receipt.
    checkpoint_latency: Histogram,
    awaiting_witness: Mutex<std::collections::VecDeque<(u64, Instant)>>,
    log: Mutex<Option<LogSource>>,
    /// Whether `log` is set, read on every decision without a lock.
    logged: std::sync::atomic::AtomicBool,
    /// The witnessed size seen last, and when it last changed.
    witnessed_moved: Mutex<(u64, Instant)>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            decisions: Default::default(),
            decision_latency: Histogram::default(),
            checkpoint_latency: Histogram::default(),
            awaiting_witness: Mutex::new(std::collections::VecDeque::new()),
            logged: std::sync::atomic::AtomicBool::new(false),
            log: Mutex::new(None),
            witnessed_moved: Mutex::new((0, Instant::now())),
        }
    }
}

fn outcome_index(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Allow => 0,
        Outcome::NeedsApproval => 1,
        Outcome::Deny => 2,
    }
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    /// Where the log gauges come from (the embedded log of `delego serve`).
    pub fn set_log_source(&self, source: impl Fn() -> LogGauges + Send + Sync + 'static) {
        if let Ok(mut log) = self.log.lock() {
            *log = Some(Box::new(source));
            self.logged.store(true, Ordering::Release);
        }
    }

    /// One decision answered after `took` (durable by then), whose receipt
    /// is `receipt_seq`.
    pub fn record_decision(&self, outcome: Outcome, took: Duration, receipt_seq: Option<u64>) {
        self.decisions[outcome_index(outcome)].fetch_add(1, Ordering::Relaxed);
        self.decision_latency.observe(took);
        let logged = self.logged.load(Ordering::Acquire);
        if let (true, Some(seq), Ok(mut awaiting)) =
            (logged, receipt_seq, self.awaiting_witness.lock())
        {
            if awaiting.len() >= AWAITING_WITNESS {
                awaiting.pop_front();
            }
            awaiting.push_back((seq, Instant::now()));
        }
    }

    /// The witnessed size is now `size`: every receipt below it is covered.
    pub fn observe_witnessed(&self, size: u64) {
        let Ok(mut awaiting) = self.awaiting_witness.lock() else {
            return;
        };
        let now = Instant::now();
        awaiting.retain(|(seq, at)| {
            if *seq < size {
                self.checkpoint_latency
                    .observe(now.saturating_duration_since(*at));
                false
            } else {
                true
            }
        });
    }

    /// The exposition, with the approval queue's length supplied.
    pub fn render(&self, pending_approvals: usize) -> String {
        let gauges = self
            .log
            .lock()
            .ok()
            .and_then(|log| log.as_ref().map(|source| source()));
        // What a scrape sees witnessed counts, even between the watcher's looks.
        if let Some(log) = gauges {
            self.observe_witnessed(log.witnessed_size);
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP delego_decisions_total Decisions answered, by outcome."
        );
        let _ = writeln!(out, "# TYPE delego_decisions_total counter");
        for (i, outcome) in ["allow", "needs_approval", "deny"].iter().enumerate() {
            let n = self.decisions[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "delego_decisions_total{{outcome=\"{outcome}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP delego_approvals_pending Approvals waiting for a human."
        );
        let _ = writeln!(out, "# TYPE delego_approvals_pending gauge");
        let _ = writeln!(out, "delego_approvals_pending {pending_approvals}");
        self.decision_latency.render(
            "delego_decision_seconds",
            "Time from request to a decision whose receipt is durable.",
            &mut out,
        );
        if self.logged.load(Ordering::Acquire) {
            self.checkpoint_latency.render(
                "delego_checkpoint_seconds",
                "Time from a decision's answer to the first witnessed checkpoint covering its receipt.",
                &mut out,
            );
        }
        if let Some(log) = gauges {
            let age = match self.witnessed_moved.lock() {
                Ok(mut moved) => {
                    if moved.0 != log.witnessed_size {
                        *moved = (log.witnessed_size, Instant::now());
                    }
                    moved.1.elapsed().as_secs_f64()
                }
                Err(_) => 0.0,
            };
            for (name, help, value) in [
                (
                    "delego_log_size",
                    "Leaves integrated into the transparency log.",
                    log.size.to_string(),
                ),
                (
                    "delego_log_witnessed_size",
                    "Size of the newest checkpoint the trust policy counts as witnessed.",
                    log.witnessed_size.to_string(),
                ),
                (
                    "delego_log_unwitnessed_leaves",
                    "Leaves not yet covered by a witnessed checkpoint.",
                    log.size.saturating_sub(log.witnessed_size).to_string(),
                ),
                (
                    "delego_checkpoint_witnessed_age_seconds",
                    "Seconds since the witnessed size last grew (as seen by scrapes).",
                    format!("{age:.3}"),
                ),
            ] {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} gauge");
                let _ = writeln!(out, "{name} {value}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_are_cumulative() {
        let metrics = Metrics::new();
        metrics.record_decision(Outcome::Allow, Duration::from_micros(300), Some(0));
        metrics.record_decision(Outcome::Deny, Duration::from_millis(3), Some(1));
        metrics.record_decision(Outcome::Deny, Duration::from_secs(2), Some(2));
        let text = metrics.render(4);
        assert!(text.contains("delego_decisions_total{outcome=\"allow\"} 1\n"));
        assert!(text.contains("delego_decisions_total{outcome=\"deny\"} 2\n"));
        assert!(text.contains("delego_approvals_pending 4\n"));
        assert!(text.contains("delego_decision_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("delego_decision_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("delego_decision_seconds_bucket{le=\"1\"} 2\n"));
        assert!(text.contains("delego_decision_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("delego_decision_seconds_count 3\n"));
        assert!(!text.contains("delego_log_size"), "no log, no log gauges");
        metrics.set_log_source(|| LogGauges {
            size: 10,
            witnessed_size: 4,
        });
        let text = metrics.render(0);
        assert!(text.contains("delego_log_size 10\n"));
        assert!(text.contains("delego_log_unwitnessed_leaves 6\n"));
        // Receipts 3 and 4 answered; a scrape sees size 4 witnessed: only
        // receipt 3 is covered.
        metrics.record_decision(Outcome::Allow, Duration::from_millis(1), Some(3));
        metrics.record_decision(Outcome::Allow, Duration::from_millis(1), Some(4));
        let text = metrics.render(0);
        assert!(
            text.contains("delego_checkpoint_seconds_count 1\n"),
            "{text}"
        );
        metrics.observe_witnessed(5);
        assert!(metrics
            .render(0)
            .contains("delego_checkpoint_seconds_count 2\n"));
    }
}
