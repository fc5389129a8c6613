//! Recipe safety through the emulator's violation scenarios: a violating first answer is
//! caught by the deterministic checks and repaired (200, two attempts, every check passed,
//! no allergen), and a model that never complies ends in 422 `constraints_unsatisfied` with
//! the failing checks in `details` — never a non-compliant 200. Token counts of every
//! attempt reach `meta`, so nothing is lost along the way.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_lambda::handlers::generate_recipe::handle;
use ai_chef_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

const KETO: &str = "apigw-post-recipes-keto.json";

struct Scenario {
    violation: &'static str,
    request: Value,
    /// A rule (prefix) that fails on the violating recipe and passes on the repaired one.
    failing_rule: &'static str,
    /// Ingredient names the compliant answer must not contain (soy sauce and salt may stay
    /// in a low-sodium recipe in small amounts: the sodium check decides).
    forbidden: &'static [&'static str],
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            violation: "allergen",
            request: json!({"target": "keto", "profile": {"allergies": ["땅콩"]}, "servings": 2}),
            failing_rule: "allergen:땅콩",
            forbidden: &["땅콩"],
        },
        Scenario {
            violation: "carbHeavy",
            request: json!({"target": "keto", "servings": 2}),
            failing_rule: "netCarbsPerServing",
            forbidden: &["쌀밥"],
        },
        Scenario {
            violation: "salty",
            request: json!({"target": "low-sodium", "servings": 2}),
            failing_rule: "sodiumPerServing",
            forbidden: &[],
        },
        Scenario {
            violation: "salty",
            request: json!({"target": "balanced", "profile": {"healthConditions": ["고혈압"]}, "servings": 2}),
            failing_rule: "sodiumPerServing",
            forbidden: &[],
        },
        Scenario {
            violation: "meatForVegan",
            request: json!({"target": "vegan", "servings": 2}),
            failing_rule: "noAnimalProducts",
            forbidden: &["삼겹살"],
        },
    ]
}

async fn generate(
    plan: &str,
    request: &Value,
) -> (u16, Value, bedrock_emulator::Stats, (usize, usize, u32)) {
    let emu = emulator(Some(plan)).await;
    let (app, sink) = generate_app(&emu.endpoint(), test_config()).await;
    let event = http_event_with_body(KETO, &request.to_string());
    let response = handle(&app, lambda_event(event, Duration::from_secs(20)))
        .await
        .unwrap();
    let (status, body) = http_parts(&response);
    (status, body, emu.stats(), sink.totals())
}

fn failed_rules(checks: &Value) -> Vec<String> {
    checks
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_violating_first_answer_is_repaired_into_a_compliant_recipe() {
    for s in scenarios() {
        let plan = format!(r#"{{"violateFirst": "{}"}}"#, s.violation);
        let (status, body, stats, metrics) = generate(&plan, &s.request).await;
        let label = format!("violateFirst {} on {}", s.violation, s.request);
        println!("{label} -> {status} attempts {}", body["meta"]["attempts"]);
        assert_eq!(status, 200, "{label}: {body:#}");
        assert_eq!(body["meta"]["attempts"], 2, "{label}");
        assert_eq!(stats.violations, 1, "{label}: the emulator did not violate");
        assert!(
            failed_rules(&body["checks"]).is_empty(),
            "{label}: {:#}",
            body["checks"]
        );
        let names: Vec<&str> = body["recipe"]["ingredients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        for forbidden in s.forbidden {
            assert!(
                !names.iter().any(|n| n.contains(forbidden)),
                "{label}: {forbidden} in {names:?}"
            );
        }
        let checks = body["checks"].as_array().unwrap();
        let guarded: Vec<&Value> = checks
            .iter()
            .filter(|c| c["rule"].as_str().unwrap().starts_with(s.failing_rule))
            .collect();
        assert!(
            !guarded.is_empty() && guarded.iter().all(|c| c["passed"] == true),
            "{label}: {checks:#?}"
        );
        // Nothing lost: both attempts' tokens are counted (output tokens are Claude's alone;
        // input tokens also include the retrieval query's Titan call) and both recipe calls
        // reached the metrics.
        assert_eq!(
            body["meta"]["outputTokens"].as_u64().unwrap(),
            stats.output_tokens,
            "{label}"
        );
        let input = body["meta"]["inputTokens"].as_u64().unwrap();
        assert!(
            input > 0 && input <= stats.input_tokens,
            "{label}: {input} vs {}",
            stats.input_tokens
        );
        assert_eq!(stats.claude.calls, 2, "{label}");
        assert_eq!(
            metrics.0 as u64,
            stats.claude.successes + stats.titan.successes,
            "{label}"
        );
        assert_eq!(metrics.1, 0, "{label}");
    }
}

#[tokio::test]
async fn a_model_that_never_complies_is_422_with_the_failing_checks() {
    for s in scenarios() {
        let plan = format!(r#"{{"neverComply": "{}"}}"#, s.violation);
        let (status, body, stats, _) = generate(&plan, &s.request).await;
        let label = format!("neverComply {} on {}", s.violation, s.request);
        let details = body["error"]["details"].clone();
        let failed = failed_rules(&details);
        println!(
            "{label} -> {status} {} failing {failed:?}",
            body["error"]["code"]
        );
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("constraints_unsatisfied")),
            "{label}: {body:#}"
        );
        assert!(
            body.get("recipe").is_none(),
            "{label}: a recipe came with the error"
        );
        assert_eq!(stats.claude.calls, 3, "{label}: the attempt budget is 3");
        assert!(!failed.is_empty(), "{label}: no failing check in details");
        assert!(
            failed.iter().any(|r| r.starts_with(s.failing_rule)),
            "{label}: {failed:?}"
        );
        for detail in details.as_array().unwrap() {
            assert!(
                detail["rule"].is_string()
                    && detail["value"].is_number()
                    && detail["limit"].is_number(),
                "{detail}"
            );
        }
        if s.violation == "allergen" {
            let check = details
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["rule"] == "allergen:땅콩")
                .unwrap();
            assert!(check["offending"].to_string().contains("땅콩"), "{check}");
        }
    }
}
