//! `generate-recipe`: `POST /recipes` (HTTP API v2), a direct invocation with the same body,
//! and the scheduled warm-up.

use super::{flush_metrics, JsonEndpoint};
use ai_chef::deadline::Deadline;
use ai_chef::error::ServiceError;
use ai_chef::generate::RecipeService;
use ai_chef::metrics::{MetricsRecorder, MetricsSink};
use ai_chef::request::{RecipeRequest, MAX_BODY_BYTES};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::sync::Arc;

pub const FUNCTION_NAME: &str = "generate-recipe";

const ENDPOINT: JsonEndpoint = JsonEndpoint {
    function_name: FUNCTION_NAME,
    path: "/recipes",
    body_limit: MAX_BODY_BYTES,
    sqs_refusal: "generate-recipe does not take SQS events; use batch-dispatcher",
};

/// Everything the function builds once per container.
#[derive(Clone)]
pub struct GenerateRecipeApp {
    pub service: RecipeService,
    pub metrics: Arc<dyn MetricsSink>,
}

impl std::fmt::Debug for GenerateRecipeApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerateRecipeApp")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

pub async fn handle(
    app: &GenerateRecipeApp,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let deadline = super::invocation_deadline(&event.context);
    let recorder = MetricsRecorder::new();
    let metrics = &recorder;
    let answer = ENDPOINT
        .answer(event.payload, metrics, |body| async move {
            generate(app, &body, deadline, metrics).await
        })
        .await;
    flush_metrics(app.metrics.as_ref(), &recorder).await;
    Ok(answer)
}

async fn generate(
    app: &GenerateRecipeApp,
    body: &[u8],
    deadline: Deadline,
    recorder: &MetricsRecorder,
) -> Result<Value, ServiceError> {
    let request = RecipeRequest::from_json(body).inspect_err(|err| {
        tracing::info!(code = err.code(), "request refused");
    })?;
    let response = app.service.generate(&request, deadline, recorder).await.inspect_err(|err| {
        tracing::warn!(code = err.code(), status = err.status(), error = %err, "recipe not generated");
    })?;
    serde_json::to_value(response).map_err(|e| ServiceError::Internal(e.to_string()))
}
