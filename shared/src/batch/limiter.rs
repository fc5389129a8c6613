//! When a record of a batch may call the model: the gate whose permits follow a
//! [`LimitPolicy`], either a learned rate of call starts ([`super::pacer`], the default) or a
//! concurrency limit: AIMD (additive increase on success, multiplicative decrease on
//! throttling; kept for comparison) or fixed.
//!
//! Written here rather than taken from a crate: the concurrency-limit crates on crates.io are
//! either tower layers (which would have to wrap the SDK client, built elsewhere) or
//! unmaintained; what is needed is a few lines of pure arithmetic plus a permit counter, both
//! testable without a clock. The gate lives in the app, so a warm container keeps the limit it
//! learned across invocations.

use super::pacer::{PacedConfig, PacedLimit};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How the gate decides when a record may call the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitPolicy {
    /// At most a number of calls in flight, adapted by AIMD (or fixed when `min == max`).
    Concurrency(AimdConfig),
    /// Call starts paced by a learned rate (the default).
    Paced(PacedConfig),
}

impl Default for LimitPolicy {
    fn default() -> Self {
        LimitPolicy::Paced(PacedConfig::default())
    }
}

impl LimitPolicy {
    /// A concurrency that never moves.
    pub fn fixed(concurrency: usize) -> LimitPolicy {
        LimitPolicy::Concurrency(AimdConfig::fixed(concurrency))
    }

    /// The AIMD concurrency limit with its default parameters.
    pub fn aimd() -> LimitPolicy {
        LimitPolicy::Concurrency(AimdConfig::default())
    }
}

/// The AIMD parameters. `min == max` gives a fixed concurrency (used by the benchmark).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AimdConfig {
    pub initial: f64,
    pub min: f64,
    pub max: f64,
    /// Added per window: each success adds `increase / limit`, so a window of `limit`
    /// successes raises the limit by `increase` (TCP congestion avoidance).
    pub increase: f64,
    /// The limit is multiplied by this on a throttle (0 < backoff < 1).
    pub backoff: f64,
}

impl Default for AimdConfig {
    fn default() -> Self {
        AimdConfig {
            initial: 10.0,
            min: 1.0,
            max: 100.0,
            increase: 2.0,
            backoff: 0.9,
        }
    }
}

impl AimdConfig {
    /// A limit that never moves.
    pub fn fixed(concurrency: usize) -> AimdConfig {
        let n = concurrency.max(1) as f64;
        AimdConfig {
            initial: n,
            min: n,
            max: n,
            ..AimdConfig::default()
        }
    }
}

/// The limit itself: pure arithmetic, no time, no I/O.
///
/// Until the first throttle it is in slow start (as TCP): each success adds 1, doubling the
/// limit per window, so an unknown quota is found within a few round trips; the first throttle
/// halves it and from then on it grows by `increase` per window and shrinks by `backoff`.
#[derive(Debug, Clone, PartialEq)]
pub struct AimdLimit {
    config: AimdConfig,
    limit: f64,
    slow_start: bool,
    /// Counts decreases; work started before the last decrease cannot cause another one, so a
    /// burst of throttles from one overshoot shrinks the limit once, not once per request.
    epoch: u64,
}

impl AimdLimit {
    pub fn new(config: AimdConfig) -> AimdLimit {
        let min = config.min.max(1.0);
        let max = config.max.max(min);
        let config = AimdConfig { min, max, ..config };
        AimdLimit {
            limit: config.initial.clamp(min, max),
            config,
            slow_start: true,
            epoch: 0,
        }
    }

    /// Whole permits currently allowed (at least one).
    pub fn permits(&self) -> usize {
        (self.limit.floor() as usize).max(1)
    }

