//! Turns measurements into what the commands print: markdown table rows, JSON documents
//! and order-preserving pretty JSON. Pure functions, no I/O.

use std::time::Duration;

use lambda_runner::{stats::Summary, Outcome};
use serde::Serialize;
use serde_json::Value;

/// Latency figures in one unit (milliseconds for init, microseconds for round trips).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Figures {
    pub fn millis(summary: &Summary) -> Self {
        Self::scaled(summary, |d| d.as_secs_f64() * 1e3)
    }

    pub fn micros(summary: &Summary) -> Self {
        Self::scaled(summary, |d| d.as_secs_f64() * 1e6)
    }

    fn scaled(summary: &Summary, unit: impl Fn(Duration) -> f64) -> Self {
        Self {
            min: unit(summary.min),
            p50: unit(summary.p50),
            p90: unit(summary.p90),
            p99: unit(summary.p99),
            max: unit(summary.max),
            mean: unit(summary.mean),
        }
    }
}

/// `bench init` for one binary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitMeasurement {
    pub label: String,
    pub binary: String,
    pub spawns: usize,
    pub init_ms: Figures,
    /// The largest peak RSS seen right after init over all spawns.
    pub peak_rss_kib: Option<u64>,
}

/// `bench warm` for one binary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmMeasurement {
    pub label: String,
    pub binary: String,
    pub event: String,
    pub vary: Vec<String>,
    pub warmup: usize,
    pub count: usize,
    pub round_trip_us: Figures,
    /// Measured invocations per second, one at a time, runner overhead included.
    pub invocations_per_second: f64,
    pub peak_rss_kib: Option<u64>,
    /// The function process's own CPU time (all threads, user and system) over the measured
    /// invocations, per invocation, in microseconds (Linux only).
    pub cpu_us_per_invocation: Option<f64>,
    pub failures: usize,
    pub first_failure: Option<String>,
}

/// A measurement with its baseline and the subject's figures as multiples of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report<M> {
    pub subject: M,
    pub baseline: Option<M>,
    pub ratio_p50: Option<f64>,
    pub ratio_p99: Option<f64>,
}

fn ratio(subject: f64, baseline: f64) -> Option<f64> {
    (baseline > 0.0).then(|| subject / baseline)
}

impl Report<InitMeasurement> {
    pub fn init(subject: InitMeasurement, baseline: Option<InitMeasurement>) -> Self {
        let (ratio_p50, ratio_p99) = baseline.as_ref().map_or((None, None), |b| {
            (
                ratio(subject.init_ms.p50, b.init_ms.p50),
                ratio(subject.init_ms.p99, b.init_ms.p99),
            )
        });
        Self {
            subject,
            baseline,
            ratio_p50,
            ratio_p99,
        }
    }
}

impl Report<WarmMeasurement> {
    pub fn warm(subject: WarmMeasurement, baseline: Option<WarmMeasurement>) -> Self {
        let (ratio_p50, ratio_p99) = baseline.as_ref().map_or((None, None), |b| {
            (
                ratio(subject.round_trip_us.p50, b.round_trip_us.p50),
                ratio(subject.round_trip_us.p99, b.round_trip_us.p99),
            )
        });
        Self {
            subject,
            baseline,
            ratio_p50,
            ratio_p99,
        }
    }
}

fn times(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "–".to_owned(), |r| format!("{r:.1}×"))
}

fn kib(value: Option<u64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| v.to_string())
}

pub const INIT_HEADER: &str = "\
| function | spawns | init p50 (ms) | init p90 (ms) | init min (ms) | init max (ms) | peak RSS after init (KiB) | p50 vs baseline |
|---|---:|---:|---:|---:|---:|---:|---:|";

pub fn init_row(m: &InitMeasurement, ratio_p50: Option<f64>) -> String {
    format!(
        "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
        m.label,
        m.spawns,
        m.init_ms.p50,
        m.init_ms.p90,
        m.init_ms.min,
        m.init_ms.max,
        kib(m.peak_rss_kib),
        times(ratio_p50)
    )
}

pub const WARM_HEADER: &str = "\
| function | events | n | p50 (µs) | p90 (µs) | p99 (µs) | mean (µs) | max (µs) | invocations/s | peak RSS (KiB) | failures | p50 vs baseline | p99 vs baseline |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

/// Names the event mix of a warm run: identical events, or which fields vary.
pub fn scenario(m: &WarmMeasurement) -> String {
    if m.vary.is_empty() {
        format!("`{}` identical (cache hit)", m.event)
    } else {
        format!(
            "`{}` varying `{}` (cache miss)",
            m.event,
            m.vary.join("`, `")
        )
    }
}

pub fn warm_row(m: &WarmMeasurement, ratio_p50: Option<f64>, ratio_p99: Option<f64>) -> String {
    let f = &m.round_trip_us;
    format!(
        "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {} |",
        m.label,
        scenario(m),
        m.count,
        f.p50,
        f.p90,
        f.p99,
        f.mean,
        f.max,
        m.invocations_per_second,
        kib(m.peak_rss_kib),
        m.failures,
        times(ratio_p50),
        times(ratio_p99)
    )
}

