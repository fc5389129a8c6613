//! `embed-text`: `POST /embeddings` (HTTP API v2), a direct invocation with the same body
//! (answered with the same JSON), and the scheduled warm-up.

use super::{flush_metrics, warm_up};
use crate::deadline::Deadline;
use crate::embed::{EmbedQuery, EmbeddingService, MAX_BODY_BYTES};
use crate::error::ServiceError;
use crate::http::{classify, error_response, json_body, json_response, route, Incoming};
use crate::metrics::{MetricsRecorder, MetricsSink};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::sync::Arc;

pub const FUNCTION_NAME: &str = "embed-text";

#[derive(Clone)]
pub struct EmbedTextApp {
    pub service: EmbeddingService,
    pub metrics: Arc<dyn MetricsSink>,
}

impl std::fmt::Debug for EmbedTextApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbedTextApp")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

pub async fn handle(
    app: &EmbedTextApp,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let deadline = Deadline::from_epoch_millis(event.context.deadline);
    let recorder = MetricsRecorder::new();
    let answer = match classify(event.payload) {
        Incoming::Scheduled(_) => warm_up(FUNCTION_NAME, &recorder),
        Incoming::Http(request) => {
            let outcome = match route(&request) {
                (method, path) if method == "POST" && path.ends_with("/embeddings") => {
                    match json_body(&request, MAX_BODY_BYTES) {
                        Ok(body) => embed(app, &body, deadline, &recorder).await,
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
            match embed(app, &body, deadline, &recorder).await {
                Ok(body) => body,
                Err(err) => serde_json::to_value(err.to_body()).unwrap_or(Value::Null),
            }
        }
        Incoming::Sqs(_) => {
            let err = ServiceError::invalid("embed-text does not take SQS events", vec![]);
            serde_json::to_value(err.to_body()).unwrap_or(Value::Null)
        }
    };
    flush_metrics(app.metrics.as_ref(), &recorder).await;
    Ok(answer)
}

async fn embed(
    app: &EmbedTextApp,
    body: &[u8],
    deadline: Deadline,
    recorder: &MetricsRecorder,
) -> Result<Value, ServiceError> {
    let query = EmbedQuery::from_json(body)?;
    let response = app
        .service
        .embed_all(&query, deadline, recorder)
        .await
        .inspect_err(|err| {
            tracing::warn!(code = err.code(), error = %err, "embedding failed");
        })?;
    serde_json::to_value(response).map_err(|e| ServiceError::Internal(e.to_string()))
}
