//! `InvokeModelWithResponseStream` for Claude as Bedrock Runtime sends it: the answer as
//! Anthropic streaming events (`message_start`, `content_block_start`, `content_block_delta`
//! with `text_delta` or `input_json_delta`, `content_block_stop`, `message_delta`,
//! `message_stop` carrying `amazon-bedrock-invocationMetrics`), each wrapped as
//! `{"bytes": "<base64 of the event JSON>"}` in an AWS event-stream `chunk` frame, and the
//! modelled moment each event is due (the first after time to first token and prefill, the
//! deltas at the output rate, several tokens a delta).
//!
//! Frames are encoded by `aws-smithy-eventstream`, the AWS SDK's own codec, so prelude,
//! header and CRC layout are exactly what the SDK's decoder expects.

use crate::claude::{ClaudeResponse, ContentBlock, Usage};
use crate::faults::StreamErrorKind;
use crate::latency::LatencyFamily;
use crate::tokens;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use aws_smithy_types::str_bytes::StrBytes;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};
use std::time::Duration;

/// Output tokens per `content_block_delta` (Bedrock sends a few dozen at a time).
pub const TOKENS_PER_DELTA: u32 = 30;

/// One Anthropic streaming event and the modelled moment (from the call's start) it is due.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedEvent {
    pub at: Duration,
    pub event: Value,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot encode an event-stream frame: {0}")]
pub struct FrameError(String);

/// Every event of `response` up to and including `message_delta` (`message_stop` carries
/// the measured latencies, see [`message_stop`]), timed by `latency` (none: all at zero).
pub fn events(
    response: &ClaudeResponse,
    latency: Option<&LatencyFamily>,
    timed_output_cap: u32,
) -> Vec<TimedEvent> {
    let usage = response.usage;
    let first_token = latency.map_or(Duration::ZERO, |l| l.first_token(usage.prefill_tokens()));
    let at_tokens = |generated: u32| {
        first_token
            + latency.map_or(Duration::ZERO, |l| {
                l.generation(generated.min(timed_output_cap))
            })
    };
    let mut out = Vec::new();
    let mut push = |at: Duration, event: Value| out.push(TimedEvent { at, event });
    push(
        first_token,
        json!({
            "type": "message_start",
            "message": {
                "id": response.id,
                "type": "message",
                "role": "assistant",
                "model": response.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": {
                    "input_tokens": usage.input_tokens,
                    "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                    "cache_read_input_tokens": usage.cache_read_input_tokens,
                    "output_tokens": 1
                }
            }
        }),
    );
    for (index, block) in response.content.iter().enumerate() {
        let (start_block, streamed, delta_kind, delta_field) = match block {
            ContentBlock::Text { text } => (
                json!({"type": "text", "text": ""}),
                text.clone(),
                "text_delta",
                "text",
            ),
            ContentBlock::ToolUse { id, name, input } => (
                json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                response
                    .partial_tool_json
                    .clone()
                    .unwrap_or_else(|| input.to_string()),
                "input_json_delta",
                "partial_json",
            ),
        };
        push(
            first_token,
            json!({"type": "content_block_start", "index": index, "content_block": start_block}),
        );
        // Pieces are timed by their share of the reported output tokens, so the last delta
        // lands when the modelled generation ends.
        let pieces = tokens::pieces(&streamed, TOKENS_PER_DELTA);
        let piece_tokens: Vec<u32> = pieces.iter().map(|p| tokens::estimate(p)).collect();
        let total_piece_tokens: u64 = piece_tokens.iter().map(|t| u64::from(*t)).sum();
        let mut done = 0u64;
        for (piece, cost) in pieces.iter().zip(&piece_tokens) {
            done += u64::from(*cost);
            let generated = u64::from(usage.output_tokens) * done / total_piece_tokens.max(1);
            push(
                at_tokens(u32::try_from(generated).unwrap_or(u32::MAX)),
                json!({
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": delta_kind, delta_field: piece}
                }),
            );
        }
        push(
            at_tokens(usage.output_tokens),
            json!({"type": "content_block_stop", "index": index}),
        );
    }
    push(
        at_tokens(usage.output_tokens),
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": response.stop_reason, "stop_sequence": response.stop_sequence},
            "usage": {"output_tokens": usage.output_tokens}
        }),
    );
    out
}

/// The closing event with Bedrock's invocation metrics (milliseconds as measured).
pub fn message_stop(usage: &Usage, invocation_ms: u64, first_byte_ms: u64) -> Value {
    json!({
        "type": "message_stop",
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": usage.input_tokens,
            "outputTokenCount": usage.output_tokens,
            "invocationLatency": invocation_ms,
            "firstByteLatency": first_byte_ms
        }
    })
}

fn header(name: &'static str, value: &'static str) -> Header {
    Header::new(name, HeaderValue::String(StrBytes::from(value)))
}

fn encode(message: &Message) -> Result<Bytes, FrameError> {
    let mut buffer = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(message, &mut buffer)
        .map_err(|e| FrameError(e.to_string()))?;
    Ok(Bytes::from(buffer))
}

/// A `chunk` event frame carrying one Anthropic event.
pub fn chunk_frame(event: &Value) -> Result<Bytes, FrameError> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(event.to_string());
    let payload = json!({ "bytes": encoded }).to_string();
    let message = Message::new(payload.into_bytes())
        .add_header(header(":event-type", "chunk"))
        .add_header(header(":content-type", "application/json"))
        .add_header(header(":message-type", "event"));
    encode(&message)
}

