//! The Lambda Runtime API (version 2018-06-01) served on `127.0.0.1`: the endpoints a
//! bootstrap polls for events and posts results to, backed by an in-memory queue.
//!
//! A response may be posted whole or in the streaming mode (`Lambda-Runtime-Function-
//! Response-Mode: streaming`, chunked): then each chunk's arrival time is recorded, an
//! `application/vnd.awslambda.http-integration-response` body is split into its JSON
//! prelude and the body after the 8 NUL bytes, and an error reported in the trailers
//! (`Lambda-Runtime-Function-Error-Type` / `-Body`) is kept.

use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    body::{Body, Bytes},
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::json;
use tokio::{
    sync::{mpsc, oneshot, watch},
    task::JoinHandle,
};

use crate::RunnerError;

/// Lambda's limit for a synchronous response payload.
const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// Lambda's (soft) limit for a streamed response.
const MAX_STREAMED_BYTES: usize = 20 * 1024 * 1024;

/// The content type of a streamed HTTP response: JSON prelude, 8 NUL bytes, body.
pub const HTTP_INTEGRATION_RESPONSE: &str = "application/vnd.awslambda.http-integration-response";
const PRELUDE_DELIMITER: &[u8] = &[0; 8];

const REQUEST_ID: HeaderName = HeaderName::from_static("lambda-runtime-aws-request-id");
const DEADLINE_MS: HeaderName = HeaderName::from_static("lambda-runtime-deadline-ms");
const FUNCTION_ARN: HeaderName = HeaderName::from_static("lambda-runtime-invoked-function-arn");
const TRACE_ID: HeaderName = HeaderName::from_static("lambda-runtime-trace-id");
const ERROR_TYPE: HeaderName = HeaderName::from_static("lambda-runtime-function-error-type");
const ERROR_BODY: HeaderName = HeaderName::from_static("lambda-runtime-function-error-body");
const RESPONSE_MODE: HeaderName = HeaderName::from_static("lambda-runtime-function-response-mode");

/// What the function reported on `/init/error`.
#[derive(Debug, Clone)]
pub(crate) struct InitErrorReport {
    pub(crate) error_type: Option<String>,
    pub(crate) message: String,
}

/// One piece of a streamed response body, as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct ArrivedChunk {
    pub(crate) at: Instant,
    pub(crate) bytes: Bytes,
}

/// A response posted in the streaming mode.
#[derive(Debug)]
pub(crate) struct StreamedPost {
    pub(crate) content_type: Option<String>,
    /// Everything posted, prelude included, as the chunks arrived.
    pub(crate) chunks: Vec<ArrivedChunk>,
    /// `(error type, error body)` from the trailers.
    pub(crate) trailer_error: Option<(String, String)>,
    /// The body could not be read to its end (connection reset, over the size limit).
    pub(crate) broken: Option<String>,
}

/// How an invocation ended, as posted by the function.
#[derive(Debug)]
pub(crate) enum Completion {
    Response(Bytes),
    Streamed(StreamedPost),
    Error {
        error_type: String,
        error_message: String,
        body: Bytes,
    },
}

/// A completion with the two moments that bound the round trip.
#[derive(Debug)]
pub(crate) struct Completed {
    pub(crate) completion: Completion,
    pub(crate) handed_out_at: Instant,
    pub(crate) posted_at: Instant,
}

struct QueuedEvent {
    request_id: String,
    body: Bytes,
    deadline_epoch_ms: u64,
}

struct InFlight {
    handed_out_at: Option<Instant>,
    done: oneshot::Sender<Completed>,
}

struct ApiState {
    queue_tx: mpsc::UnboundedSender<QueuedEvent>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<QueuedEvent>>,
    in_flight: Mutex<HashMap<String, InFlight>>,
    first_poll: watch::Sender<Option<Instant>>,
    init_error: watch::Sender<Option<InitErrorReport>>,
    function_arn: HeaderValue,
}

