//! Runs the `lambda-runner` binary itself against the echo and fixture functions: what
//! `make demo`, the integration tests and `make bench` rely on.

// clippy.toml allows these inside #[test] functions only; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{path::PathBuf, process::Command};

use serde_json::{json, Value};

const RUNNER: &str = env!("CARGO_BIN_EXE_lambda-runner");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-function");
const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture-function");

fn event_file(name: &str, contents: &str) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lambda-runner-{name}.json"));
    std::fs::write(&path, contents).unwrap();
    path
}

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(RUNNER).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn invoke_prints_each_response_pretty_in_event_order() {
    let first = event_file("invoke-first", r#"{"a":{"k":"값"},"z":1}"#);
    let second = event_file("invoke-second", r#""plain""#);
    let (code, stdout, stderr) = run(&[
        "invoke",
        "--bin",
        ECHO,
        "--event",
        first.to_str().unwrap(),
        "--event",
        second.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("{\n  \"a\": {\n    \"k\": \"값\"\n  },\n  \"z\": 1\n}\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("\"plain\"\n"), "{stdout}");
    assert!(stderr.contains("ready after"), "{stderr}");
}

#[test]
fn invoke_exits_1_on_a_function_error_and_still_prints_it() {
    let event = event_file("invoke-error", "{}");
    let (code, stdout, _) = run(&[
        "invoke",
        "--bin",
        FIXTURE,
        "--env",
        "FIXTURE_MODE=handler-error",
        "--event",
        event.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["errorType"], json!("RecipeRefused"));
}

#[test]
fn invoke_exits_3_on_an_init_failure() {
    let event = event_file("invoke-init", "{}");
    let (code, stdout, stderr) = run(&[
        "invoke",
        "--bin",
        FIXTURE,
        "--env",
        "FIXTURE_MODE=init-exit",
        "--event",
        event.to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("init failed") && stderr.contains("MODEL_ID is not set"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = run(&["invoke", "--event", "x.json"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("required arguments were not provided")
            && stderr.contains("--bin <PATH>")
            && stderr.contains("Usage: lambda-runner invoke"),
        "{stderr}"
    );
    for args in [
        &[][..],
        &["bench"],
        &["deploy"],
        &["bench", "init", "--bin", ECHO, "--event", "x.json"],
        &[
            "bench", "warm", "--bin", ECHO, "--event", "a.json", "--event", "b.json",
        ],
        &[
            "bench", "warm", "--bin", ECHO, "--event", "a.json", "--count", "0",
        ],
        &[
            "invoke", "--bin", ECHO, "--event", "a.json", "--env", "NOEQUALS",
        ],
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        // Each names the way to the help: clap's "try '--help'" or the help itself.
        assert!(stderr.contains("--help"), "{args:?}: {stderr}");
    }
}

#[test]
fn help_prints_on_stdout_and_exits_0() {
    let (code, stdout, _) = run(&["help"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("invoke") && stdout.contains("bench") && stdout.contains("Exit status"),
        "{stdout}"
    );
    for args in [&["help", "bench", "warm"][..], &["bench", "warm", "--help"]] {
        let (code, stdout, _) = run(args);
        assert_eq!(code, 0, "{args:?}");
        for option in [
            "--bin <PATH>",
            "--event <FILE>",
            "--vary <JSON-POINTER>",
            "--count",
            "--env <KEY=VALUE>",
            "--json",
        ] {
            assert!(stdout.contains(option), "{args:?} lacks {option}: {stdout}");
        }
    }
}

#[test]
fn bench_warm_json_reports_subject_and_baseline() {
    let event = event_file("bench-warm", r#"{"body":"{\"budget\":100}"}"#);
    let (code, stdout, stderr) = run(&[
        "bench",
        "warm",
        "--bin",
        ECHO,
        "--event",
        event.to_str().unwrap(),
        "--count",
        "15",
        "--warmup",
        "2",
        "--vary",
        "/body/budget",
        "--baseline",
        ECHO,
        "--label",
        "subject",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["subject"]["label"], json!("subject"));
    assert_eq!(report["subject"]["count"], json!(15));
    assert_eq!(report["subject"]["failures"], json!(0));
    assert_eq!(report["baseline"]["label"], json!("echo-function"));
    let p50 = report["subject"]["roundTripUs"]["p50"].as_f64().unwrap();
    let p99 = report["subject"]["roundTripUs"]["p99"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= p99, "p50 {p50} p99 {p99}");
    assert!(report["ratioP50"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_warm_counts_failures_and_exits_1() {
    let event = event_file("bench-fail", "{}");
    let (code, stdout, stderr) = run(&[
        "bench",
        "warm",
        "--bin",
        FIXTURE,
        "--env",
        "FIXTURE_MODE=handler-error",
        "--event",
        event.to_str().unwrap(),
        "--count",
        "3",
        "--warmup",
        "0",
    ]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("| fixture-function |") && stdout.trim_end().ends_with("| – | – |"),
        "{stdout}"
    );
    assert!(
        stderr.contains("3 of 3 invocations") && stderr.contains("RecipeRefused"),
        "{stderr}"
    );
}

#[test]
fn bench_init_markdown_has_header_baseline_and_subject_rows() {
    let (code, stdout, stderr) = run(&[
        "bench",
        "init",
        "--bin",
        ECHO,
        "--spawns",
        "2",
        "--baseline",
        ECHO,
        "--label",
        "subject",
        "--header",
        "--print-baseline",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with("| function | spawns |"));
    assert!(lines[2].starts_with("| echo-function | 2 |"));
    assert!(
        lines[3].starts_with("| subject | 2 |") && lines[3].ends_with("× |"),
        "{}",
        lines[3]
    );
}
