//! The Lambda deadline as a budget: how much time is left for a model call after keeping a
//! safety margin for building and posting the response.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A point in time by which the invocation must have answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// From the Runtime API's `Lambda-Runtime-Deadline-Ms` (milliseconds since the epoch).
    pub fn from_epoch_millis(deadline_ms: u64) -> Deadline {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Deadline {
            at: Instant::now() + left,
        }
    }

    pub fn after(duration: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + duration,
        }
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Time available for work once `margin` is kept back; `None` when nothing is left.
    pub fn budget(&self, margin: Duration) -> Option<Duration> {
        let left = self.remaining().checked_sub(margin)?;
        (!left.is_zero()).then_some(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_keeps_the_margin() {
        let deadline = Deadline::after(Duration::from_secs(10));
        let budget = deadline.budget(Duration::from_secs(2)).unwrap();
        assert!(budget <= Duration::from_secs(8) && budget > Duration::from_secs(7));
        assert_eq!(
            Deadline::after(Duration::from_secs(1)).budget(Duration::from_secs(2)),
            None
        );
    }

    #[test]
    fn epoch_deadlines_in_the_past_leave_nothing() {
        assert_eq!(Deadline::from_epoch_millis(0).remaining(), Duration::ZERO);
        let in_5s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
            + 5_000;
        let left = Deadline::from_epoch_millis(in_5s).remaining();
        assert!(left > Duration::from_secs(4) && left <= Duration::from_secs(5));
    }
}
