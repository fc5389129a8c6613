//! The real function binaries driven through the Lambda Runtime API (the project's own
//! lambda-runner plays the Lambda service), configured only through environment variables —
//! `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` points the SDK at the emulator — as on AWS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_tests::function_binary as binary;
use ai_chef_tests::*;
use lambda_runner::{FunctionProcess, Outcome, OutputMode, RunnerError, SpawnOptions};
use serde_json::{json, Value};
use std::time::Duration;

async fn spawn(name: &str, env: &[(&str, &str)]) -> FunctionProcess {
    let mut options = SpawnOptions::new(binary(name))
        .function_name(name)
        .output(OutputMode::Quiet);
    for (k, v) in env {
        options = options.env(*k, *v);
    }
    let mut process = FunctionProcess::spawn(options).await.unwrap();
    process.wait_ready(Duration::from_secs(20)).await.unwrap();
    process
}

fn response(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(v) => v,
        Outcome::Error {
            error_type,
            error_message,
        } => panic!("function error {error_type}: {error_message}"),
    }
}

#[tokio::test]
async fn generate_recipe_binary_answers_the_keto_event_and_writes_emf_metrics() {
    let emu = emulator(None).await;
    let endpoint = emu.endpoint();
    let mut process = spawn(
        "generate-recipe",
        &[("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &endpoint)],
    )
    .await;
    let invocation = process
        .invoke(
            load_event("apigw-post-recipes-keto.json"),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let (status, body) = http_parts(&response(invocation.outcome));
    assert_eq!(status, 200, "{body:#}");
    assert!(body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["passed"] == true));
    assert_eq!(emu.stats().claude.successes, 1);
    let stdout = process.stdout_tail();
    let emf: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let line = emf
        .iter()
        .find(|d| d["ModelId"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
        .unwrap_or_else(|| panic!("no EMF line for the Claude call in {stdout}"));
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "AI-Chef/Bedrock"
    );
    assert_eq!(line["Status"], "Success");
    assert_eq!(line["InvocationCount"], 1);
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["ModelId", "Status"]])
    );
}

#[tokio::test]
async fn every_function_answers_the_scheduled_warm_up_without_a_model_call() {
    let emu = emulator(None).await;
    let endpoint = emu.endpoint();
    let env = [
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", endpoint.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9"),
        ("RESULTS_TABLE", "warmup-results"),
        ("JOBS_QUEUE_URL", "http://127.0.0.1:9/123456789012/jobs"),
    ];
    for name in ["generate-recipe", "embed-text", "batch-dispatcher"] {
        let mut process = spawn(name, &env).await;
        let invocation = process
            .invoke(load_event("scheduled-warmup.json"), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            response(invocation.outcome),
            json!({"warmed": true, "function": name})
        );
        let stdout = process.stdout_tail();
        assert!(stdout.contains("WarmUpCount"), "{name}: {stdout}");
        assert!(!stdout.contains("InvocationCount"), "{name}: {stdout}");
    }
    assert_eq!(emu.stats().total_calls, 0);
}

#[tokio::test]
async fn embed_text_answers_http_and_direct_invocations_with_the_same_json() {
    let emu = emulator(None).await;
    let endpoint = emu.endpoint();
    let mut process = spawn(
        "embed-text",
        &[("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &endpoint)],
    )
    .await;
    let http = process
        .invoke(
            load_event("apigw-post-embeddings.json"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let (status, http_body) = http_parts(&response(http.outcome));
    assert_eq!(status, 200);
    let direct = response(
        process
            .invoke(
                load_event("direct-embeddings.json"),
                Duration::from_secs(10),
            )
            .await
            .unwrap()
            .outcome,
    );
    assert_eq!(direct, http_body);
    assert_eq!(direct["modelId"], "amazon.titan-embed-text-v2:0");
    assert_eq!(direct["dimensions"], 1024);
    let vectors = direct["embeddings"].as_array().unwrap();
    assert_eq!(vectors.len(), 2);
    assert!(vectors.iter().all(|v| v.as_array().unwrap().len() == 1024));
}

#[tokio::test]
async fn a_bad_setting_fails_the_start_naming_the_variable() {
    let options = SpawnOptions::new(binary("generate-recipe"))
        .function_name("generate-recipe")
        .output(OutputMode::Quiet)
        .env("MAX_ATTEMPTS", "many");
    let mut process = FunctionProcess::spawn(options).await.unwrap();
    match process.wait_ready(Duration::from_secs(20)).await {
        Err(RunnerError::InitFailed {
            message,
            stderr_tail,
            ..
        }) => {
            assert!(
                format!("{message}{stderr_tail}").contains("MAX_ATTEMPTS"),
                "{message} / {stderr_tail}"
            );
        }
        other => panic!("expected an init failure, got {other:?}"),
    }
}