impl ApiState {
    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, InFlight>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running Runtime API server; stops serving when dropped.
pub(crate) struct RuntimeApi {
    state: Arc<ApiState>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RuntimeApi {
    /// Binds an ephemeral loopback port and starts serving.
    pub(crate) async fn start(function_arn: &str) -> Result<Self, RunnerError> {
        let function_arn = HeaderValue::from_str(function_arn).map_err(|_| {
            RunnerError::InvalidOption(format!(
                "function ARN {function_arn:?} is not a valid header"
            ))
        })?;
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let state = Arc::new(ApiState {
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            in_flight: Mutex::new(HashMap::new()),
            first_poll: watch::Sender::new(None),
            init_error: watch::Sender::new(None),
            function_arn,
        });
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(RunnerError::Server)?;
        let addr = listener.local_addr().map_err(RunnerError::Server)?;
        let app = router(Arc::clone(&state));
        let server = tokio::spawn(async move {
            // Serving only ends with an accept error on a loopback listener; the function
            // then sees its connection refused and exits, which the runner reports.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            state,
            addr,
            server,
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues an event for the next `GET /next`; the receiver resolves when the function
    /// posts its response or error.
    pub(crate) fn enqueue(
        &self,
        request_id: &str,
        body: Bytes,
        deadline_epoch_ms: u64,
    ) -> oneshot::Receiver<Completed> {
        let (done, completed) = oneshot::channel();
        self.state.in_flight().insert(
            request_id.to_owned(),
            InFlight {
                handed_out_at: None,
                done,
            },
        );
        // The receiver lives in `state`, which this struct keeps alive, so sending cannot fail.
        let _ = self.state.queue_tx.send(QueuedEvent {
            request_id: request_id.to_owned(),
            body,
            deadline_epoch_ms,
        });
        completed
    }

    /// Drops an invocation the caller gave up on: later posts for it get 400 and, if it
    /// was not handed out yet, it never will be.
    pub(crate) fn forget(&self, request_id: &str) {
        self.state.in_flight().remove(request_id);
    }

    /// Set to the moment of the first `GET /next`.
    pub(crate) fn first_poll(&self) -> watch::Receiver<Option<Instant>> {
        self.state.first_poll.subscribe()
    }

    /// Set when the function posts `/init/error`.
    pub(crate) fn init_error(&self) -> watch::Receiver<Option<InitErrorReport>> {
        self.state.init_error.subscribe()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/response",
            post(invocation_response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .fallback(unknown_route)
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES))
        .with_state(state)
}

async fn next_invocation(State(state): State<Arc<ApiState>>) -> Response {
    state.first_poll.send_if_modified(|first| {
        let unset = first.is_none();
        if unset {
            *first = Some(Instant::now());
        }
        unset
    });
    let mut queue = state.queue_rx.lock().await;
    loop {
        let Some(event) = queue.recv().await else {
            return api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "event queue closed",
            );
        };
        let handed_out = state
            .in_flight()
            .get_mut(&event.request_id)
            .map(|in_flight| in_flight.handed_out_at = Some(Instant::now()))
            .is_some();
        // An event whose caller already gave up is skipped, as Lambda would not deliver it.
        if handed_out {
            return event_response(&state, event);
        }
    }
}

fn event_response(state: &ApiState, event: QueuedEvent) -> Response {
    let mut headers = HeaderMap::new();
    let request_id = HeaderValue::from_str(&event.request_id);
    let trace_id = HeaderValue::from_str(&trace_id_for(&event.request_id));
    let (Ok(request_id), Ok(trace_id)) = (request_id, trace_id) else {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "request id is not a header value",
        );
    };
    headers.insert(REQUEST_ID, request_id);
    headers.insert(DEADLINE_MS, HeaderValue::from(event.deadline_epoch_ms));
    headers.insert(FUNCTION_ARN, state.function_arn.clone());
    headers.insert(TRACE_ID, trace_id);
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (StatusCode::OK, headers, event.body).into_response()
}

async fn invocation_response(
    State(state): State<Arc<ApiState>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let streaming = headers
        .get(RESPONSE_MODE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|mode| mode.eq_ignore_ascii_case("streaming"));
    if streaming {
        let post = read_streamed(&headers, body).await;
        return complete(&state, &request_id, Completion::Streamed(post));
    }
    match axum::body::to_bytes(body, MAX_PAYLOAD_BYTES).await {
        Ok(body) => complete(&state, &request_id, Completion::Response(body)),
        Err(_) => api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "the response is over Lambda's 6 MB limit for a buffered response",
        ),
    }
}

/// Reads a streamed post frame by frame, stamping each data frame with its arrival.
async fn read_streamed(headers: &HeaderMap, body: Body) -> StreamedPost {
    use http_body_util::BodyExt;
    let mut post = StreamedPost {
        content_type: headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        chunks: Vec::new(),
        trailer_error: None,
        broken: None,
    };
    let mut body = body;
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(err) => {
                post.broken = Some(format!("the streamed body broke off: {err}"));
                break;
            }
        };
        let frame = match frame.into_data() {
            Ok(data) => {
                total += data.len();
                if total > MAX_STREAMED_BYTES {
                    post.broken = Some("the streamed response is over 20 MB".to_owned());
                    break;
                }
                if !data.is_empty() {
                    post.chunks.push(ArrivedChunk {
                        at: Instant::now(),
                        bytes: data,
                    });
                }
                continue;
            }
            Err(frame) => frame,
        };
        if let Ok(trailers) = frame.into_trailers() {
            let read = |name: &HeaderName| {
                trailers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            if let Some(error_type) = read(&ERROR_TYPE) {
                let body = read(&ERROR_BODY).unwrap_or_default();
                post.trailer_error = Some((error_type, decode_error_body(&body)));
            }
        }
    }
    post
}

/// The trailer's error body is base64 (of the error document) in Lambda's runtimes; a
/// runtime that sends it plain is read as is.
fn decode_error_body(raw: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| raw.to_owned())
}

