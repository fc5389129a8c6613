//! The Runtime API's `Lambda-Runtime-Deadline-Ms` turned into the core's [`Deadline`].
//!
//! On AWS the header is the invocation's deadline in milliseconds since the Unix epoch. Some
//! local emulators send something else: cargo-lambda 1.9.2's `watch` sends `600000`, a
//! duration. Read as an epoch time that is 1970, long past, and every recipe would answer 504
//! at once. A value that cannot be an epoch deadline (below [`EPOCH_FLOOR_MS`], or further in
//! the past than the function's whole timeout) is therefore replaced by now + the configured
//! timeout, with one warning per process. A deadline that passed only moments ago (within the
//! timeout) is a real one and stays: the invocation answers `deadline_exceeded` at once.

use ai_chef::deadline::Deadline;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// The variable holding the function's timeout in whole seconds.
pub const TIMEOUT_VARIABLE: &str = "FUNCTION_TIMEOUT_SECONDS";

/// generate-recipe's `Timeout` in infra/template.yaml (29 s, under API Gateway's 30 s limit).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(29);

/// Lambda's largest timeout (15 minutes); a longer setting is a typo.
const MAX_TIMEOUT_SECONDS: u64 = 900;

/// 2020-01-01T00:00:00Z. No Lambda invocation runs before it, so a smaller header value is a
/// duration or a counter, never an epoch deadline.
pub const EPOCH_FLOOR_MS: u64 = 1_577_836_800_000;

/// How the header was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineSource {
    /// An epoch time (in the future, or a moment ago).
    Epoch,
    /// Not an epoch time; replaced by now + the timeout.
    Replaced,
}

/// The deadline as milliseconds since the epoch, and how it was found. Pure: `now_ms` is the
/// current epoch time, `timeout` the function's configured timeout.
pub fn plausible_deadline_ms(
    header_ms: u64,
    now_ms: u64,
    timeout: Duration,
) -> (u64, DeadlineSource) {
    let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let past_any_timeout = header_ms.saturating_add(timeout_ms) < now_ms;
    if header_ms < EPOCH_FLOOR_MS || past_any_timeout {
        (now_ms.saturating_add(timeout_ms), DeadlineSource::Replaced)
    } else {
        (header_ms, DeadlineSource::Epoch)
    }
}

/// A `FUNCTION_TIMEOUT_SECONDS` that cannot be a Lambda timeout.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{TIMEOUT_VARIABLE} must be whole seconds from 1 to {MAX_TIMEOUT_SECONDS}, got {0:?}")]
pub struct TimeoutError(pub String);

/// Parses the timeout variable's value (`None`: unset, the default).
pub fn parse_timeout(value: Option<&str>) -> Result<Duration, TimeoutError> {
    let Some(raw) = value else {
        return Ok(DEFAULT_TIMEOUT);
    };
    match raw.trim().parse::<u64>() {
        Ok(seconds) if (1..=MAX_TIMEOUT_SECONDS).contains(&seconds) => {
            Ok(Duration::from_secs(seconds))
        }
        _ => Err(TimeoutError(raw.to_owned())),
    }
}

static TIMEOUT: OnceLock<Duration> = OnceLock::new();
static REPLACEMENT_LOGGED: AtomicBool = AtomicBool::new(false);

/// Reads `FUNCTION_TIMEOUT_SECONDS` once at start; a bad value fails the init.
pub fn init_from_env() -> Result<Duration, TimeoutError> {
    let timeout = parse_timeout(std::env::var(TIMEOUT_VARIABLE).ok().as_deref())?;
    Ok(*TIMEOUT.get_or_init(|| timeout))
}

/// The function's timeout: as read at start, else the default (tests that skip the init).
pub fn configured_timeout() -> Duration {
    TIMEOUT.get().copied().unwrap_or(DEFAULT_TIMEOUT)
}

/// The invocation's deadline from the header value; a replacement is logged once per process.
pub fn invocation_deadline(header_ms: u64) -> Deadline {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let timeout = configured_timeout();
    let (deadline_ms, source) = plausible_deadline_ms(header_ms, now_ms, timeout);
    if source == DeadlineSource::Replaced && !REPLACEMENT_LOGGED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            header_ms,
            timeout_seconds = timeout.as_secs(),
            "Lambda-Runtime-Deadline-Ms is not an epoch time (a local emulator's relative value?); using now + the function timeout"
        );
    }
    Deadline::from_epoch_millis(deadline_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_796_000_000_000; // 2026-11-30
    const TIMEOUT: Duration = Duration::from_secs(29);

    #[test]
    fn a_relative_value_becomes_now_plus_the_timeout() {
        // cargo-lambda 1.9.2's watch sends 600000.
        assert_eq!(
            plausible_deadline_ms(600_000, NOW, TIMEOUT),
            (NOW + 29_000, DeadlineSource::Replaced)
        );
        assert_eq!(
            plausible_deadline_ms(0, NOW, TIMEOUT),
            (NOW + 29_000, DeadlineSource::Replaced)
        );
    }

    #[test]
    fn a_deadline_further_past_than_the_timeout_is_replaced() {
        assert_eq!(
            plausible_deadline_ms(NOW - 29_001, NOW, TIMEOUT).1,
            DeadlineSource::Replaced
        );
    }

    #[test]
    fn real_deadlines_stay_whether_future_or_just_past() {
        for header in [NOW + 5_000, NOW, NOW - 1, NOW - 29_000] {
            assert_eq!(
                plausible_deadline_ms(header, NOW, TIMEOUT),
                (header, DeadlineSource::Epoch),
                "{header}"
            );
        }
    }

    #[test]
    fn a_real_past_deadline_leaves_no_time() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert_eq!(invocation_deadline(now - 1_000).remaining(), Duration::ZERO);
        let replaced = invocation_deadline(600_000).remaining();
        assert!(replaced > Duration::from_secs(28) && replaced <= DEFAULT_TIMEOUT);
    }

    #[test]
    fn the_timeout_variable_is_checked() {
        assert_eq!(parse_timeout(None), Ok(DEFAULT_TIMEOUT));
        assert_eq!(parse_timeout(Some("300")), Ok(Duration::from_secs(300)));
        for bad in ["0", "901", "29s", "", "-1"] {
            assert_eq!(parse_timeout(Some(bad)), Err(TimeoutError(bad.to_owned())));
        }
    }
}
