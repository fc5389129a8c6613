//! The service's typed errors and their one-to-one mapping to the contract's HTTP status and
//! error code. Every boundary (request parsing, Bedrock, model output, checks, deadline)
//! converts its failures into [`ServiceError`]; handlers turn it into [`ErrorBody`].

use crate::domain::Check;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;

/// One field-level problem of a request, reported in `error.details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `profile.budget`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a Bedrock call failed, as the SDK or transport reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ModelFailure {
    Throttling,
    ServiceQuotaExceeded,
    ModelNotReady,
    ModelTimeout,
    ServiceUnavailable,
    InternalServer,
    Validation,
    AccessDenied,
    ResourceNotFound,
    ModelError,
    /// Connection refused, reset, or a timeout while reading the answer.
    Transport,
    Unknown,
}

impl ModelFailure {
    /// Whether the same call may succeed later (and so a batch message should be retried).
    pub fn is_transient(self) -> bool {
        !matches!(self, ModelFailure::Validation | ModelFailure::ModelError)
    }
}

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("{message}")]
    InvalidRequest {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("request body is {size} bytes; the limit is {limit} bytes")]
    PayloadTooLarge { size: usize, limit: usize },
    #[error("no recipe met every check within {attempts} attempt(s)")]
    ConstraintsUnsatisfied { attempts: u32, checks: Vec<Check> },
    #[error("the model stayed throttled: {message}")]
    Throttled {
        message: String,
        retry_after: Duration,
    },
    #[error("the model's output could not be used: {message}")]
    ModelOutputInvalid { message: String },
    #[error("the model is unavailable ({failure:?}): {message}")]
    ModelUnavailable {
        failure: ModelFailure,
        message: String,
    },
    #[error("the Lambda deadline left no time for another attempt ({attempts} attempt(s) made)")]
    DeadlineExceeded { attempts: u32 },
    /// A model call ran into the deadline and was cut off (it was billed for nothing).
    #[error("the model call of attempt {attempts} was cut off by the Lambda deadline")]
    CallCutOff { attempts: u32 },
    /// The latency estimate says the next attempt would be cut off by the deadline, so it is
    /// not started (and not billed).
    #[error("the next attempt needs about {needed_ms} ms of model time but only {left_ms} ms are left before the deadline ({attempts} attempt(s) made); for recipes that take longer, send \"mode\": \"async\" or use the streaming function URL")]
    AttemptCannotFinish {
        attempts: u32,
        needed_ms: u64,
        left_ms: u64,
    },
    #[error("content type `{content_type}` is not supported; send application/json")]
    UnsupportedMediaType { content_type: String },
    #[error("no route for {method} {path}")]
    NotFound { method: String, path: String },
    /// Async mode asked of a deployment that has no results table or jobs queue.
    #[error("async mode is not available here: {missing} is not set; use the sync mode")]
    AsyncUnavailable { missing: &'static str },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(message: impl Into<String>, details: Vec<FieldError>) -> Self {
        ServiceError::InvalidRequest {
            message: message.into(),
            details,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ServiceError::InvalidRequest { .. } => 400,
            ServiceError::PayloadTooLarge { .. } => 413,
            ServiceError::ConstraintsUnsatisfied { .. } => 422,
            ServiceError::Throttled { .. } => 429,
            ServiceError::ModelOutputInvalid { .. } => 502,
            ServiceError::ModelUnavailable { .. } => 503,
            ServiceError::DeadlineExceeded { .. }
            | ServiceError::AttemptCannotFinish { .. }
            | ServiceError::CallCutOff { .. } => 504,
            ServiceError::UnsupportedMediaType { .. } => 415,
            ServiceError::NotFound { .. } => 404,
            ServiceError::AsyncUnavailable { .. } => 503,
            ServiceError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::InvalidRequest { .. } => "invalid_request",
            ServiceError::PayloadTooLarge { .. } => "payload_too_large",
            ServiceError::ConstraintsUnsatisfied { .. } => "constraints_unsatisfied",
            ServiceError::Throttled { .. } => "throttled",
            ServiceError::ModelOutputInvalid { .. } => "model_output_invalid",
            ServiceError::ModelUnavailable { .. } => "model_unavailable",
            ServiceError::DeadlineExceeded { .. }
            | ServiceError::AttemptCannotFinish { .. }
            | ServiceError::CallCutOff { .. } => "deadline_exceeded",
            ServiceError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::AsyncUnavailable { .. } => "async_unavailable",
            ServiceError::Internal(_) => "internal_error",
        }
    }

    /// True when a later attempt may succeed: batch messages failing this way are retried.
    pub fn is_transient(&self) -> bool {
        match self {
            ServiceError::Throttled { .. }
            | ServiceError::DeadlineExceeded { .. }
            | ServiceError::AttemptCannotFinish { .. }
            | ServiceError::CallCutOff { .. } => true,
            ServiceError::ModelUnavailable { failure, .. } => failure.is_transient(),
            ServiceError::Internal(_) => true,
            ServiceError::InvalidRequest { .. }
            | ServiceError::PayloadTooLarge { .. }
            | ServiceError::ConstraintsUnsatisfied { .. }
            | ServiceError::ModelOutputInvalid { .. }
            | ServiceError::UnsupportedMediaType { .. }
            | ServiceError::NotFound { .. }
            | ServiceError::AsyncUnavailable { .. } => false,
        }
    }

    /// Seconds for the `Retry-After` header (429 only).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ServiceError::Throttled { retry_after, .. } => Some(retry_after.as_secs().max(1)),
            _ => None,
        }
    }

    /// The contract's error object.
    pub fn to_body(&self) -> ErrorBody {
        let details = match self {
            ServiceError::InvalidRequest { details, .. } => details
                .iter()
                .map(|d| serde_json::to_value(d).unwrap_or_default())
                .collect(),
            ServiceError::ConstraintsUnsatisfied { checks, .. } => checks
                .iter()
                .map(|c| serde_json::to_value(c).unwrap_or_default())
                .collect(),
            _ => Vec::new(),
        };
        ErrorBody {
            error: ErrorObject {
                code: self.code().to_owned(),
                message: self.to_string(),
                details,
            },
        }
    }
}

