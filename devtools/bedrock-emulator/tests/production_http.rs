//! The emulator speaks like production over HTTP: modelled latency (`x-emulator-modelled-ms`,
//! stats, realistic waiting), forced tool use, prompt caching, first-attempt violations at a
//! seeded rate and throttling scoped to one model.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bedrock_emulator::latency::{LatencyTable, Work};
use bedrock_emulator::{EmulatorOptions, FaultPlan, LatencyProfile, Recipe, TimeScale};
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn modelled_ms(reply: &Reply) -> u64 {
    reply.header("x-emulator-modelled-ms").parse().unwrap()
}

fn expected_ms(model_id: &str, body: &Value) -> u64 {
    let family = LatencyTable::builtin()
        .unwrap()
        .family_for(model_id)
        .unwrap();
    let usage = &body["usage"];
    let prefill = usage["input_tokens"].as_u64().unwrap()
        + usage["cache_creation_input_tokens"].as_u64().unwrap();
    bedrock_emulator::latency::millis(family.modelled(Work {
        prefill_tokens: prefill as u32,
        output_tokens: usage["output_tokens"].as_u64().unwrap() as u32,
    }))
}

#[tokio::test]
async fn every_answer_carries_its_modelled_time_and_instant_does_not_wait() {
    let h = start(FaultPlan::default()).await;
    let ko = recipe_body(&json!({"target": "diabetic", "language": "ko"}));
    let en = recipe_body(&json!({"target": "diabetic", "language": "en"}));
    let started = Instant::now();
    let ko_reply = h.invoke(SONNET, &ko).await;
    let en_reply = h.invoke(SONNET, &en).await;
    let titan = h.invoke(TITAN_V2, &titan_body("김치찌개")).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "instant must not wait"
    );
    assert_eq!(modelled_ms(&ko_reply), expected_ms(SONNET, &ko_reply.body));
    assert_eq!(modelled_ms(&en_reply), expected_ms(SONNET, &en_reply.body));
    // Korean costs more tokens than the same dish in English, so it takes longer.
    assert!(
        ko_reply.body["usage"]["output_tokens"].as_u64().unwrap()
            > en_reply.body["usage"]["output_tokens"].as_u64().unwrap()
    );
    assert!(modelled_ms(&ko_reply) > modelled_ms(&en_reply));
    // Sonnet 4.5: 1.8 s to the first token, then about 63 tokens a second.
    assert!(
        (5_000..40_000).contains(&modelled_ms(&ko_reply)),
        "{}",
        modelled_ms(&ko_reply)
    );
    let titan_ms = modelled_ms(&titan);
    assert!((90..200).contains(&titan_ms), "{titan_ms}");
    let haiku = h.invoke(HAIKU45, &ko).await;
    assert!(modelled_ms(&haiku) < modelled_ms(&ko_reply));

    let stats = h.stats().await;
    let per_call: Vec<u64> = stats.recent_calls.iter().map(|c| c.modelled_ms).collect();
    assert_eq!(
        per_call,
        vec![
            modelled_ms(&ko_reply),
            modelled_ms(&en_reply),
            titan_ms,
            modelled_ms(&haiku)
        ]
    );
    assert_eq!(stats.modelled_ms, per_call.iter().sum::<u64>());
    assert_eq!(
        stats.per_model[SONNET].modelled_ms,
        per_call[0] + per_call[1]
    );
    assert_eq!(stats.recent_calls[3].model_id, HAIKU45);

    h.emulator
        .set_faults(
            FaultPlan::from_json(r#"{"errors": {"error": "ThrottlingException"}}"#).unwrap(),
        )
        .unwrap();
    assert_eq!(modelled_ms(&h.invoke(SONNET, &ko).await), 0);
}

#[tokio::test]
async fn a_realistic_answer_arrives_after_the_scaled_modelled_time() {
    let scale = 40.0;
    let h = start_with(EmulatorOptions {
        latency: LatencyProfile::Realistic,
        time_scale: TimeScale::new(scale).unwrap(),
        ..EmulatorOptions::default()
    })
    .await;
    let body = recipe_body(&json!({"target": "high-protein", "language": "ko"}));
    let started = Instant::now();
    let reply = h.invoke(SONNET, &body).await;
    let elapsed = started.elapsed();
    let scaled = Duration::from_millis(modelled_ms(&reply)).div_f64(scale);
    assert!(elapsed >= scaled.mul_f64(0.98), "{elapsed:?} < {scaled:?}");
    assert!(elapsed < scaled + Duration::from_secs(2), "{elapsed:?}");
    assert!(
        reply
            .header("x-amzn-bedrock-invocation-latency")
            .parse::<u64>()
            .unwrap()
            >= (scaled.as_millis() as u64).saturating_sub(5)
    );
}

