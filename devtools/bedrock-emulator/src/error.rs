//! Bedrock Runtime errors as the service sends them: the exception name (carried in the
//! `x-amzn-ErrorType` header, which the AWS SDK reads to pick the error variant), the HTTP
//! status Bedrock uses for it, and the JSON body `{"message": ...}`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every exception `InvokeModel` can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ErrorKind {
    ThrottlingException,
    ModelNotReadyException,
    ServiceQuotaExceededException,
    ModelTimeoutException,
    ServiceUnavailableException,
    InternalServerException,
    ValidationException,
    AccessDeniedException,
    ModelErrorException,
    ResourceNotFoundException,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::ThrottlingException,
        ErrorKind::ModelNotReadyException,
        ErrorKind::ServiceQuotaExceededException,
        ErrorKind::ModelTimeoutException,
        ErrorKind::ServiceUnavailableException,
        ErrorKind::InternalServerException,
        ErrorKind::ValidationException,
        ErrorKind::AccessDeniedException,
        ErrorKind::ModelErrorException,
        ErrorKind::ResourceNotFoundException,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::ThrottlingException => "ThrottlingException",
            ErrorKind::ModelNotReadyException => "ModelNotReadyException",
            ErrorKind::ServiceQuotaExceededException => "ServiceQuotaExceededException",
            ErrorKind::ModelTimeoutException => "ModelTimeoutException",
            ErrorKind::ServiceUnavailableException => "ServiceUnavailableException",
            ErrorKind::InternalServerException => "InternalServerException",
            ErrorKind::ValidationException => "ValidationException",
            ErrorKind::AccessDeniedException => "AccessDeniedException",
            ErrorKind::ModelErrorException => "ModelErrorException",
            ErrorKind::ResourceNotFoundException => "ResourceNotFoundException",
        }
    }

    /// The status code Bedrock Runtime documents for the exception.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::ThrottlingException | ErrorKind::ModelNotReadyException => 429,
            ErrorKind::ServiceQuotaExceededException | ErrorKind::ValidationException => 400,
            ErrorKind::ModelTimeoutException => 408,
            ErrorKind::ServiceUnavailableException => 503,
            ErrorKind::InternalServerException => 500,
            ErrorKind::AccessDeniedException => 403,
            ErrorKind::ModelErrorException => 424,
            ErrorKind::ResourceNotFoundException => 404,
        }
    }

    /// A message in the words the real service uses for the exception.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorKind::ThrottlingException => "Too many requests, please wait before trying again.",
            ErrorKind::ModelNotReadyException => {
                "Model is not ready for inference. Wait and try your request again."
            }
            ErrorKind::ServiceQuotaExceededException => {
                "Your request exceeds the service quota for your account. You can view your quotas at Viewing service quotas. You can resubmit your request later."
            }
            ErrorKind::ModelTimeoutException => {
                "Model has timed out in processing the request. Try your request again."
            }
            ErrorKind::ServiceUnavailableException => "Bedrock is unable to process your request.",
            ErrorKind::InternalServerException => {
                "The server encountered an internal error while processing the request."
            }
            ErrorKind::ValidationException => "Input validation failed.",
            ErrorKind::AccessDeniedException => {
                "You don't have access to the model with the specified model ID."
            }
            ErrorKind::ModelErrorException => "The model returned an error. Try your request again.",
            ErrorKind::ResourceNotFoundException => {
                "The requested resource could not be found."
            }
        }
    }

    /// Value of the `x-amzn-ErrorType` header.
    pub fn error_type_header(self) -> String {
        format!(
            "{}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            self.name()
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error answer: the exception and its message (plus, for `ModelErrorException`, the
/// status the model itself returned and the resource it ran as).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct BedrockError {
    pub kind: ErrorKind,
    pub message: String,
}

impl BedrockError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn of_kind(kind: ErrorKind) -> Self {
        Self::new(kind, kind.default_message())
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ValidationException, message)
    }

    /// Bedrock's message for a request body that breaks the model's JSON schema.
    pub fn malformed(detail: impl fmt::Display) -> Self {
        Self::validation(format!(
            "Malformed input request: {detail}, please reformat your input and try again."
        ))
    }

    pub fn invalid_model_id() -> Self {
        Self::validation("The provided model identifier is invalid.")
    }

    /// The JSON body Bedrock sends with this error.
    pub fn body(&self, model_id: &str) -> serde_json::Value {
        let mut body = serde_json::json!({ "message": self.message });
        if self.kind == ErrorKind::ModelErrorException {
            body["originalStatusCode"] = serde_json::json!(500);
            body["resourceName"] = serde_json::json!(format!(
                "arn:aws:bedrock:us-east-1::foundation-model/{model_id}"
            ));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for kind in ErrorKind::ALL {
            let text = serde_json::to_string(&kind).unwrap();
            assert_eq!(text, format!("\"{}\"", kind.name()));
            let back: ErrorKind = serde_json::from_str(&text).unwrap();
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn model_error_body_carries_original_status_and_resource() {
        let body = BedrockError::of_kind(ErrorKind::ModelErrorException).body("m");
        assert_eq!(body["originalStatusCode"], 500);
        assert!(body["resourceName"].as_str().unwrap().ends_with("/m"));
        let plain = BedrockError::of_kind(ErrorKind::ThrottlingException).body("m");
        assert!(plain.get("originalStatusCode").is_none());
    }
}
