//! The Anthropic Claude Messages API as Bedrock's `InvokeModel` carries it: validation of
//! the request body with Bedrock's error messages, and the response body built from an
//! answer text (token usage, `max_tokens` truncation, stop sequences, assistant prefill).

use crate::error::BedrockError;
use crate::model::ClaudeModel;
use crate::tokens;
use rand::Rng;
use serde::Serialize;
use serde_json::{Map, Value};

pub const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

const ALLOWED_KEYS: [&str; 13] = [
    "anthropic_version",
    "anthropic_beta",
    "max_tokens",
    "system",
    "messages",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tools",
    "tool_choice",
    "metadata",
    "thinking",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

/// One conversation turn with its text blocks joined.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub text: String,
}

/// A validated Messages request.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaudeRequest {
    pub max_tokens: u32,
    pub system: String,
    pub messages: Vec<Message>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub stop_sequences: Vec<String>,
}

impl ClaudeRequest {
    /// True once the model has answered in this conversation (a repair turn).
    pub fn has_assistant_turn(&self) -> bool {
        self.messages
            .iter()
            .take(self.messages.len().saturating_sub(1))
            .any(|m| m.role == Role::Assistant)
    }

    /// Text of a final assistant turn the answer must continue (prefill), if any.
    pub fn prefill(&self) -> Option<&str> {
        self.messages
            .last()
            .filter(|m| m.role == Role::Assistant)
            .map(|m| m.text.as_str())
    }

    pub fn input_tokens(&self) -> u32 {
        let turns: u32 = self
            .messages
            .iter()
            .map(|m| tokens::estimate(&m.text).saturating_add(4))
            .sum();
        let system = if self.system.is_empty() {
            0
        } else {
            tokens::estimate(&self.system)
        };
        turns.saturating_add(system).saturating_add(3)
    }
}

/// Validates a request body the way Bedrock and the model do.
pub fn parse_request(body: &[u8], model: &ClaudeModel) -> Result<ClaudeRequest, BedrockError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        BedrockError::validation(
            "Malformed input request, please reformat your input and try again.",
        )
    })?;
    let object = value
        .as_object()
        .ok_or_else(|| BedrockError::malformed("#: expected type: JSONObject, found: JSONArray"))?;
    if let Some(extra) = object.keys().find(|k| !ALLOWED_KEYS.contains(&k.as_str())) {
        return Err(BedrockError::malformed(format!(
            "#: extraneous key [{extra}] is not permitted"
        )));
    }
    for required in ["anthropic_version", "max_tokens", "messages"] {
        if !object.contains_key(required) {
            return Err(BedrockError::malformed(format!(
                "#: required key [{required}] not found"
            )));
        }
    }
    match object.get("anthropic_version") {
        Some(Value::String(v)) if v == ANTHROPIC_VERSION => {}
        Some(Value::String(v)) => {
            return Err(BedrockError::validation(format!(
                "anthropic_version: {v} is not a supported version. Use {ANTHROPIC_VERSION}."
            )))
        }
        Some(other) => {
            return Err(BedrockError::malformed(format!(
                "#/anthropic_version: expected type: String, found: {}",
                json_type(other)
            )))
        }
        None => {}
    }
    let max_tokens = parse_max_tokens(object, model)?;
    let system = parse_system(object.get("system"))?;
    let messages = parse_messages(object.get("messages"))?;
    let temperature = parse_unit_float(object, "temperature")?;
    let top_p = parse_unit_float(object, "top_p")?;
    if let Some(top_k) = object.get("top_k") {
        if top_k.as_u64().is_none_or(|k| k > 500) {
            return Err(BedrockError::malformed(
                "#/top_k: expected an integer between 0 and 500",
            ));
        }
    }
    if model.exclusive_sampling && temperature.is_some() && top_p.is_some() {
        return Err(BedrockError::validation(
            "temperature and top_p cannot both be specified for this model. Please use only one.",
        ));
    }
    let stop_sequences = match object.get("stop_sequences") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_string).ok_or_else(|| {
                    BedrockError::malformed(
                        "#/stop_sequences: expected type: String, found: non-string item",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => {
            return Err(BedrockError::malformed(format!(
                "#/stop_sequences: expected type: JSONArray, found: {}",
                json_type(other)
            )))
        }
    };
    Ok(ClaudeRequest {
        max_tokens,
        system,
        messages,
        temperature,
        top_p,
        stop_sequences,
    })
}

fn parse_max_tokens(object: &Map<String, Value>, model: &ClaudeModel) -> Result<u32, BedrockError> {
    let value = object.get("max_tokens").unwrap_or(&Value::Null);
    let Some(number) = value.as_i64() else {
        return Err(BedrockError::malformed(format!(
            "#/max_tokens: expected type: Integer, found: {}",
            json_type(value)
        )));
    };
    if number < 1 {
        return Err(BedrockError::malformed(format!(
            "#/max_tokens: {number} is not greater or equal to 1"
        )));
    }
    let cap = i64::from(model.max_output_tokens);
    if number > cap {
        return Err(BedrockError::validation(format!(
            "max_tokens: {number} > {cap}, which is the maximum allowed number of output tokens for {}",
            model.name
        )));
    }
    u32::try_from(number).map_err(|_| BedrockError::malformed("#/max_tokens: out of range"))
}

fn parse_unit_float(object: &Map<String, Value>, key: &str) -> Result<Option<f64>, BedrockError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_f64() {
            Some(x) if (0.0..=1.0).contains(&x) => Ok(Some(x)),
            Some(_) => Err(BedrockError::validation(format!("{key}: range: 0..1"))),
            None => Err(BedrockError::malformed(format!(
                "#/{key}: expected type: Number, found: {}",
                json_type(value)
            ))),
        },
    }
}