/// Why an answer counts as a failure in a benchmark: a Runtime API error, an HTTP
/// error status in an API Gateway response, or an SQS partial-batch failure list.
pub fn failure_reason(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Error {
            error_type,
            error_message,
        } => Some(format!("{error_type}: {error_message}")),
        Outcome::Response(value) => {
            if let Some(status) = value
                .get("statusCode")
                .and_then(Value::as_u64)
                .filter(|s| *s >= 400)
            {
                let body = value
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                return Some(format!("HTTP {status}: {body}"));
            }
            match value.get("batchItemFailures").and_then(Value::as_array) {
                Some(failed) if !failed.is_empty() => {
                    Some(format!("{} batch item(s) failed", failed.len()))
                }
                _ => None,
            }
        }
    }
}

/// Re-indents a JSON document without reordering its keys.
pub fn pretty_json(raw: &[u8]) -> Result<String, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    let mut out = Vec::with_capacity(raw.len() * 2);
    let mut serializer = serde_json::Serializer::pretty(&mut out);
    serde_transcode::transcode(&mut deserializer, &mut serializer)?;
    deserializer.end()?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn figures(p50: f64, p99: f64) -> Figures {
        Figures {
            min: 1.0,
            p50,
            p90: p99,
            p99,
            max: p99,
            mean: p50,
        }
    }

    fn warm(label: &str, p50: f64, p99: f64) -> WarmMeasurement {
        WarmMeasurement {
            label: label.into(),
            binary: format!("target/release/{label}"),
            event: "events/e.json".into(),
            vary: vec![],
            warmup: 20,
            count: 1000,
            round_trip_us: figures(p50, p99),
            invocations_per_second: 2500.0,
            peak_rss_kib: Some(5000),
            cpu_us_per_invocation: Some(40.0),
            failures: 0,
            first_failure: None,
        }
    }

    #[test]
    fn pretty_json_keeps_key_order() {
        let pretty = pretty_json(br#"{"z":1,"a":{"y":[1,2],"b":"x"}}"#).unwrap();
        assert!(pretty.find("\"z\"").unwrap() < pretty.find("\"a\"").unwrap());
        assert!(pretty.find("\"y\"").unwrap() < pretty.find("\"b\"").unwrap());
        assert!(pretty.contains('\n'));
        assert!(pretty_json(b"{\"a\":1} trailing").is_err());
        assert_eq!(
            pretty_json(b"\"just a string\"").unwrap(),
            "\"just a string\""
        );
    }

    #[test]
    fn failures_are_recognised() {
        assert_eq!(
            failure_reason(&Outcome::Response(json!({"statusCode": 200, "body": "{}"}))),
            None
        );
        assert_eq!(
            failure_reason(&Outcome::Response(json!({"batchItemFailures": []}))),
            None
        );
        assert_eq!(
            failure_reason(&Outcome::Response(json!({"statusCode": 422, "body": "no"}))),
            Some("HTTP 422: no".into())
        );
        assert_eq!(
            failure_reason(&Outcome::Response(
                json!({"batchItemFailures": [{"itemIdentifier": "m1"}]})
            )),
            Some("1 batch item(s) failed".into())
        );
        let error = Outcome::Error {
            error_type: "Boom".into(),
            error_message: "bad".into(),
        };
        assert_eq!(failure_reason(&error), Some("Boom: bad".into()));
    }

    #[test]
    fn warm_report_ratios_and_row() {
        let report = Report::warm(
            warm("generate-recipe", 400.0, 900.0),
            Some(warm("echo-function", 100.0, 300.0)),
        );
        assert_eq!(report.ratio_p50, Some(4.0));
        assert_eq!(report.ratio_p99, Some(3.0));
        let row = warm_row(&report.subject, report.ratio_p50, report.ratio_p99);
        assert_eq!(
            row,
            "| generate-recipe | `events/e.json` identical (cache hit) | 1000 | 400 | 900 | 900 | 400 | 900 | 2500 | 5000 | 0 | 4.0× | 3.0× |"
        );
        let columns = |line: &str| line.matches('|').count();
        assert_eq!(columns(&row), columns(WARM_HEADER.lines().next().unwrap()));
        assert_eq!(columns(&row), columns(WARM_HEADER.lines().nth(1).unwrap()));
    }

    #[test]
    fn init_row_matches_header_and_tolerates_missing_baseline() {
        let m = InitMeasurement {
            label: "embed-text".into(),
            binary: "target/release/embed-text".into(),
            spawns: 20,
            init_ms: figures(12.34, 20.0),
            peak_rss_kib: None,
        };
        let report = Report::init(m, None);
        let row = init_row(&report.subject, report.ratio_p50);
        assert_eq!(
            row,
            "| embed-text | 20 | 12.3 | 20.0 | 1.0 | 20.0 | n/a | – |"
        );
        assert_eq!(
            row.matches('|').count(),
            INIT_HEADER.lines().next().unwrap().matches('|').count()
        );
    }

    #[test]
    fn varied_scenario_names_the_pointers() {
        let mut m = warm("f", 1.0, 1.0);
        m.vary = vec!["/body/a".into(), "/body/b".into()];
        assert_eq!(
            scenario(&m),
            "`events/e.json` varying `/body/a`, `/body/b` (cache miss)"
        );
    }
}
