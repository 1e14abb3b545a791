//! The recent tail of the allow index, per rule, kept in memory so that
//! counting a rule's allows since a time costs dropping the entries that
//! have left the window plus a length, not a range scan over every allow in
//! the window (a scan made each rate-limited decision cost O(allows in the
//! window): with a large cap, throughput fell as the ledger grew).
//!
//! It owns no truth: each entry mirrors a committed row of the store's allow
//! index. A rule's window holds exactly the committed allows at or after its
//! `from` time; a query reaching further back is a miss, and the store
//! reloads the rule from disk. It never reads or writes the disk itself.
//! Memory is 8 bytes per allow inside a rule's current window, which the
//! rule's rate-limit cap bounds (an allow is granted only under the cap).

use std::collections::{HashMap, VecDeque};

/// See the module documentation.
#[derive(Debug, Default)]
pub(super) struct AllowWindows {
    rules: HashMap<String, Window>,
}

#[derive(Debug)]
struct Window {
    /// Every committed allow of the rule at or after this time is in `times`.
    from: i64,
    /// Allow times (micros), ascending.
    times: VecDeque<i64>,
}

impl Window {
    fn insert(&mut self, time: i64) {
        // The clock almost always moves forward: an append. A time that
        // stepped back goes to its sorted place.
        if self.times.back().is_none_or(|last| *last <= time) {
            self.times.push_back(time);
        } else {
            let at = self.times.partition_point(|t| *t <= time);
            self.times.insert(at, time);
        }
    }
}

impl AllowWindows {
    /// Allows of `rule` at or after `since`, at most `limit`; `None` when the
    /// rule's window does not reach back to `since` (load it first).
    pub(super) fn count(&mut self, rule: &str, since: i64, limit: u64) -> Option<u64> {
        let window = self.rules.get_mut(rule)?;
        if since < window.from {
            return None;
        }
        // Windows slide forward with the clock: what precedes this query's
        // start is dropped, and a later query reaching back before it misses.
        while window.times.front().is_some_and(|t| *t < since) {
            window.times.pop_front();
        }
        window.from = since;
        Some((window.times.len() as u64).min(limit))
    }

    /// Installs `rule`'s committed allows at or after `from`, read from the
    /// store (in any order), replacing what was held for it.
    pub(super) fn load(&mut self, rule: &str, from: i64, mut times: Vec<i64>) {
        times.sort_unstable();
        self.rules.insert(
            rule.to_owned(),
            Window {
                from,
                times: times.into(),
            },
        );
    }

    /// Records an allow that was just committed.
    pub(super) fn record(&mut self, rule: &str, time: i64) {
        if let Some(window) = self.rules.get_mut(rule) {
            if time >= window.from {
                window.insert(time);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_unloaded_rule_or_an_older_start_is_a_miss() {
        let mut windows = AllowWindows::default();
        assert_eq!(windows.count("r", 0, 10), None);
        windows.load("r", 100, vec![150, 120]);
        assert_eq!(windows.count("r", 99, 10), None);
        assert_eq!(windows.count("r", 100, 10), Some(2));
        assert_eq!(windows.count("r", 130, 10), Some(1));
        // The window now starts at 130: 120 was dropped, so 125 misses.
        assert_eq!(windows.count("r", 125, 10), None);
    }

    #[test]
    fn records_count_and_the_limit_caps() {
        let mut windows = AllowWindows::default();
        windows.load("r", 0, Vec::new());
        for t in [10, 20, 30] {
            windows.record("r", t);
        }
        windows.record("other", 40);
        assert_eq!(windows.count("r", 0, 2), Some(2));
        assert_eq!(windows.count("r", 15, 10), Some(2));
        assert_eq!(windows.count("other", 0, 10), None);
    }

    proptest! {
        /// Against a plain list of every allow: the same count for every
        /// query the window answers, with times and starts that move
        /// backwards as well as forwards.
        #[test]
        fn matches_counting_every_allow(
            ops in proptest::collection::vec((any::<bool>(), 0i64..1_000, 1u64..20), 1..200)
        ) {
            let mut all: Vec<i64> = Vec::new();
            let mut windows = AllowWindows::default();
            for (is_allow, time, limit) in ops {
                if is_allow {
                    all.push(time);
                    windows.record("r", time);
                    continue;
                }
                let exact = (all.iter().filter(|t| **t >= time).count() as u64).min(limit);
                let counted = match windows.count("r", time, limit) {
                    Some(n) => n,
                    None => {
                        windows.load("r", time, all.iter().copied().filter(|t| *t >= time).collect());
                        windows.count("r", time, limit).expect("just loaded")
                    }
                };
                prop_assert_eq!(counted, exact);
            }
        }
    }
}