    pub fn value(&self) -> f64 {
        self.limit
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn on_success(&mut self) {
        let step = if self.slow_start {
            1.0
        } else {
            self.config.increase / self.limit
        };
        self.limit = (self.limit + step).min(self.config.max);
    }

    /// A throttle from work started in `started_epoch`; returns whether the limit decreased.
    pub fn on_throttle(&mut self, started_epoch: u64) -> bool {
        if started_epoch != self.epoch {
            return false;
        }
        let factor = if self.slow_start {
            0.5
        } else {
            self.config.backoff
        };
        self.slow_start = false;
        self.limit = (self.limit * factor).max(self.config.min);
        self.epoch += 1;
        true
    }
}

/// A running estimate of how long one record's model work takes, so that no record is started
/// when the time left cannot cover it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DurationEstimate {
    mean_secs: Option<f64>,
}

impl DurationEstimate {
    const WEIGHT: f64 = 0.2;
    /// Head room over the mean: a record slower than the mean must still fit.
    const HEADROOM: f64 = 1.5;

    pub fn new() -> DurationEstimate {
        DurationEstimate { mean_secs: None }
    }

    pub fn observe(&mut self, took: Duration) {
        let secs = took.as_secs_f64();
        self.mean_secs = Some(match self.mean_secs {
            None => secs,
            Some(mean) => mean + Self::WEIGHT * (secs - mean),
        });
    }

    /// The time a record needs before it may start: `floor` until something was observed.
    pub fn required(&self, floor: Duration) -> Duration {
        match self.mean_secs {
            None => floor,
            Some(mean) => Duration::from_secs_f64(mean * Self::HEADROOM).max(floor),
        }
    }
}

impl Default for DurationEstimate {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug)]
enum Control {
    Concurrency(AimdLimit),
    Paced(PacedLimit),
}

#[derive(Debug)]
struct GateState {
    control: Control,
    in_flight: usize,
    estimate: DurationEstimate,
    throttles: u64,
}

impl GateState {
    /// A start now (its epoch), or how long to wait: `None` until a permit comes back.
    fn admit(&mut self, now: Instant) -> Result<u64, Option<Duration>> {
        match &mut self.control {
            Control::Concurrency(limit) => {
                if self.in_flight < limit.permits() {
                    Ok(limit.epoch())
                } else {
                    Err(None)
                }
            }
            Control::Paced(limit) => {
                if self.in_flight >= limit.config().max_in_flight {
                    return Err(None);
                }
                limit.try_start(now).map_err(Some)
            }
        }
    }
}

/// Permits that follow the policy. Waiters are woken whenever a permit is returned (and, when
/// pacing, at their next start time).
#[derive(Debug)]
pub struct AdaptiveGate {
    state: Mutex<GateState>,
    changed: Notify,
}

/// What the gate has learned, for logs and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateSnapshot {
    /// Calls allowed in flight (for a paced gate, its `max_in_flight`).
    pub limit: f64,
    /// Call starts per second allowed, for a paced gate.
    pub rate: Option<f64>,
    pub in_flight: usize,
    pub throttles: u64,
}

