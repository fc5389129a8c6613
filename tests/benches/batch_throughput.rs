//! Batch throughput against a model quota: the batch-dispatcher handler, in process, drains a
//! simulated SQS queue (partial-batch retries, a visibility timeout, a dead-letter queue after
//! `maxReceiveCount` receives) while the Bedrock emulator allows `rpmQuota` calls per minute.
//! The worker keeps a throttled record on its requested model (only a model not ready hands
//! over to the fallback chain), so "stand-in calls" stays 0 unless a model is not ready.
//! The adaptive policy (call starts paced by a learned rate, `ai_chef::batch::pacer`) is
//! compared with fixed concurrencies of 10 and 100 and, on request, with the AIMD concurrency
//! limit it replaced: completed
//! requests per second, share of the quota's ceiling, throttles the emulator answered, records
//! retried through the queue, and requests lost (dead-lettered or never stored).
//!
//! Outcomes go to the in-memory result store (same claim/complete semantics as DynamoDB): the
//! figure measured is the model quota, not the table. The SDK is configured as the function
//! configures it (`Foundation::from_env`, then `model_sdk_config`: one SDK attempt per model
//! call, passing failures retried by the dispatcher under the adaptive limit).
//!
//! Run: `make bench-batch` (or `cargo bench -p ai-chef-tests --bench batch_throughput`).
//! Knobs: `BENCH_REQUESTS` (200), `BENCH_RPM` (600), `BENCH_LATENCY_MS` (1500),
//! `BENCH_BATCH` (records per invocation, 200), `BENCH_POLICIES` (comma-separated, any of
//! `adaptive`, `aimd`, `fixed10`, `fixed100`; `adaptive,fixed10,fixed100` by default).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef::batch::{InMemoryStore, LimitPolicy};
use ai_chef::domain::Target;
use ai_chef::generate::RecipeService;
use ai_chef::metrics::{MetricsBatch, MetricsError, MetricsSink};
use ai_chef::nutrition::FoodTable;
use ai_chef::verify::TableVerifier;
use ai_chef_aws::bedrock::model_sdk_config;
use ai_chef_aws::sqs::SqsJobQueue;
use ai_chef_lambda::app::Foundation;
use ai_chef_lambda::handlers::batch_dispatcher::{handle, BatchDispatcherApp};
use bedrock_emulator::{Emulator, EmulatorOptions, FaultPlan};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const JOB: &str = "job-bench";
const VISIBILITY: Duration = Duration::from_secs(2);
const MAX_RECEIVE_COUNT: u32 = 5;
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(300);

struct NoMetrics;

#[async_trait::async_trait]
impl MetricsSink for NoMetrics {
    async fn flush(&self, _batch: MetricsBatch) -> Result<(), MetricsError> {
        Ok(())
    }
}

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Queued {
    id: String,
    body: String,
    receives: u32,
    visible_at: Instant,
}

#[derive(Debug)]
struct Row {
    policy: String,
    seconds: f64,
    completed: usize,
    per_second: f64,
    ceiling_share: f64,
    throttles: u64,
    model_calls: u64,
    /// Calls to any model other than the requested one (the fallback chain's stand-ins).
    stand_in_calls: u64,
    queue_retries: u32,
    invocations: u32,
    lost: usize,
    /// The learned rate (calls/s) for a paced policy, else the concurrency limit.
    final_limit: String,
}

fn context(budget: Duration) -> Context {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut ctx = Context::default();
    ctx.request_id = "bench".to_owned();
    ctx.deadline = now_ms + budget.as_millis() as u64;
    ctx
}

