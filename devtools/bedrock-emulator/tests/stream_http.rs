//! `InvokeModelWithResponseStream` through the real AWS SDK for Rust: every event in order
//! (text and forced tool use), errors before the stream answered like `InvokeModel`,
//! exception events mid-stream, pacing under a scaled realistic profile.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_sdk_bedrockruntime::operation::invoke_model_with_response_stream::InvokeModelWithResponseStreamError;
use aws_sdk_bedrockruntime::types::error::ResponseStreamError;
use bedrock_emulator::latency::LatencyTable;
use bedrock_emulator::{EmulatorOptions, FaultPlan, LatencyProfile, Recipe, TimeScale};
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// Checks the event order Anthropic and Bedrock use and returns the joined delta text.
fn check_order(events: &[Value], delta_kind: &str, field: &str) -> String {
    let kinds = kinds(events);
    let n = kinds.len();
    assert!(n >= 6, "{kinds:?}");
    assert_eq!(kinds[0], "message_start");
    assert_eq!(kinds[1], "content_block_start");
    assert!(
        kinds[2..n - 3].iter().all(|k| k == "content_block_delta"),
        "{kinds:?}"
    );
    assert_eq!(kinds[n - 3], "content_block_stop");
    assert_eq!(kinds[n - 2], "message_delta");
    assert_eq!(kinds[n - 1], "message_stop");
    events[2..n - 3]
        .iter()
        .map(|e| {
            assert_eq!(e["delta"]["type"], delta_kind);
            e["delta"][field].as_str().unwrap()
        })
        .collect()
}

