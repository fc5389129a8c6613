//! A local Amazon Bedrock Runtime emulator for tests and demos: the real AWS SDK for Rust
//! pointed at it (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:PORT`) gets the real
//! wire format for Claude (Messages API, `InvokeModel` and `InvokeModelWithResponseStream`,
//! forced tool use, prompt caching) and Titan text embeddings, built-in diet recipes as
//! Claude's answers, modelled latency per model family (optionally waited out, scaled), and
//! switchable faults (errors, throttling quotas, latency, broken output, recipe rule
//! violations, broken connections, mid-stream exceptions).
//!
//! ```no_run
//! # async fn demo() -> Result<(), bedrock_emulator::StartError> {
//! use bedrock_emulator::{Emulator, EmulatorOptions};
//! let emulator = Emulator::start(EmulatorOptions::default()).await?;
//! std::env::set_var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.endpoint());
//! # Ok(()) }
//! ```

pub mod allergy;
pub mod answer;
pub mod cache;
pub mod claude;
pub mod error;
pub mod faults;
pub mod latency;
pub mod model;
pub mod recipes;
pub mod server;
pub mod stats;
pub mod stream;
pub mod titan;
pub mod tokens;

pub use error::{BedrockError, ErrorKind};
pub use faults::{
    ErrorFault, FaultPlan, OutputFault, OutputMode, PlanError, Scope, StreamErrorFault,
    StreamErrorKind, TransportFault, TransportKind, Violation, ViolationFault,
};
pub use latency::{LatencyProfile, TimeScale};
pub use recipes::{Recipe, RecipeRequest};
pub use server::{Emulator, EmulatorOptions, StartError};
pub use stats::Stats;
