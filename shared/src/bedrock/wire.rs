//! Bedrock `InvokeModel` bodies as the models define them: the Anthropic Claude messages body
//! and the Amazon Titan text-embedding bodies (v1 and v2). Pure data, no I/O.

use serde::{Deserialize, Serialize};

pub const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// Claude messages request. Newer Claude models refuse `temperature` together with `top_p`,
/// so only `temperature` is ever sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaudeRequest<'a> {
    pub anthropic_version: &'static str,
    pub max_tokens: u32,
    pub system: &'a str,
    pub messages: &'a [Message],
    pub temperature: f32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClaudeResponse {
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContentBlock {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
}

impl ClaudeResponse {
    /// The concatenated text blocks of the answer.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter(|b| b.kind == "text")
            .filter_map(|b| b.text.as_deref())
            .collect::<Vec<_>>()
            .join("")
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    Refusal,
    Other,
}

impl StopReason {
    pub fn parse(raw: Option<&str>) -> StopReason {
        match raw {
            Some("end_turn") | None => StopReason::EndTurn,
            Some("max_tokens") => StopReason::MaxTokens,
            Some("stop_sequence") => StopReason::StopSequence,
            Some("refusal") => StopReason::Refusal,
            Some(_) => StopReason::Other,
        }
    }
}

/// Titan v1 body: only `inputText`; the answer has 1536 dimensions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanV1Request<'a> {
    pub input_text: &'a str,
}

/// Titan v2 body: `dimensions` 256/512/1024 and `normalize`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanV2Request<'a> {
    pub input_text: &'a str,
    pub dimensions: u32,
    pub normalize: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanResponse {
    pub embedding: Vec<f32>,
    #[serde(default)]
    pub input_text_token_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_body_has_the_bedrock_fields_and_no_top_p() {
        let messages = [Message {
            role: Role::User,
            content: "hi".into(),
        }];
        let body = serde_json::to_value(ClaudeRequest {
            anthropic_version: ANTHROPIC_VERSION,
            max_tokens: 2048,
            system: "sys",
            messages: &messages,
            temperature: 0.5,
        })
        .unwrap();
        assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
        assert_eq!(body["messages"][0]["role"], "user");
        assert!(body.get("top_p").is_none());
    }

    #[test]
    fn claude_answer_is_parsed() {
        let raw = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude",
            "content":[{"type":"text","text":"{\"a\":"},{"type":"text","text":"1}"}],
            "stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":34}}"#;
        let resp: ClaudeResponse = serde_json::from_str(raw).unwrap();
        assert_eq!(resp.text(), "{\"a\":1}");
        assert_eq!(
            StopReason::parse(resp.stop_reason.as_deref()),
            StopReason::MaxTokens
        );
        assert_eq!(resp.usage.output_tokens, 34);
    }

    #[test]
    fn titan_bodies() {
        let v2 = serde_json::to_value(TitanV2Request {
            input_text: "양배추",
            dimensions: 512,
            normalize: true,
        })
        .unwrap();
        assert_eq!(
            v2,
            serde_json::json!({"inputText": "양배추", "dimensions": 512, "normalize": true})
        );
        let v1 = serde_json::to_value(TitanV1Request { input_text: "x" }).unwrap();
        assert_eq!(v1, serde_json::json!({"inputText": "x"}));
        let resp: TitanResponse =
            serde_json::from_str(r#"{"embedding":[0.1,0.2],"inputTextTokenCount":3}"#).unwrap();
        assert_eq!(resp.embedding.len(), 2);
    }
}
