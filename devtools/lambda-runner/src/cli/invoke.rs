//! `lambda-runner invoke`: runs a function once over a list of event files and prints
//! each answer, like `sam local invoke` without containers.
//!
//! A buffered answer is printed as the function posted it. An answer posted in the Runtime
//! API's streaming mode is printed as the function URL would answer it (`statusCode`,
//! `headers`, `body`) with a `streamed` object holding when each part of the body arrived,
//! so a caller (the end-to-end benchmark) can time the events inside the stream.

use std::path::PathBuf;

use lambda_runner::{FunctionProcess, Invocation, Outcome, OutputMode};
use serde_json::{json, Value};

use super::{
    args::InvokeArgs, binary_label, report::pretty_json, spawn_options, EXIT_FUNCTION_ERROR,
    EXIT_RUNNER,
};

pub async fn run(args: InvokeArgs) -> u8 {
    let mut events: Vec<(PathBuf, Vec<u8>)> = Vec::with_capacity(args.events.len());
    for path in &args.events {
        match std::fs::read(path) {
            Ok(bytes) => events.push((path.clone(), bytes)),
            Err(error) => {
                eprintln!("lambda-runner: cannot read {}: {error}", path.display());
                return EXIT_RUNNER;
            }
        }
    }
    let label = binary_label(&args.function.bin);
    let options = spawn_options(&args.function, &args.function.bin, OutputMode::Stderr);
    let mut function = match FunctionProcess::spawn(options).await {
        Ok(function) => function,
        Err(error) => {
            eprintln!("lambda-runner: {error}");
            return EXIT_RUNNER;
        }
    };
    match function.wait_ready(args.function.ready_timeout).await {
        Ok(init) => eprintln!(
            "lambda-runner: {label} ready after {:.1} ms",
            init.as_secs_f64() * 1e3
        ),
        Err(error) => {
            eprintln!("lambda-runner: {label}: {error}");
            return EXIT_RUNNER;
        }
    }
    let mut exit_code = 0;
    for (path, event) in events {
        let invocation = match function.invoke_bytes(event, args.timeout).await {
            Ok(invocation) => invocation,
            Err(error) => {
                eprintln!("lambda-runner: {label} with {}: {error}", path.display());
                return EXIT_RUNNER;
            }
        };
        let verdict = match &invocation.outcome {
            Outcome::Response(_) => "response",
            Outcome::Error { .. } => {
                exit_code = EXIT_FUNCTION_ERROR;
                "error"
            }
        };
        eprintln!(
            "lambda-runner: {label} with {}: {verdict} in {:.2} ms (request {})",
            path.display(),
            invocation.round_trip.as_secs_f64() * 1e3,
            invocation.request_id
        );
        if let Some(document) = streamed_document(&invocation) {
            println!("{document:#}");
            continue;
        }
        match pretty_json(&invocation.raw_body) {
            Ok(pretty) => println!("{pretty}"),
            Err(_) => println!("{}", String::from_utf8_lossy(&invocation.raw_body)),
        }
    }
    if let Err(error) = function.shutdown().await {
        eprintln!("lambda-runner: stopping {label}: {error}");
    }
    exit_code
}

/// A streamed answer as one JSON document: the function URL's view of it (status, headers,
/// body) and, under `streamed`, the post's content type, the round trip, each body chunk's
/// `[offset, milliseconds since the event was handed out]` and any error the trailers reported.
/// `None` for a buffered answer.
fn streamed_document(invocation: &Invocation) -> Option<Value> {
    let stream = invocation.stream.as_ref()?;
    let millis = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let headers = stream
        .prelude
        .as_ref()
        .and_then(|p| p.get("headers"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let arrivals: Vec<Value> = stream
        .arrivals
        .iter()
        .map(|(offset, after)| json!([offset, millis(*after)]))
        .collect();
    let trailer_error = stream
        .trailer_error
        .as_ref()
        .map(|(error_type, body)| json!({"errorType": error_type, "body": body}));
    Some(json!({
        "statusCode": stream.status_code(),
        "headers": headers,
        "body": String::from_utf8_lossy(&stream.body),
        "streamed": {
            "contentType": stream.content_type,
            "roundTripMs": millis(invocation.round_trip),
            "arrivals": arrivals,
            "trailerError": trailer_error,
        },
    }))
}
