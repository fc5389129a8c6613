//! Streamed progress end to end: the real `generate-recipe` binary, driven through the
//! project's Lambda runner, answers a function URL event in the Runtime API's streaming mode
//! (http-integration-response prelude, then Server-Sent Events), against the local Bedrock
//! emulator speaking `InvokeModelWithResponseStream` with a realistic latency profile, scaled.
//!
//! Checked: the events come in the contract's order (`attempt`, `progress`…, `checks` before
//! a repair, then exactly one `recipe` or `error`); a repair shows its failed checks first; a
//! fault ends with an `error` event carrying its status; a recipe that never passes its
//! checks is never sent as `recipe`; and API Gateway events are still answered buffered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_tests::function_binary as binary;
use ai_chef_tests::*;
use bedrock_emulator::{Emulator, EmulatorOptions, FaultPlan, LatencyProfile, TimeScale};
use lambda_runner::{FunctionProcess, Invocation, Outcome, OutputMode, SpawnOptions};
use serde_json::{json, Value};
use std::time::Duration;

const URL_EVENT: &str = "function-url-post-recipes-keto.json";
/// Realistic model timing, 20 times faster than Bedrock.
const TIME_SCALE: f64 = 20.0;

async fn realistic_emulator(plan: &str) -> Emulator {
    Emulator::start(EmulatorOptions {
        faults: FaultPlan::from_json(plan).unwrap(),
        latency: LatencyProfile::Realistic,
        time_scale: TimeScale::new(TIME_SCALE).unwrap(),
        ..EmulatorOptions::default()
    })
    .await
    .unwrap()
}

/// generate-recipe as Lambda runs it, configured for the scaled profile (the deadline
/// margin scaled too, so the modelled timeline is the production one).
async fn function(emu: &Emulator) -> FunctionProcess {
    let endpoint = emu.endpoint();
    let options = SpawnOptions::new(binary("generate-recipe"))
        .function_name("generate-recipe")
        .output(OutputMode::Quiet)
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", endpoint)
        .env("MODEL_TIME_SCALE", TIME_SCALE.to_string())
        .env("DEADLINE_MARGIN_MS", "100")
        .env("CACHE_MAX_ENTRIES", "0");
    let mut process = FunctionProcess::spawn(options).await.unwrap();
    process.wait_ready(Duration::from_secs(30)).await.unwrap();
    process
}

/// One Server-Sent Event with the body offset it started at.
#[derive(Debug, Clone)]
struct Sse {
    event: String,
    data: Value,
    offset: usize,
}

fn parse_sse(body: &str) -> Vec<Sse> {
    let mut events = Vec::new();
    let mut offset = 0;
    for block in body.split_inclusive("\n\n") {
        let start = offset;
        offset += block.len();
        let mut name = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(value) = line.strip_prefix("event: ") {
                name = Some(value.to_owned());
            } else if let Some(value) = line.strip_prefix("data: ") {
                data.push_str(value);
            } else {
                assert!(line.is_empty(), "not an SSE line: {line:?}");
            }
        }
        let name = name.unwrap_or_else(|| panic!("an SSE block without an event name: {block:?}"));
        let data = serde_json::from_str(&data).unwrap_or_else(|e| panic!("{name}: {e}: {data}"));
        assert!(block.ends_with("\n\n"), "an unfinished event: {block:?}");
        events.push(Sse {
            event: name,
            data,
            offset: start,
        });
    }
    events
}

/// Invokes with the function URL event and returns the SSE events.
async fn stream_recipe(
    process: &mut FunctionProcess,
    deadline: Duration,
) -> (Invocation, Vec<Sse>) {
    let invocation = process
        .invoke(load_event(URL_EVENT), deadline)
        .await
        .unwrap();
    let stream = invocation
        .stream
        .clone()
        .expect("a function URL event must be answered in streaming mode");
    assert_eq!(stream.status_code(), 200);
    let prelude = stream.prelude.clone().unwrap();
    assert_eq!(
        prelude["headers"]["content-type"], "text/event-stream",
        "{prelude}"
    );
    assert!(stream.trailer_error.is_none(), "{:?}", stream.trailer_error);
    let events = parse_sse(std::str::from_utf8(&stream.body).unwrap());
    (invocation, events)
}

