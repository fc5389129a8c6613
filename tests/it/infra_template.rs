//! Keeps the deployment template (`infra/template.yaml`) and the code in agreement.
//!
//! The template repeats facts the code owns: model ids, tunable defaults, the environment
//! variables the functions read, the binaries cargo builds. A change on one side only would
//! deploy functions configured differently from what was tested, so these tests compare the
//! two. Least-privilege and safety rules live in `infra/rules/*.guard` (run by
//! `make check-infra`); the checks here are the ones that need the Rust constants or the
//! contract: the routes each function serves, the AWS calls the code makes against the actions
//! each role grants, the streaming function URL, the cost guards, and the alarms and dashboard
//! over the metrics the contract names.

// The helpers below fail the calling test on a malformed template, which is their job; clippy
// only recognises `#[test]` functions themselves as test code.
#![allow(clippy::expect_used, clippy::panic)]

use ai_chef::config::{self, ChatModel, Config, MetricsSinkKind};
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every function of the stack and the workspace binary it runs. The batch-dispatcher binary
/// is deployed twice, with different roles: once for its routes, once for its queue.
const FUNCTIONS: [(&str, &str); 4] = [
    ("GenerateRecipeFunction", "generate-recipe"),
    ("EmbedTextFunction", "embed-text"),
    ("BatchApiFunction", "batch-dispatcher"),
    ("BatchWorkerFunction", "batch-dispatcher"),
];