impl AdaptiveGate {
    pub fn new(policy: LimitPolicy) -> AdaptiveGate {
        let control = match policy {
            LimitPolicy::Concurrency(config) => Control::Concurrency(AimdLimit::new(config)),
            LimitPolicy::Paced(config) => Control::Paced(PacedLimit::new(config, Instant::now())),
        };
        AdaptiveGate {
            state: Mutex::new(GateState {
                control,
                in_flight: 0,
                estimate: DurationEstimate::new(),
                throttles: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, GateState> {
        // Plain counters stay usable after a panic elsewhere.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether starts are paced by a rate: a throttled call then needs no pause of its own
    /// before it asks again, the pacer spaces it.
    pub fn paces(&self) -> bool {
        matches!(self.state().control, Control::Paced(_))
    }

    /// Waits for a permit.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before the check, so a release between the check and the wait is seen.
            notified.as_mut().enable();
            let wait = {
                let mut state = self.state();
                match state.admit(Instant::now()) {
                    Ok(epoch) => {
                        state.in_flight += 1;
                        return Permit {
                            gate: self,
                            epoch,
                            done: false,
                        };
                    }
                    Err(wait) => wait,
                }
            };
            match wait {
                None => notified.await,
                Some(wait) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// Time a record needs before it may start.
    pub fn required_budget(&self, floor: Duration) -> Duration {
        self.state().estimate.required(floor)
    }

    pub fn snapshot(&self) -> GateSnapshot {
        let state = self.state();
        let (limit, rate) = match &state.control {
            Control::Concurrency(limit) => (limit.value(), None),
            Control::Paced(limit) => (limit.config().max_in_flight as f64, Some(limit.rate())),
        };
        GateSnapshot {
            limit,
            rate,
            in_flight: state.in_flight,
            throttles: state.throttles,
        }
    }

    fn finish(&self, epoch: u64, signal: Signal) {
        {
            let mut state = self.state();
            let now = Instant::now();
            state.in_flight = state.in_flight.saturating_sub(1);
            match signal {
                Signal::Success(took) => {
                    match &mut state.control {
                        Control::Concurrency(limit) => limit.on_success(),
                        Control::Paced(limit) => limit.on_success(now),
                    }
                    state.estimate.observe(took);
                }
                Signal::Throttled | Signal::StoodIn => {
                    state.throttles += 1;
                    match &mut state.control {
                        Control::Concurrency(limit) => {
                            if limit.on_throttle(epoch) {
                                tracing::info!(
                                    limit = limit.value(),
                                    "throttled: concurrency limit lowered"
                                );
                            }
                        }
                        Control::Paced(limit) => {
                            if limit.on_throttle(epoch, now) {
                                tracing::info!(rate = limit.rate(), "throttled: call rate lowered");
                            }
                        }
                    }
                }
                Signal::Neutral => {}
            }
        }
        self.changed.notify_waiters();
    }
}

enum Signal {
    Success(Duration),
    Throttled,
    /// Answered by a stand-in model after the requested one was throttled.
    StoodIn,
    Neutral,
}

/// One record's right to call the model; returned with what happened (or on drop, neutrally).
#[derive(Debug)]
pub struct Permit<'a> {
    gate: &'a AdaptiveGate,
    epoch: u64,
    done: bool,
}

impl Permit<'_> {
    pub fn succeeded(mut self, took: Duration) {
        self.done = true;
        self.gate.finish(self.epoch, Signal::Success(took));
    }

    pub fn throttled(mut self) {
        self.done = true;
        self.gate.finish(self.epoch, Signal::Throttled);
    }

    /// Answered, but by a stand-in model because the requested one was throttled: the quota
    /// said no, so this counts as a throttle, not a success. Without it a fallback chain that
    /// hands over on throttles would hide them from the gate, as the SDK's retries once did.
    /// (The batch worker's own policy keeps throttled calls on their model; there a stand-in
    /// only means the model was not ready, which says nothing about the quota.)
    pub fn stood_in(mut self) {
        self.done = true;
        self.gate.finish(self.epoch, Signal::StoodIn);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.gate.finish(self.epoch, Signal::Neutral);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn config() -> AimdConfig {
        AimdConfig {
            initial: 10.0,
            min: 1.0,
            max: 20.0,
            increase: 1.0,
            backoff: 0.5,
        }
    }

    #[test]
    fn slow_start_doubles_per_window_until_the_first_throttle_halves_it() {
        let mut limit = AimdLimit::new(AimdConfig {
            max: 100.0,
            ..config()
        });
        for _ in 0..10 {
            limit.on_success();
        }
        assert_eq!(limit.value(), 20.0);
        assert!(limit.on_throttle(limit.epoch()));
        assert_eq!(limit.value(), 10.0);
        limit.on_success();
        assert!(
            limit.value() < 10.2,
            "additive from now on: {}",
            limit.value()
        );
    }

    /// A limit past slow start, at 10.
    fn steady() -> AimdLimit {
        let mut limit = AimdLimit::new(config());
        for _ in 0..10 {
            limit.on_success();
        }
        limit.on_throttle(limit.epoch());
        assert_eq!(limit.value(), 10.0);
        limit
    }

    #[test]
    fn a_window_of_successes_adds_the_increase() {
        let mut limit = steady();
        for _ in 0..10 {
            limit.on_success();
        }
        // Each success adds 1/limit, and the limit grows along the way: a little under +1.
        assert!(
            limit.value() > 10.9 && limit.value() < 11.0,
            "{}",
            limit.value()
        );
        assert_eq!(limit.permits(), 10);
        limit.on_success();
        assert_eq!(limit.permits(), 11);
    }

    #[test]
    fn the_limit_never_passes_its_bounds() {
        let mut limit = AimdLimit::new(config());
        for _ in 0..10_000 {
            limit.on_success();
        }
        assert_eq!(limit.value(), 20.0);
        for _ in 0..100 {
            let epoch = limit.epoch();
            limit.on_throttle(epoch);
        }
        assert_eq!(limit.value(), 1.0);
        assert_eq!(limit.permits(), 1);
    }

    #[test]
    fn throttles_from_one_overshoot_decrease_once() {
        let mut limit = steady();
        let started = limit.epoch();
        assert!(limit.on_throttle(started));
        assert!(!limit.on_throttle(started));
        assert!(!limit.on_throttle(started));
        assert_eq!(limit.value(), 5.0);
        assert!(limit.on_throttle(limit.epoch()));
        assert_eq!(limit.value(), 2.5);
    }

    #[test]
    fn a_fixed_config_never_moves() {
        let mut limit = AimdLimit::new(AimdConfig::fixed(7));
        limit.on_success();
        limit.on_throttle(limit.epoch());
        assert_eq!(limit.permits(), 7);
    }

    #[test]
    fn the_estimate_starts_at_the_floor_and_follows_observations() {
        let mut estimate = DurationEstimate::new();
        let floor = Duration::from_millis(500);
        assert_eq!(estimate.required(floor), floor);
        estimate.observe(Duration::from_secs(2));
        assert_eq!(estimate.required(floor), Duration::from_secs(3));
        estimate.observe(Duration::from_millis(10));
        let after = estimate.required(floor);
        assert!(after < Duration::from_secs(3) && after > floor, "{after:?}");
    }

    #[tokio::test]
    async fn the_gate_never_lets_more_than_the_limit_through() {
        let gate = Arc::new(AdaptiveGate::new(LimitPolicy::fixed(3)));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let permit = gate.acquire().await;
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                permit.succeeded(Duration::from_millis(5));
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(gate.snapshot().in_flight, 0);
    }

    #[tokio::test]
    async fn throttles_shrink_the_gate_and_dropped_permits_are_returned() {
        let gate = AdaptiveGate::new(LimitPolicy::Concurrency(config()));
        let permits: Vec<_> = futures::future::join_all((0..10).map(|_| gate.acquire())).await;
        // The first throttle ends slow start (halving); the second, from the same window, is ignored.
        assert_eq!(gate.snapshot().in_flight, 10);
        let mut permits = permits.into_iter();
        permits.next().unwrap().throttled();
        permits.next().unwrap().throttled();
        drop(permits);
        let snapshot = gate.snapshot();
        assert_eq!(
            (snapshot.limit, snapshot.in_flight, snapshot.throttles),
            (5.0, 0, 2)
        );
    }

    #[tokio::test]
    async fn a_paced_gate_starts_calls_at_its_rate_and_lowers_it_on_a_throttle() {
        let gate = AdaptiveGate::new(LimitPolicy::Paced(PacedConfig {
            initial_rate: 40.0,
            burst: 2.0,
            ..PacedConfig::default()
        }));
        assert!(gate.paces());
        let started = Instant::now();
        let mut permits = Vec::new();
        for _ in 0..6 {
            permits.push(gate.acquire().await);
        }
        // Two at once, then one every 25 ms.
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(95) && took < Duration::from_millis(1_000),
            "{took:?}"
        );
        assert_eq!(gate.snapshot().in_flight, 6);
        let mut permits = permits.into_iter();
        permits.next().unwrap().throttled();
        permits.next().unwrap().throttled();
        drop(permits);
        let snapshot = gate.snapshot();
        assert_eq!(
            snapshot.rate,
            Some(40.0 * 0.9),
            "lowered once: {snapshot:?}"
        );
        assert_eq!((snapshot.in_flight, snapshot.throttles), (0, 2));
    }
}
