//! [`ChatModelClient`] and [`EmbeddingClient`] over the AWS SDK's `InvokeModel` (and
//! `InvokeModelWithResponseStream` for streamed answers).
//!
//! Retries are the SDK's own (standard mode, attempts and backoff set explicitly in
//! [`sdk_config`]); each call is additionally bounded by the time left before the Lambda
//! deadline through a per-operation timeout override, so no attempt outlives the invocation.

use ai_chef::bedrock::stream::StreamedAnswer;
use ai_chef::bedrock::wire::{
    ClaudeRequest, ClaudeResponse, MessageContent, StopReason, SystemPrompt, TextBlock,
    TitanResponse, TitanV1Request, TitanV2Request, Tool, ToolChoice, WireMessage,
    ANTHROPIC_VERSION,
};
use ai_chef::bedrock::{
    ChatModelClient, ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, EmbeddingClient,
    ModelCallError, OutputProgress,
};
use ai_chef::error::ModelFailure;
use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelError;
use aws_sdk_bedrockruntime::operation::invoke_model_with_response_stream::InvokeModelWithResponseStreamError;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::error::ResponseStreamError;
use aws_sdk_bedrockruntime::types::ResponseStream;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;
use std::time::{Duration, Instant};

/// The same value everywhere, so every call shares one cached HTTP client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The one HTTP client every SDK client uses: hyper with rustls on ring. The SDK's default
/// client brings aws-lc (a large C library); ring keeps the bootstrap smaller and the core's
/// fuzz targets free of it. Trust roots: [`crate::trust::trust_store`] (the system bundle file
/// without the native loader's directory scan).
pub fn https_client() -> SharedHttpClient {
    let tls = aws_smithy_http_client::tls::TlsContext::builder()
        .with_trust_store(crate::trust::trust_store())
        .build();
    let builder = aws_smithy_http_client::Builder::new().tls_provider(
        aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ),
    );
    SharedHttpClient::new(WarmOnce::new(
        match tls {
            Ok(context) => builder.tls_context(context),
            Err(err) => {
                tracing::warn!(error = %err, "TLS context rejected; using the SDK's default");
                builder
            }
        }
        .build_https(),
    ))
}

/// An HTTP client that warms its inner client once per process. The SDK's hyper client builds
/// a throwaway TLS connector (the trust roots parsed into a root store)
/// in `validate_base_client_config`, so that they load at start rather than on the first
/// request; that hook runs for every SDK client built on it, and generate-recipe and
/// batch-dispatcher build three (Bedrock, DynamoDB, SQS). The first warm-up does all the
/// loading; the others only repeated it. Connectors themselves come from the inner client.
#[derive(Debug)]
struct WarmOnce {
    inner: SharedHttpClient,
    warmed: std::sync::atomic::AtomicBool,
}

