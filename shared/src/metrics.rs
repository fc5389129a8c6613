//! Model-call metrics: recorded during an invocation, flushed once at its end, either as
//! CloudWatch Embedded Metric Format lines on stdout (default) or, through a sink in the AWS
//! adapters crate, `PutMetricData`.
//!
//! The contract's metrics: namespace `AI-Chef/Bedrock`, `InvocationDuration` (Seconds) and
//! `InvocationCount` (Count) with dimensions `ModelId` and `Status` (`Success` | `Error`); a
//! warm-up writes only `WarmUpCount` with dimension `FunctionName`.

use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
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

/// What one invocation recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsBatch {
    /// (model id, status) → durations in seconds.
    pub calls: BTreeMap<(String, CallStatus), Vec<f64>>,
    /// Function name → warm-up count.
    pub warmups: BTreeMap<String, u32>,
}

impl MetricsBatch {
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.warmups.is_empty()
    }
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
    for (function_name, count) in &batch.warmups {
        docs.push(json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["FunctionName"]],
                    "Metrics": [{"Name": "WarmUpCount", "Unit": "Count"}]
                }]
            },
            "FunctionName": function_name,
            "WarmUpCount": count,
        }));
    }
    docs
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
    fn take_empties_the_recorder() {
        let recorder = MetricsRecorder::new();
        recorder.record_call("m", CallStatus::Success, Duration::ZERO);
        assert!(!recorder.take().is_empty());
        assert!(recorder.take().is_empty());
    }
}
