//! Sign-in attempts per key (an account from an address, an account anywhere, an address), in
//! a sliding window. An attempt counts from the moment it starts: attempts still being checked
//! count against the limit beside the failures, so the limits hold however many arrive at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Counts {
    failures: Vec<Instant>,
    in_flight: usize,
}

/// Most keys kept at once; older ones are forgotten first when there are more.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub(super) struct Throttle {
    keys: HashMap<String, Counts>,
}

impl Throttle {
    /// Starts an attempt under `limits` (key, most failures within `window`): refused, with how
    /// long to wait, when any key already has as many failures and attempts under way as its
    /// limit; otherwise counted as under way on every key.
    pub(super) fn begin(&mut self, limits: &[(&str, usize)], window: Duration) -> Result<(), Duration> {
        let now = Instant::now();
        let mut wait: Option<Duration> = None;
        for (key, limit) in limits {
            let Some(counts) = self.keys.get_mut(*key) else {
                continue;
            };
            counts.failures.retain(|t| now.duration_since(*t) < window);
            if *limit == 0 || counts.failures.len() + counts.in_flight < *limit {
                continue;
            }
            // Until the oldest failure that counts leaves the window (or, if only attempts under
            // way fill it, for a moment).
            let left = if counts.failures.len() >= *limit {
                let oldest_counted = counts.failures[counts.failures.len() - limit];
                window.saturating_sub(now.duration_since(oldest_counted))
            } else {
                Duration::from_secs(1)
            };
            wait = Some(wait.map_or(left, |w| w.max(left)));
        }
        if let Some(wait) = wait {
            return Err(wait.max(Duration::from_secs(1)));
        }
        if self.keys.len() > MAX_KEYS {
            self.keys
                .retain(|_, c| c.in_flight > 0 || c.failures.last().is_some_and(|t| now.duration_since(*t) < window));
        }
        for (key, _) in limits {
            self.keys.entry(key.to_string()).or_default().in_flight += 1;
        }
        Ok(())
    }

    /// Ends an attempt begun on `keys`: a failure stays counted for the window; on a success
    /// the failures of `clear` are forgotten.
    pub(super) fn end(&mut self, keys: &[&str], failed: bool, clear: &[&str]) {
        let now = Instant::now();
        for key in keys {
            if let Some(counts) = self.keys.get_mut(*key) {
                counts.in_flight = counts.in_flight.saturating_sub(1);
                if failed {
                    counts.failures.push(now);
                }
            }
        }
        if !failed {
            for key in clear {
                if let Some(counts) = self.keys.get_mut(*key) {
                    counts.failures.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_within_the_window_count_per_key() {
        let mut t = Throttle::default();
        let window = Duration::from_secs(60);
        let keys = ["account:a", "address:1"];
        let limits = [("account:a", 3), ("address:1", 5)];
        for _ in 0..3 {
            t.begin(&limits, window).unwrap();
            t.end(&keys, true, &[]);
        }
        let wait = t.begin(&limits, window).expect_err("locked after 3 failures");
        assert!(wait > Duration::from_secs(55) && wait <= window, "{wait:?}");
        // Another account from another address is not affected.
        assert!(t.begin(&[("account:b", 3), ("address:2", 5)], window).is_ok());
        // The address keeps its count across accounts.
        for name in ["account:c", "account:d"] {
            t.begin(&[(name, 3), ("address:1", 5)], window).unwrap();
            t.end(&[name, "address:1"], true, &[]);
        }
        assert!(t.begin(&[("account:e", 3), ("address:1", 5)], window).is_err());
        // Failures older than the window no longer count.
        assert!(t.begin(&limits, Duration::ZERO).is_ok());
    }

    #[test]
    fn attempts_under_way_count_so_parallel_guesses_cannot_pass_the_limit() {
        let mut t = Throttle::default();
        let window = Duration::from_secs(60);
        let limits = [("account:a", 5)];
        let admitted = (0..40).filter(|_| t.begin(&limits, window).is_ok()).count();
        assert_eq!(admitted, 5, "40 at once: 5 are checked");
        // A success clears the account's failures and frees its slot.
        t.end(&["account:a"], false, &["account:a"]);
        assert!(t.begin(&limits, window).is_ok());
    }
}
