//! Logs never carry the profile's health data at info level (or above): requests that
//! succeed, get repaired, fail every check, are refused, or meet broken model output are run
//! with a JSON subscriber like the functions' own (`telemetry::init`: JSON, INFO) writing to a
//! buffer, and no captured line may contain a health condition or an allergy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_lambda::handlers::generate_recipe::handle;
use ai_chef_tests::*;
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
    let subscriber = tracing::subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_current_span(true)
        .with_writer(buffer.clone())
        .finish();
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
        .filter_map(|l| l["fields"]["message"].as_str())
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
