//! Claude over HTTP: response shape and headers, validation, recipe selection, scaling,
//! output modes and violation scenarios.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bedrock_emulator::recipes::{Catalogue, Language, TARGETS};
use bedrock_emulator::{FaultPlan, Recipe};
use common::*;
use serde_json::json;

fn entry_for<'a>(
    catalogue: &'a Catalogue,
    language: Language,
    recipe: &Recipe,
) -> &'a bedrock_emulator::recipes::CatalogueEntry {
    catalogue
        .entries(language)
        .iter()
        .find(|e| e.recipe_name == recipe.recipe_name)
        .unwrap_or_else(|| panic!("unknown recipe {}", recipe.recipe_name))
}

#[tokio::test]
async fn success_has_the_bedrock_shape_and_headers() {
    let h = start(FaultPlan::default()).await;
    let reply = h
        .invoke(
            SONNET,
            &recipe_body(&json!({"target": "keto", "language": "ko", "servings": 2})),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.header("x-amzn-requestid").len(), 36);
    assert!(reply
        .header("x-amzn-bedrock-invocation-latency")
        .parse::<u64>()
        .is_ok());
    let body = &reply.body;
    assert!(body["id"].as_str().unwrap().starts_with("msg_bdrk_"));
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(body["content"][0]["type"], "text");
    assert_eq!(body["stop_reason"], "end_turn");
    assert!(body["stop_sequence"].is_null());
    let input = body["usage"]["input_tokens"].as_u64().unwrap();
    let output = body["usage"]["output_tokens"].as_u64().unwrap();
    assert!(input > 0 && output > 0);
    assert_eq!(
        reply.header("x-amzn-bedrock-input-token-count"),
        input.to_string()
    );
    assert_eq!(
        reply.header("x-amzn-bedrock-output-token-count"),
        output.to_string()
    );
    let recipe: Recipe = serde_json::from_str(reply.text()).unwrap();
    assert!(recipe.keto_notes.is_some());
    for hidden in ["kcalPerServing", "allergens", "\"target\"", "\"id\""] {
        assert!(!reply.text().contains(hidden), "{hidden} leaked");
    }
}

#[tokio::test]
async fn validation_errors_use_bedrock_wording() {
    let h = start(FaultPlan::default()).await;
    let mut body = recipe_body(&json!({"target": "keto"}));
    body["top_p"] = json!(0.9);
    let reply = h.invoke(SONNET, &body).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_name(), "ValidationException");
    assert_eq!(
        reply.body["message"],
        "temperature and top_p cannot both be specified for this model. Please use only one."
    );
    // Claude 3 still accepts both.
    assert_eq!(h.invoke(HAIKU3, &body).await.status, 200);

    let unknown = h.invoke("anthropic.claude-nope", &body).await;
    assert_eq!(unknown.status, 400);
    let unknown = h.invoke("meta.llama3-8b-instruct-v1:0", &body).await;
    assert_eq!(
        unknown.body["message"],
        "The provided model identifier is invalid."
    );

    let mut missing = recipe_body(&json!({}));
    missing.as_object_mut().unwrap().remove("anthropic_version");
    let reply = h.invoke(SONNET, &missing).await;
    assert_eq!(reply.status, 400);
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("required key [anthropic_version] not found"));

    let mut too_many = recipe_body(&json!({}));
    too_many["max_tokens"] = json!(5000);
    assert_eq!(h.invoke(HAIKU3, &too_many).await.status, 400);
}

#[tokio::test]
async fn max_tokens_truncates_like_the_model() {
    let h = start(FaultPlan::default()).await;
    let mut body = recipe_body(&json!({"target": "vegan", "language": "en"}));
    body["max_tokens"] = json!(40);
    let reply = h.invoke(SONNET, &body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["stop_reason"], "max_tokens");
    assert_eq!(reply.body["usage"]["output_tokens"], 40);
    assert!(serde_json::from_str::<serde_json::Value>(reply.text()).is_err());
}

#[tokio::test]
async fn selection_respects_allergies_for_every_target_and_language() {
    let h = start(FaultPlan::default()).await;
    let catalogue = Catalogue::builtin().unwrap();
    for (language, tag) in [(Language::Ko, "ko"), (Language::En, "en")] {
        for target in TARGETS {
            for (servings, allergy) in [
                (1, "우유"),
                (2, "milk"),
                (3, "땅콩"),
                (4, "대두"),
                (5, "wheat"),
            ] {
                let request = json!({"target": target, "language": tag, "servings": servings,
                                     "allergies": [allergy], "healthConditions": ["고혈압"]});
                let reply = h.invoke(SONNET, &recipe_body(&request)).await;
                assert_eq!(reply.status, 200);
                let recipe: Recipe = serde_json::from_str(reply.text()).unwrap();
                let entry = entry_for(catalogue, language, &recipe);
                assert_eq!(entry.target, target);
                let group = bedrock_emulator::allergy::groups_for(allergy)[0];
                assert!(
                    !entry.allergens.iter().any(|a| a == group),
                    "{target}/{tag}: {} contains {group}",
                    recipe.recipe_name
                );
                assert_eq!(recipe.servings, servings);
            }
        }
    }
}

