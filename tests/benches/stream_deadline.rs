//! Sync versus streamed recipes under the realistic Claude Sonnet 4.5 profile, scaled: the
//! real generate-recipe binary through the Lambda runner, the emulator waiting out each
//! modelled call `SCALE` times faster, and about a third of first answers breaking keto so
//! that they need one repair.
//!
//! Reports, per route: the share of requests that ended in a verified recipe, the model calls
//! billed that could not finish (started, then cut off by the deadline), and for the stream
//! the time to the first `progress` event, all in modelled (unscaled) time.
//!
//! Run: `cargo test -p ai-chef-tests --bench stream_deadline` (REQUESTS, SCALE and
//! MODEL=sonnet|haiku override the defaults).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_tests::{load_event, repo_root};
use bedrock_emulator::{Emulator, EmulatorOptions, FaultPlan, LatencyProfile, TimeScale};
use lambda_runner::{FunctionProcess, Outcome, OutputMode, SpawnOptions};
use serde_json::Value;
use std::time::Duration;

/// The generate-recipe Lambda timeout behind the HTTP API (30 s integration limit).
const SYNC_TIMEOUT_S: f64 = 29.0;
/// A function URL in streaming mode may run up to the function's own timeout.
const STREAM_TIMEOUT_S: f64 = 120.0;
const MARGIN_MS: f64 = 1500.0;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn binary() -> std::path::PathBuf {
    // target/debug/deps/stream_deadline-<hash> → target/debug/generate-recipe
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = dir.join("generate-recipe");
    if !path.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "generate-recipe"])
            .current_dir(repo_root())
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

#[derive(Default, Debug)]
struct Tally {
    verified: usize,
    /// Requests whose model call was cut off by the deadline (at most one per request).
    cut_off: usize,
    statuses: std::collections::BTreeMap<u64, usize>,
    first_progress_modelled: Vec<f64>,
    total_modelled: Vec<f64>,
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

async fn run(route: &str, requests: usize, scale: f64, model: &str) -> (Tally, u64) {
    let emu = Emulator::start(EmulatorOptions {
        faults: FaultPlan::from_json(
            r#"{"violateFirst": {"violation": "carbHeavy", "rate": 0.33, "seed": 11}}"#,
        )
        .unwrap(),
        latency: LatencyProfile::Realistic,
        time_scale: TimeScale::new(scale).unwrap(),
        ..EmulatorOptions::default()
    })
    .await
    .unwrap();
    let options = SpawnOptions::new(binary())
        .function_name("generate-recipe")
        .output(OutputMode::Quiet)
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emu.endpoint())
        .env("MODEL_TIME_SCALE", scale.to_string())
        .env(
            "DEADLINE_MARGIN_MS",
            ((MARGIN_MS / scale).round() as u64).to_string(),
        )
        .env("CACHE_MAX_ENTRIES", "0");
    let mut process = FunctionProcess::spawn(options).await.unwrap();
    process.wait_ready(Duration::from_secs(30)).await.unwrap();
    let (template, timeout_s) = match route {
        "sync" => ("apigw-post-recipes-keto.json", SYNC_TIMEOUT_S),
        _ => ("function-url-post-recipes-keto.json", STREAM_TIMEOUT_S),
    };
    let mut tally = Tally::default();
    for i in 0..requests {
        let mut event = load_event(template);
        // A distinct request each time (servings 1-4, budget varies): no two are the same.
        let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
        body["model"] = Value::from(model);
        body["servings"] = Value::from(1 + (i % 4) as u64);
        body["profile"]["budget"] = Value::from(12_000 + 100 * i as u64);
        event["body"] = Value::from(body.to_string());
        let invocation = process
            .invoke(event, Duration::from_secs_f64(timeout_s / scale))
            .await
            .unwrap();
        let Outcome::Response(response) = &invocation.outcome else {
            panic!("{:?}", invocation.outcome)
        };
        let (status, verified_body) = match &invocation.stream {
            None => {
                let status = response["statusCode"].as_u64().unwrap();
                let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
                if body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("cut off by the Lambda deadline"))
                {
                    tally.cut_off += 1;
                }
                (status, (status == 200).then_some(body))
            }
            Some(stream) => {
                let text = std::str::from_utf8(&stream.body).unwrap();
                let mut final_event = None;
                let mut offset = 0;
                for block in text.split_inclusive("\n\n") {
                    let name = block
                        .lines()
                        .find_map(|l| l.strip_prefix("event: "))
                        .unwrap();
                    let data: Value = serde_json::from_str(
                        block
                            .lines()
                            .find_map(|l| l.strip_prefix("data: "))
                            .unwrap(),
                    )
                    .unwrap();
                    if name == "progress" && tally.first_progress_modelled.len() <= i {
                        let at = stream.arrival_of(offset).unwrap();
                        tally.first_progress_modelled.push(at.as_secs_f64() * scale);
                    }
                    if name == "recipe" || name == "error" {
                        final_event = Some((name.to_owned(), data));
                    }
                    offset += block.len();
                }
                match final_event.unwrap() {
                    (name, data) if name == "recipe" => (200, Some(data)),
                    (_, data) => {
                        if data["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("cut off by the Lambda deadline"))
                        {
                            tally.cut_off += 1;
                        }
                        (data["status"].as_u64().unwrap(), None)
                    }
                }
            }
        };
        tally
            .total_modelled
            .push(invocation.round_trip.as_secs_f64() * scale);
        *tally.statuses.entry(status).or_default() += 1;
        if let Some(body) = verified_body {
            assert!(body["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["passed"] == true));
            tally.verified += 1;
        }
    }
    let stats = emu.stats();
    let _ = process.shutdown().await;
    (tally, stats.claude.calls)
}

#[tokio::main]
async fn main() {
    let requests: usize = env_or("REQUESTS", 50);
    let scale: f64 = env_or("SCALE", 20.0);
    let model: String = env_or("MODEL", "sonnet".to_owned());
    let routes: String = env_or("ROUTES", "sync,stream".to_owned());
    println!(
        "{requests} keto requests, {model} realistic profile scaled {scale}x, ~1/3 first answers carb-heavy (seeded); times modelled (x{scale})"
    );
    for route in routes.split(',') {
        let (mut tally, calls) = run(route, requests, scale, &model).await;
        let timeout = if route == "sync" {
            SYNC_TIMEOUT_S
        } else {
            STREAM_TIMEOUT_S
        };
        println!(
            "{route:>6} (deadline {timeout} s): verified {}/{} ({:.0} %), statuses {:?}, model calls {calls}, billed but cut off by the deadline {}",
            tally.verified,
            requests,
            100.0 * tally.verified as f64 / requests as f64,
            tally.statuses,
            tally.cut_off
        );
        println!(
            "        end to end p50 {:.1} s, p95 {:.1} s",
            percentile(&mut tally.total_modelled, 50.0),
            percentile(&mut tally.total_modelled, 95.0)
        );
        if !tally.first_progress_modelled.is_empty() {
            println!(
                "        first progress event p50 {:.2} s, p95 {:.2} s, max {:.2} s",
                percentile(&mut tally.first_progress_modelled, 50.0),
                percentile(&mut tally.first_progress_modelled, 95.0),
                percentile(&mut tally.first_progress_modelled, 100.0)
            );
        }
    }
}
