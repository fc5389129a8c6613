//! The Anthropic Claude Messages API as Bedrock's `InvokeModel` carries it: validation of
//! the request body with Bedrock's error messages (tools, `tool_choice` and `cache_control`
//! included), the prompt as blocks in the order the model reads them (tools, system,
//! messages) for token counts and prompt caching, and the response body built from an
//! answer text or a tool call (token usage, `max_tokens` truncation, stop sequences,
//! assistant prefill).

use crate::cache::{CacheUsage, PromptBlock};
use crate::error::BedrockError;
use crate::model::ClaudeModel;
use crate::tokens;
use rand::Rng;
use serde::Serialize;
use serde_json::{json, Map, Value};

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

/// A tool the request offers the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

/// `tool_choice`: how the model may or must use the tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    Any,
    Tool(String),
    None,
}

/// Most cache points a request may carry when no rules file says otherwise.
pub const DEFAULT_MAX_CACHE_POINTS: usize = 4;

/// A validated Messages request.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaudeRequest {
    pub max_tokens: u32,
    pub system: String,
    pub messages: Vec<Message>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub stop_sequences: Vec<String>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    /// The prompt as the model reads it: tools, system blocks, message content blocks.
    pub prompt: Vec<PromptBlock>,
}

impl ClaudeRequest {
    /// A text-only request (no tools, no cache points) from plain turns, for tests and tools.
    pub fn from_turns(system: &str, messages: Vec<Message>, max_tokens: u32) -> Self {
        let mut prompt = Vec::new();
        if !system.is_empty() {
            prompt.push(PromptBlock {
                tokens: tokens::estimate(system),
                material: format!("system:{system}"),
                cache_point: false,
            });
        }
        for message in &messages {
            prompt.push(PromptBlock {
                tokens: tokens::estimate(&message.text).saturating_add(MESSAGE_OVERHEAD),
                material: format!("{:?}:{}", message.role, message.text),
                cache_point: false,
            });
        }
        Self {
            max_tokens,
            system: system.to_string(),
            messages,
            temperature: None,
            top_p: None,
            stop_sequences: Vec::new(),
            tools: Vec::new(),
            tool_choice: None,
            prompt,
        }
    }

    /// The tool the model answers with, if the request makes it call one: `tool` names it,
    /// `any` and `auto` take the first tool (the emulator always chooses to call it when
    /// tools are offered), `none` or no tools keep the text path.
    pub fn forced_tool(&self) -> Option<&Tool> {
        match &self.tool_choice {
            Some(ToolChoice::None) => None,
            Some(ToolChoice::Tool(name)) => self.tools.iter().find(|t| &t.name == name),
            Some(ToolChoice::Any | ToolChoice::Auto) | None => self.tools.first(),
        }
    }

    /// A first attempt: a conversation with exactly one user message (a final assistant
    /// prefill allowed).
    pub fn is_first_attempt(&self) -> bool {
        self.messages
            .iter()
            .filter(|m| m.role == Role::User)
            .count()
            == 1
    }

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

    /// Every input token of the prompt, cached or not.
    pub fn input_tokens(&self) -> u32 {
        self.prompt
            .iter()
            .map(|b| b.tokens)
            .fold(PROMPT_OVERHEAD, u32::saturating_add)
    }
}

/// Tokens a message's role markers cost (counted on its first block).
const MESSAGE_OVERHEAD: u32 = 4;
/// Tokens the prompt's closing assistant marker costs (never part of a cached prefix).
const PROMPT_OVERHEAD: u32 = 3;

/// The prompt's blocks and cache points as they are parsed.
#[derive(Debug, Default)]
struct PromptBuilder {
    blocks: Vec<PromptBlock>,
    cache_points: usize,
}

impl PromptBuilder {
    fn push(
        &mut self,
        tokens: u32,
        material: String,
        block: &Value,
        path: &str,
    ) -> Result<(), BedrockError> {
        let cache_point = match block.get("cache_control") {
            None | Some(Value::Null) => false,
            Some(control) => {
                match control.get("type").and_then(Value::as_str) {
                    Some("ephemeral") => {}
                    _ => {
                        return Err(BedrockError::validation(format!(
                            "{path}.cache_control.type: Input should be 'ephemeral'"
                        )))
                    }
                }
                if let Some(ttl) = control.get("ttl") {
                    if !matches!(ttl.as_str(), Some("5m" | "1h")) {
                        return Err(BedrockError::validation(format!(
                            "{path}.cache_control.ttl: Input should be '5m' or '1h'"
                        )));
                    }
                }
                self.cache_points += 1;
                true
            }
        };
        self.blocks.push(PromptBlock {
            tokens,
            material,
            cache_point,
        });
        Ok(())
    }
}

