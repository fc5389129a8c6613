//! Drives real bootstrap binaries (the echo and fixture functions built with this crate)
//! through the runner: init timing, round trips, error outcomes, init failures,
//! timeouts, crashes and cleanup.

// clippy.toml allows these inside #[test] functions only; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use lambda_runner::{FunctionProcess, Outcome, OutputMode, RunnerError, SpawnOptions};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const READY: Duration = Duration::from_secs(20);
const INVOKE: Duration = Duration::from_secs(10);

fn echo() -> SpawnOptions {
    SpawnOptions::new(env!("CARGO_BIN_EXE_echo-function")).output(OutputMode::Quiet)
}

fn fixture(mode: &str) -> SpawnOptions {
    SpawnOptions::new(env!("CARGO_BIN_EXE_fixture-function"))
        .output(OutputMode::Quiet)
        .env("FIXTURE_MODE", mode)
}

async fn ready(options: SpawnOptions) -> FunctionProcess {
    let mut function = FunctionProcess::spawn(options).await.unwrap();
    function.wait_ready(READY).await.unwrap();
    function
}

fn process_is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(status) => status
            .lines()
            .any(|line| line.starts_with("State:") && line.contains('Z')),
    }
}

async fn wait_until_gone(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if process_is_gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// One HTTP/1.1 request over a fresh connection; returns status, header block and body.
async fn raw_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

async fn raw_post(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, String) {
    let (status, _, body) = raw_request(addr, "POST", path, body).await;
    (status, body)
}

#[tokio::test]
async fn echo_reports_init_time_and_round_trips() {
    let started = Instant::now();
    let mut function = FunctionProcess::spawn(echo()).await.unwrap();
    let init = function.wait_ready(READY).await.unwrap();
    assert!(
        init > Duration::ZERO && init <= started.elapsed(),
        "init {init:?}"
    );
    assert_eq!(function.ready_after(), Some(init));
    // A second wait returns the same measured figure.
    assert_eq!(function.wait_ready(READY).await.unwrap(), init);

    let event = json!({"target": "keto", "servings": 2, "nested": {"list": [1, "두", null]}});
    let first = function.invoke(event.clone(), INVOKE).await.unwrap();
    assert_eq!(first.outcome, Outcome::Response(event));
    assert!(first.round_trip > Duration::ZERO && first.round_trip < INVOKE);

    let second = function
        .invoke(json!("just a string"), INVOKE)
        .await
        .unwrap();
    assert_eq!(second.outcome, Outcome::Response(json!("just a string")));
    assert_eq!(&second.raw_body[..], b"\"just a string\"");
    assert_ne!(first.request_id, second.request_id);

    let peak = function.peak_rss_kib();
    if cfg!(target_os = "linux") {
        assert!(peak.is_some_and(|kib| kib > 100), "peak RSS {peak:?}");
    }
    let status = function.shutdown().await.unwrap();
    assert!(
        !status.success(),
        "killed processes do not exit successfully"
    );
}

#[tokio::test]
async fn the_runtime_api_speaks_the_lambda_protocol() {
    // The idle fixture never polls, so this test plays the runtime by hand.
    let mut function = FunctionProcess::spawn(fixture("idle")).await.unwrap();
    let init = function.wait_ready(Duration::from_millis(200)).await;
    assert!(
        matches!(init, Err(RunnerError::InitTimeout { .. })),
        "{init:?}"
    );
    let addr = function.runtime_api_addr();
    let event = br#"{"z": 1,  "a": [true, 2.5], "s": "\u00e9"}"#;

    let runtime_side = async {
        let (status, headers, body) =
            raw_request(addr, "GET", "/2018-06-01/runtime/invocation/next", "").await;
        assert_eq!(status, 200);
        assert_eq!(
            body.as_bytes(),
            event,
            "the event must be handed out byte for byte"
        );
        let header =
            |name: &str| header_value(&headers, name).unwrap_or_else(|| panic!("no {name} header"));
        let request_id = header("lambda-runtime-aws-request-id");
        let deadline: u64 = header("lambda-runtime-deadline-ms").parse().unwrap();
        assert!(
            deadline > 1_600_000_000_000,
            "deadline {deadline} is not epoch milliseconds"
        );
        assert!(
            header("lambda-runtime-invoked-function-arn").ends_with(":function:fixture-function")
        );
        assert!(header("lambda-runtime-trace-id").starts_with("Root=1-"));

        let path = format!("/2018-06-01/runtime/invocation/{request_id}/response");
        let (status, _, body) = raw_request(addr, "POST", &path, r#"{"b":2,"a":1}"#).await;
        assert_eq!(status, 202);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"status": "OK"})
        );
        // A second answer for the same invocation is refused.
        let (status, _, _) = raw_request(addr, "POST", &path, "{}").await;
        assert_eq!(status, 400);
        request_id
    };
    let (invocation, request_id) =
        tokio::join!(function.invoke_bytes(&event[..], INVOKE), runtime_side);
    let invocation = invocation.unwrap();
    assert_eq!(invocation.request_id, request_id);
    assert_eq!(&invocation.raw_body[..], br#"{"b":2,"a":1}"#);
    assert_eq!(
        invocation.outcome,
        Outcome::Response(json!({"a": 1, "b": 2}))
    );

    let runtime_side = async {
        let (_, headers, _) =
            raw_request(addr, "GET", "/2018-06-01/runtime/invocation/next", "").await;
        let request_id = header_value(&headers, "lambda-runtime-aws-request-id").unwrap();
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/error");
        let error = r#"{"errorMessage":"budget too low","errorType":"ValidationError","stackTrace":["a","b"]}"#;
        let (status, _, _) = raw_request(addr, "POST", &path, error).await;
        assert_eq!(status, 202);
    };
    let (invocation, ()) = tokio::join!(function.invoke(json!({"n": 2}), INVOKE), runtime_side);
    let invocation = invocation.unwrap();
    assert_eq!(
        invocation.outcome,
        Outcome::Error {
            error_type: "ValidationError".into(),
            error_message: "budget too low".into()
        }
    );
    assert!(invocation.raw_body.ends_with(br#""stackTrace":["a","b"]}"#));
    let not_json = function.invoke_bytes(&b"{not json"[..], INVOKE).await;
    assert!(matches!(not_json, Err(RunnerError::InvalidEvent(_))));
}

#[tokio::test]
async fn context_headers_and_environment_reach_the_function() {
    let options = fixture("context")
        .function_name("generate-recipe")
        .env("AWS_REGION", "ap-northeast-2")
        .env("FIXTURE_EXTRA", "yes");
    let mut function = ready(options).await;
    let before_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let invocation = function
        .invoke(json!({"ping": 1}), Duration::from_secs(7))
        .await
        .unwrap();
    let Outcome::Response(seen) = invocation.outcome else {
        panic!("not a response")
    };

    assert_eq!(seen["requestId"], json!(invocation.request_id));
    let deadline = seen["deadlineMs"].as_u64().unwrap();
    assert!(
        deadline >= before_ms + 6_000 && deadline <= before_ms + 8_000,
        "deadline {deadline} vs {before_ms}"
    );
    assert_eq!(
        seen["functionArn"],
        json!("arn:aws:lambda:ap-northeast-2:000000000000:function:generate-recipe")
    );
    assert!(seen["traceId"].as_str().unwrap().starts_with("Root=1-"));
    assert_eq!(seen["event"], json!({"ping": 1}));

    let env = &seen["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], json!("generate-recipe"));
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], json!("$LATEST"));
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], json!("128"));
    assert_eq!(
        env["AWS_LAMBDA_LOG_GROUP_NAME"],
        json!("/aws/lambda/generate-recipe")
    );
    assert_eq!(env["AWS_REGION"], json!("ap-northeast-2"));
    assert_eq!(env["AWS_DEFAULT_REGION"], json!("ap-northeast-2"));
    assert_eq!(env["AWS_ACCESS_KEY_ID"], json!("test"));
    assert_eq!(env["AWS_EC2_METADATA_DISABLED"], json!("true"));
    assert_eq!(env["FIXTURE_EXTRA"], json!("yes"));
    // The runner's own environment does not leak into the function.
    assert_eq!(env["HOME"], Value::Null);
}

