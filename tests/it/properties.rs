//! Property tests for the three parsers that meet untrusted text — the request body, the
//! model's recipe JSON and ingredient amounts — standing in for `cargo fuzz` where nightly is
//! missing (`make fuzz` runs them with more cases, and the libFuzzer targets in `fuzz/`
//! when nightly and cargo-fuzz are installed). They never panic, refuse with the contract's
//! statuses, and round-trip where a round trip exists. `PROPTEST_CASES` sets the case count.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef::domain::{Recipe, RecipeIngredient};
use ai_chef::extract::{extract_recipe, ExtractError, MAX_OUTPUT_BYTES};
use ai_chef::nutrition::{parse_amount, Amount};
use ai_chef::request::{clean_text, RecipeRequest, MAX_ALLERGIES, MAX_BODY_BYTES, MAX_TEXT_CHARS};
use proptest::prelude::*;
use serde_json::{json, Value};

/// The contract's target names, from the domain type itself.
fn targets() -> Vec<&'static str> {
    ai_chef::domain::Target::ALL.map(|t| t.as_str()).to_vec()
}

/// Any JSON value, a few levels deep, biased towards the request's own keys.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("target".to_owned()),
        Just("profile".to_owned()),
        Just("allergies".to_owned()),
        Just("healthConditions".to_owned()),
        Just("servings".to_owned()),
        Just("budget".to_owned()),
        Just("maxCalories".to_owned()),
        Just("cookingLevel".to_owned()),
        Just("ingredientsOnHand".to_owned()),
        Just("language".to_owned()),
        Just("model".to_owned()),
        "[a-zA-Z_]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop::sample::select(targets()).prop_map(|t| json!(t)),
        ".{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A request that must be accepted: targets, short clean words, numbers in range.
fn arb_valid_request() -> impl Strategy<Value = Value> {
    let word = "[가-힣a-z]{1,8}( [가-힣a-z0-9]{1,6})?";
    (
        prop::sample::select(targets()),
        prop::collection::vec(word, 0..5),
        prop::collection::vec(word, 0..MAX_ALLERGIES),
        prop::option::of(prop::sample::select(vec![
            "beginner",
            "intermediate",
            "advanced",
        ])),
        prop::option::of(1_000u64..=10_000_000),
        prop::option::of(100u64..=5_000),
        1u64..=12,
        prop::collection::vec(word, 0..10),
        prop::sample::select(vec!["ko", "en"]),
        prop::option::of(prop::sample::select(vec!["sonnet", "haiku"])),
    )
        .prop_map(
            |(
                target,
                conditions,
                allergies,
                level,
                budget,
                calories,
                servings,
                on_hand,
                language,
                model,
            )| {
                let mut profile = json!({"healthConditions": conditions, "allergies": allergies});
                if let Some(level) = level {
                    profile["cookingLevel"] = json!(level);
                }
                if let Some(budget) = budget {
                    profile["budget"] = json!(budget);
                }
                if let Some(calories) = calories {
                    profile["maxCalories"] = json!(calories);
                }
                let mut body = json!({"target": target, "profile": profile, "servings": servings,
                "ingredientsOnHand": on_hand, "language": language});
                if let Some(model) = model {
                    body["model"] = json!(model);
                }
                body
            },
        )
}

fn assert_refusal_status(status: u16) {
    assert!(
        status == 400 || status == 413,
        "request parsing answered {status}"
    );
}

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[ \\t가-힣a-z0-9<>{}\"'`/\\\\:;,.()\u{200B}\u{202E}\u{FEFF}🥜-]{0,40}",
    ]
}

