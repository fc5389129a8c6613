//! The model layer: small traits the core calls ([`ChatModelClient`], [`EmbeddingClient`]),
//! the wire bodies ([`wire`]) and their implementation over the AWS SDK ([`client`]).
//! Keeping the traits small lets the core run against Bedrock, the local emulator, or a
//! test double with the same code.

pub mod stream;
pub mod wire;

use crate::error::{ModelFailure, ServiceError};
use async_trait::async_trait;
use std::time::Duration;
pub use wire::{Message, Role, StopReason};

/// One Claude call.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model_id: String,
    pub system: String,
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Upper bound for the whole call including the SDK's own retries.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub stop_reason: StopReason,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub latency: Duration,
}

/// One Titan embedding call.
#[derive(Debug, Clone)]
pub struct EmbedRequest {
    pub model_id: String,
    pub text: String,
    /// `None` for Titan v1 (which has a fixed 1536 dimensions and takes no options).
    pub dimensions: Option<u32>,
    pub normalize: bool,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmbedResponse {
    pub embedding: Vec<f32>,
    pub input_tokens: u64,
    pub latency: Duration,
}

/// A failed model call, classified.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{failure:?}: {message}")]
pub struct ModelCallError {
    pub failure: ModelFailure,
    pub message: String,
    /// True when the call ran out of its time budget (the caller decides if that was the deadline).
    pub timed_out: bool,
    pub latency: Duration,
}

impl ModelCallError {
    pub fn new(failure: ModelFailure, message: impl Into<String>) -> Self {
        ModelCallError {
            failure,
            message: message.into(),
            timed_out: false,
            latency: Duration::ZERO,
        }
    }

    /// The contract's error for this failure. Throttling keeps its own status so clients back
    /// off; access, readiness and outages are `model_unavailable`; a model-side processing
    /// error is `model_output_invalid`.
    pub fn into_service_error(self, attempts: u32) -> ServiceError {
        if self.timed_out {
            return ServiceError::CallCutOff { attempts };
        }
        match self.failure {
            ModelFailure::Throttling | ModelFailure::ServiceQuotaExceeded => {
                ServiceError::Throttled {
                    message: self.message,
                    retry_after: Duration::from_secs(2),
                }
            }
            ModelFailure::ModelError => ServiceError::ModelOutputInvalid {
                message: self.message,
            },
            failure => ServiceError::ModelUnavailable {
                failure,
                message: self.message,
            },
        }
    }
}

/// Told the output tokens produced so far while a streamed answer arrives.
pub type OutputProgress<'a> = &'a (dyn Fn(u64) + Send + Sync);

#[async_trait]
pub trait ChatModelClient: Send + Sync {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelCallError>;

    /// The same call with the answer streamed (`InvokeModelWithResponseStream`): the result
    /// is the same as [`Self::chat`]'s, and `on_output` hears the output token count as it
    /// grows. A client without streaming answers buffered and reports the count once.
    async fn chat_streamed(
        &self,
        request: &ChatRequest,
        on_output: OutputProgress<'_>,
    ) -> Result<ChatResponse, ModelCallError> {
        let response = self.chat(request).await?;
        on_output(response.output_tokens);
        Ok(response)
    }
}

#[async_trait]
pub trait EmbeddingClient: Send + Sync {
    async fn embed(&self, request: &EmbedRequest) -> Result<EmbedResponse, ModelCallError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_maps_to_one_contract_error() {
        let table = [
            (ModelFailure::Throttling, 429, "throttled"),
            (ModelFailure::ServiceQuotaExceeded, 429, "throttled"),
            (ModelFailure::ModelNotReady, 503, "model_unavailable"),
            (ModelFailure::ModelTimeout, 503, "model_unavailable"),
            (ModelFailure::ServiceUnavailable, 503, "model_unavailable"),
            (ModelFailure::InternalServer, 503, "model_unavailable"),
            (ModelFailure::Validation, 503, "model_unavailable"),
            (ModelFailure::AccessDenied, 503, "model_unavailable"),
            (ModelFailure::ResourceNotFound, 503, "model_unavailable"),
            (ModelFailure::ModelError, 502, "model_output_invalid"),
            (ModelFailure::Transport, 503, "model_unavailable"),
            (ModelFailure::Unknown, 503, "model_unavailable"),
        ];
        for (failure, status, code) in table {
            let err = ModelCallError::new(failure, "x").into_service_error(1);
            assert_eq!((err.status(), err.code()), (status, code), "{failure:?}");
        }
        let mut timed_out = ModelCallError::new(ModelFailure::Transport, "slow");
        timed_out.timed_out = true;
        assert_eq!(timed_out.into_service_error(2).code(), "deadline_exceeded");
    }
}