#[tokio::test]
async fn the_sdk_receives_every_text_event_in_order() {
    let h = start(FaultPlan::default()).await;
    let client = sdk_client(&h.emulator.endpoint());
    let body = recipe_body(&json!({"target": "low-sodium", "language": "ko", "servings": 2}));
    let events = events_only(sdk_stream(&client, SONNET, &body).await.unwrap());
    let text = check_order(&events, "text_delta", "text");
    let recipe: Recipe = serde_json::from_str(&text).unwrap();
    assert_eq!(recipe.servings, 2);
    // The stream says what invoke says.
    let invoked = h.invoke(SONNET, &body).await;
    assert_eq!(invoked.text(), text);

    let start = &events[0]["message"];
    assert!(start["id"].as_str().unwrap().starts_with("msg_bdrk_"));
    assert_eq!(start["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(start["role"], "assistant");
    assert!(start["stop_reason"].is_null());
    assert_eq!(
        start["usage"]["input_tokens"],
        invoked.body["usage"]["input_tokens"]
    );
    assert_eq!(start["usage"]["cache_read_input_tokens"], 0);
    assert_eq!(
        events[1]["content_block"],
        json!({"type": "text", "text": ""})
    );
    let n = events.len();
    let output_tokens = invoked.body["usage"]["output_tokens"].as_u64().unwrap();
    assert_eq!(events[n - 2]["delta"]["stop_reason"], "end_turn");
    assert_eq!(events[n - 2]["usage"]["output_tokens"], output_tokens);
    // Several tokens a delta, not one.
    let deltas = n - 5;
    assert!(
        deltas > 5 && (deltas as u64) < output_tokens / 10,
        "{deltas} deltas"
    );
    let metrics = &events[n - 1]["amazon-bedrock-invocationMetrics"];
    assert_eq!(metrics["outputTokenCount"], output_tokens);
    assert_eq!(metrics["inputTokenCount"], start["usage"]["input_tokens"]);
    assert!(
        metrics["invocationLatency"].as_u64().unwrap()
            >= metrics["firstByteLatency"].as_u64().unwrap()
    );

    let stats = h.stats().await;
    assert_eq!(stats.stream_calls, 1);
    assert_eq!(stats.claude.successes, 2);
    assert!(stats.recent_calls[0].streamed && !stats.recent_calls[1].streamed);
}

#[tokio::test]
async fn raw_stream_has_the_bedrock_content_type_and_frames() {
    let h = start(FaultPlan::default()).await;
    let url = invoke_url(&h.emulator.endpoint(), SONNET)
        .replace("/invoke", "/invoke-with-response-stream");
    let response = h
        .client
        .post(url)
        .body(recipe_body(&json!({"target": "vegan"})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.amazon.eventstream"
    );
    assert_eq!(
        response.headers()["x-amzn-bedrock-content-type"],
        "application/json"
    );
    assert!(
        response.headers()["x-emulator-modelled-ms"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    let bytes = response.bytes().await.unwrap();
    // The first frame's prelude: total length, headers length, then a CRC.
    let total = u32::from_be_bytes(bytes[0..4].try_into().unwrap()) as usize;
    assert!(total < bytes.len());
    let frame = String::from_utf8_lossy(&bytes[..total]);
    assert!(frame.contains(":event-type") && frame.contains("chunk"));
    let payload_start = frame.find("{\"bytes\":\"").unwrap();
    let payload_end = payload_start + frame[payload_start..].find("\"}").unwrap();
    let event: Value =
        serde_json::from_slice(&decode_base64(&frame[payload_start + 10..payload_end])).unwrap();
    assert_eq!(event["type"], "message_start");
}

#[tokio::test]
async fn a_forced_tool_call_streams_input_json_deltas() {
    let h = start(FaultPlan::default()).await;
    let client = sdk_client(&h.emulator.endpoint());
    let body = tool_body(
        &json!({"target": "keto", "language": "en", "servings": 3}),
        false,
    );
    let events = events_only(sdk_stream(&client, SONNET, &body).await.unwrap());
    let json_text = check_order(&events, "input_json_delta", "partial_json");
    let block = &events[1]["content_block"];
    assert_eq!(block["type"], "tool_use");
    assert_eq!(block["name"], "record_recipe");
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(block["input"], json!({}));
    let recipe: Recipe = serde_json::from_str(&json_text).unwrap();
    assert_eq!(recipe.servings, 3);
    assert_eq!(events[events.len() - 2]["delta"]["stop_reason"], "tool_use");

    // Truncated: the partial JSON stops part way and the stop reason is max_tokens.
    h.emulator
        .set_faults(FaultPlan::from_json(r#"{"output": "truncated"}"#).unwrap())
        .unwrap();
    let events = events_only(sdk_stream(&client, SONNET, &body).await.unwrap());
    let partial = check_order(&events, "input_json_delta", "partial_json");
    assert!(partial.starts_with('{') && serde_json::from_str::<Value>(&partial).is_err());
    assert_eq!(
        events[events.len() - 2]["delta"]["stop_reason"],
        "max_tokens"
    );
}

#[tokio::test]
async fn errors_before_the_stream_answer_like_invoke() {
    let h = start(
        FaultPlan::from_json(r#"{"errors": {"error": "ThrottlingException", "first": 1}}"#)
            .unwrap(),
    )
    .await;
    let client = sdk_client(&h.emulator.endpoint());
    let body = recipe_body(&json!({"target": "keto"}));
    let error = sdk_stream(&client, SONNET, &body).await.unwrap_err();
    assert!(
        matches!(
            error,
            InvokeModelWithResponseStreamError::ThrottlingException(_)
        ),
        "{error:?}"
    );
    let mut bad = body.clone();
    bad["max_tokens"] = json!(0);
    let error = sdk_stream(&client, SONNET, &bad).await.unwrap_err();
    assert!(
        matches!(
            error,
            InvokeModelWithResponseStreamError::ValidationException(_)
        ),
        "{error:?}"
    );
    let error = sdk_stream(&client, TITAN_V2, &titan_body("a"))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        InvokeModelWithResponseStreamError::ValidationException(_)
    ));
    // The same JSON error shape and status as invoke.
    h.emulator
        .set_faults(
            FaultPlan::from_json(r#"{"errors": {"error": "ModelNotReadyException"}}"#).unwrap(),
        )
        .unwrap();
    let url = invoke_url(&h.emulator.endpoint(), SONNET)
        .replace("/invoke", "/invoke-with-response-stream");
    let raw = h
        .client
        .post(url)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 429);
    assert_eq!(raw.headers()["content-type"], "application/json");
    assert!(raw.headers()["x-amzn-errortype"]
        .to_str()
        .unwrap()
        .starts_with("ModelNotReadyException:"));
    let json: Value = raw.json().await.unwrap();
    assert!(json["message"].as_str().unwrap().contains("not ready"));
}

#[tokio::test]
async fn exceptions_mid_stream_arrive_as_bedrock_sends_them() {
    let h = start(
        FaultPlan::from_json(
            r#"{"streamError": {"error": "modelStreamErrorException", "afterEvents": 2, "first": 1}}"#,
        )
        .unwrap(),
    )
    .await;
    let client = sdk_client(&h.emulator.endpoint());
    let body = recipe_body(&json!({"target": "keto"}));
    let items = sdk_stream(&client, SONNET, &body).await.unwrap();
    assert_eq!(items.len(), 3);
    match &items[2].1 {
        StreamItem::Error(ResponseStreamError::ModelStreamErrorException(e)) => {
            assert_eq!(e.original_status_code(), Some(500));
        }
        other => panic!("{other:?}"),
    }
    // Past `first`, the stream is whole again.
    events_only(sdk_stream(&client, SONNET, &body).await.unwrap());
    h.emulator
        .set_faults(
            FaultPlan::from_json(
                r#"{"streamError": {"error": "throttlingException", "scope": {"model": "sonnet"}}}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let items = sdk_stream(&client, SONNET, &body).await.unwrap();
    assert_eq!(items.len(), 4, "three events, then the exception");
    assert!(matches!(
        items[3].1,
        StreamItem::Error(ResponseStreamError::ThrottlingException(_))
    ));
    events_only(sdk_stream(&client, HAIKU45, &body).await.unwrap());
    assert_eq!(h.stats().await.stream_errors, 2);
}

#[tokio::test]
async fn a_realistic_stream_is_paced_by_the_profile() {
    let scale = 20.0;
    let h = start_with(EmulatorOptions {
        latency: LatencyProfile::Realistic,
        time_scale: TimeScale::new(scale).unwrap(),
        ..EmulatorOptions::default()
    })
    .await;
    let client = sdk_client(&h.emulator.endpoint());
    let body = recipe_body(&json!({"target": "balanced", "language": "ko"}));
    let items = sdk_stream(&client, SONNET, &body).await.unwrap();
    let stats = h.stats().await;
    let modelled = Duration::from_millis(stats.recent_calls[0].modelled_ms);
    let sonnet = LatencyTable::builtin()
        .unwrap()
        .family_for(SONNET)
        .unwrap()
        .clone();
    let first_token = Duration::from_millis(sonnet.time_to_first_token_ms).div_f64(scale);
    let (first_at, _) = &items[0];
    let (last_at, _) = items.last().unwrap();
    assert!(
        *first_at >= first_token.mul_f64(0.95),
        "first event at {first_at:?}"
    );
    assert!(
        *last_at >= modelled.div_f64(scale).mul_f64(0.95),
        "last at {last_at:?}, modelled {modelled:?}"
    );
    assert!(*last_at < modelled.div_f64(scale) + Duration::from_secs(2));
    // Deltas are spread over the generation, not sent in one burst at the end.
    let deltas: Vec<Duration> = items
        .iter()
        .filter(
            |(_, item)| matches!(item, StreamItem::Event(e) if e["type"] == "content_block_delta"),
        )
        .map(|(at, _)| *at)
        .collect();
    let spread = *deltas.last().unwrap() - deltas[0];
    assert!(
        spread >= (modelled.div_f64(scale) - first_token).mul_f64(0.5),
        "{spread:?}"
    );
}
