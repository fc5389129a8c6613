//! The OpenAPI document against the code: the checked-in `docs/openapi.json` must be exactly
//! what the wire types generate (`make openapi` rewrites it), it must document every route,
//! status and error code of the contract, and real values built from the domain types must
//! fit the schemas it gives for them (and the contract's example request the request schema).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef::domain::{
    Category, Check, EnergyShare, FoodRef, IngredientFacts, NutritionReport, PerServing, Recipe,
    RecipeIngredient,
};
use ai_chef::error::{FieldError, ServiceError};
use ai_chef::generate::{GenerateResponse, Meta};
use ai_chef::request::RecipeRequest;
use serde_json::{json, Value};

fn checked_in() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    std::fs::read_to_string(path).unwrap_or_default()
}

fn document() -> Value {
    playground::openapi::document().expect("the document generates")
}

#[test]
fn checked_in_document_is_what_the_types_generate() {
    let generated = playground::openapi::document_text().expect("the document generates");
    let on_disk = checked_in();
    assert!(
        !on_disk.is_empty(),
        "docs/openapi.json is missing; run `make openapi`"
    );
    let generated_value: Value = serde_json::from_str(&generated).unwrap();
    let on_disk_value: Value = serde_json::from_str(&on_disk).expect("docs/openapi.json is JSON");
    assert!(
        generated_value == on_disk_value,
        "docs/openapi.json differs from the Rust wire types; run `make openapi` and commit it"
    );
}

#[test]
fn every_contract_route_status_and_code_is_documented() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = [
        (
            "/recipes",
            "post",
            vec![
                "200", "202", "400", "413", "422", "429", "502", "503", "504",
            ],
        ),
        ("/recipes/{requestId}", "get", vec!["200", "404"]),
        ("/embeddings", "post", vec!["200", "400", "413"]),
        ("/batches", "post", vec!["202", "400", "413"]),
        ("/batches/{jobId}", "get", vec!["200", "400", "404"]),
    ];
    let codes = [
        ("400", "invalid_request"),
        ("413", "payload_too_large"),
        ("422", "constraints_unsatisfied"),
        ("429", "throttled"),
        ("502", "model_output_invalid"),
        ("503", "model_unavailable"),
        ("504", "deadline_exceeded"),
        ("404", "not_found"),
    ];
    for (path, method, statuses) in routes {
        let responses = &doc["paths"][path][method]["responses"];
        assert!(responses.is_object(), "{method} {path} is not documented");
        for status in statuses {
            let response = &responses[status];
            assert!(response.is_object(), "{method} {path} lacks {status}");
            if let Some((_, code)) = codes.iter().find(|(s, _)| *s == status) {
                let schema = &response["content"]["application/json"]["schema"];
                let documented = &schema["allOf"][1]["properties"]["error"]["properties"]["code"];
                assert!(
                    documented["const"] == *code
                        || documented["enum"]
                            .as_array()
                            .is_some_and(|codes| codes.iter().any(|c| c == *code)),
                    "{method} {path} {status}: {documented}"
                );
            }
        }
    }
    assert!(
        doc["paths"]["/recipes"]["post"]["responses"]["429"]["headers"]["Retry-After"].is_object(),
        "429 must document Retry-After"
    );
    assert!(
        doc["paths"]["/recipes"]["post"]["responses"]["200"]["content"]["text/event-stream"]
            .is_object(),
        "the function URL stream must be documented"
    );
    let stream = &doc["components"]["schemas"]["StreamEvent"]["oneOf"];
    let events: Vec<&str> = stream
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["properties"]["event"]["const"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["attempt", "progress", "checks", "recipe", "error"]);
}

#[test]
fn error_statuses_come_from_the_service_errors() {
    let doc = document();
    for (status, code, _) in playground::openapi::error_codes() {
        let documented = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .any(|op| {
                let documented = &op["responses"][status.to_string()]["content"]
                    ["application/json"]["schema"]["allOf"][1]["properties"]["error"]["properties"]
                    ["code"];
                documented["const"] == code
                    || documented["enum"]
                        .as_array()
                        .is_some_and(|codes| codes.iter().any(|c| c == code))
            });
        // 415 and 500 are documented too: every code the service can answer on a route.
        assert!(documented, "{status} {code} is on no route");
    }
}

