//! A deliberately misbehaving Lambda function for the runner's own tests. `FIXTURE_MODE`
//! picks the misbehaviour:
//! - `handler-error`: every invocation fails with a typed error;
//! - `sleep`: waits `FIXTURE_SLEEP_MS` before echoing (to overrun a deadline);
//! - `exit-in-handler`: the process exits while handling an event;
//! - `context`: answers with the invocation context and the Lambda environment it saw;
//! - `init-exit`: exits with status 3 before asking for an event, as a bad config would;
//! - `init-error-post`: reports `/init/error` itself, then exits;
//! - `idle`: never asks for an event, so a test can play the runtime side itself.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
#[error("recipe model refused: {0}")]
struct RecipeRefused(String);

impl From<RecipeRefused> for Diagnostic {
    fn from(error: RecipeRefused) -> Self {
        Diagnostic {
            error_type: "RecipeRefused".to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum FixtureError {
    #[error("FIXTURE_MODE {0:?} is not a known mode")]
    UnknownMode(String),
    #[error("FIXTURE_SLEEP_MS must be a number of milliseconds")]
    BadSleep,
    #[error("AWS_LAMBDA_RUNTIME_API is not set")]
    NoRuntimeApi,
    #[error("posting /init/error failed: {0}")]
    Post(#[from] std::io::Error),
}

const ENV_SHOWN: &[&str] = &[
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_EC2_METADATA_DISABLED",
    "FIXTURE_EXTRA",
    "HOME",
];

async fn context(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let env: serde_json::Map<String, Value> = ENV_SHOWN
        .iter()
        .map(|key| {
            (
                (*key).to_owned(),
                std::env::var(key).map_or(Value::Null, Value::String),
            )
        })
        .collect();
    Ok(json!({
        "requestId": event.context.request_id,
        "deadlineMs": event.context.deadline,
        "functionArn": event.context.invoked_function_arn,
        "traceId": event.context.xray_trace_id,
        "env": env,
        "event": event.payload,
    }))
}

async fn refuse(event: LambdaEvent<Value>) -> Result<Value, RecipeRefused> {
    Err(RecipeRefused(format!("no recipe for {}", event.payload)))
}

async fn exit_mid_invocation(_: LambdaEvent<Value>) -> Result<Value, Error> {
    eprintln!("fixture: exiting mid-invocation");
    std::process::exit(4)
}

/// Posts `/init/error` over a bare HTTP/1.1 connection, as a runtime without a client
/// library would.
fn post_init_error() -> Result<(), FixtureError> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| FixtureError::NoRuntimeApi)?;
    let body = r#"{"errorType":"Runtime.ConfigError","errorMessage":"MODEL_ID is not set"}"#;
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: Runtime.ConfigError\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(&api)?;
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mode = std::env::var("FIXTURE_MODE").unwrap_or_default();
    match mode.as_str() {
        "handler-error" => lambda_runtime::run(service_fn(refuse)).await,
        "context" => lambda_runtime::run(service_fn(context)).await,
        "sleep" => {
            let sleep_ms: u64 = std::env::var("FIXTURE_SLEEP_MS")
                .ok()
                .and_then(|ms| ms.parse().ok())
                .ok_or(FixtureError::BadSleep)?;
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
                Ok::<Value, Error>(event.payload)
            }))
            .await
        }
        "exit-in-handler" => lambda_runtime::run(service_fn(exit_mid_invocation)).await,
        "init-exit" => {
            eprintln!("fixture: init failed: MODEL_ID is not set");
            std::process::exit(3);
        }
        "init-error-post" => {
            post_init_error()?;
            std::process::exit(1);
        }
        "idle" => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            Ok(())
        }
        other => Err(FixtureError::UnknownMode(other.to_owned()).into()),
    }
}
