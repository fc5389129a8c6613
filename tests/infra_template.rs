//! Keeps the deployment template (`infra/template.yaml`) and the code in agreement.
//!
//! The template repeats facts the code owns: model ids, tunable defaults, the environment
//! variables the functions read, the binaries cargo builds. A change on one side only would
//! deploy functions configured differently from what was tested, so these tests compare the
//! two. Least-privilege and safety rules live in `infra/rules/*.guard` (run by
//! `make check-infra`); the checks here are the ones that need the Rust constants.

// The helpers below fail the calling test on a malformed template, which is their job; clippy
// only recognises `#[test]` functions themselves as test code.
#![allow(clippy::expect_used, clippy::panic)]

use ai_chef::config::{self, ChatModel, Config, MetricsSinkKind};
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FUNCTIONS: [(&str, &str); 3] = [
    ("GenerateRecipeFunction", "generate-recipe"),
    ("EmbedTextFunction", "embed-text"),
    ("BatchDispatcherFunction", "batch-dispatcher"),
];

/// API Gateway HTTP API stops waiting for an integration after 30 seconds.
const HTTP_API_INTEGRATION_TIMEOUT_SECONDS: u64 = 30;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace root")
        .to_path_buf()
}

fn template() -> Value {
    let path = repo_root().join("infra/template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_norway::from_str(&text).expect("infra/template.yaml is valid YAML")
}

fn resource<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    template
        .get("Resources")
        .and_then(|resources| resources.get(logical_id))
        .unwrap_or_else(|| panic!("resource {logical_id} missing from the template"))
}

fn property<'a>(template: &'a Value, logical_id: &str, path: &[&str]) -> &'a Value {
    let mut value = resource(template, logical_id)
        .get("Properties")
        .unwrap_or_else(|| panic!("{logical_id} has no Properties"));
    for key in path {
        value = value
            .get(*key)
            .unwrap_or_else(|| panic!("{logical_id}.Properties.{} missing", path.join(".")));
    }
    value
}

fn parameter_default(template: &Value, name: &str) -> String {
    let default = template
        .get("Parameters")
        .and_then(|parameters| parameters.get(name))
        .and_then(|parameter| parameter.get("Default"))
        .unwrap_or_else(|| panic!("parameter {name} has no Default"));
    scalar_text(default).unwrap_or_else(|| panic!("parameter {name} default is not a scalar"))
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn as_u64(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("expected a whole number, found {value:?}"))
}

/// Name of an intrinsic written either as a short tag (`!Ref X`) or as a map (`Ref: X`).
fn intrinsic<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Tagged(tagged) if tagged.tag == name => Some(&tagged.value),
        Value::Mapping(map) if map.len() == 1 => {
            let long_name = if name == "Ref" {
                "Ref".to_owned()
            } else {
                format!("Fn::{name}")
            };
            map.get(long_name.as_str())
        }
        _ => None,
    }
}

fn ref_target(value: &Value) -> Option<&str> {
    intrinsic(value, "Ref").and_then(Value::as_str)
}

/// Logical id named by `!GetAtt Id.Attr` (string form) or `!GetAtt [Id, Attr]` (list form).
fn get_att_target(value: &Value) -> Option<&str> {
    match intrinsic(value, "GetAtt")? {
        Value::String(text) => text.split('.').next(),
        Value::Sequence(items) => items.first().and_then(Value::as_str),
        _ => None,
    }
}