/// Functions that read or write the results table and the jobs queue (contract: batch-dispatcher,
/// and generate-recipe for async mode).
const QUEUE_AND_TABLE_USERS: [&str; 3] = [
    "GenerateRecipeFunction",
    "BatchApiFunction",
    "BatchWorkerFunction",
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
fn the_table_and_queue_reach_exactly_the_functions_that_use_them() {
    let template = template();
    for (logical_id, _) in FUNCTIONS {
        let variables = effective_environment(&template, logical_id);
        if QUEUE_AND_TABLE_USERS.contains(&logical_id) {
            assert_eq!(
                variables.get("RESULTS_TABLE").and_then(ref_target),
                Some("ResultsTable"),
                "{logical_id} needs RESULTS_TABLE from the stack's table"
            );
            assert_eq!(
                variables.get("JOBS_QUEUE_URL").and_then(ref_target),
                Some("JobsQueue"),
                "{logical_id} needs JOBS_QUEUE_URL from the stack's queue"
            );
        } else {
            assert!(
                !variables.contains_key("RESULTS_TABLE")
                    && !variables.contains_key("JOBS_QUEUE_URL"),
                "{logical_id} must not see the batch resources"
            );
        }
    }
}

#[test]
fn functions_build_the_workspace_binaries_with_their_own_roles() {
    let template = template();
    let mut roles = BTreeSet::new();
    let mut log_groups = BTreeSet::new();
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
        assert!(
            log_groups.insert(log_group),
            "{logical_id} shares log group {log_group}"
        );
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

    let batch_api_timeout = as_u64(property(&template, "BatchApiFunction", &["Timeout"]));
    assert!(batch_api_timeout < HTTP_API_INTEGRATION_TIMEOUT_SECONDS);

    let batch_timeout = as_u64(property(&template, "BatchWorkerFunction", &["Timeout"]));
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
    let jobs = property(&template, "BatchWorkerFunction", &["Events", "Jobs"]);
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

// ---------------------------------------------------------------------------------------------
// Routes, roles and the AWS calls the code makes.

/// The routes of the contract and the function that serves each (`POST /recipes` carries both
/// sync and async mode; `GET /recipes/{requestId}` reads an async result).
const ROUTES: [(&str, &str, &str); 5] = [
    ("GenerateRecipeFunction", "POST", "/recipes"),
    ("GenerateRecipeFunction", "GET", "/recipes/{requestId}"),
    ("EmbedTextFunction", "POST", "/embeddings"),
    ("BatchApiFunction", "POST", "/batches"),
    ("BatchApiFunction", "GET", "/batches/{jobId}"),
];

/// Every action each function's role grants, apart from its own logs and X-Ray. Exact sets:
/// a grant added here without a need in the code (or missing for one) fails the test.
const ROLE_ACTIONS: [(&str, &str, &[&str]); 4] = [
    (
        "GenerateRecipeFunction",
        "GenerateRecipeRole",
        &[
            "bedrock:InvokeModel",
            "bedrock:InvokeModelWithResponseStream",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "sqs:SendMessage",
        ],
    ),
    (
        "EmbedTextFunction",
        "EmbedTextRole",
        &["bedrock:InvokeModel"],
    ),
    (
        "BatchApiFunction",
        "BatchApiRole",
        &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "sqs:SendMessage",
        ],
    ),
    (
        "BatchWorkerFunction",
        "BatchWorkerRole",
        &[
            "bedrock:InvokeModel",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        ],
    ),
];

/// SDK operations the code may call, by the crate that marks a file as using that client, and
/// the IAM action each needs (batch operations need the action of their single form).
const SDK_CALLS: [(&str, &str, &str); 17] = [
    (
        "aws_sdk_bedrockruntime",
        ".invoke_model()",
        "bedrock:InvokeModel",
    ),
    (
        "aws_sdk_bedrockruntime",
        ".invoke_model_with_response_stream()",
        "bedrock:InvokeModelWithResponseStream",
    ),
    (
        "aws_sdk_bedrockruntime",
        ".converse()",
        "bedrock:InvokeModel",
    ),
    (
        "aws_sdk_bedrockruntime",
        ".converse_stream()",
        "bedrock:InvokeModelWithResponseStream",
    ),
    ("aws_sdk_dynamodb", ".get_item()", "dynamodb:GetItem"),
    ("aws_sdk_dynamodb", ".put_item()", "dynamodb:PutItem"),
    ("aws_sdk_dynamodb", ".update_item()", "dynamodb:UpdateItem"),
    ("aws_sdk_dynamodb", ".delete_item()", "dynamodb:DeleteItem"),
    ("aws_sdk_dynamodb", ".query()", "dynamodb:Query"),
    ("aws_sdk_dynamodb", ".scan()", "dynamodb:Scan"),
    ("aws_sdk_sqs", ".send_message()", "sqs:SendMessage"),
    ("aws_sdk_sqs", ".send_message_batch()", "sqs:SendMessage"),
    ("aws_sdk_sqs", ".receive_message()", "sqs:ReceiveMessage"),
    ("aws_sdk_sqs", ".delete_message()", "sqs:DeleteMessage"),
    (
        "aws_sdk_sqs",
        ".change_message_visibility()",
        "sqs:ChangeMessageVisibility",
    ),
    (
        "aws_sdk_sqs",
        ".change_message_visibility_batch()",
        "sqs:ChangeMessageVisibility",
    ),
    (
        "aws_sdk_cloudwatch",
        ".put_metric_data()",
        "cloudwatch:PutMetricData",
    ),
];

/// Directories of the workspace that hold no Lambda code (build output, tools, tests, the
/// developer-side emulator and index builder).
const NOT_LAMBDA_CODE: [&str; 8] = [
    "target", "tests", "fuzz", "devtools", "infra", "docs", ".git", ".tools",
];

fn events(template: &Value, logical_id: &str) -> Vec<(String, Value)> {
    resource(template, logical_id)
        .get("Properties")
        .and_then(|properties| properties.get("Events"))
        .and_then(Value::as_mapping)
        .map(|events| {
            events
                .iter()
                .map(|(name, event)| {
                    let name = name.as_str().expect("event names are strings").to_owned();
                    (name, event.clone())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn event_type(event: &Value) -> &str {
    event.get("Type").and_then(Value::as_str).unwrap_or("")
}

fn http_routes(template: &Value, logical_id: &str) -> BTreeSet<(String, String)> {
    events(template, logical_id)
        .iter()
        .filter(|(_, event)| event_type(event) == "HttpApi")
        .map(|(name, event)| {
            let properties = event.get("Properties").expect("HttpApi event properties");
            assert_eq!(
                properties.get("ApiId").and_then(ref_target),
                Some("HttpApi"),
                "{logical_id}.{name} must be on the stack's HttpApi"
            );
            let text = |key: &str| {
                properties
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{logical_id}.{name} has no {key}"))
                    .to_owned()
            };
            (text("Method").to_uppercase(), text("Path"))
        })
        .collect()
}

/// Statements of every inline policy of a role.
fn role_statements(template: &Value, role: &str) -> Vec<Value> {
    property(template, role, &["Policies"])
        .as_sequence()
        .expect("Policies is a list")
        .iter()
        .flat_map(|policy| {
            policy
                .get("PolicyDocument")
                .and_then(|document| document.get("Statement"))
                .and_then(Value::as_sequence)
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn statement_actions(statement: &Value) -> Vec<String> {
    match statement.get("Action") {
        Some(Value::String(action)) => vec![action.clone()],
        Some(Value::Sequence(actions)) => actions
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn granted_actions(template: &Value, role: &str) -> BTreeSet<String> {
    role_statements(template, role)
        .iter()
        .filter(|statement| statement.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .flat_map(statement_actions)
        .filter(|action| !action.starts_with("logs:") && !action.starts_with("xray:"))
        .collect()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !NOT_LAMBDA_CODE.contains(&name.as_str()) && name != "benches" {
                rust_files(&path, found);
            }
        } else if name.ends_with(".rs") {
            found.push(path);
        }
    }
}

/// IAM actions behind the SDK calls in the functions' code, with the file of the first call.
fn actions_the_code_calls() -> BTreeMap<&'static str, PathBuf> {
    let mut files = Vec::new();
    rust_files(&repo_root(), &mut files);
    let mut actions = BTreeMap::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (sdk, call, action) in SDK_CALLS {
            if text.contains(sdk) && text.contains(call) {
                actions.entry(action).or_insert_with(|| file.clone());
            }
        }
    }
    actions
}

#[test]
fn every_route_of_the_contract_is_served_by_its_function_and_authorised() {
    let template = template();
    let mut deployed = BTreeSet::new();
    for (logical_id, _) in FUNCTIONS {
        for (method, path) in http_routes(&template, logical_id) {
            deployed.insert((logical_id.to_owned(), method, path));
        }
    }
    let expected: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|(function, method, path)| {
            (
                (*function).to_owned(),
                (*method).to_owned(),
                (*path).to_owned(),
            )
        })
        .collect();
    assert_eq!(
        deployed, expected,
        "HttpApi events and the contract's routes differ"
    );

    // The OpenAPI body is where authorisation is set: a route missing there would be public.
    let paths = property(&template, "HttpApi", &["DefinitionBody", "paths"])
        .as_mapping()
        .expect("DefinitionBody.paths is a map");
    let mut documented = BTreeSet::new();
    for (path, operations) in paths {
        let path = path.as_str().expect("paths are strings");
        for (method, operation) in operations.as_mapping().expect("operations are a map") {
            let method = method.as_str().expect("methods are strings").to_uppercase();
            let security = operation
                .get("security")
                .unwrap_or_else(|| panic!("{method} {path} has no security"));
            assert!(
                intrinsic(security, "If").is_some(),
                "{method} {path}: security must choose IAM or JWT with !If [UseJwtAuth, ...]"
            );
            documented.insert((method, path.to_owned()));
        }
    }
    let routes: BTreeSet<(String, String)> = expected
        .into_iter()
        .map(|(_, method, path)| (method, path))
        .collect();
    assert_eq!(documented, routes, "DefinitionBody and the routes differ");
}

#[test]
fn the_batch_routes_and_the_queue_run_as_separate_functions() {
    let template = template();
    let api_events: Vec<String> = events(&template, "BatchApiFunction")
        .iter()
        .map(|(_, event)| event_type(event).to_owned())
        .collect();
    assert!(
        !api_events.iter().any(|kind| kind == "SQS"),
        "the batch API must not consume the queue"
    );
    let worker_events: Vec<String> = events(&template, "BatchWorkerFunction")
        .iter()
        .map(|(_, event)| event_type(event).to_owned())
        .collect();
    assert_eq!(
        worker_events,
        ["SQS"],
        "the worker answers the queue and nothing else"
    );
    for logical_id in ["BatchApiFunction", "BatchWorkerFunction"] {
        assert!(
            resource(&template, logical_id)
                .get("Properties")
                .and_then(|properties| properties.get("FunctionUrlConfig"))
                .is_none(),
            "{logical_id} has no function URL"
        );
    }
}

#[test]
fn each_role_grants_exactly_the_actions_its_function_needs() {
    let template = template();
    for (function, role, expected) in ROLE_ACTIONS {
        let attached = get_att_target(property(&template, function, &["Role"]));
        assert_eq!(attached, Some(role), "{function} runs with {role}");
        let expected: BTreeSet<String> = expected.iter().map(|a| (*a).to_owned()).collect();
        assert_eq!(
            granted_actions(&template, role),
            expected,
            "{role} grants a different set of actions"
        );
    }
}

#[test]
fn every_aws_call_in_the_code_is_granted_to_some_role() {
    let template = template();
    let called = actions_the_code_calls();
    // The scan must see the calls known to exist, or a moved crate would make it vacuous.
    for known in [
        "bedrock:InvokeModel",
        "dynamodb:UpdateItem",
        "sqs:SendMessage",
    ] {
        assert!(
            called.contains_key(known),
            "the source scan no longer finds {known}; update NOT_LAMBDA_CODE or SDK_CALLS"
        );
    }
    let mut granted: BTreeSet<String> = ROLE_ACTIONS
        .iter()
        .flat_map(|(_, role, _)| granted_actions(&template, role))
        .collect();
    // MetricsSink=cloudwatch adds PutMetricData through its own conditional policy.
    let metrics_policy = property(
        &template,
        "PutMetricDataPolicy",
        &["PolicyDocument", "Statement"],
    );
    for statement in metrics_policy.as_sequence().expect("statements") {
        granted.extend(statement_actions(statement));
    }
    for (action, file) in called {
        assert!(
            granted.contains(action),
            "{} calls {action}, which no role grants",
            file.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Streamed progress: the function URL and its Bedrock grant.

#[test]
fn generate_recipe_streams_through_an_iam_function_url() {
    let template = template();
    let url = property(&template, "GenerateRecipeFunction", &["FunctionUrlConfig"]);
    assert_eq!(url.get("AuthType").and_then(Value::as_str), Some("AWS_IAM"));
    assert_eq!(
        url.get("InvokeMode").and_then(Value::as_str),
        Some("RESPONSE_STREAM")
    );
    for (logical_id, _) in FUNCTIONS {
        if logical_id != "GenerateRecipeFunction" {
            let properties = resource(&template, logical_id)
                .get("Properties")
                .expect("properties");
            assert!(
                properties.get("FunctionUrlConfig").is_none(),
                "{logical_id} must not have a function URL"
            );
        }
    }
    let output = template
        .get("Outputs")
        .and_then(|outputs| outputs.get("RecipeStreamUrl"))
        .and_then(|output| output.get("Value"))
        .expect("RecipeStreamUrl output");
    assert_eq!(get_att_target(output), Some("GenerateRecipeFunctionUrl"));
}

#[test]
fn streaming_is_granted_on_the_claude_arns_only() {
    let template = template();
    let mut streaming_statements = 0;
    for (_, role, _) in ROLE_ACTIONS {
        for statement in role_statements(&template, role) {
            let actions = statement_actions(&statement);
            if !actions
                .iter()
                .any(|a| a == "bedrock:InvokeModelWithResponseStream")
            {
                continue;
            }
            assert_eq!(role, "GenerateRecipeRole", "only generate-recipe streams");
            assert!(
                actions.iter().any(|a| a == "bedrock:InvokeModel"),
                "a streaming grant sits next to InvokeModel on the same ARNs"
            );
            let resources = serde_json::to_string(statement.get("Resource").expect("Resource"))
                .expect("resources serialise");
            assert!(
                !resources.contains("Embedding") && !resources.contains("Claude3"),
                "streaming reaches only the Sonnet and Haiku profiles: {resources}"
            );
            assert!(
                resources.contains("SonnetModelId") && resources.contains("HaikuModelId"),
                "streaming covers both chat models: {resources}"
            );
            streaming_statements += 1;
        }
    }
    assert_eq!(
        streaming_statements, 2,
        "the profiles and the foundation models behind them"
    );
}

// ---------------------------------------------------------------------------------------------
// Cost guards, alarms and the dashboard.

/// Seconds a Sonnet recipe typically holds a generate-recipe instance (issue 13: 18-26 s for
/// 1,000-1,500 output tokens at about 63 tokens a second).
const SONNET_RECIPE_SECONDS: u64 = 20;

/// Metrics the contract names ("Metrics", "Cost and usage"), all in `MetricsNamespace`.
const CONTRACT_METRICS: [&str; 6] = [
    "InvocationDuration",
    "InvocationCount",
    "InputTokens",
    "OutputTokens",
    "CostUsd",
    "ColdStart",
];

fn parameter_number(template: &Value, name: &str) -> u64 {
    parameter_default(template, name)
        .parse()
        .unwrap_or_else(|_| panic!("parameter {name} default is not a whole number"))
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template
        .get("Resources")
        .and_then(Value::as_mapping)
        .expect("Resources")
        .iter()
        .filter(|(_, resource)| resource.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(id, resource)| (id.as_str().expect("logical ids are strings"), resource))
        .collect()
}

/// The alarm's single metric as (namespace, metric name, first dimension value) in text form.
fn alarm_metric(alarm: &Value) -> Option<(String, String, String)> {
    let properties = alarm.get("Properties")?;
    let namespace = serde_json::to_string(properties.get("Namespace")?).ok()?;
    let name = properties.get("MetricName")?.as_str()?.to_owned();
    let dimension = properties
        .get("Dimensions")
        .and_then(Value::as_sequence)
        .and_then(|dimensions| dimensions.first())
        .and_then(|dimension| dimension.get("Value"))
        .map(|value| serde_json::to_string(value).unwrap_or_default())
        .unwrap_or_default();
    Some((namespace, name, dimension))
}

#[test]
fn generate_recipe_concurrency_and_costly_routes_are_capped() {
    let template = template();
    let reserved = property(
        &template,
        "GenerateRecipeFunction",
        &["ReservedConcurrentExecutions"],
    );
    let choice = intrinsic(reserved, "If")
        .and_then(Value::as_sequence)
        .expect("ReservedConcurrentExecutions is an !If on the reservation condition");
    assert_eq!(
        choice.get(1).and_then(ref_target),
        Some("GenerateRecipeReservedConcurrency")
    );
    let reserved_default = parameter_number(&template, "GenerateRecipeReservedConcurrency");
    assert!(reserved_default > 0, "reserve by default");

    let route_settings = property(&template, "HttpApi", &["RouteSettings"]);
    for (route, burst, rate) in [
        ("POST /recipes", "RecipesBurstLimit", "RecipesRateLimit"),
        ("POST /batches", "BatchesBurstLimit", "BatchesRateLimit"),
    ] {
        let settings = route_settings
            .get(route)
            .unwrap_or_else(|| panic!("no route throttle for {route}"));
        assert_eq!(
            settings.get("ThrottlingBurstLimit").and_then(ref_target),
            Some(burst)
        );
        assert_eq!(
            settings.get("ThrottlingRateLimit").and_then(ref_target),
            Some(rate)
        );
        let (method, path) = route.split_once(' ').expect("route keys are METHOD /path");
        assert!(
            ROUTES.iter().any(|(_, m, p)| *m == method && *p == path),
            "{route} is not a route of the stack"
        );
    }
    // Requests admitted by the route's steady rate must fit the reserved instances.
    let recipes_rate = parameter_number(&template, "RecipesRateLimit");
    assert!(
        recipes_rate * SONNET_RECIPE_SECONDS <= reserved_default,
        "RecipesRateLimit {recipes_rate}/s x {SONNET_RECIPE_SECONDS} s exceeds the reserved \
         concurrency {reserved_default}"
    );
    assert!(
        recipes_rate <= parameter_number(&template, "ThrottlingRateLimit"),
        "the recipe route is throttled harder than the default"
    );
}

#[test]
fn alarms_cover_every_function_the_queue_the_api_the_model_and_the_cost() {
    let template = template();
    let alarms = resources_of_type(&template, "AWS::CloudWatch::Alarm");
    let metrics: Vec<(String, String, String)> = alarms
        .iter()
        .filter_map(|(_, alarm)| alarm_metric(alarm))
        .collect();
    let has = |namespace: &str, name: &str, dimension: &str| {
        metrics
            .iter()
            .any(|(n, m, d)| n.contains(namespace) && m == name && d.contains(dimension))
    };
    for (logical_id, _) in FUNCTIONS {
        for metric in ["Errors", "Throttles"] {
            assert!(
                has("AWS/Lambda", metric, logical_id),
                "no {metric} alarm for {logical_id}"
            );
        }
    }
    assert!(has(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "JobsDeadLetterQueue"
    ));
    assert!(has("AWS/ApiGateway", "5xx", "HttpApi"));
    assert!(has(
        "MetricsNamespace",
        "InvocationDuration",
        "SonnetModelId"
    ));

    // 429 comes from the access-log metric filter, under the name the alarm watches.
    let filters = resources_of_type(&template, "AWS::Logs::MetricFilter");
    let (_, filter) = filters
        .iter()
        .find(|(_, filter)| {
            filter
                .get("Properties")
                .and_then(|p| p.get("LogGroupName"))
                .and_then(ref_target)
                == Some("HttpApiAccessLogGroup")
        })
        .expect("a metric filter on the HTTP API access log");
    let pattern = filter
        .get("Properties")
        .and_then(|p| p.get("FilterPattern"))
        .and_then(Value::as_str)
        .expect("FilterPattern");
    assert!(pattern.contains("429"), "the filter counts 429 answers");
    assert!(has("HttpApi", "Throttled429", ""));

    // Metric-math alarms: throttle share from AWS/Bedrock, cost from CostUsd.
    let math_text: Vec<(String, String)> = alarms
        .iter()
        .filter_map(|(id, alarm)| {
            let metrics = alarm.get("Properties")?.get("Metrics")?;
            Some(((*id).to_owned(), serde_json::to_string(metrics).ok()?))
        })
        .collect();
    assert!(math_text
        .iter()
        .any(|(_, text)| text.contains("InvocationThrottles") && text.contains("AWS/Bedrock")));
    for threshold in ["DailyCostAlarmUsd", "HourlyCostAlarmUsd"] {
        let (id, _) = alarms
            .iter()
            .find(|(_, alarm)| {
                alarm
                    .get("Properties")
                    .and_then(|p| p.get("Threshold"))
                    .and_then(ref_target)
                    == Some(threshold)
            })
            .unwrap_or_else(|| panic!("no alarm on {threshold}"));
        let (_, text) = math_text
            .iter()
            .find(|(math_id, _)| math_id == id)
            .expect("the cost alarm is metric math");
        for model in ["SonnetModelId", "HaikuModelId", "EmbeddingModelId"] {
            assert!(
                text.contains("CostUsd") && text.contains(model),
                "{id} must sum CostUsd of {model}"
            );
        }
    }

    // Every alarm notifies the topic when one is given.
    for (id, alarm) in &alarms {
        for key in ["AlarmActions", "OKActions"] {
            let actions = alarm
                .get("Properties")
                .and_then(|p| p.get(key))
                .unwrap_or_else(|| panic!("{id} has no {key}"));
            let choice = intrinsic(actions, "If")
                .and_then(Value::as_sequence)
                .unwrap_or_else(|| panic!("{id}.{key} is an !If on HasAlarmTopic"));
            assert_eq!(
                choice.first().and_then(Value::as_str),
                Some("HasAlarmTopic")
            );
        }
    }
}

#[test]
fn the_dashboard_is_valid_json_and_graphs_the_contract_metrics() {
    let template = template();
    let body = property(&template, "Dashboard", &["DashboardBody"]);
    let text = intrinsic(body, "Sub")
        .and_then(Value::as_str)
        .expect("DashboardBody is an !Sub string");

    // Every ${...} must name a parameter, a resource (or its attribute) or a pseudo parameter.
    let parameters = template.get("Parameters").expect("Parameters");
    let mut rest = text;
    let mut substituted = String::new();
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').expect("closed ${...}") + start;
        let name = &rest[start + 2..end];
        let base = name.split('.').next().unwrap_or(name);
        assert!(
            name.starts_with("AWS::")
                || parameters.get(base).is_some()
                || template
                    .get("Resources")
                    .and_then(|r| r.get(base))
                    .is_some(),
            "the dashboard names ${{{name}}}, which the template does not define"
        );
        substituted.push_str(&rest[..start]);
        // Unquoted substitutions are numbers (annotation values); quoted ones are text.
        let quoted = rest[..start].ends_with('"') || !rest[..start].trim_end().ends_with(':');
        substituted.push_str(if quoted { "x" } else { "1" });
        rest = &rest[end + 1..];
    }
    substituted.push_str(rest);
    let dashboard: serde_json::Value =
        serde_json::from_str(&substituted).expect("the dashboard body is JSON");
    let widgets = dashboard["widgets"].as_array().expect("widgets");
    assert!(widgets.len() >= 10, "only {} widgets", widgets.len());
    for widget in widgets {
        assert!(
            widget["properties"]["title"].is_string(),
            "every widget has a title"
        );
    }
    for metric in CONTRACT_METRICS {
        assert!(
            text.contains(&format!("MetricName=\\\"{metric}\\\"")),
            "the dashboard does not graph {metric}"
        );
    }
    for needle in [
        "5xx",
        "Throttled429",
        "InvocationThrottles",
        "JobsDeadLetterQueue.QueueName",
    ] {
        assert!(
            text.contains(needle),
            "the dashboard does not graph {needle}"
        );
    }
    for (logical_id, _) in FUNCTIONS {
        assert!(
            text.matches(&format!("${{{logical_id}}}")).count() >= 2,
            "the dashboard graphs errors and throttles of {logical_id}"
        );
    }
}

#[test]
fn the_template_refuses_regions_the_inference_profiles_cannot_serve() {
    let template = template();
    let assertion = template
        .get("Rules")
        .and_then(|rules| rules.get("UsRegionForUsInferenceProfiles"))
        .and_then(|rule| rule.get("Assertions"))
        .and_then(Value::as_sequence)
        .and_then(|assertions| assertions.first())
        .and_then(|assertion| assertion.get("Assert"))
        .expect("a Region rule");
    let contains = intrinsic(assertion, "Contains")
        .and_then(Value::as_sequence)
        .expect("!Contains [[regions], !Ref AWS::Region]");
    assert_eq!(contains.get(1).and_then(ref_target), Some("AWS::Region"));
    let regions: Vec<&str> = contains
        .first()
        .and_then(Value::as_sequence)
        .expect("a list of Regions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!regions.is_empty());
    for parameter in ["SonnetModelId", "HaikuModelId"] {
        let id = parameter_default(&template, parameter);
        let geography = id.split('.').next().unwrap_or("");
        for region in &regions {
            assert!(
                region.starts_with(&format!("{geography}-")),
                "{region} cannot call the {geography}. profile {id}"
            );
        }
    }
}
