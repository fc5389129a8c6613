//! The HTTP side: Bedrock Runtime's `POST /model/{modelId}/invoke` and
//! `POST /model/{modelId}/invoke-with-response-stream`, plus the emulator's own control
//! routes (`/_emulator/faults`, `/_emulator/stats`, `/_emulator/reset`), and the `Emulator`
//! handle tests use to run it in-process.
//!
//! Every answer carries `x-emulator-modelled-ms`: the call's modelled duration under the
//! model's latency profile (0 for errors). With the `realistic` profile a non-streaming
//! answer arrives after that time divided by the time scale, and a stream paces its events
//! the same way; with `instant` (the default) nothing waits.

use crate::answer;
use crate::cache::{CacheUsage, CachingRules, PromptCache};
use crate::claude::{self, ClaudeResponse};
use crate::error::{BedrockError, ErrorKind};
use crate::faults::{
    CallPlan, FaultPlan, FaultState, PlanError, StreamErrorFault, TransportFault, TransportKind,
};
use crate::latency::{self, LatencyFamily, LatencyProfile, LatencyTable, Pacing, TimeScale};
use crate::model::{self, Family, Model};
use crate::stats::{CallRecord, Stats};
use crate::stream;
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
    /// Whether answers wait out their modelled time.
    pub latency: LatencyProfile,
    /// Real wait = modelled time / this factor (realistic profile only).
    pub time_scale: TimeScale,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            faults: FaultPlan::default(),
            latency: LatencyProfile::Instant,
            time_scale: TimeScale::REAL_TIME,
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
    #[error(transparent)]
    Latency(#[from] latency::LatencyError),
    #[error(transparent)]
    Caching(#[from] crate::cache::CachingError),
}

#[derive(Debug)]
struct Shared {
    faults: Mutex<FaultState>,
    stats: Mutex<Stats>,
    rng: Mutex<StdRng>,
    cache: Mutex<PromptCache>,
    pacing: Pacing,
    latency: &'static LatencyTable,
    caching: &'static CachingRules,
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
        let latency = LatencyTable::builtin().map_err(Clone::clone)?;
        let caching = CachingRules::builtin().map_err(Clone::clone)?;
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
            cache: Mutex::new(PromptCache::default()),
            pacing: Pacing {
                profile: options.latency,
                time_scale: options.time_scale,
            },
            latency,
            caching,
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
        tracing::info!(
            %addr,
            latency = %options.latency,
            time_scale = options.time_scale.factor(),
            "bedrock emulator listening"
        );
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

async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Response {
    handle(shared, model_id, body, false).await
}

async fn invoke_stream(
    State(shared): State<Arc<Shared>>,
    Path(model_id): Path<String>,
    body: Bytes,
) -> Response {
    handle(shared, model_id, body, true).await
}

async fn handle(shared: Arc<Shared>, model_id: String, body: Bytes, streamed: bool) -> Response {
    let started = Instant::now();
    let request_id = shared.request_id();
    let resolved = model::resolve(&model_id);
    let family = resolved.as_ref().ok().map(Model::family);
    lock(&shared.stats).record_call(&model_id, family);
    let outcome = match resolved {
        Err(error) => Err((error, false)),
        Ok(model) => {
            let plan = lock(&shared.faults).next_call(model.family(), &model_id, Instant::now());
            if !plan.latency.is_zero() {
                tokio::time::sleep(plan.latency).await;
            }
            if streamed && model.family() == Family::Titan {
                Err((
                    BedrockError::validation("The model is unsupported for streaming."),
                    false,
                ))
            } else {
                run_model(&shared, &model_id, &model, &body, &plan).map(|success| (success, plan))
            }
        }
    };
    match outcome {
        Err((error, by_quota)) => {
            lock(&shared.stats).record_error(&model_id, error.kind, by_quota);
            tracing::info!(model_id, error = %error.kind, "invoke failed");
            error_response(&error, &model_id, &request_id)
        }
        Ok((success, plan)) => {
            {
                let mut stats = lock(&shared.stats);
                stats.record_success(
                    success.family,
                    CallRecord {
                        model_id: model_id.clone(),
                        streamed,
                        input_tokens: success.input_tokens,
                        output_tokens: success.output_tokens,
                        cache_read_input_tokens: success.cache.read,
                        cache_creation_input_tokens: success.cache.written,
                        modelled_ms: latency::millis(success.modelled),
                    },
                );
                if success.violated {
                    stats.violations += 1;
                }
                if plan.transport.is_some() {
                    stats.transport_faults += 1;
                }
            }
            tracing::info!(
                model_id,
                streamed,
                input_tokens = success.input_tokens,
                output_tokens = success.output_tokens,
                cache_read = success.cache.read,
                cache_write = success.cache.written,
                modelled_ms = latency::millis(success.modelled),
                "invoke succeeded"
            );
            if streamed {
                stream_response(shared, success, &request_id, started, plan)
            } else {
                let wait = shared.pacing.real(success.modelled);
                let mut stopping = shared.stopping.clone();
                tokio::select! {
                    () = tokio::time::sleep_until((success.model_started + wait).into()) => {}
                    _ = stopping.wait_for(|stop| *stop) => {}
                }
                success_response(
                    success,
                    &request_id,
                    started,
                    plan.transport,
                    shared.stopping.clone(),
                )
            }
        }
    }
}

struct Success {
    family: Family,
    body: Vec<u8>,
    /// The Claude answer, which a stream sends as events.
    claude: Option<ClaudeResponse>,
    input_tokens: u32,
    output_tokens: u32,
    cache: CacheUsage,
    violated: bool,
    /// When the model started (after any injected `latencyMs`).
    model_started: Instant,
    modelled: Duration,
    latency: Option<&'static LatencyFamily>,
    /// Output tokens the timing counts (`huge` answers are timed as if cut at `max_tokens`).
    timed_output_cap: u32,
}

fn run_model(
    shared: &Shared,
    model_id: &str,
    model: &Model,
    body: &[u8],
    plan: &CallPlan,
) -> Result<Success, (BedrockError, bool)> {
    let model_started = Instant::now();
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
    let latency = shared.latency.family_for(model_id);
    match model {
        Model::Claude(claude_model) => {
            let request = claude::parse_request(body, claude_model).map_err(|e| (e, false))?;
            let violation = plan.never_comply.or_else(|| {
                request
                    .is_first_attempt()
                    .then(|| lock(&shared.faults).first_attempt_violation())
                    .flatten()
            });
            let cache = match shared.caching.min_tokens_for(model_id) {
                Some(min_tokens) => {
                    // The TTL is modelled time: a scaled realistic run expires entries sooner.
                    let ttl = match shared.pacing.profile {
                        LatencyProfile::Instant => shared.caching.ttl(),
                        LatencyProfile::Realistic => shared
                            .caching
                            .ttl()
                            .div_f64(shared.pacing.time_scale.factor()),
                    };
                    lock(&shared.cache).apply(
                        &claude_model.name,
                        &request.prompt,
                        min_tokens,
                        ttl,
                        Instant::now(),
                    )
                }
                None => CacheUsage::default(),
            };
            let (response, violated) = match request.forced_tool() {
                Some(tool) => {
                    let answer = answer::answer_tool(&request, plan.output, violation)
                        .map_err(|e| internal(&e))?;
                    let response = claude::respond_tool(
                        &request,
                        claude_model,
                        tool,
                        answer.input,
                        answer.finish,
                        cache,
                        &mut *lock(&shared.rng),
                    );
                    (response, answer.violated)
                }
                None => {
                    let answer = answer::answer(&request, plan.output, violation)
                        .map_err(|e| internal(&e))?;
                    let response = claude::respond(
                        &request,
                        claude_model,
                        &answer.text,
                        answer.finish,
                        cache,
                        &mut *lock(&shared.rng),
                    );
                    (response, answer.violated)
                }
            };
            let body = serde_json::to_vec(&response).map_err(|e| internal(&e))?;
            let usage = response.usage;
            let timed_output_cap = request.max_tokens;
            let modelled = latency.map_or(Duration::ZERO, |l| {
                l.modelled(latency::Work {
                    prefill_tokens: usage.prefill_tokens(),
                    output_tokens: usage.output_tokens.min(timed_output_cap),
                })
            });
            Ok(Success {
                family: Family::Claude,
                body,
                claude: Some(response),
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                cache,
                violated,
                model_started,
                modelled,
                latency,
                timed_output_cap,
            })
        }
        Model::Titan(titan_model) => {
            let request = titan::parse_request(body, *titan_model).map_err(|e| (e, false))?;
            let response = titan::respond(&request, *titan_model);
            let body = serde_json::to_vec(&response).map_err(|e| internal(&e))?;
            let modelled = latency.map_or(Duration::ZERO, |l| {
                l.modelled(latency::Work {
                    prefill_tokens: response.input_text_token_count,
                    output_tokens: 0,
                })
            });
            Ok(Success {
                family: Family::Titan,
                body,
                claude: None,
                input_tokens: response.input_text_token_count,
                output_tokens: 0,
                cache: CacheUsage::default(),
                violated: false,
                model_started,
                modelled,
                latency,
                timed_output_cap: 0,
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
    headers.insert(MODELLED_MS, HeaderValue::from(0u64));
    response
}

/// The emulator's own header: the call's modelled duration in whole milliseconds.
const MODELLED_MS: HeaderName = HeaderName::from_static("x-emulator-modelled-ms");

fn success_response(
    success: Success,
    request_id: &str,
    started: Instant,
    transport: Option<TransportFault>,
    stopping: watch::Receiver<bool>,
) -> Response {
    let length = success.body.len();
    let modelled_ms = latency::millis(success.modelled);
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
    headers.insert(MODELLED_MS, HeaderValue::from(modelled_ms));
    response
}

/// A started `InvokeModelWithResponseStream` answer: 200 with event-stream frames sent by
/// a task that paces them (and injects any stream or transport fault).
fn stream_response(
    shared: Arc<Shared>,
    success: Success,
    request_id: &str,
    started: Instant,
    plan: CallPlan,
) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let modelled_ms = latency::millis(success.modelled);
    tokio::spawn(send_stream(shared, success, started, plan, sender));
    let frames = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let mut response = Response::new(Body::from_stream(frames));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    headers.insert(
        HeaderName::from_static("x-amzn-bedrock-content-type"),
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        HeaderName::from_static("x-amzn-requestid"),
        header_value(request_id),
    );
    headers.insert(MODELLED_MS, HeaderValue::from(modelled_ms));
    response
}

/// Sends the events of a stream at their modelled moments (scaled), then `message_stop`;
/// a `streamError` fault replaces the rest with an exception frame, a transport fault
/// breaks the connection after the first frame. Stops early when the client goes away or
/// the emulator shuts down.
async fn send_stream(
    shared: Arc<Shared>,
    success: Success,
    started: Instant,
    plan: CallPlan,
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let Some(response) = success.claude.as_ref() else {
        return;
    };
    let events = stream::events(response, success.latency, success.timed_output_cap);
    let break_at = plan.stream_error.as_ref().map(|fault| {
        fault
            .after_events
            .unwrap_or(StreamErrorFault::DEFAULT_AFTER_EVENTS)
            .min(events.len())
    });
    let mut stopping = shared.stopping.clone();
    let mut first_byte_ms = None;
    for (index, event) in events.iter().enumerate() {
        if break_at == Some(index) {
            break;
        }
        let due = success.model_started + shared.pacing.real(event.at);
        tokio::select! {
            () = tokio::time::sleep_until(due.into()) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
        let frame = match stream::chunk_frame(&event.event) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::error!(%error, "emulator failure");
                return;
            }
        };
        if sender.send(Ok(frame)).await.is_err() {
            return;
        }
        first_byte_ms.get_or_insert_with(|| latency::millis(started.elapsed()));
        if let Some(fault) = plan.transport.as_ref().filter(|_| index == 0) {
            let stall = match fault.fault {
                TransportKind::ConnectionReset => Duration::from_millis(50),
                TransportKind::StallMidBody => Duration::from_millis(
                    fault.stall_ms.unwrap_or(TransportFault::DEFAULT_STALL_MS),
                ),
            };
            tokio::select! {
                () = tokio::time::sleep(stall) => {}
                _ = stopping.wait_for(|stop| *stop) => {}
            }
            let _ = sender
                .send(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "emulated connection reset",
                )))
                .await;
            return;
        }
    }
    let last = match plan.stream_error.as_ref().filter(|_| break_at.is_some()) {
        Some(fault) => {
            lock(&shared.stats).stream_errors += 1;
            stream::exception_frame(fault.error, fault.message.as_deref())
        }
        None => stream::chunk_frame(&stream::message_stop(
            &response.usage,
            latency::millis(started.elapsed()),
            first_byte_ms.unwrap_or(0),
        )),
    };
    match last {
        Ok(frame) => {
            let _ = sender.send(Ok(frame)).await;
        }
        Err(error) => tracing::error!(%error, "emulator failure"),
    }
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