/// A block's content for cache keys: the block without its `cache_control`.
fn material(block: &Value) -> String {
    let mut bare = block.clone();
    if let Some(object) = bare.as_object_mut() {
        object.remove("cache_control");
    }
    bare.to_string()
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
    let mut prompt = PromptBuilder::default();
    let tools = parse_tools(object.get("tools"), &mut prompt)?;
    let tool_choice = parse_tool_choice(object.get("tool_choice"), &tools)?;
    let system = parse_system(object.get("system"), &mut prompt)?;
    let messages = parse_messages(object.get("messages"), &mut prompt)?;
    let max_points = crate::cache::CachingRules::builtin()
        .map_or(DEFAULT_MAX_CACHE_POINTS, |rules| rules.max_cache_points);
    if prompt.cache_points > max_points {
        return Err(BedrockError::validation(format!(
            "A maximum of {max_points} blocks with cache_control may be provided. Found {}.",
            prompt.cache_points
        )));
    }
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
        tools,
        tool_choice,
        prompt: prompt.blocks,
    })
}

fn parse_tools(
    value: Option<&Value>,
    prompt: &mut PromptBuilder,
) -> Result<Vec<Tool>, BedrockError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(BedrockError::malformed(format!(
                "#/tools: expected type: JSONArray, found: {}",
                json_type(other)
            )))
        }
    };
    let mut tools: Vec<Tool> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Some(object) = item.as_object() else {
            return Err(BedrockError::malformed(format!(
                "#/tools/{index}: expected type: JSONObject, found: {}",
                json_type(item)
            )));
        };
        let name = match object.get("name") {
            Some(Value::String(name)) => name.clone(),
            _ => {
                return Err(BedrockError::malformed(format!(
                    "#/tools/{index}: required key [name] not found"
                )))
            }
        };
        let well_formed = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !well_formed {
            return Err(BedrockError::validation(format!(
                "tools.{index}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            )));
        }
        if tools.iter().any(|t| t.name == name) {
            return Err(BedrockError::validation(
                "tools: Tool names must be unique.",
            ));
        }
        let input_schema = match object.get("input_schema") {
            Some(schema @ Value::Object(_)) => schema.clone(),
            Some(other) => {
                return Err(BedrockError::malformed(format!(
                    "#/tools/{index}/input_schema: expected type: JSONObject, found: {}",
                    json_type(other)
                )))
            }
            None => {
                return Err(BedrockError::malformed(format!(
                    "#/tools/{index}: required key [input_schema] not found"
                )))
            }
        };
        let description = match object.get("description") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => {
                return Err(BedrockError::malformed(format!(
                    "#/tools/{index}/description: expected type: String, found: {}",
                    json_type(other)
                )))
            }
        };
        let material = material(item);
        prompt.push(
            tokens::estimate(&material),
            material,
            item,
            &format!("tools.{index}"),
        )?;
        tools.push(Tool {
            name,
            description,
            input_schema,
        });
    }
    Ok(tools)
}

fn parse_tool_choice(
    value: Option<&Value>,
    tools: &[Tool],
) -> Result<Option<ToolChoice>, BedrockError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(object)) => object,
        Some(other) => {
            return Err(BedrockError::malformed(format!(
                "#/tool_choice: expected type: JSONObject, found: {}",
                json_type(other)
            )))
        }
    };
    let choice = match object.get("type").and_then(Value::as_str) {
        Some("auto") => ToolChoice::Auto,
        Some("any") => ToolChoice::Any,
        Some("none") => ToolChoice::None,
        Some("tool") => match object.get("name").and_then(Value::as_str) {
            Some(name) => ToolChoice::Tool(name.to_string()),
            None => {
                return Err(BedrockError::malformed(
                    "#/tool_choice: required key [name] not found",
                ))
            }
        },
        _ => {
            return Err(BedrockError::validation(
                "tool_choice: Input tag found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
            ))
        }
    };
    match &choice {
        ToolChoice::Any | ToolChoice::Tool(_) if tools.is_empty() => Err(BedrockError::validation(
            "tool_choice may only be specified while providing tools.",
        )),
        ToolChoice::Tool(name) if !tools.iter().any(|t| &t.name == name) => Err(
            BedrockError::validation(format!("Tool '{name}' not found in provided tools")),
        ),
        _ => Ok(Some(choice)),
    }
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

