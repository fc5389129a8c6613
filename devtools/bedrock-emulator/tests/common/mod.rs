//! Shared helpers for the HTTP tests: start an in-process emulator and call it the way the
//! AWS SDK does (percent-encoded model id in the path, JSON body).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use bedrock_emulator::{Emulator, EmulatorOptions, FaultPlan, Stats};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
pub const HAIKU3: &str = "anthropic.claude-3-haiku-20240307-v1:0";
pub const HAIKU45: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
pub const TITAN_V1: &str = "amazon.titan-embed-text-v1";
pub const TITAN_V2: &str = "amazon.titan-embed-text-v2:0";

pub struct Harness {
    pub emulator: Emulator,
    pub client: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The Claude answer text.
    pub fn text(&self) -> &str {
        self.body["content"][0]["text"].as_str().unwrap()
    }

    pub fn error_name(&self) -> &str {
        self.header("x-amzn-errortype").split(':').next().unwrap()
    }
}

pub async fn start(plan: FaultPlan) -> Harness {
    start_with(EmulatorOptions {
        faults: plan,
        ..EmulatorOptions::default()
    })
    .await
}

pub async fn start_with(options: EmulatorOptions) -> Harness {
    let emulator = Emulator::start(options).await.unwrap();
    Harness {
        emulator,
        client: reqwest::Client::new(),
    }
}

/// The real AWS SDK client pointed at the emulator (static test credentials, no retries so
/// every injected error reaches the test).
pub fn sdk_client(endpoint: &str) -> aws_sdk_bedrockruntime::Client {
    use aws_sdk_bedrockruntime::config::retry::RetryConfig;
    use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEMULATOR",
            "emulator-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(endpoint)
        .http_client(ai_chef_aws::bedrock::https_client())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}

/// One received stream item: an Anthropic event, or the SDK's error for the stream.
#[derive(Debug)]
pub enum StreamItem {
    Event(Value),
    Error(aws_sdk_bedrockruntime::types::error::ResponseStreamError),
}

/// Calls `InvokeModelWithResponseStream` through the SDK and receives every item, with the
/// moment (since the call) each arrived.
pub async fn sdk_stream(
    client: &aws_sdk_bedrockruntime::Client,
    model_id: &str,
    body: &Value,
) -> Result<
    Vec<(std::time::Duration, StreamItem)>,
    aws_sdk_bedrockruntime::operation::invoke_model_with_response_stream::InvokeModelWithResponseStreamError,
>{
    let started = std::time::Instant::now();
    let output = client
        .invoke_model_with_response_stream()
        .model_id(model_id)
        .content_type("application/json")
        .accept("application/json")
        .body(aws_sdk_bedrockruntime::primitives::Blob::new(
            body.to_string(),
        ))
        .send()
        .await
        .map_err(|e| e.into_service_error())?;
    assert_eq!(output.content_type(), "application/json");
    let mut receiver = output.body;
    let mut items = Vec::new();
    loop {
        match receiver.recv().await {
            Ok(Some(aws_sdk_bedrockruntime::types::ResponseStream::Chunk(part))) => {
                let bytes = part.bytes().unwrap().as_ref().to_vec();
                items.push((
                    started.elapsed(),
                    StreamItem::Event(serde_json::from_slice(&bytes).unwrap()),
                ));
            }
            Ok(Some(other)) => panic!("unexpected stream item {other:?}"),
            Ok(None) => break,
            Err(error) => {
                items.push((
                    started.elapsed(),
                    StreamItem::Error(error.into_service_error()),
                ));
                break;
            }
        }
    }
    Ok(items)
}

/// The events of a stream that must have ended without an error.
pub fn events_only(items: Vec<(std::time::Duration, StreamItem)>) -> Vec<Value> {
    items
        .into_iter()
        .map(|(_, item)| match item {
            StreamItem::Event(event) => event,
            StreamItem::Error(error) => panic!("stream error {error:?}"),
        })
        .collect()
}

/// Decodes a base64 `bytes` field as the SDK does (for raw frame checks).
pub fn decode_base64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

pub fn invoke_url(endpoint: &str, model_id: &str) -> String {
    let encoded = model_id.replace(':', "%3A").replace('/', "%2F");
    format!("{endpoint}/model/{encoded}/invoke")
}

impl Harness {
    pub async fn invoke(&self, model_id: &str, body: &Value) -> Reply {
        let response = self
            .client
            .post(invoke_url(&self.emulator.endpoint(), model_id))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn stats(&self) -> Stats {
        self.client
            .get(format!("{}/_emulator/stats", self.emulator.endpoint()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn post_faults(&self, plan: &Value) -> u16 {
        self.client
            .post(format!("{}/_emulator/faults", self.emulator.endpoint()))
            .body(plan.to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// A Messages request whose user turn carries `<request>` parameters.
pub fn recipe_body(request: &Value) -> Value {
    serde_json::json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 4096,
        "system": "You are a chef. Answer with the recipe JSON only.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": format!(
            "Write a recipe.\n<request>{request}</request>"
        )}]}],
        "temperature": 0.2
    })
}

/// A repair conversation: the first prompt, the model's earlier answer, and feedback.
pub fn repair_body(request: &Value, previous: &str) -> Value {
    serde_json::json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 4096,
        "messages": [
            {"role": "user", "content": format!("Write a recipe.\n<request>{request}</request>")},
            {"role": "assistant", "content": previous},
            {"role": "user", "content": format!(
                "Fix it.\n<failed_checks>[{{\"rule\":\"allergen:우유\",\"value\":1,\"limit\":0,\"offending\":[\"우유\"]}}]</failed_checks>\n<request>{request}</request>"
            )}
        ]
    })
}

/// A Messages request that forces the `record_recipe` tool, with a long cacheable system
/// prompt when `cached_system` is set.
pub fn tool_body(request: &Value, cached_system: bool) -> Value {
    let mut body = recipe_body(request);
    body["tools"] = serde_json::json!([{
        "name": "record_recipe",
        "description": "Record the recipe.",
        "input_schema": {"type": "object", "properties": {"recipeName": {"type": "string"}},
                         "required": ["recipeName"]}
    }]);
    body["tool_choice"] = serde_json::json!({"type": "tool", "name": "record_recipe"});
    if cached_system {
        body["system"] = long_system(true);
    }
    body
}

/// A system prompt of about 1,700 tokens, optionally marked as a cache point.
pub fn long_system(cache_point: bool) -> Value {
    let text = "Follow every diet rule and list each ingredient with its amount. ".repeat(100);
    let mut block = serde_json::json!({"type": "text", "text": text});
    if cache_point {
        block["cache_control"] = serde_json::json!({"type": "ephemeral"});
    }
    serde_json::json!([block])
}

pub fn titan_body(text: &str) -> Value {
    serde_json::json!({ "inputText": text })
}
