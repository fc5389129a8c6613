//! Logs as AWS users read them, and without health data.
//!
//! - Requests that succeed, get repaired, fail every check, are refused, or meet broken model
//!   output run with the functions' own subscriber (`telemetry::subscriber`, INFO) writing to
//!   a buffer; no captured line may contain a health condition or an allergy.
//! - The real binary, driven through the Runtime API at `RUST_LOG=warn` and `info`: every
//!   line of an invocation carries Lambda's JSON log fields at the top level (`timestamp`,
//!   `level`, `message`, `requestId`) plus `functionName` and `coldStart` (true on the first
//!   invocation only), and the model-call lines carry `modelId`, `attempt` and `latencyMs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_lambda::handlers::generate_recipe::handle;
use ai_chef_tests::function_binary as binary;
use ai_chef_tests::*;
use lambda_runner::{FunctionProcess, Invocation, Outcome, OutputMode, SpawnOptions};
use lambda_runtime::tracing;
use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KETO: &str = "apigw-post-recipes-keto.json";

/// Health data of the profiles below: none of it may appear in a log line.
const SENSITIVE: [&str; 5] = ["고혈압", "당뇨병", "땅콩", "새우", "갑각류"];

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

async fn post(plan: &str, body: &Value) -> u16 {
    let emu = emulator(Some(plan)).await;
    let (app, _) = generate_app(&emu.endpoint(), test_config()).await;
    let event = http_event_with_body(KETO, &body.to_string());
    http_parts(
        &handle(&app, lambda_event(event, Duration::from_secs(20)))
            .await
            .unwrap(),
    )
    .0
}

#[tokio::test]
async fn no_health_condition_or_allergy_reaches_an_info_log_line() {
    let buffer = Buffer::default();
    let subscriber =
        ai_chef_lambda::telemetry::subscriber("generate-recipe", "info", buffer.clone());
    // The test runs on a current-thread runtime: every task of the handler and the SDK
    // runs on this thread and sees this subscriber.
    let _guard = tracing::dispatcher::set_default(&tracing::Dispatch::new(subscriber));

    let profile = json!({"healthConditions": ["고혈압", "당뇨병"], "allergies": ["땅콩", "새우", "갑각류"], "maxCalories": 700});
    let request = json!({"target": "keto", "profile": profile, "ingredientsOnHand": ["돼지고기"]});
    let runs: Vec<(&str, Value, u16)> = vec![
        ("{}", request.clone(), 200),
        (r#"{"violateFirst": "allergen"}"#, request.clone(), 200),
        (r#"{"neverComply": "allergen"}"#, request.clone(), 422),
        (
            r#"{"output": "echoInjection", "neverComply": "allergen"}"#,
            request.clone(),
            422,
        ),
        (r#"{"output": "wrongSchema"}"#, request.clone(), 502),
        (
            r#"{"output": {"mode": "prose", "first": 1}}"#,
            request.clone(),
            200,
        ),
        (
            r#"{"errors": {"error": "AccessDeniedException"}}"#,
            request.clone(),
            503,
        ),
        (
            "{}",
            json!({"target": "keto", "profile": {"healthConditions": ["고혈압"], "allergies": ["땅콩", "새우<"]}}),
            400,
        ),
        (
            "{}",
            json!({"target": "high-protein", "profile": {"healthConditions": ["신장질환", "고혈압"], "allergies": ["새우"]}}),
            422,
        ),
    ];
    for (plan, body, expected) in &runs {
        assert_eq!(post(plan, body).await, *expected, "{plan} {body}");
    }

    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The capture works: the service's own lines are there, including the repair lines.
    let service_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("ai_chef"))
        })
        .collect();
    let messages: Vec<&str> = service_lines
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    for expected in [
        "recipe passed every check",
        "recipe failed checks; asking for a repair",
        "request refused",
        "recipe not generated",
    ] {
        assert!(
            messages.contains(&expected),
            "no `{expected}` line in {messages:#?}"
        );
    }
    let mut leaks = Vec::new();
    for line in &lines {
        // The emulator is the model's stand-in, not part of the service; everything else counts.
        if line["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("bedrock_emulator"))
        {
            continue;
        }
        let raw = line.to_string();
        for word in SENSITIVE {
            if raw.contains(word) {
                leaks.push(format!("{word}: {raw}"));
            }
        }
    }
    println!(
        "{} log lines captured, {} from the service",
        lines.len(),
        service_lines.len()
    );
    assert!(
        leaks.is_empty(),
        "health data in logs:\n{}",
        leaks.join("\n")
    );
}

async fn generate_recipe_process(endpoint: &str, level: &str) -> FunctionProcess {
    let options = SpawnOptions::new(binary("generate-recipe"))
        .function_name("ai-chef-GenerateRecipe")
        .output(OutputMode::Quiet)
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", endpoint)
        .env("RUST_LOG", level);
    let mut process = FunctionProcess::spawn(options).await.unwrap();
    process.wait_ready(Duration::from_secs(30)).await.unwrap();
    process
}

async fn invoke(process: &mut FunctionProcess, event: Value) -> (Invocation, u16) {
    let invocation = process
        .invoke(event, Duration::from_secs(30))
        .await
        .unwrap();
    let status = match &invocation.outcome {
        Outcome::Response(v) if v.get("statusCode").is_some() => http_parts(v).0,
        Outcome::Response(_) => 0,
        Outcome::Error { error_message, .. } => panic!("function error {error_message}"),
    };
    (invocation, status)
}

/// The JSON lines of stderr that belong to `request_id`'s invocation (by the field under
/// test), every line parsed: a line that is not JSON fails the test.
fn lines_of(stderr: &str, request_id: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|l| l["requestId"] == request_id)
        .collect()
}