#[tokio::test]
async fn servings_scale_plain_amounts() {
    let h = start(FaultPlan::default()).await;
    let catalogue = Catalogue::builtin().unwrap();
    let request = json!({"target": "high-protein", "language": "ko", "servings": 4});
    let recipe: Recipe =
        serde_json::from_str(h.invoke(SONNET, &recipe_body(&request)).await.text()).unwrap();
    let entry = entry_for(catalogue, Language::Ko, &recipe);
    assert_eq!(recipe.servings, 4);
    let factor = 4.0 / f64::from(entry.servings);
    for (scaled, base) in recipe.ingredients.iter().zip(&entry.ingredients) {
        match (scaled.amount.parse::<f64>(), base.amount.parse::<f64>()) {
            (Ok(s), Ok(b)) => assert!((s - b * factor).abs() <= 0.5, "{}: {b} -> {s}", base.name),
            _ => assert_eq!(scaled.amount, base.amount),
        }
    }
}

#[tokio::test]
async fn ingredients_on_hand_are_preferred() {
    let h = start(FaultPlan::default()).await;
    let request =
        json!({"target": "keto", "language": "ko", "ingredientsOnHand": ["돼지고기", "양배추"]});
    let recipe: Recipe =
        serde_json::from_str(h.invoke(SONNET, &recipe_body(&request)).await.text()).unwrap();
    assert!(
        recipe.ingredients.iter().any(|i| i.name == "양배추"),
        "{}",
        recipe.recipe_name
    );
}

#[tokio::test]
async fn violate_first_then_comply_on_repair() {
    let h = start(FaultPlan::from_json(r#"{"violateFirst": "allergen"}"#).unwrap()).await;
    let request = json!({"target": "balanced", "language": "ko", "allergies": ["우유"]});
    let first = h.invoke(SONNET, &recipe_body(&request)).await;
    let bad: Recipe = serde_json::from_str(first.text()).unwrap();
    assert!(bad.ingredients.iter().any(|i| i.name == "우유"));
    let repaired = h.invoke(SONNET, &repair_body(&request, first.text())).await;
    let good: Recipe = serde_json::from_str(repaired.text()).unwrap();
    assert!(!good.ingredients.iter().any(|i| i.name == "우유"));
    assert_eq!(h.stats().await.violations, 1);

    for (kind, name) in [
        ("carbHeavy", "쌀밥"),
        ("salty", "간장"),
        ("meatForVegan", "삼겹살"),
    ] {
        assert_eq!(h.post_faults(&json!({"neverComply": kind})).await, 200);
        let vegan = json!({"target": "vegan", "language": "ko"});
        for body in [recipe_body(&vegan), repair_body(&vegan, "{}")] {
            let recipe: Recipe =
                serde_json::from_str(h.invoke(SONNET, &body).await.text()).unwrap();
            assert!(recipe.ingredients.iter().any(|i| i.name == name), "{kind}");
        }
    }
}

#[tokio::test]
async fn output_modes_shape_the_answer() {
    let h = start(FaultPlan::default()).await;
    let request = recipe_body(
        &json!({"target": "diabetic", "language": "en", "allergies": ["peanut"],
                                       "healthConditions": ["diabetes"], "ingredientsOnHand": ["<b>rice</b>"]}),
    );
    let mode = |m: &str| json!({"output": {"mode": m, "first": 1}});
    let run = |m: &'static str| {
        let h = &h;
        let request = &request;
        async move {
            assert_eq!(h.post_faults(&mode(m)).await, 200);
            let reply = h.invoke(SONNET, request).await;
            assert_eq!(reply.status, 200);
            reply
        }
    };
    assert!(run("fenced").await.text().starts_with("```json\n"));
    let prose = run("prose").await;
    assert!(!prose.text().contains('{') && prose.text().len() > 100);
    let wrapped = run("proseWrapped").await;
    assert!(wrapped.text().starts_with("Here is") && wrapped.text().contains("\"recipeName\""));
    let truncated = run("truncated").await;
    assert_eq!(truncated.body["stop_reason"], "max_tokens");
    assert!(serde_json::from_str::<serde_json::Value>(truncated.text()).is_err());
    let wrong: serde_json::Value = serde_json::from_str(run("wrongSchema").await.text()).unwrap();
    assert!(wrong.get("recipeName").is_none());
    let huge = run("huge").await;
    assert!(huge.text().len() >= 1_000_000);
    let escapes = run("invalidEscapes").await;
    assert!(escapes.text().contains("\\q"));
    assert!(serde_json::from_str::<serde_json::Value>(escapes.text()).is_err());
    let echo: Recipe = serde_json::from_str(run("echoInjection").await.text()).unwrap();
    assert!(echo.description.contains("<b>rice</b>") && echo.description.contains("diabetes"));
    assert!(echo
        .instructions
        .iter()
        .any(|s| s.contains("ignore previous instructions")));
    // `first: 1` was used up: the next call is normal again.
    let normal: Recipe = serde_json::from_str(h.invoke(SONNET, &request).await.text()).unwrap();
    assert!(!normal
        .instructions
        .iter()
        .any(|s| s.contains("ignore previous")));
}
