//! Summary statistics over measured durations (nearest-rank percentiles), kept apart
//! from the I/O that produces the samples.

use std::time::Duration;

/// The usual latency figures of one series of samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub count: usize,
    pub min: Duration,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

/// Summarises the samples; `None` when there are none.
pub fn summarize(samples: &[Duration]) -> Option<Summary> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let (&min, &max) = (sorted.first()?, sorted.last()?);
    let total: u128 = sorted.iter().map(Duration::as_nanos).sum();
    let mean_nanos = total / sorted.len() as u128;
    Some(Summary {
        count: sorted.len(),
        min,
        p50: nearest_rank(&sorted, 50),
        p90: nearest_rank(&sorted, 90),
        p99: nearest_rank(&sorted, 99),
        max,
        mean: Duration::from_nanos(u64::try_from(mean_nanos).unwrap_or(u64::MAX)),
    })
}

/// The smallest sample with at least `percent`% of the samples at or below it.
fn nearest_rank(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (percent * sorted.len())
        .div_ceil(100)
        .clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn empty_series_has_no_summary() {
        assert_eq!(summarize(&[]), None);
    }

    #[test]
    fn single_sample_is_every_figure() {
        let summary = summarize(&ms(&[7])).unwrap();
        assert_eq!(
            (summary.min, summary.p50, summary.p99, summary.max),
            (ms(&[7])[0], ms(&[7])[0], ms(&[7])[0], ms(&[7])[0])
        );
        assert_eq!(summary.mean, Duration::from_millis(7));
    }

    #[test]
    fn nearest_rank_percentiles_on_one_to_hundred() {
        let samples: Vec<u64> = (1..=100).rev().collect();
        let summary = summarize(&ms(&samples)).unwrap();
        assert_eq!(summary.count, 100);
        assert_eq!(summary.min, Duration::from_millis(1));
        assert_eq!(summary.p50, Duration::from_millis(50));
        assert_eq!(summary.p90, Duration::from_millis(90));
        assert_eq!(summary.p99, Duration::from_millis(99));
        assert_eq!(summary.max, Duration::from_millis(100));
        assert_eq!(summary.mean, Duration::from_micros(50_500));
    }

    #[test]
    fn odd_count_median_is_the_middle() {
        let summary = summarize(&ms(&[30, 10, 20])).unwrap();
        assert_eq!(summary.p50, Duration::from_millis(20));
        assert_eq!(summary.p90, Duration::from_millis(30));
    }
}