/// `{"error": {"code", "message", "details"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: String,
    pub message: String,
    pub details: Vec<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_one_status_and_code() {
        let cases = [
            (ServiceError::invalid("bad", vec![]), 400, "invalid_request"),
            (
                ServiceError::PayloadTooLarge { size: 2, limit: 1 },
                413,
                "payload_too_large",
            ),
            (
                ServiceError::ConstraintsUnsatisfied {
                    attempts: 3,
                    checks: vec![],
                },
                422,
                "constraints_unsatisfied",
            ),
            (
                ServiceError::Throttled {
                    message: "x".into(),
                    retry_after: Duration::from_secs(2),
                },
                429,
                "throttled",
            ),
            (
                ServiceError::ModelOutputInvalid {
                    message: "x".into(),
                },
                502,
                "model_output_invalid",
            ),
            (
                ServiceError::ModelUnavailable {
                    failure: ModelFailure::AccessDenied,
                    message: "x".into(),
                },
                503,
                "model_unavailable",
            ),
            (
                ServiceError::DeadlineExceeded { attempts: 1 },
                504,
                "deadline_exceeded",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status);
            assert_eq!(err.code(), code);
            assert_eq!(err.to_body().error.code, code);
        }
    }

    #[test]
    fn details_carry_field_errors() {
        let err = ServiceError::invalid(
            "request is invalid",
            vec![FieldError::new(
                "profile.budget",
                "must be at most 10000000",
            )],
        );
        let body = serde_json::to_value(err.to_body()).unwrap();
        assert_eq!(body["error"]["details"][0]["field"], "profile.budget");
    }

    #[test]
    fn passing_causes_are_transient_and_invalid_ones_are_not() {
        assert!(ServiceError::Throttled {
            message: String::new(),
            retry_after: Duration::ZERO
        }
        .is_transient());
        assert!(ServiceError::DeadlineExceeded { attempts: 1 }.is_transient());
        assert!(!ServiceError::invalid("x", vec![]).is_transient());
        assert!(!ServiceError::ConstraintsUnsatisfied {
            attempts: 1,
            checks: vec![]
        }
        .is_transient());
    }
}
