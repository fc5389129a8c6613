//! `embed-text`: `POST /embeddings` (HTTP API v2), a direct invocation with the same body
//! (answered with the same JSON), and the scheduled warm-up.

use super::{flush_metrics, JsonEndpoint};
use ai_chef::deadline::Deadline;
use ai_chef::embed::{EmbedQuery, EmbeddingService, MAX_BODY_BYTES};
use ai_chef::error::ServiceError;
use ai_chef::metrics::{MetricsRecorder, MetricsSink};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::sync::Arc;

pub const FUNCTION_NAME: &str = "embed-text";

const ENDPOINT: JsonEndpoint = JsonEndpoint {
    function_name: FUNCTION_NAME,
    path: "/embeddings",
    body_limit: MAX_BODY_BYTES,
    sqs_refusal: "embed-text does not take SQS events",
};

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
    let deadline = super::invocation_deadline(&event.context);
    let recorder = MetricsRecorder::new();
    let metrics = &recorder;
    let answer = ENDPOINT
        .answer(event.payload, metrics, |body| async move {
            embed(app, &body, deadline, metrics).await
        })
        .await;
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
