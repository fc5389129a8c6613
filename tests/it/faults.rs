//! Every Bedrock exception, transport fault and model-output fault, through the real SDK
//! against the local emulator, for generate-recipe and embed-text: each maps to exactly one
//! contract status and code, permanent errors are not retried blindly, passing ones recover,
//! and a failed embedding is an error, never a vector of zeros. Each table prints the
//! outcome it observed for every fault kind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_tests::*;
use bedrock_emulator::ErrorKind;
use futures::future::join_all;
use serde_json::Value;
use std::time::{Duration, Instant};

const KETO: &str = "apigw-post-recipes-keto.json";
const EMBEDDINGS: &str = "apigw-post-embeddings.json";

#[derive(Debug)]
struct Outcome {
    status: u16,
    body: Value,
    retry_after: Option<String>,
    calls: u64,
    elapsed: Duration,
}

impl Outcome {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("-")
    }
}

/// The emulator's fault scope of a function's own model: generate-recipe also embeds a
/// retrieval query with Titan, which these tables leave healthy.
fn scope(function: &str) -> &'static str {
    if function == "generate-recipe" {
        "claude"
    } else {
        "titan"
    }
}

/// The test config with a wider deadline margin: the stalled-body case answers after the
/// call's own timeout, and builds run on a busy machine.
fn fault_config() -> ai_chef::config::Config {
    ai_chef::config::Config {
        deadline_margin: Duration::from_millis(400),
        ..test_config()
    }
}

async fn run(function: &str, plan: &str, endpoint: Option<String>, deadline: Duration) -> Outcome {
    run_with(function, plan, endpoint, deadline, fault_config()).await
}

/// The fault config asking the legacy text path: the `sonnet` alias (which the keto event
/// names) points at Claude 3 Sonnet, which writes the recipe as text.
fn text_path_config() -> ai_chef::config::Config {
    let mut config = fault_config();
    config.models.sonnet = ai_chef::config::DEFAULT_CLAUDE3_SONNET_MODEL_ID.to_owned();
    config
}

async fn run_with(
    function: &str,
    plan: &str,
    endpoint: Option<String>,
    deadline: Duration,
    config: ai_chef::config::Config,
) -> Outcome {
    let emu = emulator(Some(plan)).await;
    let endpoint = endpoint.unwrap_or_else(|| emu.endpoint());
    let started = Instant::now();
    let response = match function {
        "generate-recipe" => {
            let (app, _) = generate_app(&endpoint, config).await;
            ai_chef_lambda::handlers::generate_recipe::handle(
                &app,
                lambda_event(load_event(KETO), deadline),
            )
            .await
        }
        _ => {
            let (app, _) = embed_app(&endpoint, config).await;
            ai_chef_lambda::handlers::embed_text::handle(
                &app,
                lambda_event(load_event(EMBEDDINGS), deadline),
            )
            .await
        }
    }
    .unwrap();
    let elapsed = started.elapsed();
    let retry_after = response["headers"]["retry-after"]
        .as_str()
        .map(str::to_owned);
    let (status, body) = http_parts(&response);
    let stats = emu.stats();
    let calls = if function == "generate-recipe" {
        stats.claude.calls
    } else {
        stats.titan.calls
    };
    Outcome {
        status,
        body,
        retry_after,
        calls,
        elapsed,
    }
}

/// The contract's answer for an exception that persists (every call fails with it).
fn expected_for(kind: ErrorKind, function: &str) -> (u16, &'static str) {
    match kind {
        ErrorKind::ThrottlingException | ErrorKind::ServiceQuotaExceededException => {
            (429, "throttled")
        }
        ErrorKind::ModelErrorException => (502, "model_output_invalid"),
        // Titan refuses a text over its token limit this way: the client's input is at fault.
        ErrorKind::ValidationException if function == "embed-text" => (400, "invalid_request"),
        ErrorKind::ModelNotReadyException
        | ErrorKind::ModelTimeoutException
        | ErrorKind::ServiceUnavailableException
        | ErrorKind::InternalServerException
        | ErrorKind::ValidationException
        | ErrorKind::AccessDeniedException
        | ErrorKind::ResourceNotFoundException => (503, "model_unavailable"),
    }
}

