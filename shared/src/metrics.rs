//! Model-call metrics: recorded during an invocation, flushed once at its end, either as
//! CloudWatch Embedded Metric Format lines on stdout (default) or through `PutMetricData`.
//!
//! The contract's metrics: namespace `AI-Chef/Bedrock`, `InvocationDuration` (Seconds) and
//! `InvocationCount` (Count) with dimensions `ModelId` and `Status` (`Success` | `Error`); per
//! answered model call `InputTokens`, `OutputTokens`, `CacheReadInputTokens`,
//! `CacheWriteInputTokens` (Count) and `CostUsd` (None) with dimension `ModelId`; `ModelFallback`
//! (Count, `ModelId` of the model that stood in); `ColdStart` (Count, `FunctionName`) on a
//! process's first invocation; a warm-up writes only `WarmUpCount` with dimension `FunctionName`.

use crate::pricing::TokenUsage;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// EMF allows at most 100 values per metric in one line.
const EMF_MAX_VALUES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CallStatus {
    Success,
    Error,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Success => "Success",
            CallStatus::Error => "Error",
        }
    }
}

/// Tokens and cost of one answered model call.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CallUsage {
    pub usage: TokenUsage,
    pub cost_usd: f64,
}

/// What one invocation recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsBatch {
    /// (model id, status) → durations in seconds.
    pub calls: BTreeMap<(String, CallStatus), Vec<f64>>,
    /// Model id → tokens and cost of each answered call.
    pub usage: BTreeMap<String, Vec<CallUsage>>,
    /// Model id that stood in → fallbacks to it.
    pub fallbacks: BTreeMap<String, u32>,
    /// Function name → warm-up count.
    pub warmups: BTreeMap<String, u32>,
    /// Function name → 1 when this invocation was the process's first.
    pub cold_starts: BTreeMap<String, u32>,
}

impl MetricsBatch {
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
            && self.usage.is_empty()
            && self.fallbacks.is_empty()
            && self.warmups.is_empty()
            && self.cold_starts.is_empty()
    }
}

/// Whether this process has not served an invocation yet (a Lambda execution environment runs
/// one process, so its first invocation is the cold start).
static FIRST_INVOCATION: AtomicBool = AtomicBool::new(true);

/// True exactly once per process: for the first invocation.
pub fn take_first_invocation() -> bool {
    FIRST_INVOCATION.swap(false, Ordering::Relaxed)
}

/// Collects metrics during one invocation; shared by concurrent model calls of that invocation.
#[derive(Debug, Default)]
pub struct MetricsRecorder {
    batch: Mutex<MetricsBatch>,
}

impl MetricsRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record_call(&self, model_id: &str, status: CallStatus, duration: Duration) {
        if let Ok(mut batch) = self.batch.lock() {
            batch
                .calls
                .entry((model_id.to_owned(), status))
                .or_default()
                .push(duration.as_secs_f64());
        }
    }

    /// Tokens and cost of one answered call (dimension `ModelId`).
    pub fn record_usage(&self, model_id: &str, usage: TokenUsage, cost_usd: f64) {
        if let Ok(mut batch) = self.batch.lock() {
            batch
                .usage
                .entry(model_id.to_owned())
                .or_default()
                .push(CallUsage { usage, cost_usd });
        }
    }

    /// A model stood in for a throttled or not-ready one.
    pub fn record_fallback(&self, to_model_id: &str) {
        if let Ok(mut batch) = self.batch.lock() {
            *batch.fallbacks.entry(to_model_id.to_owned()).or_default() += 1;
        }
    }

    /// Records `ColdStart` when this is the process's first invocation. A warm-up takes the
    /// first invocation without recording it: it writes nothing but its warm-up count.
    pub fn record_invocation(&self, function_name: &str, is_warmup: bool) {
        if take_first_invocation() && !is_warmup {
            if let Ok(mut batch) = self.batch.lock() {
                batch.cold_starts.insert(function_name.to_owned(), 1);
            }
        }
    }

    pub fn record_warmup(&self, function_name: &str) {
        if let Ok(mut batch) = self.batch.lock() {
            *batch.warmups.entry(function_name.to_owned()).or_default() += 1;
        }
    }

    /// Takes what was recorded, leaving the recorder empty.
    pub fn take(&self) -> MetricsBatch {
        self.batch
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("metrics could not be written: {0}")]
pub struct MetricsError(pub String);