fn parse_system(value: Option<&Value>) -> Result<String, BedrockError> {
    match value {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(blocks)) => join_blocks(blocks, "system"),
        Some(other) => Err(BedrockError::malformed(format!(
            "#/system: expected type: String, found: {}",
            json_type(other)
        ))),
    }
}

fn parse_messages(value: Option<&Value>) -> Result<Vec<Message>, BedrockError> {
    let Some(Value::Array(items)) = value else {
        return Err(BedrockError::malformed(format!(
            "#/messages: expected type: JSONArray, found: {}",
            value.map_or("Null", json_type)
        )));
    };
    if items.is_empty() {
        return Err(BedrockError::validation(
            "messages: at least one message is required",
        ));
    }
    let mut messages = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Some(object) = item.as_object() else {
            return Err(BedrockError::malformed(format!(
                "#/messages/{index}: expected type: JSONObject, found: {}",
                json_type(item)
            )));
        };
        let role = match object.get("role").and_then(Value::as_str) {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            Some(other) => {
                return Err(BedrockError::malformed(format!(
                    "#/messages/{index}/role: {other} is not a valid enum value"
                )))
            }
            None => {
                return Err(BedrockError::malformed(format!(
                    "#/messages/{index}: required key [role] not found"
                )))
            }
        };
        let text = match object.get("content") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(blocks)) => {
                join_blocks(blocks, &format!("messages.{index}.content"))?
            }
            Some(other) => {
                return Err(BedrockError::malformed(format!(
                    "#/messages/{index}/content: expected type: String, found: {}",
                    json_type(other)
                )))
            }
            None => {
                return Err(BedrockError::malformed(format!(
                    "#/messages/{index}: required key [content] not found"
                )))
            }
        };
        let is_final_assistant = role == Role::Assistant && index + 1 == items.len();
        if text.trim().is_empty() && !is_final_assistant {
            return Err(BedrockError::validation(format!(
                "messages.{index}: all messages must have non-empty content except for the optional final assistant message"
            )));
        }
        messages.push(Message { role, text });
    }
    if messages.first().map(|m| m.role) != Some(Role::User) {
        return Err(BedrockError::validation(
            "messages: first message must use the \"user\" role",
        ));
    }
    for pair in messages.windows(2) {
        if pair[0].role == pair[1].role {
            let role = match pair[0].role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            return Err(BedrockError::validation(format!(
                "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row"
            )));
        }
    }
    Ok(messages)
}

