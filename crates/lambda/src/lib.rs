//! AI Chef's Lambda edge: what the three functions need around the core. Events are
//! classified and turned into checked requests ([`http`]), each function's handler answers
//! them ([`handlers`]), [`app`] wires configuration and the AWS adapters once per container,
//! and [`telemetry`] sets up JSON logs. The SQS worker that runs queued generations is
//! `dispatch` (feature `jobs`).

pub mod app;
#[cfg(feature = "jobs")]
pub mod dispatch;
pub mod handlers;
pub mod http;
pub mod runtime_deadline;
pub mod telemetry;
