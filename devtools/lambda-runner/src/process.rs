//! One function under test: its Runtime API, its bootstrap process, and the calls that
//! play the Lambda service against it (wait for init, invoke, measure, stop).

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{ExitStatus, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use axum::body::Bytes;
use tokio::{process::Child, task::JoinHandle};

use crate::{
    output::{pump, OutputTail, Sink},
    rss,
    runtime_api::{
        epoch_ms_now, new_request_id, split_prelude, Completion, InitErrorReport, RuntimeApi,
        StreamedPost, HTTP_INTEGRATION_RESPONSE,
    },
    RunnerError,
};

/// Extra time past the deadline before the runner gives up on an invocation, so a
/// function that answers right at its deadline is not counted as timed out.
const DEADLINE_GRACE: Duration = Duration::from_millis(500);

/// How long a function that reported `/init/error` gets to exit by itself.
const INIT_ERROR_EXIT_WAIT: Duration = Duration::from_secs(2);

/// How long to wait for the last output of an exited process to be read.
const OUTPUT_DRAIN_WAIT: Duration = Duration::from_millis(500);

/// Variables passed through from the runner's own environment; everything else is
/// cleared so a developer's shell (real AWS credentials, profiles) never leaks in.
const PASSED_THROUGH: &[&str] = &["PATH", "RUST_LOG", "RUST_BACKTRACE", "LLVM_PROFILE_FILE"];

const DEFAULT_REGION: &str = "us-east-1";

/// Where the function's stdout and stderr go. The last 16 KiB of each are kept in every
/// mode for error reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputMode {
    /// stdout to the runner's stdout, stderr to its stderr.
    Inherit,
    /// Both streams to the runner's stderr, leaving its stdout for results.
    #[default]
    Stderr,
    /// Neither is shown (benchmarks); only the tails are kept.
    Quiet,
}

/// How to start a function, like a Lambda function's configuration.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// The bootstrap binary.
    pub binary: PathBuf,
    /// `AWS_LAMBDA_FUNCTION_NAME`, also used in the invoked function ARN.
    pub function_name: String,
    /// The function's own variables; they override the ones the runner sets.
    pub env: Vec<(String, String)>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (informational, not enforced).
    pub memory_mb: u32,
    pub output: OutputMode,
}

impl SpawnOptions {
    /// Defaults: function name from the binary's file name, 128 MB, output to stderr.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        let binary = binary.into();
        let function_name = binary
            .file_name()
            .and_then(|name| name.to_str())
            .map_or_else(|| "function".to_owned(), str::to_owned);
        Self {
            binary,
            function_name,
            env: Vec::new(),
            memory_mb: 128,
            output: OutputMode::default(),
        }
    }

    /// Adds one function variable.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    #[must_use]
    pub fn function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = name.into();
        self
    }

    #[must_use]
    pub fn output(mut self, output: OutputMode) -> Self {
        self.output = output;
        self
    }

    fn validate(&self) -> Result<(), RunnerError> {
        let name_ok = (1..=64).contains(&self.function_name.len())
            && self
                .function_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(RunnerError::InvalidOption(format!(
                "function name {:?} must be 1-64 letters, digits, '-' or '_'",
                self.function_name
            )));
        }
        if !(128..=10_240).contains(&self.memory_mb) {
            return Err(RunnerError::InvalidOption(format!(
                "memory {} MB is outside Lambda's 128-10240 MB",
                self.memory_mb
            )));
        }
        if let Some((key, _)) = self
            .env
            .iter()
            .find(|(key, _)| key.is_empty() || key.contains('='))
        {
            return Err(RunnerError::InvalidOption(format!(
                "environment variable name {key:?} is invalid"
            )));
        }
        Ok(())
    }

    fn configured(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The environment Lambda would give this function, before the caller's overrides.
    fn lambda_environment(&self, runtime_api: SocketAddr) -> Vec<(String, String)> {
        let region = self.configured("AWS_REGION").unwrap_or(DEFAULT_REGION);
        let task_root = self
            .binary
            .parent()
            .map_or_else(String::new, |dir| dir.display().to_string());
        let fixed: [(&str, String); 17] = [
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", self.function_name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            ),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.function_name),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "local/[$LATEST]lambda-runner".to_owned(),
            ),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
            ("AWS_REGION", region.to_owned()),
            ("AWS_DEFAULT_REGION", region.to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("LAMBDA_TASK_ROOT", task_root),
            ("_HANDLER", "bootstrap".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
        ];
        fixed
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect()
    }
}

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function posted `/response` with this JSON document.
    Response(serde_json::Value),
    /// The function posted `/error`.
    Error {
        error_type: String,
        error_message: String,
    },
}