/// The contract's order: per attempt `attempt`, `progress`…, then `checks` if a repair
/// follows; exactly one final `recipe` or `error`, last.
fn assert_contract_order(events: &[Sse]) {
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    let finals = names
        .iter()
        .filter(|n| matches!(**n, "recipe" | "error"))
        .count();
    assert_eq!(finals, 1, "exactly one final event: {names:?}");
    assert!(
        matches!(names.last(), Some(&"recipe") | Some(&"error")),
        "{names:?}"
    );
    let mut attempt = 0u64;
    let mut last_tokens = 0u64;
    let mut model_id = String::new();
    for event in &events[..events.len() - 1] {
        match event.event.as_str() {
            "attempt" => {
                let number = event.data["attempt"].as_u64().unwrap();
                let model = event.data["modelId"].as_str().unwrap().to_owned();
                assert!(model.contains("claude"));
                if number == attempt {
                    // A fallback: the same attempt, served by the next model of the chain.
                    assert_ne!(
                        model, model_id,
                        "an attempt repeated on one model: {names:?}"
                    );
                } else {
                    assert_eq!(number, attempt + 1, "{names:?}");
                }
                attempt = number;
                model_id = model;
                last_tokens = 0;
            }
            "progress" => {
                assert_eq!(
                    event.data["attempt"], attempt,
                    "progress before its attempt"
                );
                let tokens = event.data["outputTokens"].as_u64().unwrap();
                assert!(tokens > last_tokens, "output tokens only grow: {names:?}");
                last_tokens = tokens;
            }
            "checks" => {
                assert_eq!(event.data["attempt"], attempt);
                let failed = event.data["failed"].as_array().unwrap();
                assert!(!failed.is_empty());
                assert!(failed.iter().all(|c| c["passed"] == false));
            }
            other => panic!("unexpected event {other} in {names:?}"),
        }
    }
}

fn count(events: &[Sse], name: &str) -> usize {
    events.iter().filter(|e| e.event == name).count()
}

