//! The Lambda deadline as a hard budget, with short deadlines and a slow emulator: every
//! model call is bounded by the time left minus the margin, no attempt starts that cannot
//! finish, and running out answers 504 `deadline_exceeded` before the deadline (never a
//! Lambda timeout). Test config: 200 ms margin, 500 ms minimum attempt budget.
//!
//! The emulator's `latencyMs` slows every call, Titan's too, so the attempt-level cases run
//! the recipe service without retrieval (its prompt facts embed a query with Titan first);
//! the fully wired app is held to the same end result: 504 before the deadline.
//!
//! The latency estimate: with the model's profile (data/model-latency.toml) at a given
//! `model_time_scale`, an attempt whose modelled call would not end before the deadline is
//! refused with 504 and a pointer to async or streaming, and the model is never called.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef::config::Config;
use ai_chef::generate::RecipeService;
use ai_chef::nutrition::FoodTable;
use ai_chef::verify::TableVerifier;
use ai_chef_aws::bedrock::BedrockClient;
use ai_chef_lambda::handlers::generate_recipe::GenerateRecipeApp;
use ai_chef_lambda::handlers::{embed_text, generate_recipe};
use ai_chef_tests::*;
use bedrock_emulator::{Emulator, EmulatorOptions, FaultPlan, LatencyProfile, TimeScale};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KETO: &str = "apigw-post-recipes-keto.json";
const EMBEDDINGS: &str = "apigw-post-embeddings.json";

