//! The local loop a Lambda developer uses. First the deadline header as local emulators send
//! it, through the real binary and the Runtime API (the project's lambda-runner sends the
//! header exactly as given): cargo-lambda 1.9.2's relative `600000` is taken as now + the
//! function timeout and the recipe is generated, while a deadline that really passed answers
//! 504 at once. Then `make invoke-local` itself (infra/scripts/invoke-local.sh): every event
//! of events/ through `cargo lambda watch` + `cargo lambda invoke`; skipped with a message
//! only where cargo-lambda is missing and cannot be installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_tests::function_binary as binary;
use ai_chef_tests::*;
use lambda_runner::{FunctionProcess, Outcome, OutputMode, SpawnOptions};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn response(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(v) => v,
        Outcome::Error {
            error_type,
            error_message,
        } => panic!("function error {error_type}: {error_message}"),
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn a_relative_deadline_header_is_replaced_and_a_past_one_still_answers_504() {
    let emu = emulator(None).await;
    let endpoint = emu.endpoint();
    let options = SpawnOptions::new(binary("generate-recipe"))
        .function_name("generate-recipe")
        .output(OutputMode::Quiet)
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &endpoint)
        .env("FUNCTION_TIMEOUT_SECONDS", "29");
    let mut process = FunctionProcess::spawn(options).await.unwrap();
    process.wait_ready(Duration::from_secs(30)).await.unwrap();
    let keto = serde_json::to_vec(&load_event("apigw-post-recipes-keto.json")).unwrap();

    // A deadline that passed a second ago is real: no model call, 504 at once.
    let started = Instant::now();
    let past = process
        .invoke_with_deadline_header(keto.clone(), epoch_ms() - 1_000, Duration::from_secs(10))
        .await
        .unwrap();
    let (status, body) = http_parts(&response(past.outcome));
    assert_eq!(status, 504, "{body:#}");
    assert_eq!(body["error"]["code"], "deadline_exceeded");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(emu.stats().claude.calls, 0);

    // cargo-lambda 1.9.2's watch: 600000, a duration. Twice, so the warning shows once.
    for _ in 0..2 {
        let relative = process
            .invoke_with_deadline_header(keto.clone(), 600_000, Duration::from_secs(60))
            .await
            .unwrap();
        let (status, body) = http_parts(&response(relative.outcome));
        assert_eq!(status, 200, "{body:#}");
        assert!(body["recipe"]["ingredients"]
            .as_array()
            .is_some_and(|i| !i.is_empty()));
    }
    assert!(emu.stats().claude.successes >= 1);
    let stderr = process.stderr_tail();
    let warnings = stderr
        .lines()
        .filter(|l| l.contains("Lambda-Runtime-Deadline-Ms is not an epoch time"))
        .count();
    assert_eq!(warnings, 1, "{stderr}");
    process.shutdown().await.unwrap();
}

#[test]
fn make_invoke_local_answers_every_event() {
    let root = repo_root();
    let logs = std::env::temp_dir().join(format!("invoke-local-test-{}", std::process::id()));
    let output = Command::new(root.join("infra/scripts/invoke-local.sh"))
        .current_dir(&root)
        .env("INVOKE_LOCAL_DIR", &logs)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(77) {
        println!("skipped: cargo-lambda could not be installed:\n{stderr}");
        return;
    }
    println!("{stdout}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let table = std::fs::read_to_string(root.join("devtools/invoke-local/events.tsv")).unwrap();
    let expected: Vec<(&str, &str)> = table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .collect();
    assert_eq!(expected.len(), 8, "{table}");
    for (event, function) in &expected {
        let heading = format!("== {function} <- events/{event} ==");
        let section = stdout
            .split(&heading)
            .nth(1)
            .unwrap_or_else(|| panic!("no answer for {event} in\n{stdout}"));
        let first = section.lines().nth(1).unwrap_or_default();
        let wanted = match *event {
            "apigw-post-batches.json" => "HTTP 202",
            "direct-embeddings.json" | "scheduled-warmup.json" | "sqs-batch.json" => "direct",
            _ => "HTTP 200",
        };
        assert_eq!(first, wanted, "{event}: {section}");
    }
    assert!(stdout.contains("\"warmed\": true"), "{stdout}");
    assert!(stdout.contains("\"batchItemFailures\": []"), "{stdout}");
    // The functions' JSON logs are kept, with the request id on every line of an invocation.
    let watch_log = std::fs::read_to_string(logs.join("watch.log")).unwrap();
    assert!(watch_log.contains("\"requestId\""), "{watch_log}");
    let _ = std::fs::remove_dir_all(&logs);
}
