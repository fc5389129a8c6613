//! When a record handed back to the queue comes back: an exponential delay by receive count,
//! capped and jittered ([`RetryBackoff`]), applied with SQS `ChangeMessageVisibility` through
//! the [`RedeliveryDelay`] trait instead of waiting out the queue's visibility timeout.
//!
//! A message that fails every time is received `maxReceiveCount` times and moved to the
//! dead-letter queue on the receive after that, so its time to the DLQ is at most
//! `Σ_{k=1..maxReceiveCount} min(cap, base × 2^(k-1))` plus that many processing times
//! ([`RetryBackoff::time_to_dead_letter_bound`]); jitter only shortens delays.
//!
//! The formula is three lines, so it is written here rather than pulled in from a backoff
//! crate: those drive their own retry loop, while here the queue does the waiting and only the
//! delay for a given receive count is wanted, as a pure function.

use crate::config::ConfigError;
use async_trait::async_trait;
use std::time::Duration;

/// SQS refuses a visibility timeout above 12 hours.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

/// Exponential redelivery delays in whole seconds (SQS's unit for visibility timeouts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBackoff {
    /// Delay after the first receive.
    pub base: Duration,
    /// Largest delay.
    pub cap: Duration,
    /// Share of a delay that is randomised away: a delay is uniform in
    /// `[(1 - jitter) × ceiling, ceiling]`, so retries of one burst spread out.
    pub jitter: f64,
}

impl Default for RetryBackoff {
    fn default() -> Self {
        RetryBackoff {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(300),
            jitter: 0.5,
        }
    }
}

impl RetryBackoff {
    /// The largest delay after the `receive_count`-th receive (1 for the first):
    /// `min(cap, base × 2^(receive_count - 1))`, in whole seconds.
    pub fn ceiling(&self, receive_count: u32) -> Duration {
        let doublings = receive_count.saturating_sub(1).min(30);
        let secs = self
            .base
            .as_secs()
            .saturating_mul(1u64 << doublings)
            .min(self.cap.as_secs());
        Duration::from_secs(secs)
    }

    /// The delay for `receive_count` given a uniform draw `unit` in `[0, 1]`.
    pub fn delay(&self, receive_count: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(receive_count).as_secs() as f64;
        let share = 1.0 - self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        Duration::from_secs((ceiling * share).round() as u64)
    }

    /// A jittered delay for `receive_count`.
    pub fn sample(&self, receive_count: u32) -> Duration {
        self.delay(receive_count, rand::random::<f64>())
    }

    /// The longest a message failing every time takes to reach the dead-letter queue: every
    /// delay at its ceiling plus `processing` per receive.
    pub fn time_to_dead_letter_bound(
        &self,
        max_receive_count: u32,
        processing: Duration,
    ) -> Duration {
        (1..=max_receive_count)
            .map(|k| self.ceiling(k) + processing)
            .sum()
    }

    /// Reads `RETRY_BASE_SECONDS` (default 10), `RETRY_CAP_SECONDS` (default 300, at least the
    /// base, at most 12 hours) and `RETRY_JITTER` (default 0.5, from 0 to 1).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<RetryBackoff, ConfigError> {
        let defaults = RetryBackoff::default();
        let max = MAX_VISIBILITY.as_secs();
        let seconds = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            match get(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(raw) => raw
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s <= max)
                    .map(Duration::from_secs)
                    .ok_or_else(|| ConfigError::Invalid {
                        name,
                        reason: format!("`{raw}` is not a whole number of seconds from 0 to {max}"),
                    }),
            }
        };
        let base = seconds("RETRY_BASE_SECONDS", defaults.base)?;
        let cap = seconds("RETRY_CAP_SECONDS", defaults.cap.max(base))?;
        if cap < base {
            return Err(ConfigError::Invalid {
                name: "RETRY_CAP_SECONDS",
                reason: format!(
                    "{} s is below RETRY_BASE_SECONDS ({} s)",
                    cap.as_secs(),
                    base.as_secs()
                ),
            });
        }
        let jitter = match get("RETRY_JITTER").filter(|v| !v.trim().is_empty()) {
            None => defaults.jitter,
            Some(raw) => raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|j| (0.0..=1.0).contains(j))
                .ok_or_else(|| ConfigError::Invalid {
                    name: "RETRY_JITTER",
                    reason: format!("`{raw}` is not a number from 0 to 1"),
                })?,
        };
        Ok(RetryBackoff { base, cap, jitter })
    }
}