async fn error_table(function: &'static str) {
    let cases = ErrorKind::ALL.iter().map(|kind| async move {
        let plan = format!(
            r#"{{"errors": {{"error": "{}", "scope": "{}"}}}}"#,
            kind.name(),
            scope(function)
        );
        (
            *kind,
            run(function, &plan, None, Duration::from_secs(10)).await,
        )
    });
    let mut failures = Vec::new();
    let mut report = format!("{function}: persistent Bedrock errors\n");
    for (kind, outcome) in join_all(cases).await {
        let (status, code) = expected_for(kind, function);
        report.push_str(&format!(
            "  {:<32} -> {} {:<22} model calls {} in {:?}\n",
            kind.name(),
            outcome.status,
            outcome.code(),
            outcome.calls,
            outcome.elapsed
        ));
        if (outcome.status, outcome.code()) != (status, code) {
            failures.push(format!(
                "{}: got {} {}, expected {status} {code}",
                kind.name(),
                outcome.status,
                outcome.code()
            ));
        }
        if status == 429
            && outcome
                .retry_after
                .as_deref()
                .and_then(|s| s.parse::<u64>().ok())
                .is_none_or(|s| s == 0)
        {
            failures.push(format!(
                "{}: 429 without a positive Retry-After",
                kind.name()
            ));
        }
        // One service-level attempt per model call: the SDK's own retries (3 in tests) and
        // no more, per model of the fallback chain (Sonnet then Haiku) when the failure is
        // one that a stand-in model can help with.
        let models = match kind {
            ErrorKind::ThrottlingException
            | ErrorKind::ServiceQuotaExceededException
            | ErrorKind::ModelNotReadyException
                if function == "generate-recipe" =>
            {
                2
            }
            _ => 1,
        };
        if outcome.calls == 0 || outcome.calls > 3 * models * calls_per_request(function) {
            failures.push(format!("{}: {} model calls", kind.name(), outcome.calls));
        }
        if outcome.status == 200 {
            failures.push(format!("{}: answered 200", kind.name()));
        }
    }
    println!("{report}");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Model calls a healthy request makes: one recipe call, or one per text of the
/// embeddings event (two).
fn calls_per_request(function: &str) -> u64 {
    if function == "embed-text" {
        2
    } else {
        1
    }
}

#[tokio::test]
async fn every_bedrock_exception_maps_to_one_status_and_code_for_generate_recipe() {
    error_table("generate-recipe").await;
}

#[tokio::test]
async fn every_bedrock_exception_maps_to_one_status_and_code_for_embed_text() {
    error_table("embed-text").await;
}

#[tokio::test]
async fn passing_errors_recover_through_sdk_retries_and_permanent_ones_are_not_retried() {
    let recovering = [
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
    ];
    let permanent = [
        ("AccessDeniedException", 503, "model_unavailable"),
        ("ValidationException", 503, "model_unavailable"),
    ];
    for function in ["generate-recipe", "embed-text"] {
        for name in recovering {
            let plan = format!(
                r#"{{"errors": {{"error": "{name}", "first": 1, "scope": "{}"}}}}"#,
                scope(function)
            );
            let outcome = run(function, &plan, None, Duration::from_secs(10)).await;
            println!(
                "{function}: one {name} then healthy -> {} after {} calls",
                outcome.status, outcome.calls
            );
            assert_eq!(outcome.status, 200, "{function} {name}: {:#}", outcome.body);
            assert!(
                outcome.calls >= 2,
                "{function} {name}: the fault never fired"
            );
        }
    }
    for (name, status, code) in permanent {
        let plan = format!(r#"{{"errors": {{"error": "{name}", "first": 1, "scope": "claude"}}}}"#);
        let outcome = run("generate-recipe", &plan, None, Duration::from_secs(10)).await;
        println!(
            "generate-recipe: one {name} -> {} {} after {} calls",
            outcome.status,
            outcome.code(),
            outcome.calls
        );
        assert_eq!((outcome.status, outcome.code()), (status, code));
        assert_eq!(outcome.calls, 1, "{name} must not be retried");
    }
}

/// A loopback port nobody listens on.
async fn closed_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

struct TransportCase {
    name: &'static str,
    plan: String,
    /// Where the SDK is pointed instead of the emulator.
    endpoint: Option<String>,
    deadline: Duration,
    expected: (u16, &'static str),
}

#[tokio::test]
async fn transport_faults_map_to_model_unavailable_or_deadline_exceeded() {
    let mut failures = Vec::new();
    for function in ["generate-recipe", "embed-text"] {
        let s = scope(function);
        let cases = [
            TransportCase {
                name: "connection refused",
                plan: "{}".to_owned(),
                endpoint: Some(closed_endpoint().await),
                deadline: Duration::from_secs(10),
                expected: (503, "model_unavailable"),
            },
            TransportCase {
                name: "connection reset mid-body",
                plan: format!(r#"{{"transport": {{"fault": "connectionReset", "scope": "{s}"}}}}"#),
                endpoint: None,
                deadline: Duration::from_secs(10),
                expected: (503, "model_unavailable"),
            },
            TransportCase {
                name: "stall mid-body past the deadline",
                plan: format!(
                    r#"{{"transport": {{"fault": "stallMidBody", "stallMs": 10000, "scope": "{s}"}}}}"#
                ),
                endpoint: None,
                deadline: Duration::from_millis(1500),
                expected: (504, "deadline_exceeded"),
            },
        ];
        for TransportCase {
            name,
            plan,
            endpoint,
            deadline,
            expected,
        } in cases
        {
            let outcome = run(function, &plan, endpoint, deadline).await;
            println!(
                "{function}: {name:<34} -> {} {:<18} model calls {} in {:?}",
                outcome.status,
                outcome.code(),
                outcome.calls,
                outcome.elapsed
            );
            if (outcome.status, outcome.code()) != expected {
                failures.push(format!(
                    "{function} {name}: got {} {}: {:#}",
                    outcome.status,
                    outcome.code(),
                    outcome.body
                ));
            }
            if outcome.elapsed >= deadline {
                failures.push(format!(
                    "{function} {name}: answered after the deadline ({:?})",
                    outcome.elapsed
                ));
            }
        }
        let plan = format!(
            r#"{{"transport": {{"fault": "connectionReset", "first": 1, "scope": "{s}"}}}}"#
        );
        let outcome = run(function, &plan, None, Duration::from_secs(10)).await;
        println!(
            "{function}: one reset then healthy -> {} after {} calls",
            outcome.status, outcome.calls
        );
        if outcome.status != 200 || outcome.calls != calls_per_request(function) + 1 {
            failures.push(format!(
                "{function}: a single reset is not retried: {} after {} calls",
                outcome.status, outcome.calls
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn model_output_faults_are_repaired_or_answered_502() {
    // (mode, answer when every attempt has the fault on the text path, on the tool path).
    // A forced tool call's input is a JSON object the API builds, so the faults that shape
    // free text (prose, invalid escapes) cannot reach the structured-output path at all.
    let table = [
        ("normal", (200, "-"), (200, "-")),
        ("fenced", (200, "-"), (200, "-")),
        ("proseWrapped", (200, "-"), (200, "-")),
        ("prose", (502, "model_output_invalid"), (200, "-")),
        (
            "truncated",
            (502, "model_output_invalid"),
            (502, "model_output_invalid"),
        ),
        (
            "wrongSchema",
            (502, "model_output_invalid"),
            (502, "model_output_invalid"),
        ),
        (
            "huge",
            (502, "model_output_invalid"),
            (502, "model_output_invalid"),
        ),
        ("invalidEscapes", (502, "model_output_invalid"), (200, "-")),
    ];
    let cases = table
        .iter()
        .flat_map(|(mode, text, tool)| [("text", *mode, *text), ("tool", *mode, *tool)]);
    let runs = cases.map(|(path, mode, (status, code))| async move {
        let config = || {
            if path == "text" {
                text_path_config()
            } else {
                fault_config()
            }
        };
        let always = run_with(
            "generate-recipe",
            &format!(r#"{{"output": "{mode}"}}"#),
            None,
            Duration::from_secs(20),
            config(),
        )
        .await;
        let once = run_with(
            "generate-recipe",
            &format!(r#"{{"output": {{"mode": "{mode}", "first": 1}}}}"#),
            None,
            Duration::from_secs(20),
            config(),
        )
        .await;
        let label = format!("{path} {mode}");
        (label, status, code, always, once)
    });
    let mut failures = Vec::new();
    for (mode, status, code, always, once) in join_all(runs).await {
        println!(
            "output {mode:<20} always -> {} {:<21} ({} calls, {:?}); first only -> {} attempts {}",
            always.status,
            always.code(),
            always.calls,
            always.elapsed,
            once.status,
            once.body["meta"]["attempts"]
        );
        if (always.status, always.code()) != (status, code) {
            failures.push(format!(
                "{mode} always: got {} {}",
                always.status,
                always.code()
            ));
        }
        if status == 502 {
            // Every attempt of the budget was spent before giving up, and nothing more.
            if always.calls != 3 {
                failures.push(format!("{mode} always: {} calls, expected 3", always.calls));
            }
            if once.status != 200 || once.body["meta"]["attempts"] != 2 {
                failures.push(format!(
                    "{mode} once: {} attempts {}",
                    once.status, once.body["meta"]["attempts"]
                ));
            }
        }
        if always.status == 200
            && !always.body["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["passed"] == true)
        {
            failures.push(format!("{mode}: a 200 with a failed check"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn truncated_output_is_reported_as_cut_off_and_huge_output_as_too_large() {
    let truncated = run(
        "generate-recipe",
        r#"{"output": "truncated"}"#,
        None,
        Duration::from_secs(10),
    )
    .await;
    assert!(
        truncated.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens"),
        "{:#}",
        truncated.body
    );
    let huge = run(
        "generate-recipe",
        r#"{"output": "huge"}"#,
        None,
        Duration::from_secs(20),
    )
    .await;
    let message = huge.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("bytes"), "{message}");
    // The 1 MB answer is neither echoed to the client nor carried whole into the repair turns.
    assert!(huge.body.to_string().len() < 4096);
}

#[tokio::test]
async fn a_quota_that_stays_exhausted_is_429_with_retry_after() {
    // One call per second with a burst of one: the first text is embedded, the second finds
    // the bucket empty through every SDK retry (10-50 ms apart).
    let outcome = run(
        "embed-text",
        r#"{"rpmQuota": 60, "rpmBurst": 1}"#,
        None,
        Duration::from_secs(10),
    )
    .await;
    println!(
        "embed-text: rpmQuota exhausted -> {} {} after {} calls",
        outcome.status,
        outcome.code(),
        outcome.calls
    );
    assert_eq!((outcome.status, outcome.code()), (429, "throttled"));
    assert!(outcome.retry_after.is_some());

    // Two calls' worth of burst: the first request is served (its retrieval query and its
    // recipe call), then requests back to back run the bucket dry.
    let emu = emulator(Some(r#"{"rpmQuota": 60, "rpmBurst": 2}"#)).await;
    let (app, _) = generate_app(&emu.endpoint(), test_config()).await;
    let mut statuses = Vec::new();
    let mut throttled = None;
    for _ in 0..4 {
        let response = ai_chef_lambda::handlers::generate_recipe::handle(
            &app,
            lambda_event(load_event(KETO), Duration::from_secs(10)),
        )
        .await
        .unwrap();
        let (status, body) = http_parts(&response);
        statuses.push(status);
        if status == 429 {
            throttled = Some((body, response["headers"]["retry-after"].clone()));
            break;
        }
    }
    println!("generate-recipe: rpmQuota 60, burst 2, back-to-back requests -> {statuses:?}");
    assert_eq!(statuses[0], 200);
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    let (body, retry_after) = throttled.expect("the quota never throttled");
    assert_eq!(body["error"]["code"], "throttled");
    assert!(retry_after.is_string());
    assert!(emu.stats().throttles >= 1);
}

#[tokio::test]
async fn embeddings_lose_nothing_when_a_call_fails_once() {
    let texts: Vec<String> = (0..6)
        .map(|i| format!("재료 {i} 돼지고기 양배추"))
        .collect();
    let body = serde_json::json!({"texts": texts, "dimensions": 256}).to_string();
    let embed = |plan: &'static str| {
        let body = body.clone();
        async move {
            let emu = emulator(Some(plan)).await;
            let (app, _) = embed_app(&emu.endpoint(), test_config()).await;
            let event = http_event_with_body(EMBEDDINGS, &body);
            let response = ai_chef_lambda::handlers::embed_text::handle(
                &app,
                lambda_event(event, Duration::from_secs(10)),
            )
            .await
            .unwrap();
            (http_parts(&response), emu.stats())
        }
    };
    let ((status, healthy), _) = embed("{}").await;
    assert_eq!(status, 200);
    for plan in [
        r#"{"errors": {"error": "ThrottlingException", "first": 2, "scope": "titan"}}"#,
        r#"{"errors": {"error": "InternalServerException", "first": 1, "scope": "titan"}}"#,
        r#"{"transport": {"fault": "connectionReset", "first": 1, "scope": "titan"}}"#,
    ] {
        let ((status, body), stats) = embed(plan).await;
        assert_eq!(status, 200, "{plan}: {body:#}");
        assert!(stats.total_calls > 6, "{plan}: the fault never fired");
        // Same vectors, same order, none zeroed or dropped.
        assert_eq!(body["embeddings"], healthy["embeddings"], "{plan}");
        for vector in body["embeddings"].as_array().unwrap() {
            assert!(vector
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x.as_f64().unwrap() != 0.0));
        }
    }
    // A text that keeps failing fails the request: never a partial or zero-filled answer.
    let ((status, body), _) =
        embed(r#"{"errors": {"error": "ModelErrorException", "first": 99, "scope": "titan"}}"#)
            .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("model_output_invalid"))
    );
    assert!(body.get("embeddings").is_none());
}