#[tokio::test]
async fn handler_errors_are_outcomes_not_failures() {
    let mut function = ready(fixture("handler-error")).await;
    for _ in 0..2 {
        let invocation = function
            .invoke(json!({"target": "keto"}), INVOKE)
            .await
            .unwrap();
        let Outcome::Error {
            error_type,
            error_message,
        } = invocation.outcome
        else {
            panic!("expected an error outcome, got {:?}", invocation.outcome)
        };
        assert_eq!(error_type, "RecipeRefused");
        assert!(error_message.contains("no recipe for"), "{error_message}");
        let raw: Value = serde_json::from_slice(&invocation.raw_body).unwrap();
        assert_eq!(raw["errorType"], json!("RecipeRefused"));
    }
}

#[tokio::test]
async fn exit_before_first_poll_is_an_init_failure() {
    let mut function = FunctionProcess::spawn(fixture("init-exit")).await.unwrap();
    let error = function.wait_ready(READY).await.unwrap_err();
    let RunnerError::InitFailed {
        error_type,
        message,
        exit_status,
        stderr_tail,
    } = error
    else {
        panic!("expected InitFailed, got {error:?}")
    };
    assert_eq!(error_type, None);
    assert!(message.contains("before asking for an event"), "{message}");
    assert_eq!(exit_status.and_then(|s| s.code()), Some(3));
    assert!(
        stderr_tail.contains("MODEL_ID is not set"),
        "{stderr_tail:?}"
    );
    // Later calls keep reporting the dead process instead of hanging.
    assert!(matches!(
        function.invoke(json!({}), INVOKE).await,
        Err(RunnerError::ProcessExited { .. })
    ));
}

