//! Every token accounted for (contract: "Cost and usage"), against the local Bedrock emulator
//! through the real AWS SDK: `meta.usage` and `meta.costUsd` at the configured prices, the
//! per-call token and cost metrics, the forced `record_recipe` tool and the prompt-cache
//! points on Claude 4.5 (the text path on Claude 3), lean repairs whose cached prefix stays
//! byte-identical, the model fallback chain, and `ColdStart` from the real binary.
//!
//! `figures` (ignored by default) runs the 50-request comparison reported in docs/economics.md:
//! `cargo test -p ai-chef-tests --test economics -- --ignored --nocapture figures`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef::bedrock::{ChatModelClient, ChatRequest, ChatResponse, ModelCallError, Role};
use ai_chef::config::{ChatModel, Config, DEFAULT_HAIKU_MODEL_ID, DEFAULT_SONNET_MODEL_ID};
use ai_chef::error::ModelFailure;
use ai_chef::pricing::{PriceTable, TokenUsage};
use ai_chef_aws::bedrock::claude_body;
use ai_chef_lambda::handlers::generate_recipe::{handle, GenerateRecipeApp};
use ai_chef_tests::function_binary as binary;
use ai_chef_tests::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Passes calls to the emulator (optionally throttling some models first) and keeps every
/// request and answer, so prompts and per-call usage can be inspected.
struct Recording {
    inner: Arc<dyn ChatModelClient>,
    /// Model ids answered with `Throttling` as if the SDK's retries were exhausted.
    throttled: Vec<String>,
    /// Replays the pre-change repair shape (figures only): every earlier answer resent whole
    /// and the request data block repeated in each repair turn.
    resend_whole: bool,
    /// The raw answers of the conversation in progress (for `resend_whole`).
    answers: Mutex<Vec<String>>,
    calls: Mutex<Vec<(ChatRequest, Option<ChatResponse>)>>,
}

/// The pre-change repair turns: whole earlier answers and the request block repeated.
fn resend_whole(request: &ChatRequest, answers: &[String]) -> ChatRequest {
    let mut old = request.clone();
    let first = &request.messages[0].content;
    let block = first
        .find("<request>")
        .and_then(|start| {
            first[start..]
                .find("</request>")
                .map(|end| &first[start..start + end + 10])
        })
        .unwrap_or_default()
        .to_owned();
    let ko = block.contains("\"language\":\"ko\"");
    for (i, message) in old.messages.iter_mut().enumerate().skip(1) {
        if message.role == Role::Assistant {
            if let Some(answer) = answers.get(i / 2) {
                message.content = answer.clone();
            }
        } else {
            let lead = if ko {
                "사용자 데이터는 그대로입니다:"
            } else {
                "The user data is unchanged:"
            };
            message.content = format!("{}\n{lead}\n{block}", message.content);
        }
    }
    old
}

#[async_trait::async_trait]
impl ChatModelClient for Recording {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelCallError> {
        if self.throttled.contains(&request.model_id) {
            self.calls.lock().unwrap().push((request.clone(), None));
            return Err(ModelCallError::new(
                ModelFailure::Throttling,
                "Too many requests, please wait before trying again.",
            ));
        }
        let sent = if self.resend_whole {
            let mut answers = self.answers.lock().unwrap();
            if request.messages.len() == 1 {
                answers.clear();
            }
            resend_whole(request, &answers)
        } else {
            request.clone()
        };
        let answer = self.inner.chat(&sent).await;
        if let (true, Ok(answer)) = (self.resend_whole, &answer) {
            self.answers.lock().unwrap().push(answer.text.clone());
        }
        self.calls
            .lock()
            .unwrap()
            .push((sent, answer.as_ref().ok().cloned()));
        answer
    }
}

async fn recording_app(
    endpoint: &str,
    config: Config,
    throttled: &[&str],
) -> (GenerateRecipeApp, Arc<Recording>, Arc<CapturingSink>) {
    recording_app_with(endpoint, config, throttled, false).await
}

