//! The bad-input corpus (`tests/corpus/*.jsonl`, one file per category) run through the
//! handlers inside real-shaped HTTP API events: every case must answer its 4xx status and
//! error code (and, where the case names one, the field in `details`), never panic, never
//! echo an oversized input back, and never reach the model.
//!
//! A case line: `name`; the body as `body` (raw text), `bodyJson` (a JSON value, sent
//! compact) or `bodyBase64` (sent as is with `isBase64Encoded: true`, for bytes that are not
//! UTF-8); `expand` (placeholders in the body replaced by a repeated string, to keep huge
//! bodies out of the data files); `headers` (a `null` value removes the header); `method`,
//! `path`; `invoke` (`http` or `direct`); `function` (`generate-recipe`, `embed-text` or
//! `both`); `expect` `{status, code, field?, rule?}`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef_tests::*;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const RECIPES_EVENT: &str = "apigw-post-recipes-keto.json";
const EMBEDDINGS_EVENT: &str = "apigw-post-embeddings.json";
/// An error answer stays small whatever was sent: nothing oversized is echoed back.
const MAX_ERROR_BODY_BYTES: usize = 8 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Case {
    name: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default, deserialize_with = "present")]
    body_json: Option<Value>,
    #[serde(default)]
    body_base64: Option<String>,
    #[serde(default)]
    is_base64_encoded: Option<bool>,
    #[serde(default)]
    expand: BTreeMap<String, Repeat>,
    #[serde(default)]
    headers: Map<String, Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    invoke: Invoke,
    #[serde(default)]
    function: Function,
    expect: Expect,
}

/// `bodyJson: null` is a case (a `null` payload), not a missing body.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repeat {
    repeat: String,
    times: usize,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Invoke {
    #[default]
    Http,
    Direct,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum Function {
    #[default]
    GenerateRecipe,
    EmbedText,
    Both,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: u16,
    code: String,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    rule: Option<String>,
}

/// Every case of every corpus file, with its category (the file stem), in file order.
fn corpus() -> Vec<(String, Case)> {
    let dir = repo_root().join("tests").join("corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let category = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        for (line_no, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let case: Case = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), line_no + 1));
            cases.push((category.clone(), case));
        }
    }
    cases
}

impl Case {
    /// The body text as the event carries it, and whether it is flagged base64.
    fn body_text(&self) -> (String, bool) {
        let (mut text, base64) = match (&self.body, &self.body_json, &self.body_base64) {
            (Some(raw), None, None) => (raw.clone(), false),
            (None, Some(value), None) => (value.to_string(), false),
            (None, None, Some(encoded)) => (encoded.clone(), true),
            _ => panic!(
                "{}: give exactly one of body, bodyJson, bodyBase64",
                self.name
            ),
        };
        for (placeholder, repeat) in &self.expand {
            assert!(
                text.contains(placeholder.as_str()),
                "{}: {placeholder} not in the body",
                self.name
            );
            text = text.replace(placeholder.as_str(), &repeat.repeat.repeat(repeat.times));
        }
        (text, self.is_base64_encoded.unwrap_or(base64))
    }

    fn http_event(&self, template: &str, default_path: &str) -> Value {
        let (body, base64) = self.body_text();
        let mut event = http_event_with_body(template, &body);
        event["isBase64Encoded"] = Value::Bool(base64);
        for (name, value) in &self.headers {
            let headers = event["headers"].as_object_mut().unwrap();
            match value {
                Value::Null => {
                    headers.remove(name);
                }
                other => {
                    headers.insert(name.clone(), other.clone());
                }
            }
        }
        let method = self.method.as_deref().unwrap_or("POST");
        let path = self.path.as_deref().unwrap_or(default_path);
        event["requestContext"]["http"]["method"] = Value::String(method.to_owned());
        event["requestContext"]["http"]["path"] = Value::String(path.to_owned());
        event["rawPath"] = Value::String(path.to_owned());
        event["routeKey"] = Value::String(format!("{method} {path}"));
        event["requestContext"]["routeKey"] = event["routeKey"].clone();
        event
    }

    fn direct_payload(&self) -> Value {
        match (&self.body_json, &self.body) {
            (Some(value), None) => value.clone(),
            (None, Some(text)) => serde_json::from_str(text).unwrap(),
            _ => panic!("{}: a direct case needs bodyJson or a JSON body", self.name),
        }
    }

    fn runs_on(&self, function: Function) -> bool {
        self.function == function || self.function == Function::Both
    }
}

/// What one handler answered: status (none for a direct invocation), error body, size.
struct Answer {
    status: Option<u16>,
    body: Value,
    size: usize,
    content_type: Option<String>,
}