/// Makes a received message visible again after a delay (SQS `ChangeMessageVisibility`).
#[async_trait]
pub trait RedeliveryDelay: Send + Sync {
    /// `event_source_arn` is the record's queue; an implementation refuses a queue it does not
    /// serve.
    async fn delay_redelivery(
        &self,
        event_source_arn: Option<&str>,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), String>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn backoff(base: u64, cap: u64, jitter: f64) -> RetryBackoff {
        RetryBackoff {
            base: Duration::from_secs(base),
            cap: Duration::from_secs(cap),
            jitter,
        }
    }

    #[test]
    fn delays_double_per_receive_up_to_the_cap() {
        let b = backoff(10, 300, 0.0);
        let secs: Vec<u64> = (1..=7).map(|k| b.ceiling(k).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(
            b.ceiling(0).as_secs(),
            10,
            "a missing count reads as the first"
        );
        assert_eq!(b.ceiling(u32::MAX).as_secs(), 300, "no overflow");
        assert_eq!(b.delay(3, 0.7), Duration::from_secs(40), "no jitter");
    }

    #[test]
    fn jitter_only_shortens_a_delay_within_its_share() {
        let b = backoff(10, 300, 0.5);
        assert_eq!(b.delay(2, 0.0).as_secs(), 20);
        assert_eq!(b.delay(2, 1.0).as_secs(), 10);
        assert_eq!(b.delay(2, 0.5).as_secs(), 15);
        for k in 1..10 {
            for _ in 0..50 {
                let d = b.sample(k);
                assert!(d <= b.ceiling(k) && d.as_secs() * 2 + 1 >= b.ceiling(k).as_secs());
            }
        }
        let spread: std::collections::HashSet<Duration> = (0..100).map(|_| b.sample(6)).collect();
        assert!(spread.len() > 10, "not jittered: {spread:?}");
    }

    #[test]
    fn the_dead_letter_bound_sums_every_ceiling() {
        // The template: maxReceiveCount 5, defaults: 10 + 20 + 40 + 80 + 160 s, plus 5 × 300 s
        // of function timeout at most.
        let b = RetryBackoff::default();
        assert_eq!(
            b.time_to_dead_letter_bound(5, Duration::ZERO),
            Duration::from_secs(310)
        );
        assert_eq!(
            b.time_to_dead_letter_bound(5, Duration::from_secs(300)),
            Duration::from_secs(1_810)
        );
        assert_eq!(
            backoff(1, 2, 0.0).time_to_dead_letter_bound(3, Duration::ZERO),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn settings_are_read_and_checked() {
        let vars = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            move |name: &str| map.get(name).cloned()
        };
        assert_eq!(
            RetryBackoff::from_vars(vars(&[])).unwrap(),
            RetryBackoff::default()
        );
        assert_eq!(
            RetryBackoff::from_vars(vars(&[
                ("RETRY_BASE_SECONDS", "1"),
                ("RETRY_CAP_SECONDS", "2"),
                ("RETRY_JITTER", "0")
            ]))
            .unwrap(),
            backoff(1, 2, 0.0)
        );
        // A base above the default cap raises the default cap with it.
        assert_eq!(
            RetryBackoff::from_vars(vars(&[("RETRY_BASE_SECONDS", "600")]))
                .unwrap()
                .cap
                .as_secs(),
            600
        );
        for (name, value) in [
            ("RETRY_BASE_SECONDS", "-1"),
            ("RETRY_BASE_SECONDS", "43201"),
            ("RETRY_CAP_SECONDS", "5"),
            ("RETRY_JITTER", "1.5"),
            ("RETRY_JITTER", "much"),
        ] {
            let err = RetryBackoff::from_vars(vars(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
