//! Batch generation that loses nothing: the queued message ([`message`]), the adaptive
//! limit on model calls ([`limiter`], [`pacer`]), idempotent outcomes behind [`store::ResultStore`] (in
//! memory here for tests and benchmarks; DynamoDB in the AWS adapters crate), the jobs queue
//! behind [`queue::JobQueue`], redelivery backoff ([`backoff`]), the submit/read API
//! ([`api`]), async recipes as one-request jobs ([`recipes`]) and who may read a job
//! ([`owner`]). SQS batch processing lives in the Lambda edge crate; nothing here knows about
//! AWS or Lambda.

pub mod api;
pub mod backoff;
pub mod limiter;
pub mod message;
pub mod owner;
pub mod pacer;
pub mod queue;
pub mod recipes;
pub mod store;

pub use api::{read_job, submit, Accepted, JobView};
pub use backoff::{RedeliveryDelay, RetryBackoff};
pub use limiter::{AdaptiveGate, AimdConfig, AimdLimit, LimitPolicy};
pub use message::BatchMessage;
pub use owner::Principal;
pub use pacer::{PacedConfig, PacedLimit};
pub use queue::JobQueue;
pub use store::{InMemoryStore, ResultStore};
