//! Claude's streaming answer (`InvokeModelWithResponseStream`): each event-stream `chunk`
//! carries one Anthropic streaming event as JSON. [`StreamedAnswer`] folds them into the same
//! text, stop reason and usage a buffered call gives, and tells how many output tokens have
//! been produced so far. Pure data, no I/O.

use super::wire::StopReason;
use super::ChatResponse;
use crate::latency::estimate_prompt_tokens;
use serde::Deserialize;
use std::time::Duration;

/// One Anthropic streaming event; only the fields the service reads.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamEvent {
    MessageStart {
        message: StartedMessage,
    },
    ContentBlockStart {
        #[serde(default)]
        content_block: Option<StartedBlock>,
    },
    ContentBlockDelta {
        delta: Delta,
    },
    ContentBlockStop {},
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<UsageSoFar>,
    },
    MessageStop {},
    Ping {},
    Error {
        error: StreamError,
    },
    /// Event types added later are skipped, as Anthropic's streaming docs ask of clients.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Deserialize)]
struct StartedMessage {
    #[serde(default)]
    usage: Option<UsageSoFar>,
}

#[derive(Debug, Default, Deserialize)]
struct UsageSoFar {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

/// A content block's opening: a `tool_use` block's input arrives as `input_json_delta` parts.
#[derive(Debug, Deserialize)]
struct StartedBlock {
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Delta {
    #[serde(rename = "text_delta")]
    Text { text: String },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: String },
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StreamError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

/// What went wrong with a chunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamChunkError {
    #[error("a stream chunk is not an Anthropic streaming event: {0}")]
    NotAnEvent(String),
    /// The model reported an error mid-stream (e.g. `overloaded_error`).
    #[error("the model stopped the stream with {kind}: {message}")]
    Model { kind: String, message: String },
}

/// The answer as it streams in.
#[derive(Debug, Default, Clone)]
pub struct StreamedAnswer {
    text: String,
    /// The forced tool's input as it streams in (`input_json_delta` parts); `None` until a
    /// `tool_use` block starts.
    tool_json: Option<String>,
    stop_reason: Option<String>,
    input_tokens: u64,
    cache_read_input_tokens: u64,
    cache_write_input_tokens: u64,
    /// The model's own count, from `message_start` / `message_delta` usage.
    counted_output_tokens: Option<u64>,
    /// Output tokens estimated from the text since the model's last count.
    estimated_since_count: u64,
}

impl StreamedAnswer {
    /// Folds one chunk's bytes in.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), StreamChunkError> {
        let event: StreamEvent = serde_json::from_slice(chunk)
            .map_err(|e| StreamChunkError::NotAnEvent(e.to_string()))?;
        match event {
            StreamEvent::MessageStart { message } => {
                if let Some(usage) = message.usage {
                    self.input_tokens = usage.input_tokens.unwrap_or(self.input_tokens);
                    self.cache_read_input_tokens = usage.cache_read_input_tokens.unwrap_or(0);
                    self.cache_write_input_tokens = usage.cache_creation_input_tokens.unwrap_or(0);
                    self.count(usage.output_tokens);
                }
            }
            StreamEvent::ContentBlockStart {
                content_block: Some(block),
            } if block.kind == "tool_use" => {
                self.tool_json.get_or_insert_with(String::new);
            }
            StreamEvent::ContentBlockDelta {
                delta: Delta::InputJson { partial_json },
            } => {
                self.estimated_since_count += estimate_prompt_tokens(partial_json.len()).max(1);
                self.tool_json
                    .get_or_insert_with(String::new)
                    .push_str(&partial_json);
            }
            StreamEvent::ContentBlockDelta {
                delta: Delta::Text { text },
            } => {
                self.estimated_since_count += estimate_prompt_tokens(text.len()).max(1);
                self.text.push_str(&text);
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                if let Some(usage) = usage {
                    if let Some(input) = usage.input_tokens {
                        self.input_tokens = input;
                    }
                    self.count(usage.output_tokens);
                }
            }
            StreamEvent::Error { error } => {
                return Err(StreamChunkError::Model {
                    kind: error.kind,
                    message: error.message,
                })
            }
            StreamEvent::ContentBlockDelta {
                delta: Delta::Other,
            }
            | StreamEvent::ContentBlockStart { .. }
            | StreamEvent::ContentBlockStop {}
            | StreamEvent::MessageStop {}
            | StreamEvent::Ping {}
            | StreamEvent::Unknown => {}
        }
        Ok(())
    }

