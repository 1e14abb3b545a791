//! Where cosignature timestamps come from. The witness reads the time only
//! through [`Clock`], so tests and benchmarks can pin it; a clock that
//! cannot tell the time answers 0, which the witness refuses to sign with
//! (tlog-witness forbids a zero timestamp).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of POSIX time in seconds.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch, or 0 when the time is unknown.
    fn now_unix_seconds(&self) -> u64;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_seconds(&self) -> u64 {
        // A clock before 1970 is as good as no clock.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    }
}

/// A clock that says what it is told, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicU64);

impl FixedClock {
    pub fn new(seconds: u64) -> FixedClock {
        FixedClock(AtomicU64::new(seconds))
    }

    pub fn set(&self, seconds: u64) {
        self.0.store(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_unix_seconds(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