async fn recording_app_with(
    endpoint: &str,
    config: Config,
    throttled: &[&str],
    resend: bool,
) -> (GenerateRecipeApp, Arc<Recording>, Arc<CapturingSink>) {
    let sink = Arc::new(CapturingSink::default());
    let foundation = foundation(endpoint, config).await;
    let chat = Arc::new(Recording {
        inner: foundation.bedrock(),
        throttled: throttled.iter().map(|s| (*s).to_owned()).collect(),
        resend_whole: resend,
        answers: Mutex::new(Vec::new()),
        calls: Mutex::new(Vec::new()),
    });
    let table = ai_chef::nutrition::FoodTable::load_embedded().unwrap();
    let verifier = Arc::new(ai_chef::verify::TableVerifier::new(table, None));
    let service = ai_chef::generate::RecipeService::new(
        foundation.config.clone(),
        chat.clone(),
        verifier,
        None,
    );
    (
        GenerateRecipeApp {
            service,
            metrics: sink.clone(),
            async_recipes: ai_chef_lambda::handlers::async_recipes::AsyncRecipes::disabled(),
        },
        chat,
        sink,
    )
}

async fn post(app: &GenerateRecipeApp, body: &Value) -> (u16, Value) {
    let event = http_event_with_body("apigw-post-recipes-keto.json", &body.to_string());
    let response = handle(app, lambda_event(event, Duration::from_secs(30)))
        .await
        .unwrap();
    http_parts(&response)
}

fn keto(extra: Value) -> Value {
    let mut body = json!({
        "target": "keto",
        "profile": {"allergies": ["땅콩"], "maxCalories": 700},
        "servings": 2,
        "language": "ko"
    });
    if let (Some(map), Some(more)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            map.insert(k.clone(), v.clone());
        }
    }
    body
}

fn usage_of(meta: &Value) -> TokenUsage {
    serde_json::from_value(meta["usage"].clone()).unwrap()
}

