//! Lambda handlers: one per function, each taking the raw event payload, dispatching on its
//! kind (warm-up, HTTP, SQS, direct) and answering the contract's JSON. Binaries only build
//! the app once and hand these to `lambda_runtime::run`.

pub mod batch_dispatcher;
pub mod embed_text;
pub mod generate_recipe;

use crate::metrics::{MetricsRecorder, MetricsSink};
use serde_json::{json, Value};

/// The contract's warm-up answer; records only a warm-up count.
pub fn warm_up(function_name: &str, metrics: &MetricsRecorder) -> Value {
    metrics.record_warmup(function_name);
    tracing::info!(function = function_name, "warm-up event");
    json!({"warmed": true, "function": function_name})
}

/// Flushes what the invocation recorded; a metrics failure is logged, never fails the answer.
pub async fn flush_metrics(sink: &dyn MetricsSink, metrics: &MetricsRecorder) {
    let batch = metrics.take();
    if batch.is_empty() {
        return;
    }
    if let Err(err) = sink.flush(batch).await {
        tracing::warn!(error = %err, "metrics flush failed");
    }
}
