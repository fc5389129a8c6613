//! The `bedrock-emulator` binary: readiness line, port file, faults and the latency profile
//! from the environment, and stopping when standard input closes or on SIGTERM.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

async fn spawn(extra_env: &[(&str, &str)], port_file: &std::path::Path) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"));
    command
        .args(["--port", "0", "--exit-on-stdin-close", "--port-file"])
        .arg(port_file)
        .env_remove("EMULATOR_FAULTS")
        .env_remove("EMULATOR_LATENCY")
        .env_remove("EMULATOR_TIME_SCALE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(20),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .unwrap()
    .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("bedrock-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_string();
    (child, endpoint)
}

fn temp_port_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "bedrock-emulator-{}-{name}.port",
        std::process::id()
    ))
}

#[tokio::test]
async fn prints_the_endpoint_writes_the_port_and_stops_when_stdin_closes() {
    let port_file = temp_port_file("stdin");
    let (mut child, endpoint) = spawn(&[], &port_file).await;
    let port = std::fs::read_to_string(&port_file).unwrap();
    assert_eq!(endpoint, format!("http://127.0.0.1:{port}"));
    let health = reqwest::get(format!("{endpoint}/_emulator/health"))
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    drop(child.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_file(port_file);
}

#[tokio::test]
async fn takes_faults_from_the_environment_and_stops_on_sigterm() {
    let port_file = temp_port_file("env");
    let (mut child, endpoint) = spawn(
        &[(
            "EMULATOR_FAULTS",
            r#"{"errors": {"error": "ModelNotReadyException"}}"#,
        )],
        &port_file,
    )
    .await;
    let reply = reqwest::Client::new()
        .post(format!(
            "{endpoint}/model/amazon.titan-embed-text-v2%3A0/invoke"
        ))
        .body(r#"{"inputText":"a"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 429);
    assert!(reply.headers()["x-amzn-errortype"]
        .to_str()
        .unwrap()
        .starts_with("ModelNotReadyException:"));
    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_file(port_file);
}

#[tokio::test]
async fn refuses_a_bad_fault_plan() {
    let output = Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"))
        .args(["--faults", r#"{"nope": 1}"#])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid fault plan (--faults)"));
}

#[tokio::test]
async fn takes_a_scaled_realistic_profile_from_the_environment() {
    let port_file = temp_port_file("latency");
    let scale = 25.0;
    let (mut child, endpoint) = spawn(
        &[
            ("EMULATOR_LATENCY", "realistic"),
            ("EMULATOR_TIME_SCALE", "25"),
        ],
        &port_file,
    )
    .await;
    let body = serde_json::json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": "<request>{\"target\":\"keto\",\"language\":\"ko\"}</request>"}]
    });
    let started = std::time::Instant::now();
    let reply = reqwest::Client::new()
        .post(format!(
            "{endpoint}/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke"
        ))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let modelled: u64 = reply.headers()["x-emulator-modelled-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    reply.bytes().await.unwrap();
    let scaled = Duration::from_millis(modelled).div_f64(scale);
    assert!(modelled > 5_000, "{modelled}");
    assert!(
        started.elapsed() >= scaled.mul_f64(0.98),
        "{:?}",
        started.elapsed()
    );
    drop(child.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_file(port_file);
}

#[tokio::test]
async fn refuses_a_bad_latency_profile_or_time_scale() {
    for args in [
        ["--time-scale", "0"],
        ["--time-scale", "fast"],
        ["--latency", "slow"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"))
            .args(args)
            .env_remove("EMULATOR_LATENCY")
            .env_remove("EMULATOR_TIME_SCALE")
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}
