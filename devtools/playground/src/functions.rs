//! The three function binaries as the Lambda service runs them: each in its own process with
//! its own Runtime API (the lambda-runner library), one invocation at a time per process as
//! in a Lambda execution environment, started on first use and started again after a crash
//! or a timeout (Lambda replaces such an environment too).

use crate::events::HttpAnswer;
use http::StatusCode;
use lambda_runner::{FunctionProcess, Outcome, RunnerError, SpawnOptions};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long a function gets to start (its init phase).
const INIT_TIMEOUT: Duration = Duration::from_secs(20);

/// One function and its (lazily started) execution environment.
#[derive(Debug)]
pub struct Function {
    options: SpawnOptions,
    timeout: Duration,
    environment: Mutex<Option<FunctionProcess>>,
}

/// What an invocation gave: the function's JSON answer, or what Lambda reports instead.
#[derive(Debug)]
pub enum Invoked {
    Answer(Value),
    /// The function failed (error posted, crash, timeout, init failure): API Gateway answers
    /// with its own error.
    Failed(HttpAnswer),
}

impl Function {
    /// `name` is both the binary's file name in `bin_dir` and the function name.
    pub fn new(
        bin_dir: &Path,
        name: &str,
        env: &[(String, String)],
        timeout: Duration,
        output: lambda_runner::OutputMode,
    ) -> Self {
        let mut options = SpawnOptions::new(bin_dir.join(name))
            .function_name(name)
            .output(output);
        options.memory_mb = 512;
        for (key, value) in env {
            options = options.env(key.clone(), value.clone());
        }
        Function {
            options,
            timeout,
            environment: Mutex::new(None),
        }
    }

    pub fn name(&self) -> &str {
        &self.options.function_name
    }

    /// Starts the environment now (so the first request does not pay the init).
    pub async fn warm(&self) -> Result<(), RunnerError> {
        let mut slot = self.environment.lock().await;
        if slot.is_none() {
            *slot = Some(self.start().await?);
        }
        Ok(())
    }

    async fn start(&self) -> Result<FunctionProcess, RunnerError> {
        let mut process = FunctionProcess::spawn(self.options.clone()).await?;
        process.wait_ready(INIT_TIMEOUT).await?;
        Ok(process)
    }

    /// Invokes the function with `event`; one at a time, as one environment takes one event.
    pub async fn invoke(&self, event: Value) -> Invoked {
        let mut slot = self.environment.lock().await;
        if slot.is_none() {
            match self.start().await {
                Ok(process) => *slot = Some(process),
                Err(err) => {
                    // The error carries the last lines the function wrote.
                    tracing::error!(function = self.name(), error = %err, "function did not start");
                    return Invoked::Failed(HttpAnswer::gateway(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    ));
                }
            }
        }
        let Some(process) = slot.as_mut() else {
            return Invoked::Failed(HttpAnswer::gateway(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            ));
        };
        match process.invoke(event, self.timeout).await {
            Ok(invocation) => match invocation.outcome {
                Outcome::Response(value) => Invoked::Answer(value),
                Outcome::Error {
                    error_type,
                    error_message,
                } => {
                    tracing::warn!(function = self.name(), %error_type, %error_message, "function error");
                    Invoked::Failed(HttpAnswer::gateway(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    ))
                }
            },
            Err(err) => {
                tracing::error!(function = self.name(), error = %err, "invocation failed; the environment is replaced");
                let timed_out = matches!(err, RunnerError::Timeout { .. });
                if let Some(process) = slot.take() {
                    let _ = process.shutdown().await;
                }
                Invoked::Failed(if timed_out {
                    HttpAnswer::gateway(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
                } else {
                    HttpAnswer::gateway(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                })
            }
        }
    }

    /// Stops the environment's process.
    pub async fn stop(&self) {
        if let Some(process) = self.environment.lock().await.take() {
            let _ = process.shutdown().await;
        }
    }
}