    fn count(&mut self, output_tokens: Option<u64>) {
        if let Some(count) = output_tokens {
            self.counted_output_tokens = Some(count);
            self.estimated_since_count = 0;
        }
    }

    /// Output tokens so far: the model's last count plus an estimate for the text after it
    /// (`message_delta` carries the final count only at the end).
    pub fn output_tokens(&self) -> u64 {
        self.counted_output_tokens.unwrap_or(0) + self.estimated_since_count
    }

    /// The finished answer, shaped like a buffered call's.
    pub fn finish(self, latency: Duration) -> ChatResponse {
        let output_tokens = self.output_tokens();
        // A tool input cut short (max_tokens) is no JSON: it is left out, and extraction then
        // reports the text path's error, as for a buffered answer without a tool block.
        let tool_input = self
            .tool_json
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok());
        ChatResponse {
            stop_reason: StopReason::parse(self.stop_reason.as_deref()),
            text: self.text,
            tool_input,
            input_tokens: self.input_tokens,
            output_tokens,
            cache_read_input_tokens: self.cache_read_input_tokens,
            cache_write_input_tokens: self.cache_write_input_tokens,
            latency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(answer: &mut StreamedAnswer, event: serde_json::Value) {
        answer.push(event.to_string().as_bytes()).unwrap();
    }

    #[test]
    fn a_stream_folds_into_the_buffered_answer() {
        let mut answer = StreamedAnswer::default();
        feed(
            &mut answer,
            serde_json::json!({"type": "message_start", "message": {"id": "m", "type": "message",
                "role": "assistant", "content": [], "model": "claude", "stop_reason": null,
                "usage": {"input_tokens": 812, "output_tokens": 1}}}),
        );
        assert_eq!(answer.output_tokens(), 1);
        feed(
            &mut answer,
            serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        );
        feed(&mut answer, serde_json::json!({"type": "ping"}));
        feed(
            &mut answer,
            serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "{\"recipeName\": "}}),
        );
        let early = answer.output_tokens();
        feed(
            &mut answer,
            serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "\"삼겹살 양배추 볶음\"}"}}),
        );
        assert!(
            answer.output_tokens() > early,
            "progress is estimated from deltas"
        );
        feed(
            &mut answer,
            serde_json::json!({"type": "content_block_stop", "index": 0}),
        );
        feed(
            &mut answer,
            serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": 17}}),
        );
        feed(
            &mut answer,
            serde_json::json!({"type": "message_stop", "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 812, "outputTokenCount": 17, "invocationLatency": 900, "firstByteLatency": 300}}),
        );
        let done = answer.finish(Duration::from_millis(5));
        assert_eq!(done.text, "{\"recipeName\": \"삼겹살 양배추 볶음\"}");
        assert_eq!(
            (done.input_tokens, done.output_tokens, done.stop_reason),
            (812, 17, StopReason::EndTurn)
        );
    }

    #[test]
    fn a_cut_off_stream_keeps_its_stop_reason_and_an_error_event_is_an_error() {
        let mut answer = StreamedAnswer::default();
        feed(
            &mut answer,
            serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 2048}}),
        );
        assert_eq!(
            answer.clone().finish(Duration::ZERO).stop_reason,
            StopReason::MaxTokens
        );
        let err = answer
            .push(br#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#)
            .unwrap_err();
        assert!(
            matches!(err, StreamChunkError::Model { ref kind, .. } if kind == "overloaded_error")
        );
        assert!(matches!(
            answer.push(b"not json"),
            Err(StreamChunkError::NotAnEvent(_))
        ));
    }
}