/// A response the function posted in the Runtime API's streaming mode.
#[derive(Debug, Clone)]
pub struct StreamedResponse {
    /// The HTTP status and headers from the prelude (`statusCode`, `headers`, `cookies`);
    /// `None` when the response was not an http-integration-response.
    pub prelude: Option<serde_json::Value>,
    /// The content type of the post itself (`application/vnd.awslambda.http-integration-response`).
    pub content_type: Option<String>,
    /// The body after the prelude.
    pub body: Bytes,
    /// `(offset in body, time since the event was handed out)` for each chunk as it arrived.
    pub arrivals: Vec<(usize, Duration)>,
    /// `(error type, error body)` reported in the trailers after part of the body was sent.
    pub trailer_error: Option<(String, String)>,
}

impl StreamedResponse {
    /// When the body byte at `offset` arrived, counted from the moment the event was handed out.
    pub fn arrival_of(&self, offset: usize) -> Option<Duration> {
        self.arrivals
            .iter()
            .take_while(|(start, _)| *start <= offset)
            .last()
            .filter(|_| offset < self.body.len())
            .map(|(_, after)| *after)
    }

    /// When the first body byte arrived.
    pub fn first_byte_after(&self) -> Option<Duration> {
        self.arrival_of(0)
    }

    /// The prelude's `statusCode` (200 when the prelude gives none, as Lambda does).
    pub fn status_code(&self) -> u16 {
        self.prelude
            .as_ref()
            .and_then(|p| p.get("statusCode"))
            .and_then(serde_json::Value::as_u64)
            .and_then(|code| u16::try_from(code).ok())
            .unwrap_or(200)
    }

    fn from_post(post: StreamedPost, handed_out_at: Instant) -> Result<Self, String> {
        let mut all = Vec::new();
        let mut spans = Vec::with_capacity(post.chunks.len());
        for chunk in &post.chunks {
            let start = all.len();
            all.extend_from_slice(&chunk.bytes);
            spans.push((
                start,
                all.len(),
                chunk.at.saturating_duration_since(handed_out_at),
            ));
        }
        let is_http = post
            .content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with(HTTP_INTEGRATION_RESPONSE));
        let (prelude, body_at) = if is_http {
            let (prelude, body_at) = split_prelude(&all)
                .ok_or("the http-integration-response has no prelude delimiter (8 NUL bytes)")?;
            let prelude: serde_json::Value = serde_json::from_slice(prelude)
                .map_err(|e| format!("the response prelude is not JSON: {e}"))?;
            (Some(prelude), body_at)
        } else {
            (None, 0)
        };
        // Only chunks that carried body bytes count; one that ended the prelude and began
        // the body starts at body offset 0.
        let arrivals = spans
            .into_iter()
            .filter(|(_, end, _)| *end > body_at)
            .map(|(start, _, after)| (start.max(body_at) - body_at, after))
            .collect();
        Ok(StreamedResponse {
            prelude,
            content_type: post.content_type,
            body: Bytes::from(all.split_off(body_at)),
            arrivals,
            trailer_error: post.trailer_error,
        })
    }
}

/// One completed invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub outcome: Outcome,
    /// From the moment `/next` handed the event out to the moment the answer was posted.
    pub round_trip: Duration,
    /// The exact bytes the function posted (response body or error document; for a
    /// streamed response, the body after its prelude).
    pub raw_body: Bytes,
    /// Set when the response was posted in the streaming mode. Its outcome is then
    /// `Response({"statusCode", "headers", "body"})` as a function URL would answer, or
    /// `Error` when the trailers reported one.
    pub stream: Option<StreamedResponse>,
}

/// A function's bootstrap process together with the Runtime API it talks to. Dropping it
/// kills the process.
#[derive(Debug)]
pub struct FunctionProcess {
    child: Child,
    pid: u32,
    api: RuntimeApi,
    spawned_at: Instant,
    ready_after: Option<Duration>,
    exit_status: Option<ExitStatus>,
    stdout_tail: Arc<OutputTail>,
    stderr_tail: Arc<OutputTail>,
    pumps: Vec<JoinHandle<()>>,
}