/// An exception frame ending the stream.
pub fn exception_frame(kind: StreamErrorKind, message: Option<&str>) -> Result<Bytes, FrameError> {
    let payload = kind.payload(message).to_string();
    let message = Message::new(payload.into_bytes())
        .add_header(header(":exception-type", kind.exception_type()))
        .add_header(header(":content-type", "application/json"))
        .add_header(header(":message-type", "exception"));
    encode(&message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheUsage;
    use crate::claude::{respond, respond_tool, ClaudeRequest, Finish, Message, Role, Tool};
    use crate::latency::LatencyTable;
    use crate::model::{resolve, Model};
    use rand::SeedableRng;

    fn sonnet() -> crate::model::ClaudeModel {
        match resolve("us.anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap() {
            Model::Claude(m) => m,
            Model::Titan(_) => unreachable!(),
        }
    }

    fn request() -> ClaudeRequest {
        ClaudeRequest::from_turns(
            "",
            vec![Message {
                role: Role::User,
                text: "hi".into(),
            }],
            4096,
        )
    }

    fn decode(frame: &Bytes) -> (Vec<(String, String)>, Value) {
        let message = aws_smithy_eventstream::frame::read_message_from(&mut frame.clone()).unwrap();
        let headers = message
            .headers()
            .iter()
            .map(|h| {
                (
                    h.name().as_str().to_string(),
                    h.value().as_string().unwrap().as_str().to_string(),
                )
            })
            .collect();
        (headers, serde_json::from_slice(message.payload()).unwrap())
    }

    #[test]
    fn text_events_rebuild_the_answer_and_are_paced() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let text = "Stir-fry the pork belly until crisp. ".repeat(40);
        let response = respond(
            &request(),
            &sonnet(),
            &text,
            Finish::Natural,
            CacheUsage::default(),
            &mut rng,
        );
        let table = LatencyTable::builtin().unwrap();
        let family = table.family_for("claude-sonnet-4-5");
        let events = events(&response, family, u32::MAX);
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| e.event["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds[0], "message_start");
        assert_eq!(kinds[1], "content_block_start");
        assert_eq!(kinds[kinds.len() - 2], "content_block_stop");
        assert_eq!(kinds[kinds.len() - 1], "message_delta");
        let deltas: String = events
            .iter()
            .filter(|e| e.event["type"] == "content_block_delta")
            .map(|e| e.event["delta"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(deltas, text);
        assert!(
            kinds
                .iter()
                .filter(|k| **k == "content_block_delta")
                .count()
                > 5
        );
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
        let family = family.unwrap();
        assert_eq!(
            events[0].at,
            family.first_token(response.usage.prefill_tokens())
        );
        let modelled = family.first_token(response.usage.prefill_tokens())
            + family.generation(response.usage.output_tokens);
        assert_eq!(events.last().unwrap().at, modelled);
    }

    #[test]
    fn tool_events_stream_the_input_json() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let tool = Tool {
            name: "recipe".into(),
            description: String::new(),
            input_schema: json!({"type": "object"}),
        };
        let input = json!({"recipeName": "x".repeat(300), "servings": 2});
        let response = respond_tool(
            &request(),
            &sonnet(),
            &tool,
            input.clone(),
            Finish::Natural,
            CacheUsage::default(),
            &mut rng,
        );
        assert_eq!(response.stop_reason, "tool_use");
        let events = events(&response, None, u32::MAX);
        assert_eq!(events[1].event["content_block"]["type"], "tool_use");
        assert_eq!(events[1].event["content_block"]["name"], "recipe");
        let json_text: String = events
            .iter()
            .filter(|e| e.event["type"] == "content_block_delta")
            .map(|e| e.event["delta"]["partial_json"].as_str().unwrap())
            .collect();
        assert_eq!(serde_json::from_str::<Value>(&json_text).unwrap(), input);
        let cut = respond_tool(
            &request(),
            &sonnet(),
            &tool,
            input,
            Finish::CutShort,
            CacheUsage::default(),
            &mut rng,
        );
        assert_eq!(cut.stop_reason, "max_tokens");
        let partial: String = super::events(&cut, None, u32::MAX)
            .iter()
            .filter(|e| e.event["type"] == "content_block_delta")
            .map(|e| e.event["delta"]["partial_json"].as_str().unwrap())
            .collect();
        assert!(serde_json::from_str::<Value>(&partial).is_err());
    }

    #[test]
    fn frames_decode_with_the_sdk_codec() {
        let event = json!({"type": "message_stop"});
        let (headers, payload) = decode(&chunk_frame(&event).unwrap());
        assert!(headers.contains(&(":event-type".into(), "chunk".into())));
        assert!(headers.contains(&(":message-type".into(), "event".into())));
        assert!(headers.contains(&(":content-type".into(), "application/json".into())));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload["bytes"].as_str().unwrap())
            .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), event);
        let (headers, payload) =
            decode(&exception_frame(StreamErrorKind::ThrottlingException, None).unwrap());
        assert!(headers.contains(&(":exception-type".into(), "throttlingException".into())));
        assert!(headers.contains(&(":message-type".into(), "exception".into())));
        assert!(payload["message"]
            .as_str()
            .unwrap()
            .contains("Too many requests"));
    }
}
