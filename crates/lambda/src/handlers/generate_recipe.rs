//! `generate-recipe`: `POST /recipes` (HTTP API v2), a direct invocation with the same body,
//! and the scheduled warm-up, each answered buffered (async mode and `GET /recipes/{requestId}`
//! are answered by [`super::async_recipes`] first); and `POST /recipes` from the Lambda
//! function URL, answered in the Runtime API's streaming mode with Server-Sent Events
//! (`attempt`, `progress`, `checks`, then one `recipe` or `error`).

use super::async_recipes::{self, AsyncRecipes};
use super::{flush_metrics, JsonEndpoint};
use crate::http::{error_response, is_function_url, json_body, route};
use ai_chef::deadline::Deadline;
use ai_chef::error::ServiceError;
use ai_chef::generate::{Progress, ProgressSink, RecipeService};
use ai_chef::metrics::{MetricsRecorder, MetricsSink};
use ai_chef::request::{Mode, RecipeRequest, MAX_BODY_BYTES};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use futures::channel::mpsc;
use lambda_runtime::{FunctionResponse, LambdaEvent, MetadataPrelude, StreamResponse};
use serde_json::{json, Value};
use std::convert::Infallible;
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
    /// Where async requests go (`RESULTS_TABLE`, `JOBS_QUEUE_URL`), or why they cannot.
    pub async_recipes: AsyncRecipes,
}

impl std::fmt::Debug for GenerateRecipeApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerateRecipeApp")
            .field("service", &self.service)
            .field("async_recipes", &self.async_recipes)
            .finish_non_exhaustive()
    }
}

/// The streamed body: SSE text pieces in the order they were produced.
pub type EventStream = mpsc::UnboundedReceiver<Result<String, Infallible>>;

/// What the function posts to the Runtime API: a buffered JSON payload (API Gateway, direct
/// and warm-up events, exactly as [`handle`] answers them) or a streamed HTTP response
/// (function URL events). lambda_runtime posts each as the Runtime API defines.
pub type Answer = FunctionResponse<Value, EventStream>;

/// Entry point of the binary: function URL events stream, everything else is [`handle`].
pub async fn handle_any(
    app: &GenerateRecipeApp,
    event: LambdaEvent<Value>,
) -> Result<Answer, lambda_runtime::Error> {
    if !is_function_url(&event.payload) {
        return handle(app, event)
            .await
            .map(FunctionResponse::BufferedResponse);
    }
    Ok(FunctionResponse::StreamingResponse(stream(
        app.clone(),
        event,
    )))
}

/// Answers a function URL event as a stream. `POST /recipes` becomes Server-Sent Events
/// produced by a task while the runtime posts them; any other route gets its ordinary JSON
/// answer, streamed in one piece (a URL in streaming mode only speaks streams).
pub fn stream(app: GenerateRecipeApp, event: LambdaEvent<Value>) -> StreamResponse<EventStream> {
    let deadline = super::invocation_deadline(&event.context);
    let (tx, rx) = mpsc::unbounded();
    let request = match serde::Deserialize::deserialize(&event.payload) {
        Ok(request) => request,
        Err(err) => {
            let err = ServiceError::invalid(
                format!("the function URL event is not an HTTP request: {err}"),
                vec![],
            );
            return whole_response(&error_response(&err), tx, rx);
        }
    };
    let request: ApiGatewayV2httpRequest = request;
    let body = match route(&request) {
        (method, path) if method == "POST" && path.ends_with(ENDPOINT.path) => {
            json_body(&request, ENDPOINT.body_limit)
        }
        (method, path) => {
            let err = ServiceError::NotFound { method, path };
            return whole_response(&error_response(&err), tx, rx);
        }
    };
    tokio::spawn(async move {
        let events = SseSink { tx };
        let recorder = MetricsRecorder::new();
        let outcome = match body {
            Ok(body) => generate_streamed(&app, &body, deadline, &recorder, &events).await,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(response) => events.send("recipe", &response),
            Err(err) => {
                let mut object = serde_json::to_value(err.to_body().error).unwrap_or_default();
                object["status"] = json!(err.status());
                events.send("error", &object);
            }
        }
        // Before the stream closes: Lambda may freeze the environment once it has.
        flush_metrics(app.metrics.as_ref(), &recorder).await;
        drop(events);
    });
    StreamResponse {
        metadata_prelude: sse_prelude(),
        stream: rx,
    }
}