/// Joins the text of content blocks; non-text blocks (images, tool results) carry no text
/// the emulator answers from.
fn join_blocks(blocks: &[Value], path: &str) -> Result<String, BedrockError> {
    let mut texts = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        let kind = block.get("type").and_then(Value::as_str).ok_or_else(|| {
            BedrockError::malformed(format!("#/{path}/{index}: required key [type] not found"))
        })?;
        match kind {
            "text" => {
                let text = block.get("text").and_then(Value::as_str).ok_or_else(|| {
                    BedrockError::malformed(format!(
                        "#/{path}/{index}: required key [text] not found"
                    ))
                })?;
                texts.push(text);
            }
            "image" | "document" | "tool_use" | "tool_result" | "thinking" => {}
            other => {
                return Err(BedrockError::validation(format!(
                    "{path}.{index}.type: Input tag '{other}' found using 'type' does not match any of the expected tags"
                )))
            }
        }
    }
    Ok(texts.join("\n"))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentBlock {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// The Messages API response body (snake_case, as Anthropic sends it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaudeResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: String,
    pub content: Vec<ContentBlock>,
    pub stop_reason: &'static str,
    pub stop_sequence: Option<String>,
    pub usage: Usage,
}

/// How an answer text should be finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Apply prefill, stop sequences and `max_tokens` like the model.
    Natural,
    /// The text is already cut short: report `max_tokens` as the stop reason.
    CutShort,
    /// Send the text whole whatever `max_tokens` says (the `huge` fault).
    Unbounded,
}

/// Builds the response for `answer`, continuing any assistant prefill.
pub fn respond(
    request: &ClaudeRequest,
    model: &ClaudeModel,
    answer: &str,
    finish: Finish,
    rng: &mut impl Rng,
) -> ClaudeResponse {
    let mut text = answer;
    if let Some(prefill) = request.prefill() {
        let prefill = prefill.trim_end();
        if !prefill.is_empty() {
            if let Some(rest) = text.trim_start().strip_prefix(prefill) {
                text = rest;
            }
        }
    }
    let mut stop_reason = "end_turn";
    let mut stop_sequence = None;
    let mut output_tokens;
    match finish {
        Finish::Natural => {
            if let Some((at, sequence)) = request
                .stop_sequences
                .iter()
                .filter(|s| !s.is_empty())
                .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
                .min_by_key(|(at, _)| *at)
            {
                text = &text[..at];
                stop_reason = "stop_sequence";
                stop_sequence = Some(sequence.clone());
            }
            output_tokens = tokens::estimate(text);
            if output_tokens > request.max_tokens {
                text = tokens::truncate_to(text, request.max_tokens);
                output_tokens = request.max_tokens;
                stop_reason = "max_tokens";
                stop_sequence = None;
            }
        }
        Finish::CutShort => {
            output_tokens = request.max_tokens.min(tokens::estimate(text)).max(1);
            stop_reason = "max_tokens";
        }
        Finish::Unbounded => output_tokens = tokens::estimate(text),
    }
    ClaudeResponse {
        id: message_id(rng),
        kind: "message",
        role: "assistant",
        model: model.name.clone(),
        content: vec![ContentBlock {
            kind: "text",
            text: text.to_string(),
        }],
        stop_reason,
        stop_sequence,
        usage: Usage {
            input_tokens: request.input_tokens(),
            output_tokens,
        },
    }
}

