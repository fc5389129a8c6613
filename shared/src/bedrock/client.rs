//! [`ChatModelClient`] and [`EmbeddingClient`] over the AWS SDK's `InvokeModel`.
//!
//! Retries are the SDK's own (standard mode, attempts and backoff set explicitly in
//! [`sdk_config`]); each call is additionally bounded by the time left before the Lambda
//! deadline through a per-operation timeout override, so no attempt outlives the invocation.

use super::wire::{
    ClaudeRequest, ClaudeResponse, MessageContent, StopReason, SystemPrompt, TextBlock,
    TitanResponse, TitanV1Request, TitanV2Request, Tool, ToolChoice, WireMessage,
    ANTHROPIC_VERSION,
};
use super::{
    ChatModelClient, ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, EmbeddingClient,
    ModelCallError,
};
use crate::error::ModelFailure;
use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelError;
use aws_sdk_bedrockruntime::primitives::Blob;
use std::time::{Duration, Instant};

/// The same value everywhere, so every call shares one cached HTTP client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Loads the shared SDK configuration once per container: region, credentials and the
/// `AWS_ENDPOINT_URL*` overrides come from the environment as the SDK defines them.
pub async fn sdk_config(max_attempts: u32) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(4)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_timeout(Duration::from_secs(120))
                .build(),
        )
        .load()
        .await
}

/// Bedrock runtime client; cheap to clone, built once per container.
#[derive(Debug, Clone)]
pub struct BedrockClient {
    client: aws_sdk_bedrockruntime::Client,
}

impl BedrockClient {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        BedrockClient {
            client: aws_sdk_bedrockruntime::Client::new(config),
        }
    }

    /// Only operation-level timeouts are overridden per call: connect/read timeouts are part of
    /// the HTTP client's settings, and the SDK keeps one cached client (with its own connection
    /// pool) per distinct setting, so a per-call read timeout would leak a client per call.
    async fn invoke(
        &self,
        model_id: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(Vec<u8>, Duration), ModelCallError> {
        let started = Instant::now();
        let override_timeouts = aws_sdk_bedrockruntime::config::Builder::default().timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_timeout(timeout)
                .operation_attempt_timeout(timeout)
                .build(),
        );
        let call = self
            .client
            .invoke_model()
            .model_id(model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .customize()
            .config_override(override_timeouts)
            .send();
        // The SDK's timeout should fire first; this outer bound guards against any path that
        // the SDK's timers do not cover (e.g. a stalled body stream).
        let outcome = tokio::time::timeout(timeout + Duration::from_millis(50), call).await;
        let latency = started.elapsed();
        match outcome {
            Err(_) => Err(ModelCallError {
                failure: ModelFailure::Transport,
                message: format!("no answer within {} ms", timeout.as_millis()),
                timed_out: true,
                latency,
            }),
            Ok(Err(err)) => {
                let mut classified = classify(err);
                classified.latency = latency;
                Err(classified)
            }
            Ok(Ok(output)) => Ok((output.body.into_inner(), latency)),
        }
    }
}

/// Maps the SDK's error to a [`ModelFailure`] (with the service's message kept for logs).
pub fn classify(
    err: SdkError<InvokeModelError, aws_smithy_runtime_api::http::Response>,
) -> ModelCallError {
    match err {
        SdkError::TimeoutError(_) => ModelCallError {
            failure: ModelFailure::Transport,
            message: "the call timed out".to_owned(),
            timed_out: true,
            latency: Duration::ZERO,
        },
        SdkError::DispatchFailure(e) => {
            let timed_out = e.is_timeout();
            ModelCallError {
                failure: ModelFailure::Transport,
                message: format!(
                    "could not reach Bedrock: {:?}",
                    e.as_connector_error().map(|c| c.to_string())
                ),
                timed_out,
                latency: Duration::ZERO,
            }
        }
        SdkError::ResponseError(e) => ModelCallError::new(
            ModelFailure::Transport,
            format!("unreadable response: {:?}", e.raw().status()),
        ),
        SdkError::ServiceError(service) => {
            let err = service.into_err();
            let message = err.message().unwrap_or("no message").to_owned();
            let failure = match &err {
                InvokeModelError::ThrottlingException(_) => ModelFailure::Throttling,
                InvokeModelError::ServiceQuotaExceededException(_) => {
                    ModelFailure::ServiceQuotaExceeded
                }
                InvokeModelError::ModelNotReadyException(_) => ModelFailure::ModelNotReady,
                InvokeModelError::ModelTimeoutException(_) => ModelFailure::ModelTimeout,
                InvokeModelError::ServiceUnavailableException(_) => {
                    ModelFailure::ServiceUnavailable
                }
                InvokeModelError::InternalServerException(_) => ModelFailure::InternalServer,
                InvokeModelError::ValidationException(_) => ModelFailure::Validation,
                InvokeModelError::AccessDeniedException(_) => ModelFailure::AccessDenied,
                InvokeModelError::ResourceNotFoundException(_) => ModelFailure::ResourceNotFound,
                InvokeModelError::ModelErrorException(_) => ModelFailure::ModelError,
                other => match other.code() {
                    Some(code) if code.contains("Throttl") => ModelFailure::Throttling,
                    _ => ModelFailure::Unknown,
                },
            };
            ModelCallError::new(failure, message)
        }
        other => ModelCallError::new(ModelFailure::Unknown, other.to_string()),
    }
}

