//! `batch-dispatcher`: SQS-triggered batch generation with the partial-batch response, and
//! the scheduled warm-up.

use super::{flush_metrics, warm_up};
use crate::deadline::Deadline;
use crate::error::ServiceError;
use crate::generate::RecipeService;
use crate::http::{classify, error_response, Incoming};
use crate::metrics::{MetricsRecorder, MetricsSink};
use crate::request::RecipeRequest;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

pub const FUNCTION_NAME: &str = "batch-dispatcher";

#[derive(Clone)]
pub struct BatchDispatcherApp {
    pub service: RecipeService,
    pub metrics: Arc<dyn MetricsSink>,
}

impl std::fmt::Debug for BatchDispatcherApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchDispatcherApp").finish_non_exhaustive()
    }
}

/// One queued request: `{"jobId", "requestId", "request": {...}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchMessage {
    pub job_id: String,
    pub request_id: String,
    pub request: Value,
}

pub async fn handle(app: &BatchDispatcherApp, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let deadline = Deadline::from_epoch_millis(event.context.deadline);
    let recorder = MetricsRecorder::new();
    let answer = match classify(event.payload) {
        Incoming::Scheduled(_) => warm_up(FUNCTION_NAME, &recorder),
        Incoming::Sqs(event) => {
            let mut response = SqsBatchResponse::default();
            for message in &event.records {
                if let Some(failure) = process(app, message, deadline, &recorder).await {
                    response.batch_item_failures.push(failure);
                }
            }
            serde_json::to_value(response).unwrap_or(Value::Null)
        }
        Incoming::Http(_) | Incoming::Direct(_) => error_response(&ServiceError::invalid(
            "batch-dispatcher takes SQS events and scheduled warm-ups",
            vec![],
        )),
    };
    flush_metrics(app.metrics.as_ref(), &recorder).await;
    Ok(answer)
}

/// Processes one record; returns the failure entry when the message must be retried.
async fn process(
    app: &BatchDispatcherApp,
    message: &SqsMessage,
    deadline: Deadline,
    recorder: &MetricsRecorder,
) -> Option<BatchItemFailure> {
    let message_id = message.message_id.clone().unwrap_or_default();
    let retry = || {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = message_id.clone();
        Some(failure)
    };
    let Some(parsed) = message
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str::<BatchMessage>(b).ok())
    else {
        tracing::warn!(message_id = %message_id, "unparseable batch message; left for the dead-letter queue");
        return retry();
    };
    let outcome = match RecipeRequest::from_value(parsed.request) {
        Ok(request) => app.service.generate(&request, deadline, recorder).await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(_) => {
            tracing::info!(job_id = %parsed.job_id, request_id = %parsed.request_id, "batch request succeeded");
            None
        }
        Err(err) if err.is_transient() => {
            tracing::warn!(job_id = %parsed.job_id, request_id = %parsed.request_id, code = err.code(), "batch request will be retried");
            retry()
        }
        Err(err) => {
            tracing::warn!(job_id = %parsed.job_id, request_id = %parsed.request_id, code = err.code(), "batch request failed for good");
            None
        }
    }
}
