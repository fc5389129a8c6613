//! A local stand-in for the AWS Lambda service, for demos, integration tests and benchmarks.
//!
//! [`FunctionProcess::spawn`] starts a Runtime API server on `127.0.0.1`, launches a
//! function's bootstrap binary with the `AWS_LAMBDA_*` environment the real service sets,
//! and then plays Lambda: [`FunctionProcess::invoke`] queues an event, the function fetches
//! it with `GET /2018-06-01/runtime/invocation/next` and answers on `/response` or `/error`.
//! Timings (init, round trip) and the process's peak memory are measured along the way.

mod error;
mod output;
mod process;
mod rss;
mod runtime_api;
pub mod stats;
pub mod vary;

pub use error::RunnerError;
pub use process::{
    FunctionProcess, Invocation, Outcome, OutputMode, SpawnOptions, StreamedResponse,
};
pub use rss::parse_vm_hwm_kib;
