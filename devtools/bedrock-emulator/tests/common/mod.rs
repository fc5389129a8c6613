//! Shared helpers for the HTTP tests: start an in-process emulator and call it the way the
//! AWS SDK does (percent-encoded model id in the path, JSON body).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bedrock_emulator::{Emulator, EmulatorOptions, FaultPlan, Stats};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
pub const HAIKU3: &str = "anthropic.claude-3-haiku-20240307-v1:0";
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
    let emulator = Emulator::start(EmulatorOptions {
        faults: plan,
        ..EmulatorOptions::default()
    })
    .await
    .unwrap();
    Harness {
        emulator,
        client: reqwest::Client::new(),
    }
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

pub fn titan_body(text: &str) -> Value {
    serde_json::json!({ "inputText": text })
}