/// A recipe as `extract_recipe` gives it back: trimmed, in range, no blank notes.
fn arb_recipe() -> impl Strategy<Value = Recipe> {
    let text = "[가-힣a-zA-Z0-9][가-힣a-zA-Z0-9 ,.{}\"\\\\]{0,30}[가-힣a-zA-Z0-9.]";
    let ingredient = (text, "[0-9]{1,4}(/[1-9])?", "(g|ml|개|큰술|작은술)?")
        .prop_map(|(name, amount, unit)| RecipeIngredient { name, amount, unit });
    (
        text,
        ".{0,60}",
        1u32..=1440,
        prop::sample::select(vec!["easy", "medium", "hard"]),
        1u32..=50,
        prop::collection::vec(ingredient, 1..20),
        prop::collection::vec(".{1,80}", 1..12),
        ".{0,60}",
        prop::option::of(text),
    )
        .prop_map(
            |(
                name,
                description,
                time,
                difficulty,
                servings,
                ingredients,
                instructions,
                tips,
                keto,
            )| Recipe {
                recipe_name: name,
                description,
                cooking_time: time,
                difficulty: difficulty.to_owned(),
                servings,
                ingredients,
                instructions,
                nutrition_tips: tips,
                keto_notes: keto,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { max_shrink_iters: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn request_parsing_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Err(err) = RecipeRequest::from_json(&bytes) {
            assert_refusal_status(err.status());
        }
    }

    #[test]
    fn request_parsing_never_panics_on_json(value in arb_json()) {
        match RecipeRequest::from_json(value.to_string().as_bytes()) {
            Err(err) => assert_refusal_status(err.status()),
            Ok(request) => {
                // Anything accepted is a JSON object with a known target and clean text.
                prop_assert!(value.is_object());
                prop_assert!(targets().contains(&request.target.as_str()));
                for item in request.profile.allergies.iter().chain(&request.profile.health_conditions).chain(&request.ingredients_on_hand) {
                    let cleaned = clean_text(item);
                    prop_assert_eq!(cleaned.as_ref(), Ok(item));
                }
            }
        }
    }

    #[test]
    fn valid_requests_are_accepted_and_round_trip(body in arb_valid_request()) {
        let request = RecipeRequest::from_json(body.to_string().as_bytes()).unwrap();
        prop_assert_eq!(u64::from(request.servings), body["servings"].as_u64().unwrap());
        // The checked request, written back as a body, parses to itself.
        let mut again = serde_json::to_value(&request).unwrap();
        if let Some(model) = body.get("model") {
            again["model"] = model.clone();
        }
        let profile = again["profile"].as_object_mut().unwrap();
        profile.retain(|_, v| !v.is_null());
        let reparsed = RecipeRequest::from_json(again.to_string().as_bytes()).unwrap();
        prop_assert_eq!(reparsed, request);
    }

    #[test]
    fn oversized_bodies_are_payload_too_large(padding in (MAX_BODY_BYTES - 10)..(MAX_BODY_BYTES * 2)) {
        let body = format!(r#"{{"target":"keto"{}}}"#, " ".repeat(padding));
        match RecipeRequest::from_json(body.as_bytes()) {
            Ok(_) => prop_assert!(body.len() <= MAX_BODY_BYTES),
            Err(err) => prop_assert_eq!(err.status(), if body.len() > MAX_BODY_BYTES { 413 } else { 400 }),
        }
    }

    #[test]
    fn clean_text_is_idempotent_and_bounded(text in text_strategy()) {
        if let Ok(clean) = clean_text(&text) {
            prop_assert_eq!(clean_text(&clean), Ok(clean.clone()));
            prop_assert!(!clean.is_empty() && clean.chars().count() <= MAX_TEXT_CHARS);
            let forbidden = ['<', '>', '{', '}', '"', '`', '\\', ':', '\u{200B}', '\u{202E}', '\u{FEFF}'];
            prop_assert!(!clean.contains(forbidden), "{:?}", clean);
        }
    }

    #[test]
    fn recipe_extraction_never_panics(text in ".{0,400}") {
        let _ = extract_recipe(&text);
    }

    #[test]
    fn recipe_extraction_never_panics_on_json_like_text(text in "[{}\\[\\]\":,\\\\ a-zA-Z0-9`\n]{0,400}") {
        let _ = extract_recipe(&text);
    }

    #[test]
    fn recipes_round_trip_bare_fenced_and_wrapped(recipe in arb_recipe(), shape in 0usize..4) {
        let json = serde_json::to_string(&recipe).unwrap();
        let text = match shape {
            0 => json.clone(),
            1 => format!("```json\n{json}\n```"),
            2 => format!("여기 레시피입니다.\n{json}\n맛있게 드세요!"),
            _ => format!(r#"{{"recipe": {json}}}"#),
        };
        prop_assert_eq!(extract_recipe(&text), Ok(recipe));
    }

    #[test]
    fn a_cut_off_recipe_is_never_accepted(recipe in arb_recipe(), cut in 0.0f64..1.0) {
        let json = serde_json::to_string(&recipe).unwrap();
        let mut at = ((json.len() as f64) * cut) as usize;
        while !json.is_char_boundary(at) {
            at -= 1;
        }
        let result = extract_recipe(&json[..at]);
        prop_assert!(matches!(result, Err(ExtractError::InvalidJson(_) | ExtractError::NoJson)), "{:?}", result);
    }

    #[test]
    fn amount_parsing_never_panics_and_stays_finite(text in ".{0,60}") {
        if let Amount::Quantity { value, .. } = parse_amount(&text) {
            prop_assert!(value.is_finite() && (0.0..=1.0e6).contains(&value), "{}", value);
        }
    }

    #[test]
    fn amount_parsing_on_amount_like_text(text in "(약 |about )?[0-9]{0,7}([./][0-9]{0,3})?( ?[-~] ?[0-9]{1,4})?[ ]?(g|ml|개|큰술|tbsp|컵|½)?( 정도)?") {
        if let Amount::Quantity { value, .. } = parse_amount(&text) {
            prop_assert!(value.is_finite() && (0.0..=1.0e6).contains(&value), "{}", value);
        }
    }

    #[test]
    fn whole_and_fractional_amounts_parse_to_their_value(n in 0u32..=1_000_000, d in 1u32..=16, unit in prop::sample::select(vec!["g", "ml", "개", "큰술"])) {
        prop_assert_eq!(parse_amount(&n.to_string()), Amount::Quantity { value: f64::from(n), unit: None });
        prop_assert_eq!(
            parse_amount(&format!("{n}{unit}")),
            Amount::Quantity { value: f64::from(n), unit: Some(unit.to_owned()) }
        );
        prop_assert_eq!(
            parse_amount(&format!("약 {n} {unit}")),
            Amount::Quantity { value: f64::from(n), unit: Some(unit.to_owned()) }
        );
        let small = n % 1000;
        match parse_amount(&format!("{small}/{d}")) {
            Amount::Quantity { value, unit: None } => prop_assert!((value - f64::from(small) / f64::from(d)).abs() < 1e-9),
            other => prop_assert!(false, "{small}/{d} gave {:?}", other),
        }
    }
}

#[test]
fn extraction_refuses_oversized_answers_without_reading_them() {
    let huge = format!("{{\"recipeName\": \"{}\"}}", "x".repeat(MAX_OUTPUT_BYTES));
    assert!(matches!(
        extract_recipe(&huge),
        Err(ExtractError::TooLarge(_))
    ));
}

fn http_request(
    body: &str,
    base64: bool,
    content_type: Option<&str>,
) -> aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    let mut event = ai_chef_tests::load_event("apigw-post-recipes-keto.json");
    event["body"] = json!(body);
    event["isBase64Encoded"] = json!(base64);
    match content_type {
        Some(ct) => event["headers"]["content-type"] = json!(ct),
        None => {
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("content-type");
        }
    }
    serde_json::from_value(event).unwrap()
}

proptest! {
    #[test]
    fn http_bodies_are_decoded_or_refused_with_a_contract_status(
        body in prop_oneof![".{0,200}", "[A-Za-z0-9+/=]{0,200}", "[ -~]{0,50}".prop_map(|s| s.repeat(900))],
        base64 in any::<bool>(),
        content_type in prop::option::of(prop_oneof![Just("application/json".to_owned()), "[a-z]{1,10}/[a-z+.-]{1,12}(; charset=[a-z0-9-]{1,8})?"]),
    ) {
        let request = http_request(&body, base64, content_type.as_deref());
        match ai_chef_lambda::http::json_body(&request, MAX_BODY_BYTES) {
            Ok(bytes) => prop_assert!(bytes.len() <= MAX_BODY_BYTES),
            Err(err) => prop_assert!([400, 413, 415].contains(&err.status()), "{}", err.status()),
        }
    }
}