fn environment(value: Option<&Value>) -> BTreeMap<String, Value> {
    value
        .and_then(|env| env.get("Variables"))
        .and_then(Value::as_mapping)
        .map(|variables| {
            variables
                .iter()
                .map(|(key, value)| {
                    let key = key
                        .as_str()
                        .expect("environment variable names are strings");
                    (key.to_owned(), value.clone())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn global_environment(template: &Value) -> BTreeMap<String, Value> {
    environment(
        template
            .get("Globals")
            .and_then(|globals| globals.get("Function"))
            .and_then(|function| function.get("Environment")),
    )
}

fn function_environment(template: &Value, logical_id: &str) -> BTreeMap<String, Value> {
    environment(
        resource(template, logical_id)
            .get("Properties")
            .and_then(|properties| properties.get("Environment")),
    )
}

/// Every variable a function sees: the Globals section merged with its own.
fn effective_environment(template: &Value, logical_id: &str) -> BTreeMap<String, Value> {
    let mut variables = global_environment(template);
    variables.extend(function_environment(template, logical_id));
    variables
}

#[test]
fn model_parameter_defaults_equal_the_code_registry() {
    let template = template();
    let expected = [
        ("SonnetModelId", config::DEFAULT_SONNET_MODEL_ID),
        ("HaikuModelId", config::DEFAULT_HAIKU_MODEL_ID),
        ("EmbeddingModelId", config::DEFAULT_EMBEDDING_MODEL_ID),
        ("EmbeddingV1ModelId", config::DEFAULT_EMBEDDING_V1_MODEL_ID),
        (
            "Claude3SonnetModelId",
            config::DEFAULT_CLAUDE3_SONNET_MODEL_ID,
        ),
        (
            "Claude3HaikuModelId",
            config::DEFAULT_CLAUDE3_HAIKU_MODEL_ID,
        ),
        ("MetricsNamespace", config::DEFAULT_METRICS_NAMESPACE),
    ];
    for (parameter, code_default) in expected {
        assert_eq!(
            parameter_default(&template, parameter),
            code_default,
            "template parameter {parameter} and the code disagree"
        );
    }
}

#[test]
fn claude_defaults_are_us_inference_profiles_the_policy_can_strip() {
    // The roles derive each profile's foundation model with `!Select [1, !Split ["us.", id]]`,
    // which is right only when "us." occurs exactly once, at the start.
    let template = template();
    for parameter in ["SonnetModelId", "HaikuModelId"] {
        let id = parameter_default(&template, parameter);
        let foundation_model = id
            .strip_prefix("us.")
            .unwrap_or_else(|| panic!("{parameter} default {id} is not a US inference profile"));
        assert!(
            foundation_model.starts_with("anthropic.claude-") && !foundation_model.contains("us."),
            "{parameter} default {id} would split into the wrong foundation model"
        );
    }
}

#[test]
fn every_environment_variable_set_is_one_the_code_reads() {
    let template = template();
    let known: BTreeSet<&str> = config::ENV_VARS.iter().copied().collect();
    let mut set_anywhere = global_environment(&template);
    for (logical_id, _) in FUNCTIONS {
        set_anywhere.extend(function_environment(&template, logical_id));
    }
    assert!(!set_anywhere.is_empty(), "the template sets no environment");
    let unknown: Vec<&String> = set_anywhere
        .keys()
        .filter(|name| !known.contains(name.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "the template sets variables the code never reads: {unknown:?}"
    );
}

#[test]
fn parameters_behind_environment_variables_default_to_the_code_defaults() {
    let template = template();
    let code = Config::default();
    let sink = match code.metrics_sink {
        MetricsSinkKind::Emf => "emf",
        MetricsSinkKind::CloudWatch => "cloudwatch",
    };
    let expected: BTreeMap<&str, String> = BTreeMap::from([
        ("MODEL_ID_SONNET", code.models.sonnet.clone()),
        ("MODEL_ID_HAIKU", code.models.haiku.clone()),
        ("MODEL_ID_EMBEDDING", code.models.embedding_v2.clone()),
        ("MODEL_ID_EMBEDDING_V1", code.models.embedding_v1.clone()),
        (
            "MODEL_ID_CLAUDE3_SONNET",
            code.models.claude3_sonnet.clone(),
        ),
        ("MODEL_ID_CLAUDE3_HAIKU", code.models.claude3_haiku.clone()),
        ("MAX_TOKENS", code.max_tokens.to_string()),
        ("MAX_ATTEMPTS", code.max_attempts.to_string()),
        (
            "BEDROCK_MAX_ATTEMPTS",
            code.bedrock_max_attempts.to_string(),
        ),
        ("CACHE_TTL_SECONDS", code.cache_ttl.as_secs().to_string()),
        ("CACHE_MAX_ENTRIES", code.cache_max_entries.to_string()),
        (
            "DEADLINE_MARGIN_MS",
            code.deadline_margin.as_millis().to_string(),
        ),
        ("METRICS_NAMESPACE", code.metrics_namespace.clone()),
        ("METRICS_SINK", sink.to_owned()),
        ("RESULT_TTL_DAYS", code.result_ttl_days.to_string()),
    ]);

    let mut checked = 0;
    for (logical_id, _) in FUNCTIONS {
        for (name, value) in effective_environment(&template, logical_id) {
            let Some(parameter) = ref_target(&value) else {
                continue;
            };
            let Some(parameters) = template.get("Parameters") else {
                panic!("the template has no Parameters");
            };
            if parameters.get(parameter).is_none() {
                continue; // a resource reference such as !Ref ResultsTable
            }
            let default = parameter_default(&template, parameter);
            if name == "DEFAULT_MODEL" {
                assert_eq!(
                    ChatModel::parse(&default),
                    Some(code.models.default_chat),
                    "DefaultModel default {default} is not the code's default model"
                );
                checked += 1;
            } else if let Some(code_default) = expected.get(name.as_str()) {
                assert_eq!(
                    &default, code_default,
                    "{logical_id}: {name} comes from parameter {parameter} whose default \
                     differs from the code's"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= expected.len(),
        "only {checked} parameter-backed variables were compared"
    );
}

#[test]
fn only_the_batch_dispatcher_gets_the_table_and_queue() {
    let template = template();
    for (logical_id, _) in FUNCTIONS {
        let variables = effective_environment(&template, logical_id);
        let has_batch_settings =
            variables.contains_key("RESULTS_TABLE") && variables.contains_key("JOBS_QUEUE_URL");
        let has_any_batch_setting =
            variables.contains_key("RESULTS_TABLE") || variables.contains_key("JOBS_QUEUE_URL");
        if logical_id == "BatchDispatcherFunction" {
            assert!(has_batch_settings, "batch-dispatcher needs both variables");
            assert_eq!(
                ref_target(&variables["RESULTS_TABLE"]),
                Some("ResultsTable")
            );
            assert_eq!(ref_target(&variables["JOBS_QUEUE_URL"]), Some("JobsQueue"));
        } else {
            assert!(
                !has_any_batch_setting,
                "{logical_id} must not see the batch resources"
            );
        }
    }
}

#[test]
fn functions_build_the_workspace_binaries_with_their_own_roles() {
    let template = template();
    let mut roles = BTreeSet::new();
    for (logical_id, binary) in FUNCTIONS {
        let function = resource(&template, logical_id);
        let metadata = function.get("Metadata").expect("build metadata");
        assert_eq!(
            metadata.get("BuildMethod").and_then(Value::as_str),
            Some("rust-cargolambda")
        );
        assert_eq!(
            metadata
                .get("BuildProperties")
                .and_then(|properties| properties.get("Binary"))
                .and_then(Value::as_str),
            Some(binary),
            "{logical_id} builds the wrong binary"
        );
        assert!(
            repo_root()
                .join("functions")
                .join(binary)
                .join("Cargo.toml")
                .is_file(),
            "no crate functions/{binary} for {logical_id}"
        );

        let role = get_att_target(property(&template, logical_id, &["Role"]))
            .unwrap_or_else(|| panic!("{logical_id} needs an explicit !GetAtt role"));
        assert_eq!(
            resource(&template, role)
                .get("Type")
                .and_then(Value::as_str),
            Some("AWS::IAM::Role")
        );
        assert!(roles.insert(role), "{logical_id} shares role {role}");

        let log_group = property(&template, logical_id, &["LoggingConfig", "LogGroup"]);
        let log_group = ref_target(log_group).expect("LoggingConfig.LogGroup is a !Ref");
        assert_eq!(
            resource(&template, log_group)
                .get("Type")
                .and_then(Value::as_str),
            Some("AWS::Logs::LogGroup")
        );
    }
}

#[test]
fn timeouts_fit_api_gateway_and_the_queue() {
    let template = template();
    let generate_timeout = as_u64(property(&template, "GenerateRecipeFunction", &["Timeout"]));
    assert!(
        generate_timeout < HTTP_API_INTEGRATION_TIMEOUT_SECONDS,
        "generate-recipe must answer before the HTTP API gives up"
    );
    let embed_timeout = as_u64(property(&template, "EmbedTextFunction", &["Timeout"]));
    assert!(embed_timeout < HTTP_API_INTEGRATION_TIMEOUT_SECONDS);

    let batch_timeout = as_u64(property(&template, "BatchDispatcherFunction", &["Timeout"]));
    let visibility = as_u64(property(&template, "JobsQueue", &["VisibilityTimeout"]));
    assert!(
        visibility >= 6 * batch_timeout,
        "visibility timeout {visibility}s is under 6 x the batch timeout {batch_timeout}s"
    );
    let max_receive = as_u64(property(
        &template,
        "JobsQueue",
        &["RedrivePolicy", "maxReceiveCount"],
    ));
    assert!(max_receive >= 5);
}

#[test]
fn the_jobs_event_source_reports_partial_batch_failures() {
    let template = template();
    let jobs = property(&template, "BatchDispatcherFunction", &["Events", "Jobs"]);
    assert_eq!(jobs.get("Type").and_then(Value::as_str), Some("SQS"));
    let properties = jobs.get("Properties").expect("SQS event properties");
    assert_eq!(
        get_att_target(properties.get("Queue").expect("queue")),
        Some("JobsQueue")
    );
    let response_types: Vec<&str> = properties
        .get("FunctionResponseTypes")
        .and_then(Value::as_sequence)
        .map(|types| types.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(response_types, ["ReportBatchItemFailures"]);
}

#[test]
fn the_results_table_keys_match_the_contract() {
    let template = template();
    let key_schema = property(&template, "ResultsTable", &["KeySchema"])
        .as_sequence()
        .expect("KeySchema is a list");
    let keys: Vec<(&str, &str)> = key_schema
        .iter()
        .map(|key| {
            (
                key.get("AttributeName")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                key.get("KeyType").and_then(Value::as_str).unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(keys, [("jobId", "HASH"), ("requestId", "RANGE")]);
    assert_eq!(
        property(
            &template,
            "ResultsTable",
            &["TimeToLiveSpecification", "AttributeName"]
        )
        .as_str(),
        Some("expiresAt")
    );
}