impl FunctionProcess {
    /// Starts the Runtime API and the bootstrap binary; returns at once (see [`Self::wait_ready`]).
    pub async fn spawn(options: SpawnOptions) -> Result<Self, RunnerError> {
        options.validate()?;
        let region = options.configured("AWS_REGION").unwrap_or(DEFAULT_REGION);
        let arn = format!(
            "arn:aws:lambda:{region}:000000000000:function:{}",
            options.function_name
        );
        let api = RuntimeApi::start(&arn).await?;

        // The process runs in its binary's directory (as Lambda runs in /var/task), so a
        // relative path must be resolved before the working directory changes.
        let program =
            std::path::absolute(&options.binary).map_err(|source| RunnerError::Spawn {
                binary: options.binary.clone(),
                source,
            })?;
        let mut command = tokio::process::Command::new(&program);
        command.env_clear();
        for key in PASSED_THROUGH {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        command
            .envs(options.lambda_environment(api.addr()))
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = options
            .binary
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
        {
            command.current_dir(dir);
        }
        let spawned_at = Instant::now();
        let mut child = command.spawn().map_err(|source| RunnerError::Spawn {
            binary: options.binary.clone(),
            source,
        })?;
        let pid = child.id().ok_or_else(|| RunnerError::ProcessExited {
            exit_status: None,
            stderr_tail: String::new(),
        })?;

        let (stdout_sink, stderr_sink) = match options.output {
            OutputMode::Inherit => (Sink::Stdout, Sink::Stderr),
            OutputMode::Stderr => (Sink::Stderr, Sink::Stderr),
            OutputMode::Quiet => (Sink::Discard, Sink::Discard),
        };
        let stdout_tail = Arc::new(OutputTail::default());
        let stderr_tail = Arc::new(OutputTail::default());
        let mut pumps = Vec::with_capacity(2);
        if let Some(stdout) = child.stdout.take() {
            pumps.push(tokio::spawn(pump(
                stdout,
                stdout_sink,
                Arc::clone(&stdout_tail),
            )));
        }
        if let Some(stderr) = child.stderr.take() {
            pumps.push(tokio::spawn(pump(
                stderr,
                stderr_sink,
                Arc::clone(&stderr_tail),
            )));
        }
        Ok(Self {
            child,
            pid,
            api,
            spawned_at,
            ready_after: None,
            exit_status: None,
            stdout_tail,
            stderr_tail,
            pumps,
        })
    }

    /// Waits until the function first asks for an event and returns the time since spawn
    /// (its init duration). A function that posts `/init/error` or exits first gives
    /// [`RunnerError::InitFailed`].
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Duration, RunnerError> {
        if let Some(ready_after) = self.ready_after {
            return Ok(ready_after);
        }
        if self.exit_status.is_some() {
            return Err(self.init_failed(None).await);
        }
        enum Event {
            Polled(Option<Instant>),
            InitError(Option<InitErrorReport>),
            Exited(std::io::Result<ExitStatus>),
            TimedOut,
        }
        let mut first_poll = self.api.first_poll();
        let mut init_error = self.api.init_error();
        let event = tokio::select! {
            biased;
            report = init_error.wait_for(Option::is_some) => Event::InitError(report.ok().and_then(|r| r.clone())),
            polled = first_poll.wait_for(Option::is_some) => Event::Polled(polled.ok().and_then(|p| *p)),
            status = self.child.wait() => Event::Exited(status),
            () = tokio::time::sleep(timeout) => Event::TimedOut,
        };
        match event {
            Event::Polled(Some(at)) => {
                let ready_after = at.saturating_duration_since(self.spawned_at);
                self.ready_after = Some(ready_after);
                Ok(ready_after)
            }
            Event::InitError(report) => {
                // Lambda stops an environment whose init failed; give it a moment to exit
                // on its own so its exit status can be reported.
                match tokio::time::timeout(INIT_ERROR_EXIT_WAIT, self.child.wait()).await {
                    Ok(Ok(status)) => self.exit_status = Some(status),
                    Ok(Err(_)) | Err(_) => self.stop().await,
                }
                Err(self.init_failed(report).await)
            }
            Event::Exited(status) => {
                self.exit_status = Some(status?);
                Err(self.init_failed(None).await)
            }
            Event::Polled(None) | Event::TimedOut => {
                Err(RunnerError::InitTimeout { after: timeout })
            }
        }
    }

    async fn init_failed(&mut self, report: Option<InitErrorReport>) -> RunnerError {
        self.drain_output().await;
        let report = report.or_else(|| self.api.init_error().borrow().clone());
        let (error_type, message) = match report {
            Some(report) => (report.error_type, report.message),
            None => (
                None,
                format!(
                    "process exited ({}) before asking for an event",
                    self.exit_status
                        .map_or_else(|| "status unknown".to_owned(), |s| s.to_string())
                ),
            ),
        };
        RunnerError::InitFailed {
            error_type,
            message,
            exit_status: self.exit_status,
            stderr_tail: self.stderr_tail.text(),
        }
    }

    /// Invokes the function with a JSON event; the deadline is now + `timeout`.
    pub async fn invoke(
        &mut self,
        event: serde_json::Value,
        timeout: Duration,
    ) -> Result<Invocation, RunnerError> {
        let body = serde_json::to_vec(&event).map_err(RunnerError::InvalidEvent)?;
        self.invoke_bytes(body, timeout).await
    }

    /// Invokes the function with these exact bytes as the event (they must be JSON).
    pub async fn invoke_bytes(
        &mut self,
        event: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Invocation, RunnerError> {
        let deadline_ms =
            epoch_ms_now().saturating_add(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        self.invoke_with_deadline_header(event, deadline_ms, timeout)
            .await
    }

    /// Invokes the function sending `deadline_header_ms` as `Lambda-Runtime-Deadline-Ms` as
    /// is (a past or relative value, as some emulators send), waiting up to `timeout`.
    pub async fn invoke_with_deadline_header(
        &mut self,
        event: impl Into<Bytes>,
        deadline_header_ms: u64,
        timeout: Duration,
    ) -> Result<Invocation, RunnerError> {
        let event = event.into();
        serde_json::from_slice::<serde::de::IgnoredAny>(&event)
            .map_err(RunnerError::InvalidEvent)?;
        if self.exit_status.is_some() {
            return Err(self.process_exited().await);
        }
        let request_id = new_request_id();
        let deadline_ms = deadline_header_ms;
        let mut completed = self.api.enqueue(&request_id, event, deadline_ms);

        enum Event {
            Completed(Option<crate::runtime_api::Completed>),
            Exited(std::io::Result<ExitStatus>),
            TimedOut,
        }
        let event = tokio::select! {
            biased;
            done = &mut completed => Event::Completed(done.ok()),
            status = self.child.wait() => Event::Exited(status),
            () = tokio::time::sleep(timeout.saturating_add(DEADLINE_GRACE)) => Event::TimedOut,
        };
        let done = match event {
            Event::Completed(Some(done)) => done,
            Event::Completed(None) => {
                self.api.forget(&request_id);
                return Err(self.process_exited().await);
            }
            Event::Exited(status) => {
                self.api.forget(&request_id);
                self.exit_status = Some(status?);
                return Err(self.process_exited().await);
            }
            Event::TimedOut => {
                self.api.forget(&request_id);
                // Lambda tears down an environment whose invocation timed out.
                self.stop().await;
                return Err(RunnerError::Timeout {
                    request_id,
                    after: timeout,
                });
            }
        };
        let round_trip = done.posted_at.saturating_duration_since(done.handed_out_at);
        let mut stream = None;
        let (outcome, raw_body) = match done.completion {
            Completion::Streamed(post) => {
                if let Some(reason) = post.broken.clone() {
                    return Err(RunnerError::InvalidStream {
                        request_id: request_id.clone(),
                        reason,
                    });
                }
                let streamed =
                    StreamedResponse::from_post(post, done.handed_out_at).map_err(|reason| {
                        RunnerError::InvalidStream {
                            request_id: request_id.clone(),
                            reason,
                        }
                    })?;
                let outcome = match &streamed.trailer_error {
                    Some((error_type, error_message)) => Outcome::Error {
                        error_type: error_type.clone(),
                        error_message: error_message.clone(),
                    },
                    None => Outcome::Response(serde_json::json!({
                        "statusCode": streamed.status_code(),
                        "headers": streamed.prelude.as_ref().and_then(|p| p.get("headers")).cloned().unwrap_or_else(|| serde_json::json!({})),
                        "body": String::from_utf8_lossy(&streamed.body),
                    })),
                };
                let raw = streamed.body.clone();
                stream = Some(streamed);
                (outcome, raw)
            }
            Completion::Response(body) => {
                let value = serde_json::from_slice(&body).map_err(|source| {
                    RunnerError::InvalidResponse {
                        request_id: request_id.clone(),
                        source,
                    }
                })?;
                (Outcome::Response(value), body)
            }
            Completion::Error {
                error_type,
                error_message,
                body,
            } => (
                Outcome::Error {
                    error_type,
                    error_message,
                },
                body,
            ),
        };
        Ok(Invocation {
            request_id,
            outcome,
            round_trip,
            raw_body,
            stream,
        })
    }

    async fn process_exited(&mut self) -> RunnerError {
        self.drain_output().await;
        RunnerError::ProcessExited {
            exit_status: self.exit_status,
            stderr_tail: self.stderr_tail.text(),
        }
    }

    /// Lets the output pumps read what an exited process left in its pipes.
    async fn drain_output(&mut self) {
        for pump in &mut self.pumps {
            let _ = tokio::time::timeout(OUTPUT_DRAIN_WAIT, pump).await;
        }
        self.pumps.retain(|pump| !pump.is_finished());
    }

    /// Kills the process if it still runs and records how it ended.
    async fn stop(&mut self) {
        if self.exit_status.is_none() {
            let _ = self.child.start_kill();
            if let Ok(status) = self.child.wait().await {
                self.exit_status = Some(status);
            }
        }
    }

    /// CPU time the process's threads have used so far (Linux only), in nanoseconds.
    pub fn cpu_time_ns(&self) -> Option<u64> {
        if self.exit_status.is_some() {
            return None;
        }
        rss::cpu_time_ns(self.pid)
    }

    /// Peak resident memory of the process so far (`VmHWM`, Linux only), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        if self.exit_status.is_some() {
            return None;
        }
        rss::peak_rss_kib(self.pid)
    }

    /// Stops the process (SIGKILL, as Lambda does after its shutdown window) and returns
    /// how it ended.
    pub async fn shutdown(mut self) -> Result<ExitStatus, RunnerError> {
        if let Some(status) = self.exit_status {
            return Ok(status);
        }
        self.child.start_kill()?;
        Ok(self.child.wait().await?)
    }

    /// The operating-system process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `host:port` of the Runtime API, as given in `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api_addr(&self) -> SocketAddr {
        self.api.addr()
    }

