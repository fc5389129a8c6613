//! The HTTP side: Bedrock Runtime's `POST /model/{modelId}/invoke` plus the emulator's own
//! control routes (`/_emulator/faults`, `/_emulator/stats`, `/_emulator/reset`), and the
//! `Emulator` handle tests use to run it in-process.

use crate::answer;
use crate::claude;
use crate::error::{BedrockError, ErrorKind};
use crate::faults::{CallPlan, FaultPlan, FaultState, PlanError, TransportFault, TransportKind};
use crate::model::{self, Family, Model};
use crate::stats::Stats;
use crate::titan;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Bedrock accepts request bodies far larger than any test sends; this keeps axum's
/// default 2 MB limit from refusing the long-input validation cases.
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Options for [`Emulator::start`].
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    pub faults: FaultPlan,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            faults: FaultPlan::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Plan(#[from] PlanError),
}

#[derive(Debug)]
struct Shared {
    faults: Mutex<FaultState>,
    stats: Mutex<Stats>,
    rng: Mutex<StdRng>,
    stopping: watch::Receiver<bool>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the emulator down: the data stays usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn request_id(&self) -> String {
        let bytes: [u8; 16] = lock(&self.rng).gen();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    pub async fn start(options: EmulatorOptions) -> Result<Self, StartError> {
        options.faults.validate()?;
        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: options.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: options.addr,
            source,
        })?;
        let (stop, stopping) = watch::channel(false);
        let shared = Arc::new(Shared {
            faults: Mutex::new(FaultState::new(options.faults, Instant::now())),
            stats: Mutex::new(Stats::default()),
            rng: Mutex::new(StdRng::from_entropy()),
            stopping: stopping.clone(),
        });
        let app = router(shared.clone());
        let mut signal = stopping;
        let task = tokio::spawn(async move {
            let shutdown = async move {
                // Either a `true` or a dropped sender means stop.
                let _ = signal.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "bedrock emulator server failed");
            }
        });
        tracing::info!(%addr, "bedrock emulator listening");
        Ok(Self {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the fault plan; its "first N" counters start again from zero.
    pub fn set_faults(&self, plan: FaultPlan) -> Result<(), PlanError> {
        plan.validate()?;
        *lock(&self.shared.faults) = FaultState::new(plan, Instant::now());
        Ok(())
    }

    pub fn clear_faults(&self) {
        *lock(&self.shared.faults) = FaultState::new(FaultPlan::default(), Instant::now());
    }

    pub fn faults(&self) -> FaultPlan {
        lock(&self.shared.faults).plan().clone()
    }

    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Stats::default();
    }

    /// Stops accepting, ends stalled bodies and waits (up to 5 s) for the server to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/model/{model_id}/invoke", post(invoke))
        .route(
            "/model/{model_id}/invoke-with-response-stream",
            post(invoke_stream),
        )
        .route(
            "/_emulator/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/_emulator/stats", get(get_stats))
        .route("/_emulator/reset", post(reset_stats))
        .route("/_emulator/health", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Json<FaultPlan> {
    Json(lock(&shared.faults).plan().clone())
}

async fn set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match std::str::from_utf8(&body)
        .map_err(|e| PlanError::Json(e.to_string()))
        .and_then(FaultPlan::from_json)
    {
        Ok(plan) => {
            tracing::info!(plan = %serde_json::to_string(&plan).unwrap_or_default(), "fault plan set");
            *lock(&shared.faults) = FaultState::new(plan.clone(), Instant::now());
            Json(plan).into_response()
        }
        Err(error) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "message": error.to_string() })),
        )
            .into_response(),
    }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Json<FaultPlan> {
    *lock(&shared.faults) = FaultState::new(FaultPlan::default(), Instant::now());
    Json(FaultPlan::default())
}

async fn get_stats(State(shared): State<Arc<Shared>>) -> Json<Stats> {
    Json(lock(&shared.stats).clone())
}

async fn reset_stats(State(shared): State<Arc<Shared>>) -> Json<Stats> {
    *lock(&shared.stats) = Stats::default();
    Json(Stats::default())
}

async fn invoke_stream(
    State(shared): State<Arc<Shared>>,
    Path(model_id): Path<String>,
) -> Response {
    let request_id = shared.request_id();
    error_response(
        &BedrockError::validation(
            "The emulator does not support InvokeModelWithResponseStream; use InvokeModel.",
        ),
        &model_id,
        &request_id,
    )
}

async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let request_id = shared.request_id();
    let resolved = model::resolve(&model_id);
    let family = resolved.as_ref().ok().map(Model::family);
    lock(&shared.stats).record_call(&model_id, family);
    let outcome = match resolved {
        Err(error) => Err((error, false)),
        Ok(model) => {
            let plan = lock(&shared.faults).next_call(model.family(), Instant::now());
            if !plan.latency.is_zero() {
                tokio::time::sleep(plan.latency).await;
            }
            run_model(&shared, &model, &body, &plan).map(|success| (success, plan.transport))
        }
    };
    match outcome {
        Err((error, by_quota)) => {
            lock(&shared.stats).record_error(&model_id, error.kind, by_quota);
            tracing::info!(model_id, error = %error.kind, "invoke failed");
            error_response(&error, &model_id, &request_id)
        }
        Ok((success, transport)) => {
            {
                let mut stats = lock(&shared.stats);
                stats.record_success(
                    &model_id,
                    success.family,
                    success.input_tokens,
                    success.output_tokens,
                );
                if success.violated {
                    stats.violations += 1;
                }
                if transport.is_some() {
                    stats.transport_faults += 1;
                }
            }
            tracing::info!(
                model_id,
                input_tokens = success.input_tokens,
                output_tokens = success.output_tokens,
                "invoke succeeded"
            );
            success_response(
                success,
                &request_id,
                started,
                transport,
                shared.stopping.clone(),
            )
        }
    }
}