/// Splits an http-integration-response body into its JSON prelude and the body after the
/// 8 NUL bytes; `None` when the delimiter never came (a malformed stream).
pub(crate) fn split_prelude(all: &[u8]) -> Option<(&[u8], usize)> {
    let at = all
        .windows(PRELUDE_DELIMITER.len())
        .position(|window| window == PRELUDE_DELIMITER)?;
    Some((&all[..at], at + PRELUDE_DELIMITER.len()))
}

/// The error document runtimes post; every field is optional in practice.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDocument {
    error_message: Option<String>,
    error_type: Option<String>,
}

/// Reads an error post: the body's `errorType` wins over the header, as in Lambda's
/// own invoke result, and a non-JSON body becomes the message.
fn read_error_post(headers: &HeaderMap, body: &[u8]) -> (Option<String>, String) {
    let header_type = headers
        .get(ERROR_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    match serde_json::from_slice::<ErrorDocument>(body) {
        Ok(document) => (
            document.error_type.or(header_type),
            document.error_message.unwrap_or_default(),
        ),
        Err(_) => (header_type, String::from_utf8_lossy(body).into_owned()),
    }
}

async fn invocation_error(
    State(state): State<Arc<ApiState>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, error_message) = read_error_post(&headers, &body);
    let completion = Completion::Error {
        error_type: error_type.unwrap_or_else(|| "Unhandled".to_owned()),
        error_message,
        body,
    };
    complete(&state, &request_id, completion)
}

