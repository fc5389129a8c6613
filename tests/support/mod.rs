//! Shared helpers for the integration tests: real-shaped Lambda events from `events/`, a
//! Lambda context with a chosen deadline, the local Bedrock emulator, and the apps wired to
//! it through the real AWS SDK (loopback endpoints only).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod moto;

use ai_chef::config::Config;
use ai_chef::metrics::{MetricsBatch, MetricsError, MetricsSink};
use ai_chef_lambda::app::Foundation;
use ai_chef_lambda::handlers::embed_text::EmbedTextApp;
use ai_chef_lambda::handlers::generate_recipe::GenerateRecipeApp;
use bedrock_emulator::{Emulator, EmulatorOptions, FaultPlan};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// An event file from `events/`.
pub fn load_event(name: &str) -> Value {
    let path = repo_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The keto HTTP API event with its body replaced.
pub fn http_event_with_body(template: &str, body: &str) -> Value {
    let mut event = load_event(template);
    event["body"] = Value::String(body.to_owned());
    event["headers"]["content-length"] = Value::String(body.len().to_string());
    event
}

/// A context whose deadline is `budget` from now, like the Runtime API's deadline header.
pub fn context(budget: Duration) -> Context {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut ctx = Context::default();
    ctx.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd".to_owned();
    ctx.deadline = now_ms + budget.as_millis() as u64;
    ctx.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:ai-chef-test".to_owned();
    ctx
}

pub fn lambda_event(payload: Value, budget: Duration) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, context(budget))
}

/// Starts an emulator on 127.0.0.1 with a fault plan (JSON, as the emulator's control API takes).
pub async fn emulator(faults: Option<&str>) -> Emulator {
    let faults = match faults {
        Some(json) => FaultPlan::from_json(json).unwrap(),
        None => FaultPlan::default(),
    };
    Emulator::start(EmulatorOptions {
        faults,
        ..EmulatorOptions::default()
    })
    .await
    .unwrap()
}

/// The SDK configuration the functions load, pointed at a loopback endpoint with test
/// credentials. Process-wide variables are not used so that tests can run in parallel, each
/// with its own emulator; the binaries are driven through `AWS_ENDPOINT_URL_*` in `runtime_api.rs`.
pub async fn sdk_config(endpoint: &str, max_attempts: u32) -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ai_chef_aws::bedrock::https_client())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(10))
                .with_max_backoff(Duration::from_millis(50)),
        )
        .load()
        .await
}

/// A metrics sink that keeps what it was given, for assertions.
#[derive(Debug, Default)]
pub struct CapturingSink {
    pub batches: Mutex<Vec<MetricsBatch>>,
}

#[async_trait::async_trait]
impl MetricsSink for CapturingSink {
    async fn flush(&self, batch: MetricsBatch) -> Result<(), MetricsError> {
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }
}

impl CapturingSink {
    /// (model calls with status Success, with status Error, warm-ups) over every flush.
    pub fn totals(&self) -> (usize, usize, u32) {
        let batches = self.batches.lock().unwrap();
        let mut ok = 0;
        let mut err = 0;
        let mut warm = 0;
        for b in batches.iter() {
            for ((_, status), durations) in &b.calls {
                match status {
                    ai_chef::metrics::CallStatus::Success => ok += durations.len(),
                    ai_chef::metrics::CallStatus::Error => err += durations.len(),
                }
            }
            warm += b.warmups.values().sum::<u32>();
        }
        (ok, err, warm)
    }
}

/// A foundation (config + SDK config) pointed at the emulator.
pub async fn foundation(endpoint: &str, config: Config) -> Foundation {
    let sdk = sdk_config(endpoint, config.bedrock_max_attempts).await;
    Foundation {
        config: Arc::new(config),
        sdk,
    }
}

/// The generate-recipe app against the emulator, with a capturing metrics sink.
pub async fn generate_app(
    endpoint: &str,
    config: Config,
) -> (GenerateRecipeApp, Arc<CapturingSink>) {
    let foundation = foundation(endpoint, config).await;
    let sink = Arc::new(CapturingSink::default());
    let app = GenerateRecipeApp {
        service: foundation.recipe_service().unwrap(),
        metrics: sink.clone(),
        async_recipes: ai_chef_lambda::handlers::async_recipes::AsyncRecipes::disabled(),
    };
    (app, sink)
}

/// The embed-text app against the emulator.
pub async fn embed_app(endpoint: &str, config: Config) -> (EmbedTextApp, Arc<CapturingSink>) {
    let foundation = foundation(endpoint, config).await;
    let sink = Arc::new(CapturingSink::default());
    let app = EmbedTextApp {
        service: ai_chef::embed::EmbeddingService::new(
            foundation.config.clone(),
            foundation.bedrock(),
        ),
        metrics: sink.clone(),
    };
    (app, sink)
}

/// Status code and parsed JSON body of an HTTP API response payload.
pub fn http_parts(response: &Value) -> (u16, Value) {
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let body = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    (status, body)
}

/// A config for tests: no cache unless asked, quick SDK retries.
pub fn test_config() -> Config {
    Config {
        cache_max_entries: 0,
        deadline_margin: Duration::from_millis(200),
        // The emulator answers at once unless a test asks for its realistic profile, so the
        // deadline estimate is made for a model 1000 times faster than Bedrock.
        model_time_scale: 1000.0,
        ..Config::default()
    }
}

/// The debug binary of a function (`generate-recipe`, `batch-dispatcher`, ...), built on first
/// use when `cargo test` did not build it. One lock for the whole test binary, so concurrent
/// tests wait for one build instead of starting several.
pub fn function_binary(name: &str) -> PathBuf {
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    // target/debug/deps/it-<hash> -> target/debug
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(PathBuf::from))
        .unwrap_or_else(|| repo_root().join("target").join("debug"));
    let path = dir.join(name);
    if !path.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", name])
            .current_dir(repo_root())
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "cargo build -p {name} failed"
        );
    }
    path
}
