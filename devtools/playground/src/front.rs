//! The local HTTP front: the contract's routes as API Gateway would route them to the three
//! functions, the function URL of generate-recipe under `/lambda-url`, the OpenAPI document,
//! and the playground page (plain HTML, CSS and JavaScript, served as they are in the repo).

use crate::events::{request_event, response_from_payload, Front, HttpAnswer, HttpCall};
use crate::functions::{Function, Invoked};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;

/// API Gateway HTTP API's payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

const INDEX_HTML: &str = include_str!("../static/index.html");
const APP_JS: &str = include_str!("../static/app.js");
const STYLE_CSS: &str = include_str!("../static/style.css");

/// The three functions behind the front.
#[derive(Debug)]
pub struct Functions {
    pub generate_recipe: Function,
    pub embed_text: Function,
    pub batch_dispatcher: Function,
}

#[derive(Debug, Clone)]
struct AppState {
    functions: Arc<Functions>,
    openapi: Arc<String>,
}

/// The router; `openapi` is the document text served at `/openapi.json`.
pub fn router(functions: Arc<Functions>, openapi: String) -> Router {
    let state = AppState {
        functions,
        openapi: Arc::new(openapi),
    };
    Router::new()
        .route(
            "/",
            get(|| async { page("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { page("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { page("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/openapi.json", get(openapi_document))
        .route("/recipes", any(recipes))
        .route("/recipes/{request_id}", any(recipe_status))
        .route("/embeddings", any(embeddings))
        .route("/batches", any(batches))
        .route("/batches/{job_id}", any(batch_job))
        .route("/lambda-url/{*rest}", any(function_url))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES))
        .with_state(state)
}

fn page(content_type: &'static str, text: &'static str) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

async fn openapi_document(State(state): State<AppState>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
        .into_response()
}

/// What API Gateway answers when no route matches.
async fn not_found() -> Response {
    into_response(HttpAnswer::gateway(StatusCode::NOT_FOUND, "Not Found"))
}

/// What API Gateway answers for a body over its payload limit.
fn too_large() -> Response {
    into_response(HttpAnswer::gateway(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request Entity Too Large",
    ))
}

/// The decoded last segment of `path` after `prefix`, as API Gateway fills `pathParameters`.
fn path_parameter(path: &str, prefix: &str) -> String {
    let raw = path.strip_prefix(prefix).unwrap_or("");
    crate::events::percent_decode_path(raw)
}

/// The parts of a request every route needs.
struct Incoming {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    peer: SocketAddr,
}

impl Incoming {
    fn call(&self, path: &str) -> HttpCall {
        HttpCall {
            method: self.method.clone(),
            path: path.to_owned(),
            query: self.uri.query().unwrap_or("").to_owned(),
            headers: self.headers.clone(),
            body: self.body.to_vec(),
            source_ip: self.peer.ip().to_string(),
        }
    }
}

async fn dispatch(
    function: &Function,
    incoming: &Incoming,
    path: &str,
    front: Front,
    path_parameters: &[(&str, &str)],
) -> Response {
    let event = request_event(&incoming.call(path), front, path_parameters);
    let answer = match function.invoke(event).await {
        Invoked::Answer(payload) => response_from_payload(&payload),
        Invoked::Failed(answer) => answer,
    };
    into_response(answer)
}

fn into_response(answer: HttpAnswer) -> Response {
    let mut builder = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Body::from(answer.body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Routes with no matching method answer as API Gateway does for an unknown route.
macro_rules! incoming {
    ($method:ident, $uri:ident, $headers:ident, $body:ident, $peer:ident) => {
        Incoming {
            method: $method,
            uri: $uri,
            headers: $headers,
            body: $body,
            peer: $peer,
        }
    };
}

async fn recipes(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return too_large();
    };
    if method != Method::POST {
        return not_found().await;
    }
    let incoming = incoming!(method, uri, headers, body, peer);
    dispatch(
        &state.functions.generate_recipe,
        &incoming,
        "/recipes",
        Front::HttpApi {
            route_key: "POST /recipes",
        },
        &[],
    )
    .await
}

async fn recipe_status(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return too_large();
    };
    if method != Method::GET {
        return not_found().await;
    }
    let path = uri.path().to_owned();
    let request_id = path_parameter(&path, "/recipes/");
    let incoming = incoming!(method, uri, headers, body, peer);
    dispatch(
        &state.functions.generate_recipe,
        &incoming,
        &path,
        Front::HttpApi {
            route_key: "GET /recipes/{requestId}",
        },
        &[("requestId", &request_id)],
    )
    .await
}

async fn embeddings(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return too_large();
    };
    if method != Method::POST {
        return not_found().await;
    }
    let incoming = incoming!(method, uri, headers, body, peer);
    dispatch(
        &state.functions.embed_text,
        &incoming,
        "/embeddings",
        Front::HttpApi {
            route_key: "POST /embeddings",
        },
        &[],
    )
    .await
}

async fn batches(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return too_large();
    };
    if method != Method::POST {
        return not_found().await;
    }
    let incoming = incoming!(method, uri, headers, body, peer);
    dispatch(
        &state.functions.batch_dispatcher,
        &incoming,
        "/batches",
        Front::HttpApi {
            route_key: "POST /batches",
        },
        &[],
    )
    .await
}

async fn batch_job(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return too_large();
    };
    if method != Method::GET {
        return not_found().await;
    }
    let path = uri.path().to_owned();
    let job_id = path_parameter(&path, "/batches/");
    let incoming = incoming!(method, uri, headers, body, peer);
    dispatch(
        &state.functions.batch_dispatcher,
        &incoming,
        &path,
        Front::HttpApi {
            route_key: "GET /batches/{jobId}",
        },
        &[("jobId", &job_id)],
    )
    .await
}

/// generate-recipe's function URL: every method and path reaches the function (route key
/// `$default`), with the path below `/lambda-url` as the function URL's own path.
async fn function_url(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return too_large();
    };
    let path = uri
        .path()
        .strip_prefix("/lambda-url")
        .unwrap_or("/")
        .to_owned();
    let incoming = incoming!(method, uri, headers, body, peer);
    dispatch(
        &state.functions.generate_recipe,
        &incoming,
        &path,
        Front::FunctionUrl,
        &[],
    )
    .await
}