/// Resolves `#/components/schemas/X`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => resolve(doc, doc.pointer(&reference[1..]).unwrap_or(&Value::Null)),
        None => schema,
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        // JSON Schema's integer is any number with a zero fraction: 2.0 is one.
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// JSON Schema equality (enum, const): numbers are equal when their values are (2 and 2.0).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The structural part of JSON Schema this document uses (types, properties, required,
/// additionalProperties, items, enum/const, anyOf/oneOf/allOf, bounds). Hand-written: the
/// `jsonschema` crate would add a large dependency tree to the test build for these checks.
fn violations(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if schema == &Value::Bool(true) || !schema.is_object() {
        return;
    }
    if let Some(types) = schema.get("type") {
        let ok = match types {
            Value::String(name) => type_matches(name, value),
            Value::Array(names) => names
                .iter()
                .any(|n| type_matches(n.as_str().unwrap_or(""), value)),
            _ => true,
        };
        if !ok {
            out.push(format!("{at}: {value} is not {types}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.iter().any(|option| same_value(option, value)) {
            out.push(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    if let Some(constant) = schema.get("const") {
        if !same_value(constant, value) {
            out.push(format!("{at}: {value} is not {constant}"));
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n < min {
            out.push(format!("{at}: {n} < {min}"));
        }
    }
    if let (Some(max), Some(n)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n > max {
            out.push(format!("{at}: {n} > {max}"));
        }
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(combinator).and_then(Value::as_array) {
            let fitting = options
                .iter()
                .filter(|option| {
                    let mut inner = Vec::new();
                    violations(doc, option, value, at, &mut inner);
                    inner.is_empty()
                })
                .count();
            if fitting == 0 || (combinator == "oneOf" && fitting > 1) {
                out.push(format!(
                    "{at}: {fitting} of the {combinator} options fit {value}"
                ));
            }
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            violations(doc, part, value, at, out);
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                out.push(format!("{at}: `{required}` is required"));
            }
        }
        for (key, item) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(property) => violations(doc, property, item, &format!("{at}.{key}"), out),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    out.push(format!("{at}: `{key}` is not a documented property"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            violations(doc, items, item, &format!("{at}[{i}]"), out);
        }
    }
}

fn assert_fits(doc: &Value, schema_name: &str, value: &Value) {
    let schema = json!({"$ref": format!("#/components/schemas/{schema_name}")});
    let mut out = Vec::new();
    violations(doc, &schema, value, schema_name, &mut out);
    assert!(
        out.is_empty(),
        "{schema_name} does not fit:\n{}",
        out.join("\n")
    );
}

fn sample_response() -> GenerateResponse {
    GenerateResponse {
        recipe: Recipe {
            recipe_name: "삼겹살 양배추 볶음".to_owned(),
            description: "keto".to_owned(),
            cooking_time: 25,
            difficulty: "easy".to_owned(),
            servings: 2,
            ingredients: vec![RecipeIngredient {
                name: "삼겹살".to_owned(),
                amount: "300".to_owned(),
                unit: "g".to_owned(),
            }],
            instructions: vec!["굽는다".to_owned()],
            nutrition_tips: String::new(),
            keto_notes: Some("fat first".to_owned()),
        },
        nutrition: NutritionReport {
            per_serving: PerServing {
                kcal: 610.0,
                protein_g: 20.0,
                fat_g: 56.0,
                carbs_g: 6.0,
                fiber_g: 2.0,
                net_carbs_g: 4.0,
                sodium_mg: 420.0,
                sugar_g: 3.0,
            },
            energy_share: EnergyShare {
                fat: 0.83,
                protein: 0.13,
                carbs: 0.04,
            },
            matched_ingredients: 1,
            unmatched_ingredients: vec![],
            matched_mass_share: 1.0,
            ingredients: vec![IngredientFacts {
                name: "삼겹살".to_owned(),
                food: Some(FoodRef {
                    food_id: "10088".to_owned(),
                    name_en: "pork belly".to_owned(),
                    name_ko: "삼겹살".to_owned(),
                    match_kind: "exact".to_owned(),
                }),
                grams: 300.0,
                to_taste: false,
                categories: vec![Category::Pork],
            }],
        },
        checks: vec![Check {
            rule: "netCarbsPerServing<=5g".to_owned(),
            passed: true,
            value: 4.0,
            limit: 5.0,
            offending: vec![],
            source: "target:keto".to_owned(),
        }],
        meta: Meta {
            model_id: "us.anthropic.claude-sonnet-4-5-20250929-v1:0".to_owned(),
            input_tokens: 780,
            output_tokens: 380,
            attempts: 1,
            cached: false,
            latency_ms: 104,
            usage: ai_chef::pricing::TokenUsage {
                input_tokens: 780,
                output_tokens: 380,
                cache_read_input_tokens: 0,
                cache_write_input_tokens: 0,
            },
            cost_usd: 0.00804,
        },
    }
}

#[test]
fn answers_built_from_the_types_fit_their_schemas() {
    let doc = document();
    assert_fits(
        &doc,
        "RecipeResponse",
        &serde_json::to_value(sample_response()).unwrap(),
    );
    let invalid = ServiceError::invalid(
        "request is invalid",
        vec![FieldError::new("profile.budget", "must be at least 1000")],
    );
    assert_fits(
        &doc,
        "ErrorBody",
        &serde_json::to_value(invalid.to_body()).unwrap(),
    );
    let unsatisfied = ServiceError::ConstraintsUnsatisfied {
        attempts: 3,
        checks: sample_response().checks,
    };
    assert_fits(
        &doc,
        "ErrorBody",
        &serde_json::to_value(unsatisfied.to_body()).unwrap(),
    );
}

#[test]
fn the_contract_example_fits_the_request_schema_and_the_parser() {
    let doc = document();
    let example = json!({
        "target": "keto",
        "profile": {
            "healthConditions": ["고혈압"],
            "allergies": ["땅콩", "우유"],
            "cookingLevel": "beginner",
            "budget": 15000,
            "maxCalories": 600
        },
        "servings": 2,
        "ingredientsOnHand": ["돼지고기", "양배추"],
        "language": "ko",
        "model": "sonnet"
    });
    assert_fits(&doc, "RecipeRequest", &example);
    assert!(RecipeRequest::from_value(example).is_ok());
    assert_fits(
        &doc,
        "EmbedRequest",
        &json!({"texts": ["돼지고기 삼겹살", "양배추"], "model": "titan-v2", "dimensions": 1024, "normalize": true}),
    );
}

#[test]
fn whole_numbers_written_as_floats_fit_the_schema_and_the_parser() {
    let doc = document();
    let request = json!({
        "target": "keto",
        "profile": {"budget": 15000.0, "maxCalories": 600.0},
        "servings": 2.0
    });
    assert_fits(&doc, "RecipeRequest", &request);
    let parsed = RecipeRequest::from_value(request).unwrap();
    assert_eq!(
        (
            parsed.servings,
            parsed.profile.budget,
            parsed.profile.max_calories
        ),
        (2, Some(15000), Some(600))
    );
    let embed = json!({"texts": ["양배추"], "dimensions": 512.0});
    assert_fits(&doc, "EmbedRequest", &embed);
    let parsed = ai_chef::embed::EmbedQuery::from_json(embed.to_string().as_bytes()).unwrap();
    assert_eq!(parsed.dimensions, 512);
    let mut out = Vec::new();
    let fraction = json!({"texts": ["양배추"], "dimensions": 512.5});
    let schema = json!({"$ref": "#/components/schemas/EmbedRequest"});
    violations(&doc, &schema, &fraction, "EmbedRequest", &mut out);
    assert!(!out.is_empty(), "the schema admits {fraction}");
    assert!(ai_chef::embed::EmbedQuery::from_json(fraction.to_string().as_bytes()).is_err());
}

#[test]
fn what_the_schema_refuses_the_parser_refuses_too() {
    let doc = document();
    for bad in [
        json!({"target": "paleo"}),
        json!({"target": "keto", "servings": 0}),
        json!({"target": "keto", "servings": 13}),
        json!({"target": "keto", "servings": 2.5}),
        json!({"target": "keto", "servings": 13.0}),
        json!({"target": "keto", "profile": {"budget": 15000.5}}),
        json!({"target": "keto", "profile": {"budget": 999}}),
        json!({"target": "keto", "profile": {"maxCalories": 5001}}),
        json!({"target": "keto", "profile": {"cookingLevel": "chef"}}),
        json!({"target": "keto", "language": "fr"}),
        json!({"target": "keto", "model": "gpt"}),
        json!({"target": "keto", "colour": "red"}),
        json!({"servings": 2}),
    ] {
        let schema = json!({"$ref": "#/components/schemas/RecipeRequest"});
        let mut out = Vec::new();
        violations(&doc, &schema, &bad, "RecipeRequest", &mut out);
        assert!(!out.is_empty(), "the schema admits {bad}");
        assert!(
            RecipeRequest::from_value(bad.clone()).is_err(),
            "the parser admits {bad}"
        );
    }
}
