//! JSON logs through `tracing`, one subscriber per process. The runtime's per-invocation span
//! carries the request id, and `with_current_span` puts it on every line.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber (level from `RUST_LOG`, default `info`). Logs go to stderr so
/// that stdout carries only Embedded Metric Format lines.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
}