fn assert_lambda_fields(line: &Value, cold_start: bool) {
    for key in ["timestamp", "level", "message"] {
        assert!(line[key].is_string(), "{key} missing: {line}");
    }
    assert_eq!(line["functionName"], "ai-chef-GenerateRecipe", "{line}");
    assert_eq!(line["coldStart"], cold_start, "{line}");
    assert!(line.get("span").is_none(), "nested span: {line}");
}

#[tokio::test]
async fn warn_lines_carry_the_request_id_function_name_and_cold_start() {
    let emu = emulator(Some(r#"{"errors": {"error": "AccessDeniedException"}}"#)).await;
    let mut process = generate_recipe_process(&emu.endpoint(), "warn").await;
    let (first, status) = invoke(&mut process, load_event(KETO)).await;
    assert_eq!(status, 503);
    let (second, status) = invoke(&mut process, load_event(KETO)).await;
    assert_eq!(status, 503);
    let stderr = process.stderr_tail();
    println!("{stderr}");
    for (invocation, cold_start) in [(&first, true), (&second, false)] {
        let lines = lines_of(&stderr, &invocation.request_id);
        assert!(
            !lines.is_empty(),
            "no line with requestId {}",
            invocation.request_id
        );
        for line in &lines {
            assert_eq!(line["level"], "WARN", "{line}");
            assert_lambda_fields(line, cold_start);
        }
        let call = lines
            .iter()
            .find(|l| l["message"] == "model call failed")
            .unwrap_or_else(|| panic!("no model call line in {lines:#?}"));
        assert!(
            call["modelId"]
                .as_str()
                .is_some_and(|m| m.contains("claude")),
            "{call}"
        );
        assert_eq!(call["attempt"], 1, "{call}");
        assert!(call["latencyMs"].is_u64(), "{call}");
        assert!(lines.iter().any(|l| l["message"] == "recipe not generated"));
    }
    // At warn, every line of the process is a warning or worse and belongs to an invocation.
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let line: Value = serde_json::from_str(line).unwrap();
        assert!(line["requestId"].is_string(), "no requestId: {line}");
    }
    process.shutdown().await.unwrap();
}

#[tokio::test]
async fn info_lines_of_a_recipe_carry_the_model_call() {
    let emu = emulator(None).await;
    let mut process = generate_recipe_process(&emu.endpoint(), "info").await;
    let (warm, _) = invoke(&mut process, load_event("scheduled-warmup.json")).await;
    let (recipe, status) = invoke(&mut process, load_event(KETO)).await;
    assert_eq!(status, 200);
    let stderr = process.stderr_tail();
    println!("{stderr}");
    let warm_lines = lines_of(&stderr, &warm.request_id);
    let warm_line = warm_lines
        .iter()
        .find(|l| l["message"] == "warm-up event")
        .unwrap_or_else(|| panic!("no warm-up line in {stderr}"));
    assert_eq!(warm_line["level"], "INFO");
    assert_lambda_fields(warm_line, true);
    let lines = lines_of(&stderr, &recipe.request_id);
    for line in &lines {
        assert_lambda_fields(line, false);
    }
    let call = lines
        .iter()
        .find(|l| l["message"] == "model call")
        .unwrap_or_else(|| panic!("no model call line in {lines:#?}"));
    assert!(
        call["modelId"]
            .as_str()
            .is_some_and(|m| m.contains("claude")),
        "{call}"
    );
    assert_eq!(call["attempt"], 1, "{call}");
    assert!(
        call["latencyMs"].is_u64() && call["outputTokens"].is_u64(),
        "{call}"
    );
    process.shutdown().await.unwrap();
}
