//! Recent sign-in failures per key (an account, a client address), in a sliding window.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Recent sign-in failures per account and per client address.
#[derive(Default)]
pub(super) struct Throttle {
    failures: HashMap<String, Vec<Instant>>,
}

impl Throttle {
    /// How long until a sign-in may be tried again, if any key is over its limit.
    pub(super) fn retry_after(&mut self, limits: &[(&str, usize)], window: Duration) -> Option<Duration> {
        let now = Instant::now();
        let mut wait = None;
        for (key, limit) in limits {
            let Some(times) = self.failures.get_mut(*key) else {
                continue;
            };
            times.retain(|t| now.duration_since(*t) < window);
            if *limit > 0 && times.len() >= *limit {
                let oldest_counted = times[times.len() - limit];
                let left = window.saturating_sub(now.duration_since(oldest_counted));
                wait = Some(wait.map_or(left, |w: Duration| w.max(left)));
            }
        }
        wait
    }

    pub(super) fn fail(&mut self, keys: &[&str], window: Duration) {
        let now = Instant::now();
        if self.failures.len() > 100_000 {
            self.failures
                .retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < window));
        }
        for key in keys {
            self.failures.entry(key.to_string()).or_default().push(now);
        }
    }

    pub(super) fn clear(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_counts_failures_within_the_window_per_key() {
        let mut t = Throttle::default();
        let window = Duration::from_secs(60);
        let limits = [("account:a", 3), ("address:1", 5)];
        for _ in 0..2 {
            t.fail(&["account:a", "address:1"], window);
        }
        assert_eq!(t.retry_after(&limits, window), None);
        t.fail(&["account:a", "address:1"], window);
        let wait = t.retry_after(&limits, window).expect("locked after 3 failures");
        assert!(wait > Duration::from_secs(55) && wait <= window, "{wait:?}");
        // Another account from another address is not affected.
        assert_eq!(t.retry_after(&[("account:b", 3), ("address:2", 5)], window), None);
        // A success clears the account, but the address keeps its count.
        t.clear("account:a");
        assert_eq!(t.retry_after(&limits, window), None);
        t.fail(&["account:c", "address:1"], window);
        t.fail(&["account:d", "address:1"], window);
        assert!(t.retry_after(&[("account:e", 3), ("address:1", 5)], window).is_some());
        // Failures older than the window no longer count.
        assert_eq!(t.retry_after(&limits, Duration::ZERO), None);
    }
}