    /// The init duration once [`Self::wait_ready`] succeeded.
    pub fn ready_after(&self) -> Option<Duration> {
        self.ready_after
    }

    /// The last 16 KiB the function wrote to stdout.
    pub fn stdout_tail(&self) -> String {
        self.stdout_tail.text()
    }

    /// The last 16 KiB the function wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        self.stderr_tail.text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_binary_name() {
        let options = SpawnOptions::new("target/release/generate-recipe");
        assert_eq!(options.function_name, "generate-recipe");
        assert_eq!(options.memory_mb, 128);
        assert!(options.validate().is_ok());
    }

    #[test]
    fn rejects_what_lambda_would_reject() {
        let bad_name = SpawnOptions::new("x").function_name("has space");
        assert!(matches!(
            bad_name.validate(),
            Err(RunnerError::InvalidOption(_))
        ));
        let mut tiny = SpawnOptions::new("x");
        tiny.memory_mb = 64;
        assert!(tiny.validate().is_err());
        let bad_env = SpawnOptions::new("x").env("A=B", "c");
        assert!(bad_env.validate().is_err());
    }

    #[test]
    fn region_override_reaches_both_region_variables() {
        let options = SpawnOptions::new("bin/f").env("AWS_REGION", "ap-northeast-2");
        let env = options.lambda_environment(SocketAddr::from(([127, 0, 0, 1], 9001)));
        let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        assert_eq!(get("AWS_REGION"), Some("ap-northeast-2"));
        assert_eq!(get("AWS_DEFAULT_REGION"), Some("ap-northeast-2"));
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:9001"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_VERSION"), Some("$LATEST"));
        assert_eq!(get("LAMBDA_TASK_ROOT"), Some("bin"));
    }
}
