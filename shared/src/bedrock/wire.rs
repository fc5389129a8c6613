//! Bedrock `InvokeModel` bodies as the models define them: the Anthropic Claude messages body
//! (with tools, a forced `tool_choice` and `cache_control` cache points) and the Amazon Titan
//! text-embedding bodies (v1 and v2). Pure data, no I/O.

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
    pub system: SystemPrompt<'a>,
    pub messages: Vec<WireMessage<'a>>,
    pub temperature: f32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice<'a>>,
}

/// The system prompt: a plain string, or text blocks when a cache point marks its end.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SystemPrompt<'a> {
    Text(&'a str),
    Blocks(Vec<TextBlock<'a>>),
}

/// One conversation turn on the wire: plain text, or text blocks carrying a cache point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WireMessage<'a> {
    pub role: Role,
    pub content: MessageContent<'a>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MessageContent<'a> {
    Text(&'a str),
    Blocks(Vec<TextBlock<'a>>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextBlock<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
}

impl<'a> TextBlock<'a> {
    /// A text block; `cache_point` ends the cached prefix here.
    pub fn new(text: &'a str, cache_point: bool) -> Self {
        TextBlock {
            kind: "text",
            text,
            cache_control: cache_point.then_some(CacheControl::EPHEMERAL),
        }
    }
}

/// `{"type": "ephemeral"}`: the prefix up to this block is cached (five minutes on Bedrock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheControl {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl CacheControl {
    pub const EPHEMERAL: CacheControl = CacheControl { kind: "ephemeral" };
}

/// A tool the model may call; its `input_schema` is a JSON Schema object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub input_schema: &'a serde_json::Value,
}

/// `{"type": "tool", "name": ...}`: the model must answer by calling this tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolChoice<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: &'a str,
}

impl<'a> ToolChoice<'a> {
    pub fn forced(name: &'a str) -> Self {
        ToolChoice { kind: "tool", name }
    }
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
    /// `tool_use` blocks: the tool's name and the arguments the model wrote.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub input: Option<serde_json::Value>,
}

/// Token usage as the Messages API reports it; `input_tokens` excludes cached tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
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

    /// The input of the first `tool_use` block calling `name`, if the model called it.
    pub fn tool_input(&self, name: &str) -> Option<&serde_json::Value> {
        self.content
            .iter()
            .filter(|b| b.kind == "tool_use" && b.name.as_deref() == Some(name))
            .find_map(|b| b.input.as_ref())
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    Refusal,
    /// The model called a tool (the forced `record_recipe` call ends the turn this way).
    ToolUse,
    Other,
}

impl StopReason {
    pub fn parse(raw: Option<&str>) -> StopReason {
        match raw {
            Some("end_turn") | None => StopReason::EndTurn,
            Some("max_tokens") => StopReason::MaxTokens,
            Some("stop_sequence") => StopReason::StopSequence,
            Some("refusal") => StopReason::Refusal,
            Some("tool_use") => StopReason::ToolUse,
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
        let body = serde_json::to_value(ClaudeRequest {
            anthropic_version: ANTHROPIC_VERSION,
            max_tokens: 2048,
            system: SystemPrompt::Text("sys"),
            messages: vec![WireMessage {
                role: Role::User,
                content: MessageContent::Text("hi"),
            }],
            temperature: 0.5,
            tools: Vec::new(),
            tool_choice: None,
        })
        .unwrap();
        assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["system"], "sys");
        assert!(body.get("top_p").is_none());
        assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
    }

    #[test]
    fn forced_tool_and_cache_points_have_the_anthropic_shape() {
        let schema = serde_json::json!({"type": "object"});
        let body = serde_json::to_value(ClaudeRequest {
            anthropic_version: ANTHROPIC_VERSION,
            max_tokens: 2048,
            system: SystemPrompt::Blocks(vec![TextBlock::new("sys", true)]),
            messages: vec![WireMessage {
                role: Role::User,
                content: MessageContent::Blocks(vec![TextBlock::new("hi", true)]),
            }],
            temperature: 0.5,
            tools: vec![Tool {
                name: "record_recipe",
                description: "d",
                input_schema: &schema,
            }],
            tool_choice: Some(ToolChoice::forced("record_recipe")),
        })
        .unwrap();
        assert_eq!(
            body["system"],
            serde_json::json!([{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}])
        );
        assert_eq!(
            body["messages"][0]["content"][0]["cache_control"]["type"],
            "ephemeral"
        );
        assert_eq!(body["tools"][0]["input_schema"], schema);
        assert_eq!(
            body["tool_choice"],
            serde_json::json!({"type": "tool", "name": "record_recipe"})
        );
        let plain = serde_json::to_value(TextBlock::new("x", false)).unwrap();
        assert!(plain.get("cache_control").is_none());
    }

    #[test]
    fn tool_use_answer_and_cache_usage_are_read() {
        let raw = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude",
            "content":[{"type":"tool_use","id":"toolu_1","name":"record_recipe","input":{"recipeName":"x"}}],
            "stop_reason":"tool_use","usage":{"input_tokens":20,"output_tokens":30,
            "cache_creation_input_tokens":1000,"cache_read_input_tokens":0}}"#;
        let resp: ClaudeResponse = serde_json::from_str(raw).unwrap();
        assert_eq!(resp.tool_input("record_recipe").unwrap()["recipeName"], "x");
        assert!(resp.tool_input("other").is_none());
        assert_eq!(resp.text(), "");
        assert_eq!(resp.usage.cache_creation_input_tokens, 1000);
        assert_eq!(
            StopReason::parse(resp.stop_reason.as_deref()),
            StopReason::ToolUse
        );
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