fn parse_system(value: Option<&Value>, prompt: &mut PromptBuilder) -> Result<String, BedrockError> {
    match value {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => {
            if !text.is_empty() {
                prompt.push(
                    tokens::estimate(text),
                    material(&json!({"type": "text", "text": text})),
                    &Value::Null,
                    "system",
                )?;
            }
            Ok(text.clone())
        }
        Some(Value::Array(blocks)) => Ok(join_blocks(blocks, "system", 0, prompt)?.0),
        Some(other) => Err(BedrockError::malformed(format!(
            "#/system: expected type: String, found: {}",
            json_type(other)
        ))),
    }
}

fn parse_messages(
    value: Option<&Value>,
    prompt: &mut PromptBuilder,
) -> Result<Vec<Message>, BedrockError> {
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
        let (text, has_other_blocks) = match object.get("content") {
            Some(Value::String(text)) => {
                prompt.push(
                    tokens::estimate(text).saturating_add(MESSAGE_OVERHEAD),
                    material(&json!({"role": object.get("role"), "type": "text", "text": text})),
                    &Value::Null,
                    &format!("messages.{index}"),
                )?;
                (text.clone(), false)
            }
            Some(Value::Array(blocks)) => join_blocks(
                blocks,
                &format!("messages.{index}.content"),
                MESSAGE_OVERHEAD,
                prompt,
            )?,
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
        if text.trim().is_empty() && !has_other_blocks && !is_final_assistant {
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

/// Joins the text of content blocks (non-text blocks such as images and tool calls carry no
/// text the emulator answers from) and adds each block to the prompt; `overhead` tokens go
/// on the first block. Returns the text and whether any non-text block was present.
fn join_blocks(
    blocks: &[Value],
    path: &str,
    overhead: u32,
    prompt: &mut PromptBuilder,
) -> Result<(String, bool), BedrockError> {
    let mut texts = Vec::new();
    let mut other_blocks = false;
    for (index, block) in blocks.iter().enumerate() {
        let kind = block.get("type").and_then(Value::as_str).ok_or_else(|| {
            BedrockError::malformed(format!("#/{path}/{index}: required key [type] not found"))
        })?;
        let block_tokens = match kind {
            "text" => {
                let text = block.get("text").and_then(Value::as_str).ok_or_else(|| {
                    BedrockError::malformed(format!(
                        "#/{path}/{index}: required key [text] not found"
                    ))
                })?;
                texts.push(text);
                tokens::estimate(text)
            }
            "tool_use" => {
                other_blocks = true;
                tokens::estimate(&block.get("input").map(Value::to_string).unwrap_or_default())
            }
            "tool_result" => {
                other_blocks = true;
                tokens::estimate(&block.get("content").map(Value::to_string).unwrap_or_default())
            }
            // Image and document tokens depend on pixels and pages the emulator does not
            // measure; they count as nothing.
            "image" | "document" | "thinking" => {
                other_blocks = true;
                0
            }
            other => {
                return Err(BedrockError::validation(format!(
                    "{path}.{index}.type: Input tag '{other}' found using 'type' does not match any of the expected tags"
                )))
            }
        };
        let overhead = if index == 0 { overhead } else { 0 };
        prompt.push(
            block_tokens.saturating_add(overhead),
            material(block),
            block,
            &format!("{path}.{index}"),
        )?;
    }
    Ok((texts.join("\n"), other_blocks))
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

/// A content block of the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

impl ContentBlock {
    /// The answer text of a text block.
    pub fn text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text { text } => Some(text),
            ContentBlock::ToolUse { .. } => None,
        }
    }
}

/// Token usage as Anthropic reports it; `input_tokens` excludes the cached prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Usage {
    pub input_tokens: u32,
    pub cache_creation_input_tokens: u32,
    pub cache_read_input_tokens: u32,
    pub output_tokens: u32,
}

impl Usage {
    /// Splits the request's input tokens by what the prompt cache served.
    pub fn new(request: &ClaudeRequest, cache: CacheUsage, output_tokens: u32) -> Self {
        let total = request.input_tokens();
        Self {
            input_tokens: total.saturating_sub(cache.read.saturating_add(cache.written)),
            cache_creation_input_tokens: cache.written,
            cache_read_input_tokens: cache.read,
            output_tokens,
        }
    }

    /// Input tokens the model reads (not served from the cache).
    pub fn prefill_tokens(&self) -> u32 {
        self.input_tokens
            .saturating_add(self.cache_creation_input_tokens)
    }
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
    /// For a tool call cut at `max_tokens`: the input JSON text as far as it was written
    /// (the stream sends exactly this; the body's `input` holds its complete fields).
    #[serde(skip)]
    pub partial_tool_json: Option<String>,
}

impl ClaudeResponse {
    /// The text of the first text block ("" for a tool call).
    pub fn text(&self) -> &str {
        self.content
            .iter()
            .find_map(ContentBlock::text)
            .unwrap_or("")
    }
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
    cache: CacheUsage,
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
        content: vec![ContentBlock::Text {
            text: text.to_string(),
        }],
        stop_reason,
        stop_sequence,
        usage: Usage::new(request, cache, output_tokens),
        partial_tool_json: None,
    }
}

