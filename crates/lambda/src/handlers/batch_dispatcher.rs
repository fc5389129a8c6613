//! `batch-dispatcher`: SQS batches of queued recipe requests (partial-batch response, retried
//! messages delayed by the backoff), `POST /batches` and `GET /batches/{jobId}` (HTTP API v2,
//! owned by the submitting principal), and the scheduled warm-up. The work itself is in
//! [`ai_chef::batch`]; this module only routes events.

use super::principal::principal_of;
use super::{flush_metrics, warm_up};
use crate::dispatch::{Dispatcher, Redelivery, LOCAL_RETRIES};
use crate::http::{classify, error_response, json_body, json_response, route, Incoming};
use ai_chef::batch::api::{read_job, submit, MAX_SUBMIT_BYTES};
use ai_chef::batch::backoff::{RedeliveryDelay, RetryBackoff};
use ai_chef::batch::limiter::{AdaptiveGate, LimitPolicy};
use ai_chef::batch::message::now_ms;
use ai_chef::batch::queue::JobQueue;
use ai_chef::batch::store::ResultStore;
use ai_chef::error::ServiceError;
use ai_chef::generate::{FallbackPolicy, RecipeService};
use ai_chef::metrics::{MetricsRecorder, MetricsSink};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::sync::Arc;

pub const FUNCTION_NAME: &str = "batch-dispatcher";

/// Everything the function builds once per container. The gate is kept across invocations,
/// so a warm container starts each batch at the rate (or concurrency) it last found sustainable.
#[derive(Clone)]
pub struct BatchDispatcherApp {
    pub service: RecipeService,
    pub metrics: Arc<dyn MetricsSink>,
    pub store: Arc<dyn ResultStore>,
    pub queue: Arc<dyn JobQueue>,
    pub gate: Arc<AdaptiveGate>,
    pub result_ttl_days: u32,
    /// Passing failures a record retries within one invocation before the queue retries it.
    pub local_retries: u32,
    /// Delays a retried message's return by its receive count; `None`: the queue's
    /// visibility timeout decides.
    pub redelivery: Option<(Arc<dyn RedeliveryDelay>, RetryBackoff)>,
}

impl std::fmt::Debug for BatchDispatcherApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchDispatcherApp")
            .field("service", &self.service)
            .field("gate", &self.gate.snapshot())
            .finish_non_exhaustive()
    }
}

impl BatchDispatcherApp {
    /// The app with the default (paced) limit and the configured result TTL. The recipe
    /// service is set to [`FallbackPolicy::NotReadyOnly`]: a throttle is the pacer's signal and
    /// the record is retried on its requested model; only a model not ready hands over to the
    /// fallback chain (sync and streamed requests keep handing over on throttles too).
    pub fn new(
        service: RecipeService,
        metrics: Arc<dyn MetricsSink>,
        store: Arc<dyn ResultStore>,
        queue: Arc<dyn JobQueue>,
    ) -> Self {
        let result_ttl_days = service.config().result_ttl_days;
        BatchDispatcherApp {
            service: service.with_fallback_policy(FallbackPolicy::NotReadyOnly),
            metrics,
            store,
            queue,
            gate: Arc::new(AdaptiveGate::new(LimitPolicy::default())),
            result_ttl_days,
            local_retries: LOCAL_RETRIES,
            redelivery: None,
        }
    }

    /// The same app making retried messages visible again after `backoff` through `queue`.
    pub fn with_redelivery(
        mut self,
        queue: Arc<dyn RedeliveryDelay>,
        backoff: RetryBackoff,
    ) -> Self {
        self.redelivery = Some((queue, backoff));
        self
    }

    /// The same app with another limit policy (a fixed concurrency for comparisons).
    pub fn with_limit(mut self, policy: LimitPolicy) -> Self {
        self.gate = Arc::new(AdaptiveGate::new(policy));
        self
    }

    /// The same app retrying passing failures `retries` times within an invocation (0: only
    /// the queue retries them).
    pub fn with_local_retries(mut self, retries: u32) -> Self {
        self.local_retries = retries;
        self
    }
}

pub async fn handle(
    app: &BatchDispatcherApp,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let deadline = super::invocation_deadline(&event.context);
    let recorder = MetricsRecorder::new();
    super::note_invocation(FUNCTION_NAME, &event.payload, &recorder);
    let answer = match classify(event.payload) {
        Incoming::Scheduled(_) => warm_up(FUNCTION_NAME, &recorder),
        Incoming::Sqs(event) => {
            let dispatcher = Dispatcher {
                service: &app.service,
                store: app.store.as_ref(),
                gate: app.gate.as_ref(),
                metrics: &recorder,
                deadline,
                ttl_days: app.result_ttl_days,
                local_retries: app.local_retries,
                redelivery: app.redelivery.as_ref().map(|(queue, backoff)| Redelivery {
                    queue: queue.as_ref(),
                    backoff: *backoff,
                }),
            };
            let (response, summary) = dispatcher.run(&event.records).await;
            tracing::info!(
                records = event.records.len(),
                succeeded = summary.succeeded,
                failed = summary.failed,
                already_done = summary.already_done,
                retried = summary.retried,
                throttled = summary.throttled,
                limit = app.gate.snapshot().limit,
                rate = app.gate.snapshot().rate,
                "batch processed"
            );
            serde_json::to_value(response).unwrap_or(Value::Null)
        }
        Incoming::Http(request) => match http(app, &request).await {
            Ok((status, body)) => json_response(status, &body, None),
            Err(err) => {
                tracing::info!(code = err.code(), status = err.status(), error = %err, "batch API request refused");
                error_response(&err)
            }
        },
        Incoming::Direct(_) => error_response(&ServiceError::invalid(
            "batch-dispatcher takes SQS events, HTTP API requests and scheduled warm-ups",
            vec![],
        )),
    };
    flush_metrics(app.metrics.as_ref(), &recorder).await;
    Ok(answer)
}

async fn http(
    app: &BatchDispatcherApp,
    request: &ApiGatewayV2httpRequest,
) -> Result<(u16, Value), ServiceError> {
    let (method, path) = route(request);
    let to_value =
        |v: Result<Value, serde_json::Error>| v.map_err(|e| ServiceError::Internal(e.to_string()));
    if method == "POST" && path.ends_with("/batches") {
        let body = json_body(request, MAX_SUBMIT_BYTES)?;
        let accepted = submit(
            app.store.as_ref(),
            app.queue.as_ref(),
            &principal_of(request),
            &body,
            now_ms(),
            app.result_ttl_days,
        )
        .await?;
        return Ok((202, to_value(serde_json::to_value(accepted))?));
    }
    if method == "GET" {
        let from_path = path
            .rsplit_once("/batches/")
            .map(|(_, id)| id.to_owned())
            .filter(|id| !id.is_empty() && !id.contains('/'));
        let job_id = request.path_parameters.get("jobId").cloned().or(from_path);
        if let Some(job_id) = job_id {
            let query = &request.query_string_parameters;
            let view = read_job(
                app.store.as_ref(),
                &principal_of(request),
                &job_id,
                query.first("limit"),
                query.first("nextToken"),
            )
            .await?;
            return Ok((200, to_value(serde_json::to_value(view))?));
        }
    }
    Err(ServiceError::NotFound { method, path })
}