#[tokio::test]
async fn the_stream_shows_the_attempt_and_its_progress_then_the_verified_recipe() {
    let emu = realistic_emulator("{}").await;
    let mut process = function(&emu).await;
    let (invocation, events) = stream_recipe(&mut process, Duration::from_secs(30)).await;
    assert_contract_order(&events);
    assert_eq!(count(&events, "attempt"), 1);
    assert!(count(&events, "progress") >= 2, "{events:?}");
    let recipe = events.last().unwrap();
    assert_eq!(recipe.event, "recipe");
    assert_eq!(recipe.data["meta"]["attempts"], 1);
    let checks = recipe.data["checks"].as_array().unwrap();
    assert!(!checks.is_empty() && checks.iter().all(|c| c["passed"] == true));
    assert!(
        recipe.data["nutrition"]["perServing"]["kcal"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(emu.stats().claude.calls, 1);

    // The first progress event arrives long before the answer is complete.
    let stream = invocation.stream.unwrap();
    let first_progress = events.iter().find(|e| e.event == "progress").unwrap();
    let first = stream.arrival_of(first_progress.offset).unwrap();
    let last = stream.arrival_of(recipe.offset).unwrap();
    println!(
        "first progress after {:.2} s modelled, recipe after {:.2} s modelled ({} progress events)",
        first.as_secs_f64() * TIME_SCALE,
        last.as_secs_f64() * TIME_SCALE,
        count(&events, "progress")
    );
    assert!(
        first < last / 2,
        "first progress {first:?}, recipe {last:?}"
    );
}

#[tokio::test]
async fn a_repair_streams_the_failed_checks_before_the_repaired_recipe() {
    let emu = realistic_emulator(r#"{"violateFirst": "carbHeavy"}"#).await;
    let mut process = function(&emu).await;
    let (_, events) = stream_recipe(&mut process, Duration::from_secs(30)).await;
    assert_contract_order(&events);
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(count(&events, "attempt"), 2, "{names:?}");
    assert_eq!(count(&events, "checks"), 1, "{names:?}");
    let checks_at = names.iter().position(|n| *n == "checks").unwrap();
    let second_attempt = names.iter().rposition(|n| *n == "attempt").unwrap();
    assert!(checks_at < second_attempt, "{names:?}");
    let failed = &events[checks_at].data["failed"];
    assert!(
        failed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["rule"].as_str().unwrap().contains("arb")),
        "the carb-heavy first answer fails a carb check: {failed}"
    );
    let recipe = events.last().unwrap();
    assert_eq!(recipe.event, "recipe", "{names:?}");
    assert_eq!(recipe.data["meta"]["attempts"], 2);
    assert!(recipe.data["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["passed"] == true));
    assert_eq!(emu.stats().claude.calls, 2);
}

#[tokio::test]
async fn faults_end_the_stream_with_an_error_event_carrying_the_status() {
    let cases = [
        (
            r#"{"errors": {"error": "ThrottlingException", "scope": "claude"}}"#,
            429,
            "throttled",
        ),
        (
            r#"{"streamError": {"error": "modelStreamErrorException", "scope": "claude"}}"#,
            502,
            "model_output_invalid",
        ),
        (
            r#"{"errors": {"error": "AccessDeniedException", "scope": "claude"}}"#,
            503,
            "model_unavailable",
        ),
    ];
    for (plan, status, code) in cases {
        let emu = realistic_emulator(plan).await;
        let mut process = function(&emu).await;
        let (_, events) = stream_recipe(&mut process, Duration::from_secs(30)).await;
        assert_contract_order(&events);
        let last = events.last().unwrap();
        assert_eq!(last.event, "error", "{plan}: {events:?}");
        assert_eq!(
            (last.data["status"].as_u64(), last.data["code"].as_str()),
            (Some(status), Some(code)),
            "{plan}: {}",
            last.data
        );
        assert!(last.data["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(count(&events, "recipe"), 0);
    }
}

#[tokio::test]
async fn an_answer_that_never_passes_is_never_sent_as_a_recipe() {
    let emu = realistic_emulator(r#"{"neverComply": "carbHeavy"}"#).await;
    let mut process = function(&emu).await;
    let (_, events) = stream_recipe(&mut process, Duration::from_secs(60)).await;
    assert_contract_order(&events);
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(count(&events, "recipe"), 0, "{names:?}");
    let last = events.last().unwrap();
    assert_eq!(
        (last.data["status"].as_u64(), last.data["code"].as_str()),
        (Some(422), Some("constraints_unsatisfied")),
        "{}",
        last.data
    );
    // Every attempt but the last was followed by its failed checks.
    let attempts = count(&events, "attempt");
    assert_eq!(attempts, 3, "{names:?}");
    assert_eq!(count(&events, "checks"), attempts - 1, "{names:?}");
}

#[tokio::test]
async fn a_bad_body_or_route_on_the_url_is_answered_in_streaming_mode_too() {
    let emu = realistic_emulator("{}").await;
    let mut process = function(&emu).await;
    let mut bad = load_event(URL_EVENT);
    bad["body"] = json!("{\"target\": \"paleo\"}");
    let invocation = process.invoke(bad, Duration::from_secs(10)).await.unwrap();
    let stream = invocation.stream.unwrap();
    let events = parse_sse(std::str::from_utf8(&stream.body).unwrap());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event, "error");
    assert_eq!(events[0].data["status"], 400);
    assert_eq!(events[0].data["code"], "invalid_request");

    let mut other = load_event(URL_EVENT);
    other["rawPath"] = json!("/nowhere");
    other["requestContext"]["http"]["path"] = json!("/nowhere");
    let invocation = process
        .invoke(other, Duration::from_secs(10))
        .await
        .unwrap();
    let stream = invocation.stream.unwrap();
    assert_eq!(stream.status_code(), 404);
    let body: Value = serde_json::from_slice(&stream.body).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(emu.stats().total_calls, 0);
}

#[tokio::test]
async fn api_gateway_and_warm_up_events_are_still_answered_buffered() {
    let emu = realistic_emulator("{}").await;
    let mut process = function(&emu).await;
    let invocation = process
        .invoke(
            load_event("apigw-post-recipes-keto.json"),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(invocation.stream.is_none());
    let Outcome::Response(response) = invocation.outcome else {
        panic!("{:?}", invocation.outcome)
    };
    let (status, body) = http_parts(&response);
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert_eq!(body["meta"]["attempts"], 1);
    // The buffered path calls the model without streaming.
    assert_eq!(emu.stats().claude.calls, 1);

    let warm = process
        .invoke(load_event("scheduled-warmup.json"), Duration::from_secs(10))
        .await
        .unwrap();
    assert!(warm.stream.is_none());
    assert_eq!(
        warm.outcome,
        Outcome::Response(json!({"warmed": true, "function": "generate-recipe"}))
    );
}

/// `lambda-runner invoke` prints a streamed answer as the function URL answers it, with when
/// each chunk arrived: what the end-to-end benchmark times the stream's events from.
#[tokio::test]
async fn the_runner_cli_prints_a_streamed_answer_with_its_chunk_times() {
    let emu = realistic_emulator("{}").await;
    let runner = binary("lambda-runner");
    let function = binary("generate-recipe");
    let event = repo_root().join("events").join(URL_EVENT);
    let output = tokio::process::Command::new(&runner)
        .arg("invoke")
        .arg("--bin")
        .arg(&function)
        .arg("--event")
        .arg(&event)
        .args([
            "--env",
            &format!("AWS_ENDPOINT_URL_BEDROCK_RUNTIME={}", emu.endpoint()),
        ])
        .args(["--env", &format!("MODEL_TIME_SCALE={TIME_SCALE}")])
        .args(["--env", "CACHE_MAX_ENTRIES=0", "--env", "RUST_LOG=warn"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer:#}");
    assert_eq!(answer["headers"]["content-type"], "text/event-stream");
    let streamed = &answer["streamed"];
    assert!(streamed["trailerError"].is_null(), "{streamed:#}");
    let body = answer["body"].as_str().unwrap();
    let events = parse_sse(body);
    assert_contract_order(&events);
    let arrivals: Vec<(usize, f64)> = streamed["arrivals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a[0].as_u64().unwrap() as usize, a[1].as_f64().unwrap()))
        .collect();
    assert!(
        arrivals.len() > 1,
        "the body came in one piece: {arrivals:?}"
    );
    assert_eq!(arrivals[0].0, 0);
    assert!(
        arrivals
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
        "offsets and times only grow: {arrivals:?}"
    );
    assert!(arrivals.last().unwrap().0 < body.len());
    let round_trip = streamed["roundTripMs"].as_f64().unwrap();
    assert!(arrivals.last().unwrap().1 <= round_trip);
    // The first progress event arrives before the recipe, by the model's remaining output.
    let at = |offset: usize| {
        arrivals
            .iter()
            .take_while(|(start, _)| *start <= offset)
            .last()
            .unwrap()
            .1
    };
    let progress = events.iter().find(|e| e.event == "progress").unwrap();
    let recipe = events.last().unwrap();
    assert_eq!(recipe.event, "recipe");
    assert!(
        at(progress.offset) < at(recipe.offset),
        "progress at {} ms, recipe at {} ms",
        at(progress.offset),
        at(recipe.offset)
    );
}