fn message_id(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let suffix: String = (0..24)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("msg_bdrk_{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{resolve, Model};
    use rand::SeedableRng;
    use serde_json::json;

    fn sonnet() -> ClaudeModel {
        match resolve("us.anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap() {
            Model::Claude(m) => m,
            Model::Titan(_) => unreachable!(),
        }
    }

    fn parse(body: Value) -> Result<ClaudeRequest, BedrockError> {
        parse_request(body.to_string().as_bytes(), &sonnet())
    }

    fn base() -> Value {
        json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 100,
               "messages": [{"role": "user", "content": "hi"}]})
    }

    #[test]
    fn accepts_string_and_block_content() {
        let mut body = base();
        body["messages"] = json!([
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": "x"},
            {"role": "user", "content": "c"}
        ]);
        body["system"] = json!([{"type": "text", "text": "sys"}]);
        let request = parse(body).unwrap();
        assert_eq!(request.messages[0].text, "a\nb");
        assert_eq!(request.system, "sys");
        assert!(request.has_assistant_turn());
        assert!(request.prefill().is_none());
    }

    #[test]
    fn rejects_what_bedrock_rejects() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"max_tokens": 1, "messages": []}), "required key [anthropic_version]"),
            (json!({"anthropic_version": "2023-06-01", "max_tokens": 1, "messages": [{"role":"user","content":"x"}]}), "not a supported version"),
            (json!({"anthropic_version": ANTHROPIC_VERSION, "messages": [{"role":"user","content":"x"}]}), "required key [max_tokens]"),
            (json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 0, "messages": [{"role":"user","content":"x"}]}), "greater or equal to 1"),
            (json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 64001, "messages": [{"role":"user","content":"x"}]}), "maximum allowed number of output tokens"),
            (json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 10, "messages": []}), "at least one message"),
            (json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 10, "messages": [{"role":"assistant","content":"x"}]}), "first message must use the \"user\" role"),
            (json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 10, "messages": [{"role":"user","content":"x"},{"role":"user","content":"y"}]}), "roles must alternate"),
            (json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 10, "foo": 1, "messages": [{"role":"user","content":"x"}]}), "extraneous key [foo]"),
            (json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 10, "temperature": 1.5, "messages": [{"role":"user","content":"x"}]}), "temperature: range"),
            (json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 10, "temperature": 0.2, "top_p": 0.9, "messages": [{"role":"user","content":"x"}]}), "temperature and top_p cannot both be specified for this model. Please use only one."),
        ];
        for (body, expected) in cases {
            let err = parse(body.clone()).unwrap_err();
            assert!(err.message.contains(expected), "{body}: {}", err.message);
        }
        assert!(parse_request(b"not json", &sonnet()).is_err());
    }

    #[test]
    fn claude3_accepts_temperature_with_top_p_but_caps_max_tokens() {
        let Model::Claude(haiku) = resolve("anthropic.claude-3-haiku-20240307-v1:0").unwrap()
        else {
            unreachable!()
        };
        let mut body = base();
        body["temperature"] = json!(0.3);
        body["top_p"] = json!(0.9);
        assert!(parse_request(body.to_string().as_bytes(), &haiku).is_ok());
        body["max_tokens"] = json!(4097);
        assert!(parse_request(body.to_string().as_bytes(), &haiku).is_err());
    }

    #[test]
    fn response_truncates_at_max_tokens_and_honours_stop_sequences() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut request = parse(base()).unwrap();
        request.max_tokens = 3;
        let long = "a".repeat(100);
        let response = respond(&request, &sonnet(), &long, Finish::Natural, &mut rng);
        assert_eq!(response.stop_reason, "max_tokens");
        assert_eq!(response.usage.output_tokens, 3);
        assert_eq!(response.content[0].text.len(), 12);
        assert!(response.id.starts_with("msg_bdrk_"));

        request.max_tokens = 100;
        request.stop_sequences = vec!["END".into()];
        let response = respond(
            &request,
            &sonnet(),
            "abc END def",
            Finish::Natural,
            &mut rng,
        );
        assert_eq!(response.stop_reason, "stop_sequence");
        assert_eq!(response.stop_sequence.as_deref(), Some("END"));
        assert_eq!(response.content[0].text, "abc ");
    }

    #[test]
    fn response_continues_a_prefill() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut body = base();
        body["messages"] =
            json!([{"role":"user","content":"x"},{"role":"assistant","content":"{"}]);
        let request = parse(body).unwrap();
        assert!(!request.has_assistant_turn());
        let response = respond(&request, &sonnet(), "{\"a\": 1}", Finish::Natural, &mut rng);
        assert_eq!(response.content[0].text, "\"a\": 1}");
    }
}