fn read_answer(invoke: Invoke, response: Value) -> Answer {
    match invoke {
        Invoke::Http => {
            let size = response["body"].as_str().map_or(0, str::len);
            let content_type = response["headers"]["content-type"]
                .as_str()
                .map(str::to_owned);
            let (status, body) = http_parts(&response);
            Answer {
                status: Some(status),
                body,
                size,
                content_type,
            }
        }
        Invoke::Direct => {
            let size = response.to_string().len();
            Answer {
                status: None,
                body: response,
                size,
                content_type: Some("application/json".to_owned()),
            }
        }
    }
}

/// Compares an answer with the case's expectation; `Err` says what differs.
fn judge(case: &Case, answer: &Answer) -> Result<(), String> {
    let error = &answer.body["error"];
    let code = error["code"].as_str().unwrap_or("<none>");
    if let Some(status) = answer.status {
        if status != case.expect.status {
            return Err(format!(
                "status {status} (code {code}), expected {}",
                case.expect.status
            ));
        }
    }
    if code != case.expect.code {
        return Err(format!("code {code}, expected {}", case.expect.code));
    }
    if !error["message"].is_string() || !error["details"].is_array() {
        return Err(format!("error object is not the contract's shape: {error}"));
    }
    if answer.content_type.as_deref() != Some("application/json") {
        return Err(format!("content type {:?}", answer.content_type));
    }
    if answer.size > MAX_ERROR_BODY_BYTES {
        return Err(format!(
            "error body is {} bytes: the input is echoed",
            answer.size
        ));
    }
    let details = error["details"].as_array().cloned().unwrap_or_default();
    if let Some(field) = &case.expect.field {
        if !details.iter().any(|d| d["field"] == field.as_str()) {
            return Err(format!("no detail for field {field}: {details:?}"));
        }
    }
    if let Some(rule) = &case.expect.rule {
        if !details.iter().any(|d| d["rule"] == rule.as_str()) {
            return Err(format!("no detail for rule {rule}: {details:?}"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_corpus_case_answers_its_status_and_code_without_a_model_call() {
    let emu = emulator(None).await;
    let (recipes, _) = generate_app(&emu.endpoint(), test_config()).await;
    let (embeddings, _) = embed_app(&emu.endpoint(), test_config()).await;
    let cases = corpus();
    let mut per_category: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut runs = 0usize;
    for (category, case) in &cases {
        for function in [Function::GenerateRecipe, Function::EmbedText] {
            if !case.runs_on(function) {
                continue;
            }
            let payload = match (case.invoke, function) {
                (Invoke::Direct, _) => case.direct_payload(),
                (Invoke::Http, Function::EmbedText) => {
                    case.http_event(EMBEDDINGS_EVENT, "/embeddings")
                }
                (Invoke::Http, _) => case.http_event(RECIPES_EVENT, "/recipes"),
            };
            let calls_before = emu.stats().total_calls;
            let event = lambda_event(payload, Duration::from_secs(10));
            let response = match function {
                Function::EmbedText => {
                    ai_chef_lambda::handlers::embed_text::handle(&embeddings, event).await
                }
                _ => ai_chef_lambda::handlers::generate_recipe::handle(&recipes, event).await,
            };
            runs += 1;
            let entry = per_category.entry(category.clone()).or_default();
            match function {
                Function::EmbedText => entry.1 += 1,
                _ => entry.0 += 1,
            }
            let verdict = match response {
                Err(err) => Err(format!("handler error {err}")),
                Ok(response) => judge(case, &read_answer(case.invoke, response)),
            };
            let verdict = verdict.and_then(|()| match emu.stats().total_calls - calls_before {
                0 => Ok(()),
                n => Err(format!("{n} model call(s) for a refused request")),
            });
            if let Err(why) = verdict {
                failures.push(format!("[{category}] {} ({function:?}): {why}", case.name));
            }
        }
    }
    println!("corpus: {} cases, {runs} runs", cases.len());
    for (category, (recipes_runs, embed_runs)) in &per_category {
        println!("  {category:<22} generate-recipe {recipes_runs:>3}  embed-text {embed_runs:>3}");
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        cases.len() >= 200,
        "the corpus has {} cases; the issue asks for at least 200",
        cases.len()
    );
    for category in [
        "malformed_json",
        "wrong_types",
        "unknown_fields",
        "missing_fields",
        "out_of_range",
        "huge",
        "deep_nesting",
        "base64",
        "content_type",
        "invalid_utf8",
        "text_characters",
        "allergy_lists",
    ] {
        assert!(
            per_category.get(category).is_some_and(|(r, _)| *r >= 5),
            "category {category} is thin"
        );
    }
    assert!(
        per_category.values().map(|(_, e)| e).sum::<usize>() >= 50,
        "embed-text subset too small"
    );
    assert_eq!(emu.stats().total_calls, 0);
}

#[test]
fn corpus_case_names_are_unique_per_category() {
    let mut seen = std::collections::BTreeSet::new();
    for (category, case) in corpus() {
        assert!(
            seen.insert((category.clone(), case.name.clone())),
            "duplicate case {category}/{}",
            case.name
        );
    }
}
