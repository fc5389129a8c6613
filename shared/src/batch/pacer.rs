//! Pacing model calls by a learned rate: the batch's default concurrency policy.
//!
//! A model quota is a rate (Bedrock counts requests per minute), so the dispatcher paces call
//! *starts* rather than counting calls in flight: how many calls fit in flight at a given rate
//! depends on the model's latency, which a concurrency limit has to rediscover whenever it
//! changes, while a throttle answered after the full latency tells a concurrency limit about an
//! overshoot one whole latency late, by which time it has sent a burst more.
//!
//! The rate is learned as TCP learns a window, with one change borrowed from BBR: on a
//! throttle the rate falls to at most what the quota actually delivered.
//!
//! - **Pacer**: a token bucket of `burst` starts (it starts full) refilled at the rate; a call
//!   starts when a token is there, else waits for the next one.
//! - **Slow start** (until the first throttle): each success adds `slow_start_step` calls/s, so
//!   the rate grows by that factor per second of answers (0.5: about ×1.65 per second).
//! - **Additive increase** afterwards: each success adds `increase / rate`, i.e. `increase`
//!   calls/s per second of successes at the current rate.
//! - **Decrease**: a throttle sets the rate to `min(rate × backoff, delivered)`, where
//!   `delivered` is the successes answered in the last `window`, per second (what the quota
//!   let through while it was saturated). At most once per epoch: a throttle of a call started
//!   before the last decrease says nothing about the rate chosen since (TCP decreases once per
//!   window for the same reason), so a burst of throttles from one overshoot counts once.
//!
//! Pure arithmetic over an injected clock (every method takes `now`), so it is unit-tested
//! without sleeping, including a simulation against a token-bucket quota.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The pacing parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacedConfig {
    /// Calls per second before anything is known.
    pub initial_rate: f64,
    /// Calls that may start at once after a pause; the pacer starts with this many.
    pub burst: f64,
    pub min_rate: f64,
    pub max_rate: f64,
    /// Calls/s added per success until the first throttle.
    pub slow_start_step: f64,
    /// Calls/s added per second of successes after the first throttle.
    pub increase: f64,
    /// The rate is multiplied by this on a throttle (at most once per epoch), and never left
    /// above the delivered rate.
    pub backoff: f64,
    /// How far back successes count for the delivered rate.
    pub window: Duration,
    /// Calls in flight at most, whatever the rate (a slow model must not pile up calls).
    pub max_in_flight: usize,
}

impl Default for PacedConfig {
    fn default() -> Self {
        PacedConfig {
            initial_rate: 5.0,
            burst: 10.0,
            min_rate: 0.1,
            max_rate: 100.0,
            slow_start_step: 0.5,
            increase: 0.5,
            backoff: 0.9,
            window: Duration::from_secs(1),
            max_in_flight: 100,
        }
    }
}

/// The learned rate and the pacer's bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct PacedLimit {
    config: PacedConfig,
    rate: f64,
    tokens: f64,
    refilled_at: Instant,
    slow_start: bool,
    /// Counts decreases; a call carries the epoch it started in.
    epoch: u64,
    /// When recent successes were answered, oldest first (at most one `window` back).
    successes: VecDeque<Instant>,
}

impl PacedLimit {
    pub fn new(config: PacedConfig, now: Instant) -> PacedLimit {
        let min_rate = if config.min_rate > 0.0 {
            config.min_rate
        } else {
            0.1
        };
        let max_rate = config.max_rate.max(min_rate);
        let burst = config.burst.max(1.0);
        let config = PacedConfig {
            min_rate,
            max_rate,
            burst,
            max_in_flight: config.max_in_flight.max(1),
            ..config
        };
        PacedLimit {
            rate: config.initial_rate.clamp(min_rate, max_rate),
            tokens: burst,
            refilled_at: now,
            slow_start: true,
            epoch: 0,
            successes: VecDeque::new(),
            config,
        }
    }

    pub fn config(&self) -> &PacedConfig {
        &self.config
    }