async fn run(
    policy: &str,
    limit: LimitPolicy,
    requests: usize,
    rpm: u32,
    latency_ms: u64,
    batch: usize,
) -> Row {
    let plan = FaultPlan::from_json(&json!({"rpmQuota": rpm, "latencyMs": latency_ms}).to_string())
        .unwrap();
    let emu = Emulator::start(EmulatorOptions {
        faults: plan,
        ..EmulatorOptions::default()
    })
    .await
    .unwrap();
    std::env::set_var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emu.endpoint());
    let foundation = Foundation::from_env().await.unwrap();
    let store = Arc::new(InMemoryStore::new());
    let app = BatchDispatcherApp::new(
        // The food-table verifier without prompt facts: only Claude calls meet the quota.
        RecipeService::new(
            foundation.config.clone(),
            Arc::new(ai_chef_aws::bedrock::BedrockClient::new(&model_sdk_config(
                &foundation.sdk,
            ))),
            Arc::new(TableVerifier::new(
                FoodTable::load_embedded().unwrap(),
                None,
            )),
            None,
        ),
        Arc::new(NoMetrics),
        store.clone(),
        Arc::new(SqsJobQueue::new(
            aws_sdk_sqs::Client::new(&foundation.sdk),
            "http://127.0.0.1:9/unused",
        )),
    )
    .with_limit(limit);

    // Every benchmark request asks for the default model.
    let models = &foundation.config.models;
    let requested = models.chat_model_id(models.default_chat).to_owned();
    let started = Instant::now();
    let mut queue: VecDeque<Queued> = (0..requests)
        .map(|i| {
            let language = if (i / Target::ALL.len()) % 2 == 0 { "ko" } else { "en" };
            let request = json!({"target": Target::ALL[i % Target::ALL.len()].as_str(), "language": language});
            Queued {
                id: format!("m-{i}"),
                body: json!({"jobId": JOB, "requestId": format!("r{i:03}"), "request": request}).to_string(),
                receives: 0,
                visible_at: started,
            }
        })
        .collect();
    let mut dead_lettered = 0;
    let mut queue_retries = 0;
    let mut invocations = 0;
    while !queue.is_empty() {
        let now = Instant::now();
        let (mut visible, hidden): (VecDeque<Queued>, VecDeque<Queued>) =
            queue.drain(..).partition(|m| m.visible_at <= now);
        queue = hidden;
        if visible.is_empty() {
            let next = queue.iter().map(|m| m.visible_at).min().unwrap();
            tokio::time::sleep_until(next.into()).await;
            continue;
        }
        let rest = if visible.len() > batch {
            visible.split_off(batch)
        } else {
            VecDeque::new()
        };
        queue.extend(rest);
        let mut taken = Vec::new();
        for mut message in visible {
            if message.receives >= MAX_RECEIVE_COUNT {
                dead_lettered += 1;
                continue;
            }
            message.receives += 1;
            taken.push(message);
        }
        if taken.is_empty() {
            continue;
        }
        let records: Vec<Value> = taken
            .iter()
            .map(|m| {
                json!({"messageId": m.id, "receiptHandle": format!("rh-{}-{}", m.id, m.receives), "body": m.body,
                    "attributes": {"ApproximateReceiveCount": m.receives.to_string(), "SentTimestamp": "0"},
                    "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ai-chef-jobs", "awsRegion": "us-east-1"})
            })
            .collect();
        let event = LambdaEvent::new(json!({"Records": records}), context(FUNCTION_TIMEOUT));
        let response = handle(&app, event).await.unwrap();
        invocations += 1;
        let retry: Vec<&str> = response["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap())
            .collect();
        let again = Instant::now() + VISIBILITY;
        for mut message in taken {
            if retry.contains(&message.id.as_str()) {
                queue_retries += 1;
                message.visible_at = again;
                queue.push_back(message);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let completed = store
        .results(JOB)
        .iter()
        .filter(|r| r.status.as_str() == "succeeded")
        .count();
    let stats = emu.stats();
    let ceiling = f64::from(rpm) / 60.0;
    let per_second = completed as f64 / seconds;
    let row = Row {
        policy: policy.to_owned(),
        seconds,
        completed,
        per_second,
        ceiling_share: per_second / ceiling,
        throttles: stats.throttles,
        model_calls: stats.claude.calls,
        stand_in_calls: stats
            .per_model
            .iter()
            .filter(|(model, _)| model.as_str() != requested)
            .map(|(_, model)| model.calls)
            .sum(),
        queue_retries,
        invocations,
        lost: requests - completed,
        final_limit: {
            let gate = app.gate.snapshot();
            match gate.rate {
                Some(rate) => format!("{rate:.1}/s"),
                None => format!("{:.1}", gate.limit),
            }
        },
    };
    assert!(dead_lettered <= row.lost);
    emu.shutdown().await;
    row
}

fn main() {
    // Cargo passes `--bench`; no filters are supported.
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "bench");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
    std::env::set_var("CACHE_MAX_ENTRIES", "0");
    std::env::set_var("DEADLINE_MARGIN_MS", "1500");
    let requests = knob("BENCH_REQUESTS", 200) as usize;
    let rpm = knob("BENCH_RPM", 600) as u32;
    let latency_ms = knob("BENCH_LATENCY_MS", 1500);
    let batch = knob("BENCH_BATCH", 200) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "batch throughput: {requests} requests, quota {rpm} rpm (ceiling {:.1} req/s), model latency {latency_ms} ms, \
         {batch} records per invocation, visibility {}s, maxReceiveCount {MAX_RECEIVE_COUNT}",
        f64::from(rpm) / 60.0,
        VISIBILITY.as_secs()
    );
    let chosen =
        std::env::var("BENCH_POLICIES").unwrap_or_else(|_| "adaptive,fixed10,fixed100".to_owned());
    let policies = [
        ("adaptive", "adaptive (paced)", LimitPolicy::default()),
        ("aimd", "AIMD concurrency", LimitPolicy::aimd()),
        ("fixed10", "fixed 10", LimitPolicy::fixed(10)),
        ("fixed100", "fixed 100", LimitPolicy::fixed(100)),
    ];
    let unknown: Vec<&str> = chosen
        .split(',')
        .filter(|key| !policies.iter().any(|(known, _, _)| known == key))
        .collect();
    assert!(
        unknown.is_empty(),
        "BENCH_POLICIES: unknown policies {unknown:?} (adaptive, aimd, fixed10, fixed100)"
    );
    let mut rows = Vec::new();
    for (_, name, limit) in policies
        .into_iter()
        .filter(|(key, _, _)| chosen.split(',').any(|c| c == *key))
    {
        let row = runtime.block_on(run(name, limit, requests, rpm, latency_ms, batch));
        eprintln!("{row:?}");
        rows.push(row);
    }
    // The emulator's bucket starts full with one second's worth of calls (`rpmBurst` default),
    // and the first answers arrive one latency after the start.
    let rate = f64::from(rpm) / 60.0;
    let burst = rate.ceil().max(1.0);
    let best_s = latency_ms as f64 / 1000.0 + (requests as f64 - burst).max(0.0) / rate;
    println!();
    println!(
        "best possible: {best_s:.1} s = {:.2} req/s ({:.0} % of the ceiling)",
        requests as f64 / best_s,
        requests as f64 / best_s / rate * 100.0
    );
    println!();
    println!("| policy | wall s | completed | req/s | % of ceiling | quota throttles | model calls | stand-in calls | queue retries | invocations | lost | final rate or limit |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.1} | {} | {:.2} | {:.0} % | {} | {} | {} | {} | {} | {} | {} |",
            r.policy,
            r.seconds,
            r.completed,
            r.per_second,
            r.ceiling_share * 100.0,
            r.throttles,
            r.model_calls,
            r.stand_in_calls,
            r.queue_retries,
            r.invocations,
            r.lost,
            r.final_limit
        );
    }
}
