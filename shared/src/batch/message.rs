//! The queued message: `{"jobId", "requestId", "request"}` (the contract), its keys' rules,
//! and the clock the batch code reads (milliseconds since the epoch, passed in everywhere so
//! leases and timestamps are testable).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Sort key of a job's header item; message keys can never take it (see [`is_valid_key`]).
pub const JOB_HEADER_KEY: &str = "#job";
pub const MAX_KEY_CHARS: usize = 128;

/// One queued request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchMessage {
    pub job_id: String,
    pub request_id: String,
    /// The generate-recipe body, checked only when the message is processed.
    pub request: Value,
}

/// Why a body is not a batch message (such a message goes to the dead-letter queue intact).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MessageError {
    #[error("the message has no body")]
    Empty,
    #[error("the body is not a batch message: {0}")]
    Shape(String),
    #[error("{field} must be 1 to {MAX_KEY_CHARS} letters, digits, `-`, `_`, `.` or `:`")]
    Key { field: &'static str },
}

impl BatchMessage {
    pub fn parse(body: Option<&str>) -> Result<BatchMessage, MessageError> {
        let body = body
            .filter(|b| !b.trim().is_empty())
            .ok_or(MessageError::Empty)?;
        let message: BatchMessage =
            serde_json::from_str(body).map_err(|e| MessageError::Shape(e.to_string()))?;
        if !is_valid_key(&message.job_id) {
            return Err(MessageError::Key { field: "jobId" });
        }
        if !is_valid_key(&message.request_id) {
            return Err(MessageError::Key { field: "requestId" });
        }
        Ok(message)
    }

    pub fn to_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Keys are short ASCII words; every allowed character sorts after `#`, so a job's results
/// all sort after its header item.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_CHARS
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_body_parses_and_round_trips() {
        let body = r#"{"jobId": "job-1", "requestId": "r1", "request": {"target": "keto"}}"#;
        let message = BatchMessage::parse(Some(body)).unwrap();
        assert_eq!(message.job_id, "job-1");
        assert_eq!(message.request["target"], "keto");
        assert_eq!(
            BatchMessage::parse(Some(&message.to_body())).unwrap(),
            message
        );
    }

    #[test]
    fn unusable_bodies_are_refused() {
        for body in [
            None,
            Some(""),
            Some("not json"),
            Some(r#"{"jobId":"j"}"#),
            Some(r#"{"jobId":"j","requestId":"r","request":{},"x":1}"#),
        ] {
            assert!(BatchMessage::parse(body).is_err(), "{body:?}");
        }
        let header = r##"{"jobId":"j","requestId":"#job","request":{}}"##;
        assert_eq!(
            BatchMessage::parse(Some(header)).unwrap_err(),
            MessageError::Key { field: "requestId" }
        );
        let long = format!(
            r#"{{"jobId":"{}","requestId":"r","request":{{}}}}"#,
            "j".repeat(129)
        );
        assert_eq!(
            BatchMessage::parse(Some(&long)).unwrap_err(),
            MessageError::Key { field: "jobId" }
        );
    }

    #[test]
    fn valid_keys_sort_after_the_header() {
        for key in ["r0", "job-1", "A", "0", "-", ".", ":", "_"] {
            assert!(is_valid_key(key));
            assert!(key > JOB_HEADER_KEY, "{key}");
        }
        assert!(!is_valid_key(JOB_HEADER_KEY));
        assert!(!is_valid_key("a b"));
    }
}