    /// Calls per second currently allowed.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn in_slow_start(&self) -> bool {
        self.slow_start
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate).min(self.config.burst);
        self.refilled_at = self.refilled_at.max(now);
    }

    /// Takes a start if the pacer has one: `Ok(epoch)` to pass back with the outcome, or
    /// `Err(wait)` until the next one.
    pub fn try_start(&mut self, now: Instant) -> Result<u64, Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(self.epoch)
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }

    fn forget_old(&mut self, now: Instant) {
        while let Some(&oldest) = self.successes.front() {
            if now.saturating_duration_since(oldest) > self.config.window {
                self.successes.pop_front();
            } else {
                break;
            }
        }
    }

    /// Successes answered in the last `window`, per second; `None` when there were none.
    pub fn delivered(&mut self, now: Instant) -> Option<f64> {
        self.forget_old(now);
        let count = self.successes.len();
        (count > 0).then(|| count as f64 / self.config.window.as_secs_f64().max(1e-3))
    }

    pub fn on_success(&mut self, now: Instant) {
        self.refill(now);
        self.successes.push_back(now);
        self.forget_old(now);
        let step = if self.slow_start {
            self.config.slow_start_step
        } else {
            self.config.increase / self.rate
        };
        self.rate = (self.rate + step).min(self.config.max_rate);
    }

    /// A throttle of a call started in `started_epoch`; returns whether the rate decreased.
    pub fn on_throttle(&mut self, started_epoch: u64, now: Instant) -> bool {
        if started_epoch != self.epoch {
            return false;
        }
        self.refill(now);
        let lowered = self.rate * self.config.backoff;
        let target = match self.delivered(now) {
            Some(delivered) => lowered.min(delivered),
            None => lowered,
        };
        self.rate = target.clamp(self.config.min_rate, self.config.max_rate);
        // No saved-up burst right after an overshoot.
        self.tokens = self.tokens.min(0.0);
        self.slow_start = false;
        self.epoch += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, secs: f64) -> Instant {
        start + Duration::from_secs_f64(secs)
    }

    fn config() -> PacedConfig {
        PacedConfig {
            initial_rate: 2.0,
            burst: 2.0,
            min_rate: 0.5,
            max_rate: 20.0,
            slow_start_step: 1.0,
            increase: 1.0,
            backoff: 0.5,
            window: Duration::from_secs(1),
            max_in_flight: 10,
        }
    }

    #[test]
    fn the_pacer_spends_its_burst_then_starts_calls_at_the_rate() {
        let t0 = Instant::now();
        let mut limit = PacedLimit::new(config(), t0);
        assert_eq!(limit.try_start(t0), Ok(0));
        assert_eq!(limit.try_start(t0), Ok(0));
        assert_eq!(limit.try_start(t0), Err(Duration::from_millis(500)));
        assert!(limit.try_start(at(t0, 0.4)).is_err());
        assert_eq!(limit.try_start(at(t0, 0.5)), Ok(0));
        // Ten seconds idle refill the burst, no more.
        let later = at(t0, 10.0);
        assert!(limit.try_start(later).is_ok());
        assert!(limit.try_start(later).is_ok());
        assert!(limit.try_start(later).is_err());
    }

    #[test]
    fn slow_start_adds_a_step_per_success_then_increase_shrinks_with_the_rate() {
        let t0 = Instant::now();
        let mut limit = PacedLimit::new(config(), t0);
        for _ in 0..4 {
            limit.on_success(t0);
        }
        assert_eq!(limit.rate(), 6.0);
        // Four successes in the 1 s window (4/s delivered): min(6 × 0.5, 4) = 3.
        assert!(limit.on_throttle(0, t0));
        assert_eq!(limit.rate(), 3.0);
        assert!(!limit.in_slow_start());
        limit.on_success(t0);
        assert!((limit.rate() - (3.0 + 1.0 / 3.0)).abs() < 1e-9);
    }

    #[test]
    fn a_throttle_never_leaves_the_rate_above_what_was_delivered() {
        let t0 = Instant::now();
        let mut limit = PacedLimit::new(config(), t0);
        for i in 0..18 {
            limit.on_success(at(t0, f64::from(i) * 0.1));
        }
        assert_eq!(limit.rate(), 20.0, "capped at max_rate");
        // At 1.75 s the 1 s window holds the successes answered from 0.75 s: 0.8..=1.7, ten.
        assert!(limit.on_throttle(0, at(t0, 1.75)));
        assert!(
            (limit.rate() - 10.0).abs() < 1e-9,
            "min(20 × 0.5, 10/s delivered): {}",
            limit.rate()
        );
    }

    #[test]
    fn throttles_of_calls_started_before_a_decrease_do_not_decrease_again() {
        let t0 = Instant::now();
        let mut limit = PacedLimit::new(config(), t0);
        let before = limit.try_start(t0).unwrap();
        assert!(limit.on_throttle(before, t0));
        assert_eq!(limit.rate(), 1.0, "no success known: rate × backoff");
        assert!(!limit.on_throttle(before, t0));
        assert!(!limit.on_throttle(before, t0));
        assert_eq!(limit.rate(), 1.0);
        assert!(limit.on_throttle(limit.epoch(), t0));
        assert_eq!(limit.rate(), 0.5);
        assert!(limit.on_throttle(limit.epoch(), t0));
        assert_eq!(limit.rate(), 0.5, "never below min_rate");
    }

    #[test]
    fn a_decrease_drops_the_saved_up_burst() {
        let t0 = Instant::now();
        let mut limit = PacedLimit::new(config(), t0);
        assert!(limit.on_throttle(0, t0));
        // Rate 1/s and no token: the next start is one second away.
        assert_eq!(limit.try_start(t0), Err(Duration::from_secs(1)));
    }

    #[test]
    fn old_successes_leave_the_window() {
        let t0 = Instant::now();
        let mut limit = PacedLimit::new(config(), t0);
        limit.on_success(t0);
        limit.on_success(at(t0, 0.5));
        assert_eq!(limit.delivered(at(t0, 1.0)), Some(2.0));
        assert_eq!(limit.delivered(at(t0, 1.2)), Some(1.0));
        assert_eq!(limit.delivered(at(t0, 2.0)), None);
    }

    /// The benchmark's situation, simulated: `requests` records against a quota bucket of
    /// `per_second` tokens (capacity one second's worth, starting full, as the emulator's
    /// `rpmQuota`), every answer after `latency`; a throttled record retries at once (the
    /// pacer spaces it). Returns (seconds until the last success, throttles).
    fn simulate(config: PacedConfig, requests: usize, per_second: f64, latency: f64) -> (f64, u32) {
        let t0 = Instant::now();
        let mut limit = PacedLimit::new(config, t0);
        let mut quota_tokens = per_second.ceil();
        let mut quota_at = 0.0_f64;
        let mut waiting = requests;
        // (answer time, succeeded, epoch)
        let mut in_flight: Vec<(f64, bool, u64)> = Vec::new();
        let mut done = 0;
        let mut throttles = 0;
        let mut now = 0.0_f64;
        let mut last = 0.0;
        while done < requests {
            in_flight.sort_by(|a, b| a.0.total_cmp(&b.0));
            while in_flight.first().is_some_and(|c| c.0 <= now) {
                let (_, ok, epoch) = in_flight.remove(0);
                if ok {
                    limit.on_success(at(t0, now));
                    done += 1;
                    last = now;
                } else {
                    limit.on_throttle(epoch, at(t0, now));
                    throttles += 1;
                    waiting += 1;
                }
            }
            if done == requests {
                break;
            }
            let mut next_start = f64::INFINITY;
            while waiting > 0 && in_flight.len() < config.max_in_flight {
                match limit.try_start(at(t0, now)) {
                    Ok(epoch) => {
                        quota_tokens =
                            (quota_tokens + (now - quota_at) * per_second).min(per_second.ceil());
                        quota_at = now;
                        let ok = quota_tokens >= 1.0;
                        if ok {
                            quota_tokens -= 1.0;
                        }
                        in_flight.push((now + latency, ok, epoch));
                        waiting -= 1;
                    }
                    Err(wait) => {
                        next_start = now + wait.as_secs_f64().max(1e-6);
                        break;
                    }
                }
            }
            let next_answer = in_flight.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
            now = next_answer.min(next_start);
            assert!(now.is_finite() && now < 600.0, "stalled: now {now} done {done} waiting {waiting} in flight {} rate {} thr {throttles}", in_flight.len(), limit.rate());
        }
        (last, throttles)
    }

    #[test]
    fn against_a_saturated_quota_the_default_keeps_it_busy() {
        // 200 requests, 10 calls/s, 1.5 s per answer: the best is 1.5 + 190 / 10 = 20.5 s.
        let (seconds, throttles) = simulate(PacedConfig::default(), 200, 10.0, 1.5);
        let share = 200.0 / seconds / 10.0;
        eprintln!(
            "simulated: {seconds:.2} s, {:.0} % of the ceiling, {throttles} throttles",
            share * 100.0
        );
        assert!(share >= 0.95, "{seconds:.2} s = {share:.3} of the ceiling");
        assert!(throttles <= 40, "{throttles} throttles");
    }

    #[test]
    fn the_rate_is_found_whatever_the_quota_and_the_latency() {
        // (quota per second, requests, latency): a slow quota, a fast one, a slow model.
        for (per_second, requests, latency) in
            [(2.0, 100, 1.5), (50.0, 2000, 1.5), (10.0, 400, 6.0)]
        {
            let (seconds, throttles) =
                simulate(PacedConfig::default(), requests, per_second, latency);
            // The quota's bucket starts with one second's worth; the last answer takes a latency.
            let best = latency + (requests as f64 - per_second) / per_second;
            let share = best / seconds;
            assert!(
                share >= 0.85,
                "{per_second}/s, {requests} requests, {latency} s: {seconds:.2} s = {share:.3} of the best"
            );
            // The additive step is the same in calls/s whatever the quota, so a slow quota sees
            // relatively more throttles (at 2/s, about one call in three).
            assert!(
                f64::from(throttles) < requests as f64 * 0.4,
                "{per_second}/s: {throttles} throttles"
            );
        }
    }

    #[test]
    fn the_simulation_can_fail() {
        // A pacer that never learns (fixed at 2/s) against a 10/s quota is far from the ceiling.
        let fixed = PacedConfig {
            initial_rate: 2.0,
            min_rate: 2.0,
            max_rate: 2.0,
            ..PacedConfig::default()
        };
        let (seconds, _) = simulate(fixed, 200, 10.0, 1.5);
        assert!(200.0 / seconds / 10.0 < 0.3, "{seconds:.2} s");
    }
}