/// Builds the response to a forced tool call whose input is `input`. A call cut short (the
/// `truncated` fault, or an input longer than `max_tokens`) stops at `max_tokens` with the
/// input JSON written only part way: the body's `input` keeps the fields written whole.
pub fn respond_tool(
    request: &ClaudeRequest,
    model: &ClaudeModel,
    tool: &Tool,
    input: Value,
    finish: Finish,
    cache: CacheUsage,
    rng: &mut impl Rng,
) -> ClaudeResponse {
    let json_text = input.to_string();
    let full_tokens = tokens::estimate(&json_text);
    let budget = match finish {
        Finish::Unbounded => None,
        Finish::CutShort => Some(request.max_tokens.min(full_tokens / 2).max(1)),
        Finish::Natural => (full_tokens > request.max_tokens).then_some(request.max_tokens),
    };
    let (input, output_tokens, stop_reason, partial_tool_json) = match budget {
        None => (input, full_tokens, "tool_use", None),
        Some(budget) => {
            let partial = tokens::truncate_to(&json_text, budget).to_string();
            (
                complete_fields(&input, &partial),
                budget,
                "max_tokens",
                Some(partial),
            )
        }
    };
    ClaudeResponse {
        id: message_id(rng),
        kind: "message",
        role: "assistant",
        model: model.name.clone(),
        content: vec![ContentBlock::ToolUse {
            id: tool_use_id(rng),
            name: tool.name.clone(),
            input,
        }],
        stop_reason,
        stop_sequence: None,
        usage: Usage::new(request, cache, output_tokens),
        partial_tool_json,
    }
}

/// The top-level fields of `input` whose JSON was written whole within `partial`.
fn complete_fields(input: &Value, partial: &str) -> Value {
    let Some(object) = input.as_object() else {
        return json!({});
    };
    let mut kept = Map::new();
    let mut written = String::from("{");
    for (key, value) in object {
        if written.len() > 1 {
            written.push(',');
        }
        written.push_str(&Value::String(key.clone()).to_string());
        written.push(':');
        written.push_str(&value.to_string());
        if written.len() > partial.len() {
            break;
        }
        kept.insert(key.clone(), value.clone());
    }
    Value::Object(kept)
}

fn tool_use_id(rng: &mut impl Rng) -> String {
    format!("toolu_bdrk_{}", random_suffix(rng))
}

fn random_suffix(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..24)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

fn message_id(rng: &mut impl Rng) -> String {
    format!("msg_bdrk_{}", random_suffix(rng))
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
        let response = respond(
            &request,
            &sonnet(),
            &long,
            Finish::Natural,
            CacheUsage::default(),
            &mut rng,
        );
        assert_eq!(response.stop_reason, "max_tokens");
        assert_eq!(response.usage.output_tokens, 3);
        assert_eq!(response.text().len(), 12);
        assert!(response.id.starts_with("msg_bdrk_"));

        request.max_tokens = 100;
        request.stop_sequences = vec!["END".into()];
        let response = respond(
            &request,
            &sonnet(),
            "abc END def",
            Finish::Natural,
            CacheUsage::default(),
            &mut rng,
        );
        assert_eq!(response.stop_reason, "stop_sequence");
        assert_eq!(response.stop_sequence.as_deref(), Some("END"));
        assert_eq!(response.text(), "abc ");
    }

    #[test]
    fn response_continues_a_prefill() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut body = base();
        body["messages"] =
            json!([{"role":"user","content":"x"},{"role":"assistant","content":"{"}]);
        let request = parse(body).unwrap();
        assert!(!request.has_assistant_turn());
        let response = respond(
            &request,
            &sonnet(),
            "{\"a\": 1}",
            Finish::Natural,
            CacheUsage::default(),
            &mut rng,
        );
        assert_eq!(response.text(), "\"a\": 1}");
    }
}