#[async_trait]
pub trait MetricsSink: Send + Sync {
    async fn flush(&self, batch: MetricsBatch) -> Result<(), MetricsError>;
}

/// The EMF documents for a batch, one per (model, status) group and one per warm-up.
pub fn emf_documents(namespace: &str, batch: &MetricsBatch, timestamp_ms: u64) -> Vec<Value> {
    let mut docs = Vec::new();
    for ((model_id, status), durations) in &batch.calls {
        for chunk in durations.chunks(EMF_MAX_VALUES) {
            docs.push(json!({
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [["ModelId", "Status"]],
                        "Metrics": [
                            {"Name": "InvocationDuration", "Unit": "Seconds"},
                            {"Name": "InvocationCount", "Unit": "Count"}
                        ]
                    }]
                },
                "ModelId": model_id,
                "Status": status.as_str(),
                "InvocationDuration": chunk,
                "InvocationCount": chunk.len(),
            }));
        }
    }
    for (model_id, calls) in &batch.usage {
        for chunk in calls.chunks(EMF_MAX_VALUES) {
            let values = |f: fn(&CallUsage) -> f64| chunk.iter().map(f).collect::<Vec<f64>>();
            docs.push(json!({
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [["ModelId"]],
                        "Metrics": [
                            {"Name": "InputTokens", "Unit": "Count"},
                            {"Name": "OutputTokens", "Unit": "Count"},
                            {"Name": "CacheReadInputTokens", "Unit": "Count"},
                            {"Name": "CacheWriteInputTokens", "Unit": "Count"},
                            {"Name": "CostUsd", "Unit": "None"}
                        ]
                    }]
                },
                "ModelId": model_id,
                "InputTokens": values(|c| c.usage.input_tokens as f64),
                "OutputTokens": values(|c| c.usage.output_tokens as f64),
                "CacheReadInputTokens": values(|c| c.usage.cache_read_input_tokens as f64),
                "CacheWriteInputTokens": values(|c| c.usage.cache_write_input_tokens as f64),
                "CostUsd": values(|c| c.cost_usd),
            }));
        }
    }
    let counts = [
        ("ModelId", "ModelFallback", &batch.fallbacks),
        ("FunctionName", "ColdStart", &batch.cold_starts),
        ("FunctionName", "WarmUpCount", &batch.warmups),
    ];
    for (dimension, metric, by_dimension) in counts {
        for (value, count) in by_dimension {
            docs.push(count_document(
                namespace,
                timestamp_ms,
                (dimension, value),
                metric,
                *count,
            ));
        }
    }
    docs
}

/// One count metric with a single dimension (fallbacks, cold starts, warm-ups) as an EMF line.
fn count_document(
    namespace: &str,
    timestamp_ms: u64,
    (dimension, value): (&str, &str),
    metric: &str,
    count: u32,
) -> Value {
    let mut doc = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[dimension]],
                "Metrics": [{"Name": metric, "Unit": "Count"}]
            }]
        },
    });
    doc[dimension] = json!(value);
    doc[metric] = json!(count);
    doc
}

/// EMF lines on stdout: CloudWatch Logs extracts the metrics, no API call is made.
#[derive(Debug, Clone)]
pub struct EmfSink {
    pub namespace: String,
}

