//! Lambda handlers: one per function, each taking the raw event payload, dispatching on its
//! kind (warm-up, HTTP, SQS, direct) and answering the contract's JSON. Binaries only build
//! the app once and hand these to `lambda_runtime::run`.

pub mod async_recipes;
#[cfg(feature = "jobs")]
pub mod batch_dispatcher;
pub mod embed_text;
pub mod generate_recipe;
pub mod principal;

use crate::http::{classify, error_response, json_body, json_response, route, Incoming};
use ai_chef::deadline::Deadline;
use ai_chef::error::ServiceError;
use ai_chef::metrics::{MetricsRecorder, MetricsSink};
use serde_json::{json, Value};

/// The invocation's deadline from the Runtime API context; a header value that cannot be an
/// epoch time (a local emulator's relative one) becomes now + the function timeout.
pub fn invocation_deadline(context: &lambda_runtime::Context) -> Deadline {
    crate::runtime_deadline::invocation_deadline(context.deadline)
}

/// The contract's warm-up answer; records only a warm-up count.
pub fn warm_up(function_name: &str, metrics: &MetricsRecorder) -> Value {
    metrics.record_warmup(function_name);
    tracing::info!(function = function_name, "warm-up event");
    json!({"warmed": true, "function": function_name})
}

/// Records `ColdStart` on the process's first invocation, unless that is the scheduled warm-up
/// (which takes the first invocation itself and writes only its warm-up count).
pub fn note_invocation(function_name: &str, payload: &Value, metrics: &MetricsRecorder) {
    let is_warmup = payload.get("source").and_then(Value::as_str) == Some("aws.events")
        && payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
    metrics.record_invocation(function_name, is_warmup);
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

/// A function serving one JSON route (`POST <path>`) that answers a direct invocation carrying
/// the same body with the same JSON, plus the scheduled warm-up.
#[derive(Debug, Clone, Copy)]
pub struct JsonEndpoint {
    pub function_name: &'static str,
    /// The route's path, matched as a suffix so a stage prefix does not matter.
    pub path: &'static str,
    pub body_limit: usize,
    /// Said to a caller that sends SQS events here.
    pub sqs_refusal: &'static str,
}

impl JsonEndpoint {
    /// Answers one invocation payload; `work` turns a request body into the 200 JSON body.
    pub async fn answer<F, Fut>(&self, payload: Value, metrics: &MetricsRecorder, work: F) -> Value
    where
        F: FnOnce(Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = Result<Value, ServiceError>>,
    {
        note_invocation(self.function_name, &payload, metrics);
        match classify(payload) {
            Incoming::Scheduled(_) => warm_up(self.function_name, metrics),
            Incoming::Http(request) => {
                let outcome = match route(&request) {
                    (method, path) if method == "POST" && path.ends_with(self.path) => {
                        match json_body(&request, self.body_limit) {
                            Ok(body) => work(body).await,
                            Err(err) => Err(err),
                        }
                    }
                    (method, path) => Err(ServiceError::NotFound { method, path }),
                };
                match outcome {
                    Ok(body) => json_response(200, &body, None),
                    Err(err) => error_response(&err),
                }
            }
            Incoming::Direct(payload) => {
                let body = serde_json::to_vec(&payload).unwrap_or_default();
                work(body).await.unwrap_or_else(|err| error_json(&err))
            }
            Incoming::Sqs(_) => error_json(&ServiceError::invalid(self.sqs_refusal, vec![])),
        }
    }
}

/// The contract's error object as a bare JSON payload (direct invocations).
fn error_json(err: &ServiceError) -> Value {
    serde_json::to_value(err.to_body()).unwrap_or(Value::Null)
}