fn complete(state: &ApiState, request_id: &str, completion: Completion) -> Response {
    let posted_at = Instant::now();
    let in_flight = {
        let mut map = state.in_flight();
        match map.get(request_id) {
            Some(InFlight {
                handed_out_at: Some(_),
                ..
            }) => map.remove(request_id),
            _ => None,
        }
    };
    let Some(InFlight {
        handed_out_at: Some(handed_out_at),
        done,
    }) = in_flight
    else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("no invocation {request_id} is waiting for an answer"),
        );
    };
    // The invoker may have been cancelled meanwhile; the function still gets its 202.
    let _ = done.send(Completed {
        completion,
        handed_out_at,
        posted_at,
    });
    accepted()
}

async fn init_error(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, message) = read_error_post(&headers, &body);
    state.init_error.send_replace(Some(InitErrorReport {
        error_type,
        message,
    }));
    accepted()
}

async fn unknown_route() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "unknown Runtime API route",
    )
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({"status": "OK"}))).into_response()
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

/// Milliseconds since the Unix epoch, the unit of `Lambda-Runtime-Deadline-Ms`.
pub(crate) fn epoch_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// A fresh request id shaped like Lambda's (a version-4 style UUID); unique within the
/// process thanks to the counter, and across runs thanks to the clock.
pub(crate) fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let time_bits = (nanos & u128::from(u64::MAX)) as u64;
    let process_bits = u64::from(std::process::id());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        time_bits >> 32,
        (time_bits >> 16) & 0xffff,
        time_bits & 0xfff,
        0x8000 | (process_bits & 0x3fff),
        count & 0xffff_ffff_ffff
    )
}

/// An X-Ray style trace header derived from the request id, stable per invocation.
fn trace_id_for(request_id: &str) -> String {
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let epoch_seconds = epoch_ms_now() / 1000;
    let tail = hex.get(hex.len().saturating_sub(24)..).unwrap_or_default();
    format!("Root=1-{epoch_seconds:08x}-{tail:0>24};Sampled=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prelude_ends_at_eight_nul_bytes() {
        let mut posted =
            br#"{"statusCode":200,"headers":{"content-type":"text/event-stream"}}"#.to_vec();
        let prelude_len = posted.len();
        posted.extend_from_slice(&[0; 8]);
        posted.extend_from_slice(b"event: attempt\n");
        let (prelude, body_at) = split_prelude(&posted).unwrap();
        assert_eq!(prelude.len(), prelude_len);
        assert_eq!(&posted[body_at..], b"event: attempt\n");
        assert!(split_prelude(b"{\"statusCode\":200}\0\0\0").is_none());
        assert_eq!(decode_error_body("eyJhIjoxfQ=="), "{\"a\":1}");
        assert_eq!(decode_error_body("plain words"), "plain words");
    }

    #[test]
    fn request_ids_are_uuid_shaped_and_distinct() {
        let first = new_request_id();
        let second = new_request_id();
        assert_ne!(first, second);
        let groups: Vec<usize> = first.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(first.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn trace_ids_follow_the_xray_shape() {
        let trace = trace_id_for("8476a536-e9f4-11e8-9739-2dfe598c3fcd");
        assert!(trace.starts_with("Root=1-"));
        assert!(
            trace.ends_with("-e9f411e897392dfe598c3fcd;Sampled=0"),
            "{trace}"
        );
    }

    #[test]
    fn error_posts_prefer_the_body_type_and_tolerate_junk() {
        let mut headers = HeaderMap::new();
        headers.insert(ERROR_TYPE, HeaderValue::from_static("Unhandled"));
        let body =
            br#"{"errorType":"ConfigError","errorMessage":"MODEL_ID is missing","stackTrace":[]}"#;
        assert_eq!(
            read_error_post(&headers, body),
            (
                Some("ConfigError".to_owned()),
                "MODEL_ID is missing".to_owned()
            )
        );
        assert_eq!(
            read_error_post(&headers, b"not json"),
            (Some("Unhandled".to_owned()), "not json".to_owned())
        );
        assert_eq!(
            read_error_post(&HeaderMap::new(), b"{}"),
            (None, String::new())
        );
    }
}