struct Success {
    family: Family,
    body: Vec<u8>,
    input_tokens: u32,
    output_tokens: u32,
    violated: bool,
}

fn run_model(
    shared: &Shared,
    model: &Model,
    body: &[u8],
    plan: &CallPlan,
) -> Result<Success, (BedrockError, bool)> {
    if let Some((kind, message)) = &plan.error {
        let error = match message {
            Some(message) => BedrockError::new(*kind, message.clone()),
            None => BedrockError::of_kind(*kind),
        };
        return Err((error, plan.throttled_by_quota));
    }
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "emulator failure");
        (
            BedrockError::of_kind(ErrorKind::InternalServerException),
            false,
        )
    };
    match model {
        Model::Claude(claude_model) => {
            let request = claude::parse_request(body, claude_model).map_err(|e| (e, false))?;
            let answer =
                answer::answer(&request, plan.output, plan.violate_first, plan.never_comply)
                    .map_err(|e| internal(&e))?;
            let response = claude::respond(
                &request,
                claude_model,
                &answer.text,
                answer.finish,
                &mut *lock(&shared.rng),
            );
            let body = serde_json::to_vec(&response).map_err(|e| internal(&e))?;
            Ok(Success {
                family: Family::Claude,
                body,
                input_tokens: response.usage.input_tokens,
                output_tokens: response.usage.output_tokens,
                violated: answer.violated,
            })
        }
        Model::Titan(titan_model) => {
            let request = titan::parse_request(body, *titan_model).map_err(|e| (e, false))?;
            let response = titan::respond(&request, *titan_model);
            let body = serde_json::to_vec(&response).map_err(|e| internal(&e))?;
            Ok(Success {
                family: Family::Titan,
                body,
                input_tokens: response.input_text_token_count,
                output_tokens: 0,
                violated: false,
            })
        }
    }
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn error_response(error: &BedrockError, model_id: &str, request_id: &str) -> Response {
    let status = StatusCode::from_u16(error.kind.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(error.body(model_id))).into_response();
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-amzn-errortype"),
        header_value(&error.kind.error_type_header()),
    );
    headers.insert(
        HeaderName::from_static("x-amzn-requestid"),
        header_value(request_id),
    );
    response
}

fn success_response(
    success: Success,
    request_id: &str,
    started: Instant,
    transport: Option<TransportFault>,
    stopping: watch::Receiver<bool>,
) -> Response {
    let length = success.body.len();
    let body = match transport {
        None => Body::from(success.body),
        Some(fault) => faulty_body(success.body, fault, stopping),
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(
        HeaderName::from_static("x-amzn-requestid"),
        header_value(request_id),
    );
    headers.insert(
        HeaderName::from_static("x-amzn-bedrock-invocation-latency"),
        HeaderValue::from(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)),
    );
    headers.insert(
        HeaderName::from_static("x-amzn-bedrock-input-token-count"),
        HeaderValue::from(success.input_tokens),
    );
    if success.family == Family::Claude {
        headers.insert(
            HeaderName::from_static("x-amzn-bedrock-output-token-count"),
            HeaderValue::from(success.output_tokens),
        );
    }
    response
}

/// A body that sends its first bytes and then breaks: with an error (the connection is
/// dropped before `Content-Length` bytes arrived) or after a stall.
fn faulty_body(body: Vec<u8>, fault: TransportFault, stopping: watch::Receiver<bool>) -> Body {
    let cut = fault
        .after_bytes
        .unwrap_or(TransportFault::DEFAULT_AFTER_BYTES)
        .min(body.len().saturating_sub(1));
    let head = Bytes::copy_from_slice(&body[..cut]);
    // Even a reset waits a moment, so the head and the first bytes reach the client
    // before the connection drops (as when a real connection dies mid-body).
    let stall = match fault.fault {
        TransportKind::ConnectionReset => Duration::from_millis(50),
        TransportKind::StallMidBody => {
            Duration::from_millis(fault.stall_ms.unwrap_or(TransportFault::DEFAULT_STALL_MS))
        }
    };
    let stream = futures::stream::unfold(0u8, move |stage| {
        let head = head.clone();
        let mut stopping_now = stopping.clone();
        async move {
            match stage {
                0 => Some((Ok::<Bytes, std::io::Error>(head), 1)),
                1 => {
                    tokio::select! {
                        () = tokio::time::sleep(stall) => {}
                        _ = stopping_now.wait_for(|stop| *stop) => {}
                    }
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "emulated connection reset",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    Body::from_stream(stream)
}