#[async_trait]
impl MetricsSink for EmfSink {
    async fn flush(&self, batch: MetricsBatch) -> Result<(), MetricsError> {
        if batch.is_empty() {
            return Ok(());
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut out = String::new();
        for doc in emf_documents(&self.namespace, &batch, now_ms) {
            out.push_str(&doc.to_string());
            out.push('\n');
        }
        // One write per flush so lines from concurrent writers never interleave mid-line.
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| MetricsError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MetricsBatch {
        let recorder = MetricsRecorder::new();
        recorder.record_call("m1", CallStatus::Success, Duration::from_millis(1500));
        recorder.record_call("m1", CallStatus::Success, Duration::from_millis(500));
        recorder.record_call("m1", CallStatus::Error, Duration::from_millis(100));
        recorder.take()
    }

    #[test]
    fn emf_lines_have_the_contract_dimensions_and_units() {
        let docs = emf_documents("AI-Chef/Bedrock", &sample(), 1_700_000_000_000);
        assert_eq!(docs.len(), 2);
        // Groups come out in (model, status) order: Success before Error.
        let error_doc = &docs[1];
        assert_eq!(error_doc["Status"], "Error");
        assert_eq!(error_doc["InvocationCount"], 1);
        let success = &docs[0];
        assert_eq!(
            success["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "AI-Chef/Bedrock"
        );
        assert_eq!(
            success["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["ModelId", "Status"]])
        );
        assert_eq!(
            success["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Seconds"
        );
        assert_eq!(success["InvocationDuration"], json!([1.5, 0.5]));
        assert_eq!(success["InvocationCount"], 2);
        assert_eq!(success["ModelId"], "m1");
    }

    #[test]
    fn warmups_write_only_a_warmup_count() {
        let recorder = MetricsRecorder::new();
        recorder.record_warmup("generate-recipe");
        let docs = emf_documents("ns", &recorder.take(), 1);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["WarmUpCount"], 1);
        assert!(docs[0].get("InvocationCount").is_none());
    }

    #[test]
    fn usage_fallbacks_and_cold_starts_have_their_own_dimensions() {
        let recorder = MetricsRecorder::new();
        recorder.record_call("m1", CallStatus::Success, Duration::from_millis(10));
        let usage = TokenUsage {
            input_tokens: 100,
            output_tokens: 50,
            cache_read_input_tokens: 900,
            cache_write_input_tokens: 0,
        };
        recorder.record_usage("m1", usage, 0.00126);
        recorder.record_fallback("m2");
        recorder
            .batch
            .lock()
            .unwrap()
            .cold_starts
            .insert("generate-recipe".into(), 1);
        let batch = recorder.take();
        let docs = emf_documents("ns", &batch, 1);
        // The per-call line stays first for its model, as before.
        assert_eq!(docs[0]["Status"], "Success");
        let usage_doc = docs
            .iter()
            .find(|d| d.get("InputTokens").is_some())
            .unwrap();
        assert_eq!(
            usage_doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["ModelId"]])
        );
        assert_eq!(usage_doc["InputTokens"], json!([100.0]));
        assert_eq!(usage_doc["OutputTokens"], json!([50.0]));
        assert_eq!(usage_doc["CostUsd"], json!([0.00126]));
        let units: Vec<_> = usage_doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["Name"].as_str().unwrap(), m["Unit"].as_str().unwrap()))
            .collect();
        assert!(units.contains(&("CostUsd", "None")) && units.contains(&("InputTokens", "Count")));
        let fallback = docs
            .iter()
            .find(|d| d.get("ModelFallback").is_some())
            .unwrap();
        assert_eq!(
            (
                fallback["ModelId"].as_str(),
                fallback["ModelFallback"].as_u64()
            ),
            (Some("m2"), Some(1))
        );
        let cold = docs.iter().find(|d| d.get("ColdStart").is_some()).unwrap();
        assert_eq!(
            cold["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["FunctionName"]])
        );
        assert_eq!(cold["FunctionName"], "generate-recipe");
    }

    #[test]
    fn take_empties_the_recorder() {
        let recorder = MetricsRecorder::new();
        recorder.record_call("m", CallStatus::Success, Duration::ZERO);
        assert!(!recorder.take().is_empty());
        assert!(recorder.take().is_empty());
    }
}