#[tokio::test]
async fn forced_tool_use_answers_with_a_tool_use_block() {
    let h = start(FaultPlan::default()).await;
    let body = tool_body(
        &json!({"target": "vegan", "language": "ko", "servings": 4}),
        false,
    );
    let reply = h.invoke(SONNET, &body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["stop_reason"], "tool_use");
    let block = &reply.body["content"][0];
    assert_eq!(reply.body["content"].as_array().unwrap().len(), 1);
    assert_eq!(block["type"], "tool_use");
    assert_eq!(block["name"], "record_recipe");
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    let recipe: Recipe = serde_json::from_value(block["input"].clone()).unwrap();
    assert_eq!(recipe.servings, 4);
    assert!(reply.body["usage"]["output_tokens"].as_u64().unwrap() > 100);

    // The legacy Claude 3 path without tools still answers text.
    let legacy = h
        .invoke(
            HAIKU3,
            &recipe_body(&json!({"target": "vegan", "language": "ko"})),
        )
        .await;
    assert_eq!(legacy.body["content"][0]["type"], "text");
    serde_json::from_str::<Recipe>(legacy.text()).unwrap();

    // `tool_choice` none keeps the text path.
    let mut none = body.clone();
    none["tool_choice"] = json!({"type": "none"});
    assert_eq!(
        h.invoke(SONNET, &none).await.body["content"][0]["type"],
        "text"
    );

    let mut unknown = body.clone();
    unknown["tool_choice"] = json!({"type": "tool", "name": "nope"});
    let reply = h.invoke(SONNET, &unknown).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["message"],
        "Tool 'nope' not found in provided tools"
    );
    let mut nameless = body.clone();
    nameless["tools"][0]
        .as_object_mut()
        .unwrap()
        .remove("input_schema");
    assert_eq!(h.invoke(SONNET, &nameless).await.status, 400);

    // A repair turn after a tool call: tool_use and tool_result blocks are accepted.
    let repair = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 4096,
        "tools": body["tools"],
        "tool_choice": body["tool_choice"],
        "messages": [
            body["messages"][0],
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "record_recipe", "input": {"recipeName": "x"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "failed checks: sodium"}]}
        ]
    });
    let reply = h.invoke(SONNET, &repair).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["content"][0]["type"], "tool_use");
}

#[tokio::test]
async fn output_faults_apply_to_tool_answers_where_they_make_sense() {
    let h = start(FaultPlan::default()).await;
    let body = tool_body(&json!({"target": "keto", "language": "en"}), false);
    let with = |mode: &str| FaultPlan::from_json(&json!({"output": mode}).to_string()).unwrap();

    h.emulator.set_faults(with("wrongSchema")).unwrap();
    let reply = h.invoke(SONNET, &body).await;
    let input = &reply.body["content"][0]["input"];
    assert!(input.get("recipeName").is_none() && input["steps"].is_number());
    assert_eq!(reply.body["stop_reason"], "tool_use");

    h.emulator.set_faults(with("truncated")).unwrap();
    let reply = h.invoke(SONNET, &body).await;
    assert_eq!(reply.body["stop_reason"], "max_tokens");
    let partial = reply.body["content"][0]["input"].as_object().unwrap();
    assert!(
        // Cut before the end: the last field of the recipe object never arrives.
        !partial.is_empty() && !partial.contains_key("instructions"),
        "{partial:?}"
    );

    for prose_mode in ["prose", "proseWrapped", "fenced", "invalidEscapes"] {
        h.emulator.set_faults(with(prose_mode)).unwrap();
        let reply = h.invoke(SONNET, &body).await;
        serde_json::from_value::<Recipe>(reply.body["content"][0]["input"].clone())
            .unwrap_or_else(|e| panic!("{prose_mode}: {e}"));
    }

    // A tool input longer than max_tokens is cut like text is.
    h.emulator.clear_faults();
    let mut short = body.clone();
    short["max_tokens"] = json!(50);
    let reply = h.invoke(SONNET, &short).await;
    assert_eq!(reply.body["stop_reason"], "max_tokens");
    assert_eq!(reply.body["usage"]["output_tokens"], 50);
}