fn sse_prelude() -> MetadataPrelude {
    let mut prelude = MetadataPrelude {
        status_code: http::StatusCode::OK,
        ..MetadataPrelude::default()
    };
    prelude.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    prelude.headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    prelude
}

/// An HTTP API style response (`statusCode`, `headers`, `body`) as a one-piece stream.
fn whole_response(
    response: &Value,
    tx: mpsc::UnboundedSender<Result<String, Infallible>>,
    rx: EventStream,
) -> StreamResponse<EventStream> {
    let mut prelude = MetadataPrelude {
        status_code: response["statusCode"]
            .as_u64()
            .and_then(|code| u16::try_from(code).ok())
            .and_then(|code| http::StatusCode::from_u16(code).ok())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        ..MetadataPrelude::default()
    };
    if let Some(headers) = response["headers"].as_object() {
        for (name, value) in headers {
            let name = http::HeaderName::from_bytes(name.as_bytes());
            let value = http::HeaderValue::from_str(value.as_str().unwrap_or_default());
            if let (Ok(name), Ok(value)) = (name, value) {
                prelude.headers.insert(name, value);
            }
        }
    }
    let body = response["body"].as_str().unwrap_or_default().to_owned();
    // The receiver is returned below, so this send cannot fail.
    let _ = tx.unbounded_send(Ok(body));
    StreamResponse {
        metadata_prelude: prelude,
        stream: rx,
    }
}

/// Writes Server-Sent Events into the response stream.
struct SseSink {
    tx: mpsc::UnboundedSender<Result<String, Infallible>>,
}

impl SseSink {
    fn send<T: serde::Serialize>(&self, event: &str, data: &T) {
        // JSON from serde_json is one line (newlines in strings are escaped), as SSE needs.
        let data = serde_json::to_string(data).unwrap_or_else(|_| "{}".to_owned());
        // A closed stream means the client went away; the work finishes regardless.
        let _ = self
            .tx
            .unbounded_send(Ok(format!("event: {event}\ndata: {data}\n\n")));
    }
}

impl ProgressSink for SseSink {
    fn report(&self, progress: Progress) {
        match progress {
            Progress::AttemptStarted { attempt, model_id } => {
                self.send("attempt", &json!({"attempt": attempt, "modelId": model_id}))
            }
            Progress::OutputTokens {
                attempt,
                output_tokens,
            } => self.send(
                "progress",
                &json!({"attempt": attempt, "outputTokens": output_tokens}),
            ),
            Progress::ChecksFailed { attempt, failed } => {
                self.send("checks", &json!({"attempt": attempt, "failed": failed}))
            }
        }
    }
}

async fn generate_streamed(
    app: &GenerateRecipeApp,
    body: &[u8],
    deadline: Deadline,
    recorder: &MetricsRecorder,
    events: &SseSink,
) -> Result<Value, ServiceError> {
    let request = RecipeRequest::from_json(body).inspect_err(|err| {
        tracing::info!(code = err.code(), "request refused");
    })?;
    let response = app
        .service
        .generate_with_progress(&request, deadline, recorder, Some(events))
        .await
        .inspect_err(|err| {
            tracing::warn!(code = err.code(), status = err.status(), error = %err, "recipe not generated (stream)");
        })?;
    serde_json::to_value(response).map_err(|e| ServiceError::Internal(e.to_string()))
}

pub async fn handle(
    app: &GenerateRecipeApp,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let deadline = super::invocation_deadline(&event.context);
    if let Some(answer) =
        async_recipes::answer(&app.async_recipes, &app.service, &event.payload).await
    {
        return Ok(answer);
    }
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
    if request.mode == Mode::Async {
        // HTTP requests in async mode never reach here (see `handle`).
        return Err(ServiceError::invalid(
            "async mode is for POST /recipes over HTTP; invoke the function with InvocationType=Event instead",
            vec![ai_chef::error::FieldError::new("mode", "async needs an HTTP request")],
        ));
    }
    let response = app.service.generate(&request, deadline, recorder).await.inspect_err(|err| {
        tracing::warn!(code = err.code(), status = err.status(), error = %err, "recipe not generated");
    })?;
    serde_json::to_value(response).map_err(|e| ServiceError::Internal(e.to_string()))
}