#[tokio::test]
async fn every_answer_reports_its_usage_and_cost_at_the_configured_prices() {
    let emu = emulator(None).await;
    let (app, chat, sink) = recording_app(&emu.endpoint(), test_config(), &[]).await;
    let (status, body) = post(&app, &keto(json!({}))).await;
    assert_eq!(status, 200, "{body:#}");
    let meta = &body["meta"];
    for field in [
        "inputTokens",
        "outputTokens",
        "cacheReadInputTokens",
        "cacheWriteInputTokens",
    ] {
        assert!(
            meta["usage"][field].is_u64(),
            "meta.usage.{field}: {meta:#}"
        );
    }
    let usage = usage_of(meta);
    assert!(
        usage.output_tokens > 0 && usage.total_input() > 0,
        "{meta:#}"
    );
    assert_eq!(meta["inputTokens"], usage.input_tokens);
    assert_eq!(meta["outputTokens"], usage.output_tokens);
    // The cost is the usage at the table's Sonnet 4.5 prices, summed over the calls.
    let calls = chat.calls.lock().unwrap().clone();
    let mut summed = TokenUsage::default();
    for (_, answer) in &calls {
        summed += answer.as_ref().unwrap().usage();
    }
    assert_eq!(summed, usage);
    let expected = PriceTable::embedded()
        .unwrap()
        .cost(DEFAULT_SONNET_MODEL_ID, &usage)
        .unwrap();
    let cost = meta["costUsd"].as_f64().unwrap();
    assert!(
        cost > 0.0 && (cost - expected).abs() < 1e-6,
        "{cost} vs {expected}"
    );
    // The emulator counted the same tokens the answer reports.
    let stats = emu.stats();
    assert_eq!(stats.output_tokens, usage.output_tokens);
    // One usage record per answered call, with the same cost.
    let batches = sink.batches.lock().unwrap();
    let recorded: Vec<_> = batches
        .iter()
        .flat_map(|b| {
            b.usage
                .get(DEFAULT_SONNET_MODEL_ID)
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(recorded.len(), calls.len());
    let recorded_cost: f64 = recorded.iter().map(|c| c.cost_usd).sum();
    assert!((recorded_cost - cost).abs() < 1e-6);
}

#[tokio::test]
async fn claude_4_5_gets_the_forced_tool_and_cache_points_and_claude_3_the_text_path() {
    let emu = emulator(None).await;
    let (app, chat, _) = recording_app(&emu.endpoint(), test_config(), &[]).await;
    let (status, body) = post(&app, &keto(json!({"model": "sonnet"}))).await;
    assert_eq!(status, 200, "{body:#}");
    let (status, legacy) = post(&app, &keto(json!({"model": "claude-3-haiku"}))).await;
    assert_eq!(status, 200, "{legacy:#}");
    let calls = chat.calls.lock().unwrap().clone();
    let (sonnet, _) = &calls[0];
    let wire = serde_json::to_value(claude_body(sonnet)).unwrap();
    assert_eq!(wire["tools"][0]["name"], "record_recipe");
    assert_eq!(wire["tools"][0]["input_schema"]["type"], "object");
    assert_eq!(
        wire["tool_choice"],
        json!({"type": "tool", "name": "record_recipe"})
    );
    assert_eq!(
        wire["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(
        wire["messages"][0]["content"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert!(!sonnet.messages[0].content.contains("\"recipeName\""));
    let (haiku3, _) = calls.last().unwrap();
    assert_eq!(haiku3.model_id, "anthropic.claude-3-haiku-20240307-v1:0");
    let wire = serde_json::to_value(claude_body(haiku3)).unwrap();
    assert!(wire.get("tools").is_none() && wire.get("tool_choice").is_none());
    assert!(wire["system"].is_string() && wire["messages"][0]["content"].is_string());
    // The legacy prompt carries the same schema as text.
    assert!(haiku3.messages[0].content.contains("\"recipeName\""));
    // Claude 3 Haiku's cheaper tokens show in the cost.
    let legacy_cost = legacy["meta"]["costUsd"].as_f64().unwrap();
    let expected = (usage_of(&legacy["meta"]).input_tokens as f64 * 0.25
        + usage_of(&legacy["meta"]).output_tokens as f64 * 1.25)
        / 1e6;
    assert!(
        (legacy_cost - expected).abs() < 1e-6,
        "{legacy_cost} vs {expected}"
    );
}

#[tokio::test]
async fn a_repair_keeps_the_cached_prefix_identical_and_recalls_the_answer_briefly() {
    let emu = emulator(Some(r#"{"violateFirst": "carbHeavy"}"#)).await;
    let (app, chat, _) = recording_app(&emu.endpoint(), test_config(), &[]).await;
    let (status, body) = post(&app, &keto(json!({}))).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["meta"]["attempts"], 2);
    let calls = chat.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    let (first, first_answer) = &calls[0];
    let (repair, _) = &calls[1];
    // Everything before the repair turns is byte-identical: the cache serves it.
    let wire_first = serde_json::to_value(claude_body(first)).unwrap();
    let wire_repair = serde_json::to_value(claude_body(repair)).unwrap();
    assert_eq!(wire_first["system"], wire_repair["system"]);
    assert_eq!(wire_first["tools"], wire_repair["tools"]);
    assert_eq!(wire_first["messages"][0], wire_repair["messages"][0]);
    assert_eq!(repair.messages.len(), 3);
    // The previous answer is recalled by its name and ingredient lines, not resent whole.
    let recalled = &repair.messages[1];
    assert_eq!(recalled.role, Role::Assistant);
    let answer = first_answer.as_ref().unwrap();
    let full = answer
        .tool_input
        .as_ref()
        .map_or_else(|| answer.text.clone(), Value::to_string);
    assert!(recalled.content.len() < full.len(), "{}", recalled.content);
    let last = &repair.messages[2].content;
    assert!(last.contains("<failed_checks>") && !last.contains("<request>"));
    assert!(last.contains("netCarbs"), "{last}");
    // The usage adds up over both attempts.
    let usage = usage_of(&body["meta"]);
    let summed: u64 = calls
        .iter()
        .map(|(_, a)| a.as_ref().unwrap().usage().output_tokens)
        .sum();
    assert_eq!(usage.output_tokens, summed);
}

#[tokio::test]
async fn prompt_caching_off_sends_no_cache_points_and_bills_every_input_token_in_full() {
    let plan = Some(r#"{"violateFirst": "carbHeavy"}"#);
    let emu = emulator(plan).await;
    let (app, _, _) = recording_app(&emu.endpoint(), test_config(), &[]).await;
    let (status, cached) = post(&app, &keto(json!({}))).await;
    assert_eq!(status, 200, "{cached:#}");
    let on = usage_of(&cached["meta"]);
    assert!(
        on.cache_write_input_tokens > 0 && on.cache_read_input_tokens > 0,
        "with caching on, the first attempt writes the prefix and the repair reads it: {on:?}"
    );

    let emu = emulator(plan).await;
    let config = Config {
        prompt_caching: false,
        ..test_config()
    };
    let (app, chat, _) = recording_app(&emu.endpoint(), config, &[]).await;
    let (status, body) = post(&app, &keto(json!({}))).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["meta"]["attempts"], 2);
    let calls = chat.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    for (call, _) in &calls {
        assert!(!call.cache_points);
        let wire = serde_json::to_value(claude_body(call)).unwrap();
        assert!(
            !wire.to_string().contains("cache_control"),
            "a cache point was sent: {wire:#}"
        );
        // The structured output stays: only the cache points go.
        assert_eq!(wire["tools"][0]["name"], "record_recipe");
    }
    let off = usage_of(&body["meta"]);
    assert_eq!(
        (off.cache_read_input_tokens, off.cache_write_input_tokens),
        (0, 0)
    );
    // Every input token is billed at Sonnet 4.5's full rate ($3 in, $15 out per million).
    let expected = (off.input_tokens as f64 * 3.0 + off.output_tokens as f64 * 15.0) / 1e6;
    let cost = body["meta"]["costUsd"].as_f64().unwrap();
    assert!((cost - expected).abs() < 2e-6, "{cost} vs {expected}");
    // The same request with caching on sends as many input tokens, but fewer at full price.
    assert_eq!(off.input_tokens, on.total_input());
    assert!(on.input_tokens < off.input_tokens);
}

#[tokio::test]
async fn a_throttled_sonnet_hands_over_to_haiku_unless_the_request_refuses_fallback() {
    let emu = emulator(None).await;
    let (app, chat, sink) =
        recording_app(&emu.endpoint(), test_config(), &[DEFAULT_SONNET_MODEL_ID]).await;
    let (status, body) = post(&app, &keto(json!({}))).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["meta"]["modelId"], DEFAULT_HAIKU_MODEL_ID);
    assert_eq!(body["meta"]["attempts"], 1);
    let expected = PriceTable::embedded()
        .unwrap()
        .cost(DEFAULT_HAIKU_MODEL_ID, &usage_of(&body["meta"]))
        .unwrap();
    assert!((body["meta"]["costUsd"].as_f64().unwrap() - expected).abs() < 1e-6);
    let fallbacks: u32 = sink
        .batches
        .lock()
        .unwrap()
        .iter()
        .filter_map(|b| b.fallbacks.get(DEFAULT_HAIKU_MODEL_ID))
        .sum();
    assert_eq!(fallbacks, 1);

    let (status, refused) = post(&app, &keto(json!({"model": "sonnet", "fallback": false}))).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (429, Some("throttled"))
    );
    // Haiku first has nothing after it in the chain: no fallback is taken from it.
    let calls = chat.calls.lock().unwrap().clone();
    let models: Vec<&str> = calls.iter().map(|(r, _)| r.model_id.as_str()).collect();
    assert_eq!(
        models,
        [
            DEFAULT_SONNET_MODEL_ID,
            DEFAULT_HAIKU_MODEL_ID,
            DEFAULT_SONNET_MODEL_ID
        ]
    );

    let (status, bad) = post(&app, &keto(json!({"fallback": "yes"}))).await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn model_not_ready_falls_back_and_a_chain_of_none_does_not() {
    // Every Claude call is refused as not ready: Sonnet, then Haiku (each through the SDK's
    // retries), then 503.
    let emu = emulator(Some(
        r#"{"errors": {"error": "ModelNotReadyException", "scope": "claude"}}"#,
    ))
    .await;
    let (app, sink) = generate_app(&emu.endpoint(), test_config()).await;
    let (status, body) = post(&app, &keto(json!({}))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("model_unavailable"))
    );
    let stats = emu.stats();
    assert!(
        stats.per_model.contains_key(DEFAULT_HAIKU_MODEL_ID),
        "{stats:?}"
    );
    assert!(sink
        .batches
        .lock()
        .unwrap()
        .iter()
        .any(|b| !b.fallbacks.is_empty()));

    emu.reset_stats();
    let config = Config {
        fallback_chain: Vec::new(),
        ..test_config()
    };
    let (app, _) = generate_app(&emu.endpoint(), config).await;
    let (status, _) = post(&app, &keto(json!({}))).await;
    assert_eq!(status, 503);
    assert!(!emu.stats().per_model.contains_key(DEFAULT_HAIKU_MODEL_ID));
    assert_eq!(
        ai_chef::config::model_candidates(&[], ChatModel::Sonnet, true),
        [ChatModel::Sonnet]
    );
}

fn emf_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

#[tokio::test]
async fn the_binary_writes_cold_start_once_and_token_metrics_per_call() {
    use lambda_runner::{FunctionProcess, Outcome, OutputMode, SpawnOptions};
    let emu = emulator(None).await;
    let endpoint = emu.endpoint();
    let spawn = |env: Vec<(String, String)>| async move {
        let mut options = SpawnOptions::new(binary("generate-recipe"))
            .function_name("generate-recipe")
            .output(OutputMode::Quiet);
        for (k, v) in env {
            options = options.env(k, v);
        }
        let mut process = FunctionProcess::spawn(options).await.unwrap();
        process.wait_ready(Duration::from_secs(30)).await.unwrap();
        process
    };
    let env = vec![(
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME".to_owned(),
        endpoint.clone(),
    )];
    let mut process = spawn(env.clone()).await;
    for _ in 0..2 {
        let invocation = process
            .invoke(
                load_event("apigw-post-recipes-keto.json"),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
        let Outcome::Response(response) = invocation.outcome else {
            panic!("function error")
        };
        let (status, body) = http_parts(&response);
        assert_eq!(status, 200, "{body:#}");
        assert!(body["meta"]["costUsd"].as_f64().unwrap() > 0.0);
    }
    let lines = emf_lines(&process.stdout_tail());
    let cold: Vec<&Value> = lines
        .iter()
        .filter(|d| d.get("ColdStart").is_some())
        .collect();
    assert_eq!(cold.len(), 1, "{lines:#?}");
    assert_eq!(cold[0]["FunctionName"], "generate-recipe");
    assert_eq!(cold[0]["ColdStart"], 1);
    assert_eq!(
        cold[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["FunctionName"]])
    );
    let tokens: Vec<&Value> = lines
        .iter()
        .filter(|d| d.get("InputTokens").is_some() && d["ModelId"] == DEFAULT_SONNET_MODEL_ID)
        .collect();
    // The first request answers from Bedrock; the second from the in-process cache (no call).
    assert_eq!(tokens.len(), 1, "{lines:#?}");
    let directive = &tokens[0]["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Dimensions"], json!([["ModelId"]]));
    let metrics = directive["Metrics"].as_array().unwrap();
    for (name, unit) in [
        ("InputTokens", "Count"),
        ("OutputTokens", "Count"),
        ("CostUsd", "None"),
    ] {
        assert!(
            metrics
                .iter()
                .any(|m| m["Name"] == name && m["Unit"] == unit),
            "{name}: {metrics:?}"
        );
    }
    assert!(tokens[0]["CostUsd"][0].as_f64().unwrap() > 0.0);

    // A warm-up that comes first takes the cold start and writes only its warm-up count.
    let mut warmed = spawn(env).await;
    warmed
        .invoke(load_event("scheduled-warmup.json"), Duration::from_secs(10))
        .await
        .unwrap();
    warmed
        .invoke(
            load_event("apigw-post-recipes-keto.json"),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let lines = emf_lines(&warmed.stdout_tail());
    assert!(
        lines.iter().all(|d| d.get("ColdStart").is_none()),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|d| d.get("WarmUpCount").is_some()));
}

// ---------------------------------------------------------------------------------------
// Figures for docs/economics.md.

/// 50 requests over every target, both languages and a spread of profiles.
fn fifty_requests() -> Vec<Value> {
    let targets = [
        "keto",
        "low-carb",
        "diabetic",
        "low-sodium",
        "high-protein",
        "vegetarian",
        "vegan",
        "weight-loss",
        "balanced",
    ];
    let allergies = [
        json!([]),
        json!(["땅콩"]),
        json!(["우유", "대두"]),
        json!(["새우"]),
        json!(["밀"]),
    ];
    (0..50)
        .map(|i| {
            json!({
                "target": targets[i % targets.len()],
                "language": if i % 3 == 0 { "en" } else { "ko" },
                "servings": 1 + (i % 4),
                "profile": {"allergies": allergies[i % allergies.len()].clone(), "maxCalories": 800},
            })
        })
        .collect()
}

#[derive(Debug, Default)]
struct Run {
    verified: u32,
    usage: TokenUsage,
    cost: f64,
    attempts: u32,
    calls: u32,
    served_by_haiku: u32,
    repair_inputs: Vec<u64>,
    repair_cache_reads: Vec<u64>,
    repair_uncached: Vec<u64>,
    first_inputs: Vec<u64>,
    first_cache_writes: Vec<u64>,
}

/// Runs the 50 requests, the fault plan set anew before each (so `first: 1` hits each
/// request's first call).
async fn run_fifty(plan: Option<&str>, config: Config, body_extra: Value) -> Run {
    run_fifty_with(plan, config, body_extra, false).await
}

async fn run_fifty_with(
    plan: Option<&str>,
    config: Config,
    body_extra: Value,
    resend: bool,
) -> Run {
    let emu = emulator(None).await;
    let (app, chat, _) = recording_app_with(&emu.endpoint(), config, &[], resend).await;
    let mut run = Run::default();
    for request in fifty_requests() {
        if let Some(plan) = plan {
            emu.set_faults(bedrock_emulator::FaultPlan::from_json(plan).unwrap())
                .unwrap();
        }
        let mut request = request;
        if let (Some(map), Some(extra)) = (request.as_object_mut(), body_extra.as_object()) {
            for (k, v) in extra {
                map.insert(k.clone(), v.clone());
            }
        }
        let (status, body) = post(&app, &request).await;
        if status == 200 {
            run.verified += 1;
            run.attempts += body["meta"]["attempts"].as_u64().unwrap() as u32;
            if body["meta"]["modelId"] == DEFAULT_HAIKU_MODEL_ID {
                run.served_by_haiku += 1;
            }
        }
    }
    let prices = PriceTable::embedded().unwrap();
    for (request, answer) in chat.calls.lock().unwrap().iter() {
        let Some(answer) = answer else { continue };
        run.calls += 1;
        let usage = answer.usage();
        run.usage += usage;
        run.cost += prices.cost(&request.model_id, &usage).unwrap();
        if request.messages.len() > 1 {
            run.repair_inputs.push(usage.total_input());
            run.repair_cache_reads.push(usage.cache_read_input_tokens);
            run.repair_uncached
                .push(usage.input_tokens + usage.cache_write_input_tokens);
        } else {
            run.first_inputs.push(usage.total_input());
            run.first_cache_writes.push(usage.cache_write_input_tokens);
        }
    }
    run
}

fn mean(values: &[u64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<u64>() as f64 / values.len() as f64
    }
}

fn report(name: &str, run: &Run) {
    let per = |x: f64| x / f64::from(run.verified.max(1));
    let cache_share =
        run.usage.cache_read_input_tokens as f64 / run.usage.total_input().max(1) as f64;
    println!(
        "{name}: verified {}/50, model calls {}, attempts/verified {:.2}, input tokens/verified {:.0} \
         (cache read share {:.1}%), output tokens/verified {:.0}, cost/verified ${:.5}, \
         first-turn input {:.0} (cache write {:.0}), repair input {:.0} (cache read {:.0}, uncached {:.0}) \
         over {} repairs, served by Haiku {}",
        run.verified,
        run.calls,
        per(f64::from(run.attempts)),
        per(run.usage.total_input() as f64),
        cache_share * 100.0,
        per(run.usage.output_tokens as f64),
        per(run.cost),
        mean(&run.first_inputs),
        mean(&run.first_cache_writes),
        mean(&run.repair_inputs),
        mean(&run.repair_cache_reads),
        mean(&run.repair_uncached),
        run.repair_inputs.len(),
        run.served_by_haiku,
    );
}

#[tokio::test]
#[ignore = "measurement for docs/economics.md; run with --ignored --nocapture"]
async fn figures() {
    let plans: [(&str, Option<&str>); 4] = [
        ("healthy", None),
        (
            "first answer breaks keto-style limits (violateFirst carbHeavy)",
            Some(r#"{"violateFirst": "carbHeavy"}"#),
        ),
        (
            "first answer malformed (invalidEscapes)",
            Some(r#"{"output": {"mode": "invalidEscapes", "first": 1}}"#),
        ),
        (
            "first answer wrong schema (wrongSchema)",
            Some(r#"{"output": {"mode": "wrongSchema", "first": 1}}"#),
        ),
    ];
    for (name, plan) in plans {
        let run = run_fifty(plan, test_config(), json!({})).await;
        report(&format!("{name} [sonnet 4.5: tool + cache points]"), &run);
        let legacy = run_fifty(plan, test_config(), json!({"model": "claude-3-sonnet"})).await;
        report(
            &format!("{name} [claude-3-sonnet: text path, no cache, same $3/$15]"),
            &legacy,
        );
    }
    // The pre-change shape: Sonnet 4.5's id and prices, text output, no cache points, every
    // earlier answer resent whole and the request data repeated in each repair turn.
    let before = || {
        let mut config = test_config();
        config.models.sonnet = ai_chef::config::DEFAULT_CLAUDE3_SONNET_MODEL_ID.to_owned();
        config
    };
    for (name, plan) in &plans[1..] {
        let run = run_fifty_with(*plan, before(), json!({}), true).await;
        report(
            &format!("{name} [before: text path, whole answer and request resent, no cache]"),
            &run,
        );
    }
    let sonnet_throttled =
        r#"{"errors": {"error": "ThrottlingException", "scope": {"model": "claude-sonnet-4-5"}}}"#;
    let chained = run_fifty(Some(sonnet_throttled), test_config(), json!({})).await;
    report("Sonnet throttled (emulator), chain sonnet,haiku", &chained);
    let no_chain = Config {
        fallback_chain: Vec::new(),
        ..test_config()
    };
    let refused = run_fifty(Some(sonnet_throttled), no_chain, json!({})).await;
    report(
        "Sonnet throttled (emulator), MODEL_FALLBACK_CHAIN=none",
        &refused,
    );
}
