//! generate-recipe handler on the `events/` fixtures, through the real AWS SDK against the
//! local Bedrock emulator: the contract's success shape, warm-up, validation, and each
//! emulator fault mapped to its status and code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_lambda::handlers::generate_recipe::handle;
use ai_chef_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

const KETO: &str = "apigw-post-recipes-keto.json";

async fn call(
    app: &ai_chef_lambda::handlers::generate_recipe::GenerateRecipeApp,
    event: Value,
) -> (u16, Value) {
    let response = handle(app, lambda_event(event, Duration::from_secs(30)))
        .await
        .unwrap();
    http_parts(&response)
}

#[tokio::test]
async fn keto_request_gives_a_verified_korean_recipe_in_the_contract_shape() {
    let emu = emulator(None).await;
    let (app, sink) = generate_app(&emu.endpoint(), test_config()).await;
    let (status, body) = call(&app, load_event(KETO)).await;
    assert_eq!(status, 200, "{body:#}");
    let recipe = &body["recipe"];
    for field in [
        "recipeName",
        "description",
        "cookingTime",
        "difficulty",
        "servings",
        "ingredients",
        "instructions",
        "nutritionTips",
    ] {
        assert!(
            recipe.get(field).is_some(),
            "recipe.{field} missing: {body:#}"
        );
    }
    assert!(
        recipe["recipeName"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| ('가'..='힣').contains(&c)),
        "not Korean"
    );
    let per = &body["nutrition"]["perServing"];
    for field in [
        "kcal",
        "proteinG",
        "fatG",
        "carbsG",
        "fiberG",
        "netCarbsG",
        "sodiumMg",
    ] {
        assert!(per[field].is_number(), "perServing.{field}: {body:#}");
    }
    assert!(per["netCarbsG"].as_f64().unwrap() <= 5.0);
    assert!(per["kcal"].as_f64().unwrap() <= 600.0);
    assert!(body["nutrition"]["energyShare"]["fat"].as_f64().unwrap() >= 0.70);
    let checks = body["checks"].as_array().unwrap();
    assert!(
        checks.iter().any(|c| c["rule"] == "netCarbsPerServing<=5g"),
        "{checks:#?}"
    );
    assert!(checks.iter().all(|c| c["passed"] == true));
    assert!(checks
        .iter()
        .any(|c| c["rule"].as_str().unwrap().starts_with("allergen:")));
    let meta = &body["meta"];
    assert_eq!(
        meta["modelId"],
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    assert_eq!(meta["attempts"], 1);
    assert_eq!(meta["cached"], false);
    assert!(meta["inputTokens"].as_u64().unwrap() > 0);
    // One Claude call and, with nutrition retrieval, one Titan query embedding; no errors.
    let (ok, errors, warmups) = sink.totals();
    assert_eq!((errors, warmups), (0, 0));
    assert_eq!(ok as u64, emu.stats().total_calls);
    assert_eq!(emu.stats().claude.successes, 1);
}

#[tokio::test]
async fn identical_requests_are_answered_from_the_cache() {
    let emu = emulator(None).await;
    let config = ai_chef::config::Config {
        cache_max_entries: 100,
        ..test_config()
    };
    let (app, _) = generate_app(&emu.endpoint(), config).await;
    let (_, first) = call(&app, load_event(KETO)).await;
    let (status, second) = call(&app, load_event(KETO)).await;
    assert_eq!(status, 200);
    assert_eq!(second["meta"]["cached"], true);
    assert_eq!(second["recipe"], first["recipe"]);
    assert_eq!(emu.stats().claude.calls, 1);
}

#[tokio::test]
async fn whole_numbers_written_as_floats_are_the_same_request() {
    let emu = emulator(None).await;
    let config = ai_chef::config::Config {
        cache_max_entries: 100,
        ..test_config()
    };
    let (app, _) = generate_app(&emu.endpoint(), config).await;
    let (status, first) = call(&app, load_event(KETO)).await;
    assert_eq!(status, 200, "{first:#}");
    let mut event = load_event(KETO);
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    let servings = body["servings"].as_u64().unwrap();
    body["servings"] = json!(servings as f64);
    for field in ["budget", "maxCalories"] {
        let whole = body["profile"][field].as_u64().unwrap();
        body["profile"][field] = json!(whole as f64);
    }
    let text = body.to_string();
    assert!(
        text.contains(&format!("\"servings\":{servings}.0")),
        "{text}"
    );
    event["body"] = json!(text);
    let (status, second) = call(&app, event).await;
    assert_eq!(status, 200, "{second:#}");
    assert_eq!(second["recipe"]["servings"], json!(servings));
    // The same request: answered from the cache entry of the integer spelling.
    assert_eq!(second["meta"]["cached"], true);
    assert_eq!(second["recipe"], first["recipe"]);
    assert_eq!(emu.stats().claude.calls, 1);
}

#[tokio::test]
async fn warm_up_calls_no_model_and_counts_only_a_warm_up() {
    let emu = emulator(None).await;
    let (app, sink) = generate_app(&emu.endpoint(), test_config()).await;
    let response = handle(
        &app,
        lambda_event(load_event("scheduled-warmup.json"), Duration::from_secs(5)),
    )
    .await
    .unwrap();
    assert_eq!(
        response,
        json!({"warmed": true, "function": "generate-recipe"})
    );
    assert_eq!(emu.stats().total_calls, 0);
    assert_eq!(sink.totals(), (0, 0, 1));
}

#[tokio::test]
async fn invalid_bodies_are_400_with_field_details_and_call_no_model() {
    let emu = emulator(None).await;
    let (app, _) = generate_app(&emu.endpoint(), test_config()).await;
    let (status, body) = call(
        &app,
        http_event_with_body(KETO, r#"{"target":"keto","profile":{"budget":-5}}"#),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_request");
    let (status, body) = call(
        &app,
        http_event_with_body(KETO, r#"{"target":"keto","colour":"red"}"#),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("colour"));
    let (status, body) = call(
        &app,
        http_event_with_body(KETO, &format!(r#"{{"target":"{}"}}"#, "k".repeat(40_000))),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    assert_eq!(emu.stats().total_calls, 0);
}

async fn fault_case(plan: &str) -> (u16, Value, bedrock_emulator::Stats) {
    fault_case_with(plan, test_config()).await
}

async fn fault_case_with(
    plan: &str,
    config: ai_chef::config::Config,
) -> (u16, Value, bedrock_emulator::Stats) {
    let emu = emulator(Some(plan)).await;
    let (app, _) = generate_app(&emu.endpoint(), config).await;
    let (status, body) = call(&app, load_event(KETO)).await;
    (status, body, emu.stats())
}

#[tokio::test]
async fn throttling_then_success_is_retried_by_the_sdk() {
    let (status, body, stats) = fault_case(
        r#"{"errors": {"error": "ThrottlingException", "first": 2, "scope": "claude"}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(stats.claude.calls, 3);
}

#[tokio::test]
async fn persistent_throttling_is_429_with_retry_after() {
    let emu = emulator(Some(
        r#"{"errors": {"error": "ThrottlingException", "rate": 1.0, "seed": 1}}"#,
    ))
    .await;
    let (app, _) = generate_app(&emu.endpoint(), test_config()).await;
    let response = handle(
        &app,
        lambda_event(load_event(KETO), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let (status, body) = http_parts(&response);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("throttled"))
    );
    assert!(response["headers"]["retry-after"].as_str().is_some());
}

#[tokio::test]
async fn server_errors_are_503_model_unavailable() {
    let (status, body, _) = fault_case(
        r#"{"errors": {"error": "ServiceUnavailableException", "rate": 1.0, "seed": 1}}"#,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("model_unavailable"))
    );
}

#[tokio::test]
async fn prose_then_json_is_repaired_and_prose_forever_is_502() {
    // The text path (the `sonnet` alias pointed at Claude 3 Sonnet, which writes JSON as text).
    let text_path = || {
        let mut config = test_config();
        config.models.sonnet = ai_chef::config::DEFAULT_CLAUDE3_SONNET_MODEL_ID.to_owned();
        config
    };
    let (status, body, _) =
        fault_case_with(r#"{"output": {"mode": "prose", "first": 1}}"#, text_path()).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["meta"]["attempts"], 2);
    let (status, body, stats) = fault_case_with(r#"{"output": "prose"}"#, text_path()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("model_output_invalid"))
    );
    assert_eq!(stats.claude.calls, 3);
    // Claude 4.5 answers through the forced tool call, which carries no prose at all.
    let (status, body, stats) = fault_case(r#"{"output": "prose"}"#).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        (body["meta"]["attempts"].as_u64(), stats.claude.calls),
        (Some(1), 1)
    );
}

#[tokio::test]
async fn truncated_output_is_502() {
    let (status, body, _) = fault_case(r#"{"output": "truncated"}"#).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("model_output_invalid"))
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_tokens"));
}

#[tokio::test]
async fn wrong_schema_is_502() {
    let (status, body, _) = fault_case(r#"{"output": "wrongSchema"}"#).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("model_output_invalid"))
    );
}

#[tokio::test]
async fn fenced_and_wrapped_json_are_accepted() {
    for mode in ["fenced", "proseWrapped"] {
        let (status, body, _) = fault_case(&format!(r#"{{"output": "{mode}"}}"#)).await;
        assert_eq!(status, 200, "{mode}: {body:#}");
    }
}