#[tokio::test]
async fn prompt_caching_reports_writes_then_reads() {
    let h = start(FaultPlan::default()).await;
    let body = tool_body(&json!({"target": "low-carb", "language": "ko"}), true);
    let first = h.invoke(SONNET, &body).await;
    let second = h.invoke(SONNET, &body).await;
    let usage = |r: &Reply, key: &str| r.body["usage"][key].as_u64().unwrap();
    let written = usage(&first, "cache_creation_input_tokens");
    assert!(written >= 1024, "{written}");
    assert_eq!(usage(&first, "cache_read_input_tokens"), 0);
    assert_eq!(usage(&second, "cache_read_input_tokens"), written);
    assert_eq!(usage(&second, "cache_creation_input_tokens"), 0);
    assert_eq!(
        usage(&first, "input_tokens"),
        usage(&second, "input_tokens")
    );
    assert!(usage(&second, "input_tokens") < 200);
    // Cached tokens are not prefilled again.
    assert!(modelled_ms(&second) < modelled_ms(&first));
    assert_eq!(modelled_ms(&second), expected_ms(SONNET, &second.body));

    // The stream's message_start carries the same split.
    let client = sdk_client(&h.emulator.endpoint());
    let events = events_only(sdk_stream(&client, SONNET, &body).await.unwrap());
    assert_eq!(
        events[0]["message"]["usage"]["cache_read_input_tokens"],
        written
    );

    // Without a cache point nothing is cached; a changed system prompt misses.
    let mut plain = body.clone();
    plain["system"] = long_system(false);
    let reply = h.invoke(SONNET, &plain).await;
    assert_eq!(usage(&reply, "cache_read_input_tokens"), 0);
    assert_eq!(usage(&reply, "cache_creation_input_tokens"), 0);
    let mut changed = body.clone();
    changed["system"][0]["text"] = json!(format!(
        "{} Extra.",
        changed["system"][0]["text"].as_str().unwrap()
    ));
    assert_eq!(
        usage(&h.invoke(SONNET, &changed).await, "cache_read_input_tokens"),
        0
    );

    // Haiku 4.5 needs 4,096 tokens; Claude 3 Haiku has no prompt cache on Bedrock.
    for model in [HAIKU45, HAIKU3] {
        for _ in 0..2 {
            let mut legacy_ok = body.clone();
            legacy_ok["max_tokens"] = json!(4096);
            let reply = h.invoke(model, &legacy_ok).await;
            assert_eq!(reply.status, 200, "{model}: {}", reply.body);
            assert_eq!(usage(&reply, "cache_read_input_tokens"), 0, "{model}");
            assert_eq!(usage(&reply, "cache_creation_input_tokens"), 0, "{model}");
        }
    }
    let stats = h.stats().await;
    assert_eq!(stats.cache_read_input_tokens, 2 * written);

    // At most four cache points.
    let mut five = body.clone();
    let block = json!({"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}});
    five["system"] = json!([block, block, block, block, block]);
    let reply = h.invoke(SONNET, &five).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["message"],
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    );
}

#[tokio::test]
async fn a_repair_reads_the_cached_first_turn() {
    let h = start(FaultPlan::default()).await;
    let mut first = tool_body(&json!({"target": "keto", "language": "ko"}), true);
    let reply = h.invoke(SONNET, &first).await;
    let input = reply.body["content"][0]["input"].clone();
    // The repair resends the conversation with a cache point on the model's answer.
    first["messages"] = json!([
        first["messages"][0],
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "record_recipe",
                                            "input": input, "cache_control": {"type": "ephemeral"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sodium too high"}]}
    ]);
    let repair = h.invoke(SONNET, &first).await;
    let usage = &repair.body["usage"];
    assert_eq!(
        usage["cache_read_input_tokens"],
        reply.body["usage"]["cache_creation_input_tokens"]
    );
    assert!(usage["cache_creation_input_tokens"].as_u64().unwrap() > 100);
    assert!(usage["input_tokens"].as_u64().unwrap() < 100);
}

#[tokio::test]
async fn violations_hit_a_seeded_share_of_first_attempts_only() {
    let plan = r#"{"violateFirst": {"violation": "salty", "rate": 0.33, "seed": 11}}"#;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let h = start(FaultPlan::from_json(plan).unwrap()).await;
        let request = json!({"target": "low-sodium", "language": "ko"});
        let mut violated = Vec::new();
        for _ in 0..30 {
            let first = h.invoke(SONNET, &recipe_body(&request)).await;
            violated.push(first.text().contains("간을 세게"));
            // A repair is never violated.
            let repair = h.invoke(SONNET, &repair_body(&request, first.text())).await;
            assert!(!repair.text().contains("간을 세게"));
        }
        assert_eq!(
            h.stats().await.violations,
            violated.iter().filter(|v| **v).count() as u64
        );
        runs.push(violated);
    }
    assert_eq!(runs[0], runs[1]);
    let share = runs[0].iter().filter(|v| **v).count();
    assert!((4..=18).contains(&share), "{share} of 30");
}

#[tokio::test]
async fn throttling_scoped_to_sonnet_leaves_haiku_answering() {
    let h = start(
        FaultPlan::from_json(
            r#"{"errors": {"error": "ThrottlingException", "scope": {"model": "claude-sonnet-4-5"}}}"#,
        )
        .unwrap(),
    )
    .await;
    let body = recipe_body(&json!({"target": "keto"}));
    for _ in 0..3 {
        let sonnet = h.invoke(SONNET, &body).await;
        assert_eq!(sonnet.status, 429);
        assert_eq!(sonnet.error_name(), "ThrottlingException");
        assert_eq!(h.invoke(HAIKU45, &body).await.status, 200);
    }
    let plan: Value = h
        .client
        .get(format!("{}/_emulator/faults", h.emulator.endpoint()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        plan["errors"][0]["scope"],
        json!({"model": "claude-sonnet-4-5"})
    );
}