impl WarmOnce {
    fn new(inner: SharedHttpClient) -> WarmOnce {
        WarmOnce {
            inner,
            warmed: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl HttpClient for WarmOnce {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    fn validate_base_client_config(
        &self,
        runtime_components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        if self.warmed.load(std::sync::atomic::Ordering::Acquire) {
            return Ok(());
        }
        self.inner
            .validate_base_client_config(runtime_components, cfg)?;
        self.warmed
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    fn validate_final_config(
        &self,
        runtime_components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_final_config(runtime_components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

/// Loads the shared SDK configuration once per container: region, credentials and the
/// `AWS_ENDPOINT_URL*` overrides come from the environment as the SDK defines them.
pub async fn sdk_config(max_attempts: u32) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    // Lambda puts the execution role's credentials and the region in the environment, where
    // the default chains look first. Taking them from there directly spares every start the
    // building of the rest of both chains (profile files, web identity and STS, ECS and IMDS
    // clients); without them (a developer's machine) the default chains apply as before.
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    if let Some(region) = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    {
        loader = loader.region(aws_config::Region::new(region));
    }
    loader
        .http_client(https_client())
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

/// The SDK configuration for the batch's model calls: one attempt per call, so that every
/// throttle reaches the adaptive limit at once (the SDK's hidden retries would keep it from
/// ever seeing most of them); the dispatcher retries passing failures itself under the lowered
/// limit (its `LOCAL_RETRIES`). The table and queue clients keep the SDK's standard retries.
pub fn model_sdk_config(sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    sdk.to_builder()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .build()
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
        let call = self
            .client
            .invoke_model()
            .model_id(model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body))
            .customize()
            .config_override(call_timeouts(timeout))
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

/// The per-call override: the operation (SDK retries included) ends within `timeout`.
fn call_timeouts(timeout: Duration) -> aws_sdk_bedrockruntime::config::Builder {
    aws_sdk_bedrockruntime::config::Builder::default().timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_timeout(timeout)
            .operation_attempt_timeout(timeout)
            .build(),
    )
}

/// A Bedrock error code (the exception's name) as a [`ModelFailure`]; the streaming
/// operation and its mid-stream errors are classified by the same names as `InvokeModel`.
fn failure_for_code(code: Option<&str>) -> ModelFailure {
    // Mid-stream exception events name their type in lower camel case
    // (`modelStreamErrorException`), operation errors in upper camel case.
    let code = code.unwrap_or_default();
    let mut chars = code.chars();
    let code: String = match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    };
    match code.as_str() {
        "ThrottlingException" => ModelFailure::Throttling,
        "ServiceQuotaExceededException" => ModelFailure::ServiceQuotaExceeded,
        "ModelNotReadyException" => ModelFailure::ModelNotReady,
        "ModelTimeoutException" => ModelFailure::ModelTimeout,
        "ServiceUnavailableException" => ModelFailure::ServiceUnavailable,
        "InternalServerException" => ModelFailure::InternalServer,
        "ValidationException" => ModelFailure::Validation,
        "AccessDeniedException" => ModelFailure::AccessDenied,
        "ResourceNotFoundException" => ModelFailure::ResourceNotFound,
        "ModelErrorException" | "ModelStreamErrorException" => ModelFailure::ModelError,
        other if other.contains("Throttl") => ModelFailure::Throttling,
        _ => ModelFailure::Unknown,
    }
}

/// Maps an exception event inside the stream; the modelled variants are matched by type
/// (their error metadata may carry no code).
fn classify_stream_event<R: std::fmt::Debug>(
    err: SdkError<ResponseStreamError, R>,
) -> ModelCallError {
    let SdkError::ServiceError(service) = err else {
        return classify_streaming(err);
    };
    let err = service.into_err();
    let message = err.message().unwrap_or("no message").to_owned();
    let failure = match &err {
        ResponseStreamError::ModelStreamErrorException(_) => ModelFailure::ModelError,
        ResponseStreamError::ThrottlingException(_) => ModelFailure::Throttling,
        ResponseStreamError::InternalServerException(_) => ModelFailure::InternalServer,
        ResponseStreamError::ModelTimeoutException(_) => ModelFailure::ModelTimeout,
        ResponseStreamError::ServiceUnavailableException(_) => ModelFailure::ServiceUnavailable,
        ResponseStreamError::ValidationException(_) => ModelFailure::Validation,
        other => failure_for_code(other.code()),
    };
    ModelCallError::new(failure, message)
}

/// Maps an SDK error of the streaming operation (or of one of its events) like [`classify`].
fn classify_streaming<E, R>(err: SdkError<E, R>) -> ModelCallError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::TimeoutError(_) => ModelCallError {
            failure: ModelFailure::Transport,
            message: "the call timed out".to_owned(),
            timed_out: true,
            latency: Duration::ZERO,
        },
        SdkError::DispatchFailure(e) => ModelCallError {
            failure: ModelFailure::Transport,
            message: format!(
                "could not reach Bedrock: {:?}",
                e.as_connector_error().map(|c| c.to_string())
            ),
            timed_out: e.is_timeout(),
            latency: Duration::ZERO,
        },
        SdkError::ServiceError(service) => {
            let err = service.into_err();
            let message = err.message().unwrap_or("no message").to_owned();
            ModelCallError::new(failure_for_code(err.code()), message)
        }
        other => ModelCallError::new(ModelFailure::Transport, other.to_string()),
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

#[async_trait]
impl ChatModelClient for BedrockClient {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelCallError> {
        let body = encode_claude_body(request)?;
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

    async fn chat_streamed(
        &self,
        request: &ChatRequest,
        on_output: OutputProgress<'_>,
    ) -> Result<ChatResponse, ModelCallError> {
        let body = encode_claude_body(request)?;
        let started = Instant::now();
        let timeout = request.timeout;
        let call = async {
            let output = self
                .client
                .invoke_model_with_response_stream()
                .model_id(&request.model_id)
                .content_type("application/json")
                .accept("application/json")
                .body(Blob::new(body))
                .customize()
                .config_override(call_timeouts(timeout))
                .send()
                .await
                .map_err(classify_streaming::<InvokeModelWithResponseStreamError, _>)?;
            let mut events = output.body;
            let mut answer = StreamedAnswer::default();
            while let Some(event) = events.recv().await.map_err(classify_stream_event)? {
                let ResponseStream::Chunk(part) = event else {
                    continue;
                };
                let Some(bytes) = part.bytes else { continue };
                answer
                    .push(bytes.as_ref())
                    .map_err(|e| ModelCallError::new(ModelFailure::ModelError, e.to_string()))?;
                on_output(answer.output_tokens());
            }
            Ok::<_, ModelCallError>(answer)
        };
        // The SDK's operation timeout ends when the stream opens; reading the events is
        // bounded here, by the same budget.
        let outcome = tokio::time::timeout(timeout + Duration::from_millis(50), call).await;
        let latency = started.elapsed();
        match outcome {
            Err(_) => Err(ModelCallError {
                failure: ModelFailure::Transport,
                message: format!(
                    "the streamed answer did not end within {} ms",
                    timeout.as_millis()
                ),
                timed_out: true,
                latency,
            }),
            Ok(Err(mut err)) => {
                err.latency = latency;
                Err(err)
            }
            Ok(Ok(answer)) => Ok(answer.finish(latency)),
        }
    }
}

fn encode_claude_body(request: &ChatRequest) -> Result<Vec<u8>, ModelCallError> {
    serde_json::to_vec(&claude_body(request)).map_err(|e| {
        ModelCallError::new(
            ModelFailure::Unknown,
            format!("could not encode the request: {e}"),
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Counts the warm-ups that reach the client under [`WarmOnce`].
    #[derive(Debug)]
    struct CountingClient {
        inner: SharedHttpClient,
        warm_ups: Arc<AtomicUsize>,
    }

    impl HttpClient for CountingClient {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.inner.http_connector(settings, components)
        }

        fn validate_base_client_config(
            &self,
            runtime_components: &RuntimeComponentsBuilder,
            cfg: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.warm_ups.fetch_add(1, Ordering::SeqCst);
            self.inner
                .validate_base_client_config(runtime_components, cfg)
        }
    }

    #[tokio::test]
    async fn sdk_clients_on_one_http_client_warm_it_once() {
        let warm_ups = Arc::new(AtomicUsize::new(0));
        let http = SharedHttpClient::new(WarmOnce::new(SharedHttpClient::new(CountingClient {
            inner: aws_smithy_http_client::Builder::new().build_http(),
            warm_ups: warm_ups.clone(),
        })));
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .no_credentials()
            .http_client(http)
            .load()
            .await;
        let _bedrock = BedrockClient::new(&sdk);
        let _again = BedrockClient::new(&model_sdk_config(&sdk));
        let _metrics = crate::cloudwatch::CloudWatchSink::from_sdk(&sdk, "test".to_owned());
        assert_eq!(warm_ups.load(Ordering::SeqCst), 1);

        // Without the wrapper every SDK client repeats the warm-up.
        let unwrapped = Arc::new(AtomicUsize::new(0));
        let sdk = sdk
            .to_builder()
            .http_client(SharedHttpClient::new(CountingClient {
                inner: aws_smithy_http_client::Builder::new().build_http(),
                warm_ups: unwrapped.clone(),
            }))
            .build();
        let _bedrock = BedrockClient::new(&sdk);
        let _again = BedrockClient::new(&model_sdk_config(&sdk));
        let _metrics = crate::cloudwatch::CloudWatchSink::from_sdk(&sdk, "test".to_owned());
        assert_eq!(unwrapped.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn stream_exception_names_map_like_operation_errors() {
        assert_eq!(
            failure_for_code(Some("modelStreamErrorException")),
            ModelFailure::ModelError
        );
        assert_eq!(
            failure_for_code(Some("ThrottlingException")),
            ModelFailure::Throttling
        );
        assert_eq!(
            failure_for_code(Some("throttlingException")),
            ModelFailure::Throttling
        );
        assert_eq!(failure_for_code(None), ModelFailure::Unknown);
    }
}