struct Timed {
    status: u16,
    body: Value,
    elapsed: Duration,
    calls: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Wiring {
    /// Generation, verification and the handler, without prompt facts.
    Core,
    /// The app as the function builds it (retrieval included).
    Full,
}

async fn core_app(endpoint: &str) -> GenerateRecipeApp {
    core_app_with(endpoint, test_config()).await
}

async fn core_app_with(endpoint: &str, config: Config) -> GenerateRecipeApp {
    let sdk = sdk_config(endpoint, config.bedrock_max_attempts).await;
    let verifier = Arc::new(TableVerifier::new(
        FoodTable::load_embedded().unwrap(),
        None,
    ));
    let service = RecipeService::new(
        Arc::new(config),
        Arc::new(BedrockClient::new(&sdk)),
        verifier,
        None,
    );
    GenerateRecipeApp {
        service,
        metrics: Arc::new(CapturingSink::default()),
        async_recipes: ai_chef_lambda::handlers::async_recipes::AsyncRecipes::disabled(),
    }
}

async fn recipe_with(wiring: Wiring, plan: &str, deadline: Duration) -> Timed {
    let emu = emulator(Some(plan)).await;
    let app = match wiring {
        Wiring::Core => core_app(&emu.endpoint()).await,
        Wiring::Full => generate_app(&emu.endpoint(), test_config()).await.0,
    };
    let event = lambda_event(load_event(KETO), deadline);
    let started = Instant::now();
    let response = generate_recipe::handle(&app, event).await.unwrap();
    let elapsed = started.elapsed();
    let (status, body) = http_parts(&response);
    let stats = emu.stats();
    let calls = if wiring == Wiring::Core {
        stats.total_calls
    } else {
        stats.claude.calls
    };
    Timed {
        status,
        body,
        elapsed,
        calls,
    }
}

async fn recipe(plan: &str, deadline: Duration) -> Timed {
    recipe_with(Wiring::Core, plan, deadline).await
}

async fn embedding(plan: &str, deadline: Duration) -> Timed {
    let emu = emulator(Some(plan)).await;
    let (app, _) = embed_app(&emu.endpoint(), test_config()).await;
    let event = lambda_event(load_event(EMBEDDINGS), deadline);
    let started = Instant::now();
    let response = embed_text::handle(&app, event).await.unwrap();
    let elapsed = started.elapsed();
    let (status, body) = http_parts(&response);
    Timed {
        status,
        body,
        elapsed,
        calls: emu.stats().total_calls,
    }
}

fn assert_deadline_exceeded(t: &Timed, deadline: Duration) {
    assert_eq!(
        (t.status, t.body["error"]["code"].as_str()),
        (504, Some("deadline_exceeded")),
        "{:#}",
        t.body
    );
    assert!(
        t.elapsed < deadline,
        "answered after the deadline: {:?} >= {deadline:?}",
        t.elapsed
    );
}

#[tokio::test]
async fn a_model_slower_than_the_deadline_is_cut_off_with_504_before_the_deadline() {
    let deadline = Duration::from_millis(1500);
    let t = recipe(r#"{"latencyMs": 3000}"#, deadline).await;
    println!(
        "recipe, model 3000 ms, deadline 1500 ms -> {} in {:?}",
        t.status, t.elapsed
    );
    assert_deadline_exceeded(&t, deadline);
    assert_eq!(t.calls, 1);
    // The call was bounded by deadline minus margin (1300 ms), not by the model's 3 s.
    assert!(t.elapsed >= Duration::from_millis(1100), "{:?}", t.elapsed);
}

#[tokio::test]
async fn the_fully_wired_app_answers_504_before_the_deadline() {
    for deadline in [Duration::from_millis(1500), Duration::from_millis(2500)] {
        let t = recipe_with(Wiring::Full, r#"{"latencyMs": 3000}"#, deadline).await;
        println!(
            "wired recipe, every call 3000 ms, deadline {deadline:?} -> {} in {:?}",
            t.status, t.elapsed
        );
        assert_deadline_exceeded(&t, deadline);
    }
}

#[tokio::test]
async fn no_attempt_starts_without_the_minimum_budget() {
    // 600 ms left, 200 ms margin: 400 ms < the 500 ms an attempt needs.
    let deadline = Duration::from_millis(600);
    for wiring in [Wiring::Core, Wiring::Full] {
        let emu = emulator(None).await;
        let app = match wiring {
            Wiring::Core => core_app(&emu.endpoint()).await,
            Wiring::Full => generate_app(&emu.endpoint(), test_config()).await.0,
        };
        let started = Instant::now();
        let response = generate_recipe::handle(&app, lambda_event(load_event(KETO), deadline))
            .await
            .unwrap();
        let elapsed = started.elapsed();
        let (status, body) = http_parts(&response);
        let t = Timed {
            status,
            body,
            elapsed,
            calls: emu.stats().total_calls,
        };
        assert_deadline_exceeded(&t, deadline);
        // Not even the retrieval query is embedded when no attempt could follow it.
        assert_eq!(
            t.calls, 0,
            "a model call started that could not lead to an answer"
        );
        assert!(t.elapsed < Duration::from_millis(200), "{:?}", t.elapsed);
        assert!(t.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("0 attempt"));
    }
}

#[tokio::test]
async fn a_repair_attempt_that_cannot_finish_in_time_is_not_started() {
    // The first answer breaks keto (violateFirst carbHeavy) after 700 ms; about 700 ms are
    // left after the margin, less than the 700 ms the first call took: no second call.
    let deadline = Duration::from_millis(1600);
    let t = recipe(
        r#"{"latencyMs": 700, "violateFirst": "carbHeavy"}"#,
        deadline,
    )
    .await;
    println!(
        "recipe, 700 ms calls, repair needed, deadline 1600 ms -> {} in {:?}",
        t.status, t.elapsed
    );
    assert_deadline_exceeded(&t, deadline);
    assert_eq!(t.calls, 1, "the repair attempt was started");
    assert!(t.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1 attempt"));

    // With time for it, the same scenario is repaired.
    let t = recipe(
        r#"{"latencyMs": 700, "violateFirst": "carbHeavy"}"#,
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(t.status, 200, "{:#}", t.body);
    assert_eq!(t.body["meta"]["attempts"], 2);
}

#[tokio::test]
async fn sdk_retries_stay_inside_the_call_budget() {
    // Every call is throttled after 400 ms; the SDK would retry 3 times (1.2 s+), but the
    // operation is bounded by the 800 ms left after the margin.
    let deadline = Duration::from_millis(1000);
    let t = recipe(
        r#"{"latencyMs": 400, "errors": {"error": "ThrottlingException"}}"#,
        deadline,
    )
    .await;
    println!(
        "recipe, throttled 400 ms calls, deadline 1000 ms -> {} {} in {:?} ({} calls)",
        t.status, t.body["error"]["code"], t.elapsed, t.calls
    );
    assert!(t.elapsed < deadline, "{:?}", t.elapsed);
    assert!(
        t.calls <= 2,
        "{} calls within 800 ms of 400 ms each",
        t.calls
    );
    assert!(
        matches!(
            (t.status, t.body["error"]["code"].as_str()),
            (504, Some("deadline_exceeded")) | (429, Some("throttled"))
        ),
        "{:#}",
        t.body
    );
}

#[tokio::test]
async fn embeddings_respect_the_deadline_too() {
    let deadline = Duration::from_millis(1200);
    let t = embedding(r#"{"latencyMs": 3000}"#, deadline).await;
    println!(
        "embed, model 3000 ms, deadline 1200 ms -> {} in {:?}",
        t.status, t.elapsed
    );
    assert_deadline_exceeded(&t, deadline);

    // 150 ms: nothing left after the margin; 350 ms: 150 ms left, under the 200 ms a Titan
    // call is given at least. Neither starts a call.
    for deadline in [Duration::from_millis(150), Duration::from_millis(350)] {
        let t = embedding("{}", deadline).await;
        assert_deadline_exceeded(&t, deadline);
        assert_eq!(t.calls, 0, "{deadline:?}");
    }
    // 600 ms leaves 400 ms: the call is made and answers in time.
    let t = embedding("{}", Duration::from_millis(600)).await;
    assert_eq!(t.status, 200, "{:#}", t.body);
}

#[tokio::test]
async fn a_direct_invocation_out_of_time_answers_the_error_object() {
    let emu = emulator(Some(r#"{"latencyMs": 3000}"#)).await;
    let (app, _) = generate_app(&emu.endpoint(), test_config()).await;
    let started = Instant::now();
    let answer = generate_recipe::handle(
        &app,
        lambda_event(json!({"target": "keto"}), Duration::from_millis(1200)),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_millis(1200));
    assert_eq!(answer["error"]["code"], "deadline_exceeded");
}

/// An emulator that waits out the realistic profile, `scale` times faster.
async fn realistic_emulator(plan: &str, scale: f64) -> Emulator {
    Emulator::start(EmulatorOptions {
        faults: FaultPlan::from_json(plan).unwrap(),
        latency: LatencyProfile::Realistic,
        time_scale: TimeScale::new(scale).unwrap(),
        ..EmulatorOptions::default()
    })
    .await
    .unwrap()
}

/// The test config with the model's profile at `scale` (1 = Bedrock's own speed).
fn scaled_config(scale: f64) -> Config {
    Config {
        model_time_scale: scale,
        ..test_config()
    }
}

async fn run_scaled(emu: &Emulator, config: Config, deadline: Duration) -> Timed {
    let app = core_app_with(&emu.endpoint(), config).await;
    let started = Instant::now();
    let response = generate_recipe::handle(&app, lambda_event(load_event(KETO), deadline))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let (status, body) = http_parts(&response);
    Timed {
        status,
        body,
        elapsed,
        calls: emu.stats().claude.calls,
    }
}

#[tokio::test]
async fn an_attempt_the_profile_says_cannot_finish_is_refused_without_a_model_call() {
    // Claude Sonnet 4.5 at Bedrock's speed: ~1.8 s + 1,500 tokens / 63 per s ≈ 26 s for an
    // answer; 10 s cannot hold it, so nothing is called (and nothing billed).
    let emu = emulator(None).await;
    let deadline = Duration::from_secs(10);
    let t = run_scaled(&emu, scaled_config(1.0), deadline).await;
    println!(
        "sonnet at scale 1, deadline 10 s -> {} in {:?}: {}",
        t.status, t.elapsed, t.body["error"]["message"]
    );
    assert_deadline_exceeded(&t, deadline);
    assert_eq!(t.calls, 0, "a call was made that could not finish");
    assert_eq!(emu.stats().total_calls, 0);
    assert!(t.elapsed < Duration::from_millis(500), "{:?}", t.elapsed);
    let message = t.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("async") && message.contains("stream"),
        "{message}"
    );

    // Haiku 4.5 is about 2.5 times faster: the same request fits into 15 s.
    let haiku = http_event_with_body(
        KETO,
        &load_event(KETO)["body"]
            .as_str()
            .unwrap()
            .replace("\"sonnet\"", "\"haiku\""),
    );
    let app = core_app_with(&emu.endpoint(), scaled_config(1.0)).await;
    let response = generate_recipe::handle(&app, lambda_event(haiku, Duration::from_secs(15)))
        .await
        .unwrap();
    let (status, body) = http_parts(&response);
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(emu.stats().claude.calls, 1);
}

#[tokio::test]
async fn an_attempt_that_fits_proceeds_and_answers_in_time() {
    // Scaled 10x: the answer is modelled at ~2.6 s, the deadline is 5 s.
    let emu = realistic_emulator("{}", 10.0).await;
    let deadline = Duration::from_secs(5);
    let t = run_scaled(&emu, scaled_config(10.0), deadline).await;
    println!(
        "sonnet at scale 10, deadline 5 s -> {} in {:?}",
        t.status, t.elapsed
    );
    assert_eq!(t.status, 200, "{:#}", t.body);
    assert_eq!(t.calls, 1);
    assert!(t.elapsed < deadline);
}

#[tokio::test]
async fn a_repair_that_cannot_finish_is_refused_after_the_first_answer_without_a_second_call() {
    // Scaled 20x, a 30 s Lambda deadline modelled (1.5 s): the first answer (~1.2 s
    // modelled/20) fails keto, and the repair, expected to take as long, no longer fits.
    let emu = realistic_emulator(r#"{"violateFirst": "carbHeavy"}"#, 20.0).await;
    let config = Config {
        deadline_margin: Duration::from_millis(75),
        ..scaled_config(20.0)
    };
    let deadline = Duration::from_millis(1500);
    let t = run_scaled(&emu, config.clone(), deadline).await;
    println!(
        "sonnet at scale 20, repair needed, deadline 1.5 s -> {} in {:?}: {}",
        t.status, t.elapsed, t.body["error"]["message"]
    );
    assert_deadline_exceeded(&t, deadline);
    assert_eq!(
        t.calls, 1,
        "the repair was started though it could not finish"
    );
    let stats = emu.stats();
    assert_eq!(stats.claude.successes, 1, "the one billed call finished");
    assert!(t.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1 attempt(s) made"));

    // Given a deadline that holds both calls, the same request is repaired.
    let emu = realistic_emulator(r#"{"violateFirst": "carbHeavy"}"#, 20.0).await;
    let t = run_scaled(&emu, config, Duration::from_secs(4)).await;
    assert_eq!(t.status, 200, "{:#}", t.body);
    assert_eq!(t.body["meta"]["attempts"], 2);
    assert_eq!(t.calls, 2);
}
