//! The errors a runner reports: failures to start or drive a function process.

use std::{path::PathBuf, process::ExitStatus, time::Duration};

/// Everything that can go wrong while spawning or driving a function.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A [`crate::SpawnOptions`] value that Lambda itself would refuse.
    #[error("invalid option: {0}")]
    InvalidOption(String),

    /// The bootstrap binary could not be started at all.
    #[error("could not start {}: {source}", binary.display())]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },

    /// The local Runtime API server could not listen.
    #[error("runtime API server could not start: {0}")]
    Server(std::io::Error),

    /// The function reported `/init/error`, or exited before asking for its first event.
    #[error("function init failed ({}): {message}{}", error_type.as_deref().unwrap_or("no error type"), describe_tail(stderr_tail))]
    InitFailed {
        error_type: Option<String>,
        message: String,
        exit_status: Option<ExitStatus>,
        stderr_tail: String,
    },

    /// The function neither asked for an event nor failed within the allowed time.
    #[error("function did not ask for an event within {after:?}")]
    InitTimeout { after: Duration },

    /// No answer to an invocation before its deadline (plus a small grace); like Lambda,
    /// the runner then stops the process.
    #[error("invocation {request_id} got no answer within {after:?}; the process was stopped")]
    Timeout { request_id: String, after: Duration },

    /// The function process is gone (it exited, crashed or was stopped earlier).
    #[error(
        "function process exited ({}){}",
        describe_status(exit_status),
        describe_tail(stderr_tail)
    )]
    ProcessExited {
        exit_status: Option<ExitStatus>,
        stderr_tail: String,
    },

    /// The event handed to `invoke_bytes` is not a JSON document.
    #[error("event is not JSON: {0}")]
    InvalidEvent(serde_json::Error),

    /// The function posted a response body that is not JSON.
    #[error("response to {request_id} is not JSON: {source}")]
    InvalidResponse {
        request_id: String,
        source: serde_json::Error,
    },

    /// The function's streamed response is malformed or broke off.
    #[error("streamed response to {request_id} is unusable: {reason}")]
    InvalidStream { request_id: String, reason: String },

    /// Waiting on or stopping the process failed at the operating-system level.
    #[error("process I/O: {0}")]
    Io(#[from] std::io::Error),
}

fn describe_status(status: &Option<ExitStatus>) -> String {
    status.map_or_else(|| "status unknown".to_owned(), |s| s.to_string())
}

fn describe_tail(tail: &str) -> String {
    let tail = tail.trim_end();
    if tail.is_empty() {
        String::new()
    } else {
        format!("; last output:\n{tail}")
    }
}