/// The Messages body for a call: the forced tool when structured output is asked for, and
/// cache points after the system prompt and the first user turn when caching is. The prefix
/// before each point (tools, system, first turn) is byte-identical across a request's attempts.
pub fn claude_body(request: &ChatRequest) -> ClaudeRequest<'_> {
    let system = if request.cache_points {
        SystemPrompt::Blocks(vec![TextBlock::new(&request.system, true)])
    } else {
        SystemPrompt::Text(&request.system)
    };
    let messages = request
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| WireMessage {
            role: m.role.clone(),
            content: if request.cache_points && i == 0 {
                MessageContent::Blocks(vec![TextBlock::new(&m.content, true)])
            } else {
                MessageContent::Text(&m.content)
            },
        })
        .collect();
    let (tools, tool_choice) = match &request.tool {
        Some(tool) => (
            vec![Tool {
                name: &tool.name,
                description: &tool.description,
                input_schema: &tool.input_schema,
            }],
            Some(ToolChoice::forced(&tool.name)),
        ),
        None => (Vec::new(), None),
    };
    ClaudeRequest {
        anthropic_version: ANTHROPIC_VERSION,
        max_tokens: request.max_tokens,
        system,
        messages,
        temperature: request.temperature,
        tools,
        tool_choice,
    }
}

#[async_trait]
impl ChatModelClient for BedrockClient {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelCallError> {
        let body = serde_json::to_vec(&claude_body(request)).map_err(|e| {
            ModelCallError::new(
                ModelFailure::Unknown,
                format!("could not encode the request: {e}"),
            )
        })?;
        let (bytes, latency) = self
            .invoke(&request.model_id, body, request.timeout)
            .await?;
        let parsed: ClaudeResponse = serde_json::from_slice(&bytes).map_err(|e| {
            let mut err = ModelCallError::new(
                ModelFailure::ModelError,
                format!("the model's answer is not a Claude messages body: {e}"),
            );
            err.latency = latency;
            err
        })?;
        let tool_input = request
            .tool
            .as_ref()
            .and_then(|tool| parsed.tool_input(&tool.name))
            .cloned();
        Ok(ChatResponse {
            text: parsed.text(),
            tool_input,
            stop_reason: StopReason::parse(parsed.stop_reason.as_deref()),
            input_tokens: parsed.usage.input_tokens,
            output_tokens: parsed.usage.output_tokens,
            cache_read_input_tokens: parsed.usage.cache_read_input_tokens,
            cache_write_input_tokens: parsed.usage.cache_creation_input_tokens,
            latency,
        })
    }
}

#[async_trait]
impl EmbeddingClient for BedrockClient {
    async fn embed(&self, request: &EmbedRequest) -> Result<EmbedResponse, ModelCallError> {
        let body = match request.dimensions {
            None => serde_json::to_vec(&TitanV1Request {
                input_text: &request.text,
            }),
            Some(dimensions) => serde_json::to_vec(&TitanV2Request {
                input_text: &request.text,
                dimensions,
                normalize: request.normalize,
            }),
        }
        .map_err(|e| {
            ModelCallError::new(
                ModelFailure::Unknown,
                format!("could not encode the request: {e}"),
            )
        })?;
        let (bytes, latency) = self
            .invoke(&request.model_id, body, request.timeout)
            .await?;
        let parsed: TitanResponse = serde_json::from_slice(&bytes).map_err(|e| {
            let mut err = ModelCallError::new(
                ModelFailure::ModelError,
                format!("the answer is not a Titan embedding body: {e}"),
            );
            err.latency = latency;
            err
        })?;
        if parsed.embedding.is_empty() || parsed.embedding.iter().any(|x| !x.is_finite()) {
            return Err(ModelCallError::new(
                ModelFailure::ModelError,
                "the embedding is empty or not finite",
            ));
        }
        Ok(EmbedResponse {
            embedding: parsed.embedding,
            input_tokens: parsed.input_text_token_count,
            latency,
        })
    }
}
