//! Faults over HTTP: every error kind's status, header and body; the rpm quota; latency;
//! broken connections; the control routes and the stats counters.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bedrock_emulator::{ErrorKind, FaultPlan};
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn every_error_kind_is_sent_like_bedrock() {
    let h = start(FaultPlan::default()).await;
    let body = recipe_body(&json!({"target": "keto"}));
    for kind in ErrorKind::ALL {
        let plan = json!({"errors": {"error": kind.name(), "first": 1, "scope": "claude"}});
        assert_eq!(h.post_faults(&plan).await, 200);
        let reply = h.invoke(SONNET, &body).await;
        assert_eq!(reply.status, kind.status(), "{kind}");
        assert_eq!(
            reply.header("x-amzn-errortype"),
            format!(
                "{}:http://internal.amazon.com/coral/com.amazon.bedrock/",
                kind.name()
            )
        );
        assert_eq!(reply.header("content-type"), "application/json");
        assert!(!reply.header("x-amzn-requestid").is_empty());
        assert_eq!(reply.body["message"], kind.default_message());
        if kind == ErrorKind::ModelErrorException {
            assert_eq!(reply.body["originalStatusCode"], 500);
            assert!(reply.body["resourceName"]
                .as_str()
                .unwrap()
                .contains(SONNET));
        }
        // Titan is out of scope, and the second Claude call is past `first`.
        assert_eq!(h.invoke(TITAN_V2, &titan_body("x")).await.status, 200);
        assert_eq!(h.invoke(SONNET, &body).await.status, 200);
    }
    let expected: Vec<(u16, &str)> = vec![
        (429, "ThrottlingException"),
        (429, "ModelNotReadyException"),
        (400, "ServiceQuotaExceededException"),
        (408, "ModelTimeoutException"),
        (503, "ServiceUnavailableException"),
        (500, "InternalServerException"),
        (400, "ValidationException"),
        (403, "AccessDeniedException"),
        (424, "ModelErrorException"),
        (404, "ResourceNotFoundException"),
    ];
    for (status, name) in expected {
        let kind: ErrorKind = serde_json::from_value(json!(name)).unwrap();
        assert_eq!(kind.status(), status);
    }
    let stats = h.stats().await;
    assert_eq!(stats.claude.calls, 20);
    assert_eq!(stats.claude.successes, 10);
    assert_eq!(stats.titan.successes, 10);
    assert_eq!(stats.errors.values().sum::<u64>(), 10);
    assert_eq!(stats.per_model[SONNET].errors, 10);
}

#[tokio::test]
async fn rate_faults_are_reproducible() {
    let plan = json!({"errors": {"error": "ServiceUnavailableException", "rate": 0.5, "seed": 42}});
    let mut runs = Vec::new();
    for _ in 0..2 {
        let h = start(FaultPlan::from_json(&plan.to_string()).unwrap()).await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(h.invoke(TITAN_V1, &titan_body("a")).await.status);
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    let failures = runs[0].iter().filter(|s| **s == 503).count();
    assert!((3..=17).contains(&failures), "{failures}");
}

#[tokio::test]
async fn rpm_quota_throttles_beyond_the_bucket() {
    // 60 per minute: one per second, burst 1.
    let h = start(FaultPlan::from_json(r#"{"rpmQuota": 60}"#).unwrap()).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(h.invoke(TITAN_V2, &titan_body("a")).await);
    }
    assert_eq!(statuses[0].status, 200);
    for reply in &statuses[1..] {
        assert_eq!(reply.status, 429);
        assert_eq!(reply.error_name(), "ThrottlingException");
    }
    let stats = h.stats().await;
    assert_eq!(stats.throttles, 4);
    assert_eq!(stats.errors["ThrottlingException"], 4);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(h.invoke(TITAN_V2, &titan_body("a")).await.status, 200);
}

#[tokio::test]
async fn latency_delays_answers_and_errors() {
    let h = start(
        FaultPlan::from_json(
            r#"{"latencyMs": 150, "errors": {"error": "ThrottlingException", "first": 1}}"#,
        )
        .unwrap(),
    )
    .await;
    let started = Instant::now();
    assert_eq!(h.invoke(TITAN_V2, &titan_body("a")).await.status, 429);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let started = Instant::now();
    let reply = h.invoke(TITAN_V2, &titan_body("a")).await;
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(
        reply
            .header("x-amzn-bedrock-invocation-latency")
            .parse::<u64>()
            .unwrap()
            >= 150
    );
}

#[tokio::test]
async fn connection_reset_cuts_the_body() {
    let h = start(
        FaultPlan::from_json(r#"{"transport": {"fault": "connectionReset", "first": 1}}"#).unwrap(),
    )
    .await;
    let url = invoke_url(&h.emulator.endpoint(), SONNET);
    let response = h
        .client
        .post(&url)
        .body(recipe_body(&serde_json::json!({"target": "keto"})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err(), "the body must break");
    // The next call is healthy.
    assert_eq!(
        h.invoke(SONNET, &recipe_body(&json!({"target": "keto"})))
            .await
            .status,
        200
    );
    assert_eq!(h.stats().await.transport_faults, 1);
}

#[tokio::test]
async fn stalled_body_times_the_client_out_and_shutdown_ends_it() {
    let h = start(FaultPlan::from_json(r#"{"transport": "stallMidBody"}"#).unwrap()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = async {
        client
            .post(invoke_url(&h.emulator.endpoint(), TITAN_V2))
            .body(titan_body("a").to_string())
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(outcome.unwrap_err().is_timeout());
    assert!(started.elapsed() < Duration::from_secs(5));
    let stopping = Instant::now();
    h.emulator.shutdown().await;
    assert!(stopping.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn control_routes() {
    let h = start(FaultPlan::default()).await;
    let base = h.emulator.endpoint();
    assert_eq!(h.post_faults(&json!({"bogus": true})).await, 400);
    assert_eq!(
        h.post_faults(&json!({"errors": {"error": "ThrottlingException", "rate": 3}}))
            .await,
        400
    );
    assert_eq!(
        h.post_faults(&json!({"latencyMs": 1, "output": "fenced"}))
            .await,
        200
    );
    let plan: serde_json::Value = h
        .client
        .get(format!("{base}/_emulator/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(plan["latencyMs"], 1);
    assert_eq!(plan["output"]["mode"], "fenced");
    assert_eq!(h.emulator.faults().latency_ms, Some(1));
    let cleared = h
        .client
        .delete(format!("{base}/_emulator/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(h.emulator.faults(), FaultPlan::default());

    h.invoke(SONNET, &recipe_body(&json!({"target": "vegan"})))
        .await;
    h.invoke("nope", &titan_body("a")).await;
    let stats = h.stats().await;
    assert_eq!(stats.total_calls, 2);
    assert_eq!(stats.claude.successes, 1);
    assert_eq!(stats.per_model["nope"].errors, 1);
    assert!(stats.output_tokens > 0);
    assert_eq!(h.emulator.stats(), stats);
    let reset = h
        .client
        .post(format!("{base}/_emulator/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(h.stats().await.total_calls, 0);

    h.emulator
        .set_faults(
            FaultPlan::from_json(r#"{"errors": {"error": "AccessDeniedException"}}"#).unwrap(),
        )
        .unwrap();
    assert_eq!(h.invoke(TITAN_V1, &titan_body("a")).await.status, 403);
    h.emulator.clear_faults();
    assert_eq!(h.invoke(TITAN_V1, &titan_body("a")).await.status, 200);
    h.emulator.reset_stats();
    assert_eq!(h.emulator.stats().total_calls, 0);
}
