//! Titan embeddings over HTTP: v1/v2 shapes and dimensions, normalisation, similarity and
//! validation.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bedrock_emulator::FaultPlan;
use common::*;
use serde_json::json;

fn vector(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[tokio::test]
async fn v1_and_v2_shapes() {
    let h = start(FaultPlan::default()).await;
    let v1 = h.invoke(TITAN_V1, &titan_body("돼지고기 삼겹살")).await;
    assert_eq!(v1.status, 200);
    assert_eq!(v1.body["embedding"].as_array().unwrap().len(), 1536);
    assert!(v1.body["inputTextTokenCount"].as_u64().unwrap() > 0);
    assert!(v1.body.get("embeddingsByType").is_none());
    assert!(!v1.headers.contains_key("x-amzn-bedrock-output-token-count"));

    let v2 = h.invoke(TITAN_V2, &titan_body("돼지고기 삼겹살")).await;
    let embedding = vector(&v2.body["embedding"]);
    assert_eq!(embedding.len(), 1024);
    let norm = embedding.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
    assert_eq!(vector(&v2.body["embeddingsByType"]["float"]), embedding);
    assert_eq!(
        v2.header("x-amzn-bedrock-input-token-count"),
        v2.body["inputTextTokenCount"].to_string()
    );

    for dimensions in [256, 512, 1024] {
        let reply = h
            .invoke(
                TITAN_V2,
                &json!({"inputText": "cabbage", "dimensions": dimensions, "normalize": false,
                                     "embeddingTypes": ["float", "binary"]}),
            )
            .await;
        assert_eq!(
            reply.body["embedding"].as_array().unwrap().len(),
            dimensions
        );
        let binary = reply.body["embeddingsByType"]["binary"].as_array().unwrap();
        assert_eq!(binary.len(), dimensions);
        assert!(binary.iter().all(|b| b == 0 || b == 1));
    }
}

#[tokio::test]
async fn similar_texts_are_closer() {
    let h = start(FaultPlan::default()).await;
    let embed = |text: &'static str| {
        let h = &h;
        async move { vector(&h.invoke(TITAN_V2, &titan_body(text)).await.body["embedding"]) }
    };
    let a = embed("돼지고기 삼겹살").await;
    let b = embed("삼겹살 돼지고기").await;
    let c = embed("바나나 우유").await;
    assert!(cosine(&a, &b) > cosine(&a, &c));
    assert!(cosine(&a, &b) > 0.9);
    assert_eq!(a, embed("돼지고기 삼겹살").await, "deterministic");
}

#[tokio::test]
async fn validation_errors() {
    let h = start(FaultPlan::default()).await;
    let cases = [
        (TITAN_V2, json!({"inputText": ""}), "minLength: 1"),
        (
            TITAN_V2,
            json!({"inputText": "a".repeat(50_001)}),
            "maxLength: 50000",
        ),
        (
            TITAN_V2,
            json!({"inputText": "a", "dimensions": 300}),
            "#/dimensions",
        ),
        (
            TITAN_V1,
            json!({"inputText": "a", "dimensions": 256}),
            "extraneous key [dimensions]",
        ),
        (TITAN_V2, json!({"text": "a"}), "extraneous key [text]"),
    ];
    for (model, body, expected) in cases {
        let reply = h.invoke(model, &body).await;
        assert_eq!(reply.status, 400, "{expected}");
        assert_eq!(reply.error_name(), "ValidationException");
        assert!(
            reply.body["message"].as_str().unwrap().contains(expected),
            "{}",
            reply.body
        );
    }
    let stats = h.stats().await;
    assert_eq!(stats.titan.calls, 5);
    assert_eq!(stats.titan.successes, 0);
    assert_eq!(stats.errors["ValidationException"], 5);
}
