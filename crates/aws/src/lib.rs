//! AI Chef's AWS adapters: each trait the core defines for I/O, implemented over the AWS SDK
//! for Rust. Endpoints, region and credentials come from the SDK's own environment handling
//! (`AWS_ENDPOINT_URL_*` points the clients at the local emulator and moto in tests).
//!
//! - [`bedrock`]: `ChatModelClient` / `EmbeddingClient` over `InvokeModel`, and the shared SDK
//!   configuration (standard retries, timeouts)
//! - [`cloudwatch`]: the `PutMetricData` metrics sink
//! - [`trust`]: the TLS trust roots (the system CA bundle file, without the directory scan)
//! - `dynamo` (feature `dynamodb`): the batch and async results store
//! - `sqs` (feature `sqs`): the jobs queue

pub mod bedrock;
pub mod cloudwatch;
#[cfg(feature = "dynamodb")]
pub mod dynamo;
#[cfg(feature = "sqs")]
pub mod sqs;
pub mod trust;