#[tokio::test]
async fn posted_init_error_is_reported_with_its_type() {
    let mut function = FunctionProcess::spawn(fixture("init-error-post"))
        .await
        .unwrap();
    let error = function.wait_ready(READY).await.unwrap_err();
    let RunnerError::InitFailed {
        error_type,
        message,
        exit_status,
        ..
    } = error
    else {
        panic!("expected InitFailed, got {error:?}")
    };
    assert_eq!(error_type.as_deref(), Some("Runtime.ConfigError"));
    assert_eq!(message, "MODEL_ID is not set");
    assert_eq!(exit_status.and_then(|s| s.code()), Some(1));
}

#[tokio::test]
async fn a_handler_past_its_deadline_times_out_and_is_stopped() {
    let mut function = ready(fixture("sleep").env("FIXTURE_SLEEP_MS", "20000")).await;
    let pid = function.pid();
    let started = Instant::now();
    let error = function
        .invoke(json!({"slow": true}), Duration::from_millis(300))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(error, RunnerError::Timeout { after, .. } if after == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert!(
        wait_until_gone(pid).await,
        "process {pid} still running after a timeout"
    );
    assert!(matches!(
        function.invoke(json!({}), INVOKE).await,
        Err(RunnerError::ProcessExited { .. })
    ));
}

#[tokio::test]
async fn a_fast_enough_handler_is_not_timed_out() {
    let mut function = ready(fixture("sleep").env("FIXTURE_SLEEP_MS", "100")).await;
    let invocation = function
        .invoke(json!({"slow": false}), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        invocation.outcome,
        Outcome::Response(json!({"slow": false}))
    );
    assert!(
        invocation.round_trip >= Duration::from_millis(100),
        "{:?}",
        invocation.round_trip
    );
}

#[tokio::test]
async fn a_crash_during_an_invocation_is_reported() {
    let mut function = ready(fixture("exit-in-handler")).await;
    let error = function
        .invoke(json!({"crash": true}), INVOKE)
        .await
        .unwrap_err();
    let RunnerError::ProcessExited {
        exit_status,
        stderr_tail,
    } = error
    else {
        panic!("expected ProcessExited, got {error:?}")
    };
    assert_eq!(exit_status.and_then(|s| s.code()), Some(4));
    assert!(
        stderr_tail.contains("exiting mid-invocation"),
        "{stderr_tail:?}"
    );
    assert_eq!(function.peak_rss_kib(), None);
}

#[tokio::test]
async fn dropping_the_runner_kills_the_function() {
    let function = ready(echo()).await;
    let pid = function.pid();
    assert!(!process_is_gone(pid));
    drop(function);
    assert!(
        wait_until_gone(pid).await,
        "process {pid} outlived its runner"
    );
}

#[tokio::test]
async fn stray_posts_are_refused_without_harm() {
    let mut function = ready(echo()).await;
    let addr = function.runtime_api_addr();
    let (status, body) = raw_post(
        addr,
        "/2018-06-01/runtime/invocation/no-such-id/response",
        "{}",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("InvalidRequestID"), "{body}");
    let (status, _) = raw_post(
        addr,
        "/2018-06-01/runtime/invocation/no-such-id/error",
        "{}",
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = raw_post(addr, "/2018-06-01/runtime/unknown", "{}").await;
    assert_eq!(status, 404);
    // The function keeps working after the stray posts.
    let invocation = function.invoke(json!(1), INVOKE).await.unwrap();
    assert_eq!(invocation.outcome, Outcome::Response(json!(1)));
}

#[tokio::test]
async fn a_binary_that_does_not_exist_fails_to_spawn() {
    let error = FunctionProcess::spawn(SpawnOptions::new("./no/such/bootstrap"))
        .await
        .unwrap_err();
    assert!(matches!(error, RunnerError::Spawn { .. }), "{error:?}");
}

/// Posts a response in the Runtime API's streaming mode over a bare connection: chunked,
/// each chunk written after `gap`, then optional trailers.
async fn post_streamed(
    addr: std::net::SocketAddr,
    request_id: &str,
    chunks: &[&[u8]],
    gap: Duration,
    trailers: &str,
) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: {addr}\r\n\
         Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\
         Trailer: Lambda-Runtime-Function-Error-Type\r\nTrailer: Lambda-Runtime-Function-Error-Body\r\n\
         Content-Type: application/vnd.awslambda.http-integration-response\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in chunks {
        stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        stream.write_all(chunk).await.unwrap();
        stream.write_all(b"\r\n").await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(gap).await;
    }
    stream
        .write_all(format!("0\r\n{trailers}\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn streamed_responses_keep_their_prelude_chunk_times_and_trailer_errors() {
    let mut function = FunctionProcess::spawn(fixture("idle")).await.unwrap();
    let addr = function.runtime_api_addr();
    let prelude: &[u8] = br#"{"statusCode":201,"headers":{"content-type":"text/event-stream"}}"#;
    let gap = Duration::from_millis(150);

    let runtime_side = async {
        let (_, headers, _) =
            raw_request(addr, "GET", "/2018-06-01/runtime/invocation/next", "").await;
        let request_id = header_value(&headers, "lambda-runtime-aws-request-id").unwrap();
        let delimiter: &[u8] = &[0; 8];
        let chunks: [&[u8]; 4] = [
            prelude,
            delimiter,
            b"event: a\ndata: 1\n\n",
            b"event: b\ndata: 2\n\n",
        ];
        post_streamed(addr, &request_id, &chunks, gap, "").await
    };
    let (invocation, status) = tokio::join!(function.invoke(json!({"n": 1}), INVOKE), runtime_side);
    assert_eq!(status, 202);
    let invocation = invocation.unwrap();
    let stream = invocation.stream.unwrap();
    assert_eq!(stream.status_code(), 201);
    assert_eq!(
        &stream.body[..],
        b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n"
    );
    assert_eq!(
        invocation.outcome,
        Outcome::Response(json!({"statusCode": 201,
            "headers": {"content-type": "text/event-stream"},
            "body": "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n"}))
    );
    // The second event arrived a gap after the first: arrival times are the chunks' own.
    let first = stream.arrival_of(0).unwrap();
    let second = stream.arrival_of(18).unwrap();
    assert!(
        second >= first + gap - Duration::from_millis(20),
        "{first:?} {second:?}"
    );
    assert_eq!(stream.arrival_of(18 + 18), None);

    // An error after part of the body: reported in the trailers, base64 as Lambda's runtimes do.
    let runtime_side = async {
        let (_, headers, _) =
            raw_request(addr, "GET", "/2018-06-01/runtime/invocation/next", "").await;
        let request_id = header_value(&headers, "lambda-runtime-aws-request-id").unwrap();
        let delimiter: &[u8] = &[0; 8];
        let chunks: [&[u8]; 3] = [prelude, delimiter, b"event: a\ndata: 1\n\n"];
        let trailers = "Lambda-Runtime-Function-Error-Type: Runtime.StreamError\r\n\
                        Lambda-Runtime-Function-Error-Body: bW9kZWwgd2VudCBhd2F5\r\n";
        post_streamed(addr, &request_id, &chunks, Duration::ZERO, trailers).await
    };
    let (invocation, status) = tokio::join!(function.invoke(json!({"n": 2}), INVOKE), runtime_side);
    assert_eq!(status, 202);
    let invocation = invocation.unwrap();
    assert_eq!(
        invocation.outcome,
        Outcome::Error {
            error_type: "Runtime.StreamError".into(),
            error_message: "model went away".into()
        }
    );
    assert_eq!(
        &invocation.stream.unwrap().body[..],
        b"event: a\ndata: 1\n\n"
    );

    // A stream that never ends its prelude is refused as unusable.
    let runtime_side = async {
        let (_, headers, _) =
            raw_request(addr, "GET", "/2018-06-01/runtime/invocation/next", "").await;
        let request_id = header_value(&headers, "lambda-runtime-aws-request-id").unwrap();
        post_streamed(addr, &request_id, &[prelude], Duration::ZERO, "").await
    };
    let (invocation, _) = tokio::join!(function.invoke(json!({"n": 3}), INVOKE), runtime_side);
    assert!(
        matches!(invocation, Err(RunnerError::InvalidStream { .. })),
        "{invocation:?}"
    );
}
