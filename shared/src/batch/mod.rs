//! Batch generation that loses nothing: the queued message ([`message`]), the adaptive
//! concurrency limit ([`limiter`]), idempotent outcomes behind [`store::ResultStore`] (DynamoDB
//! in [`dynamo`], in memory for tests and benchmarks), the jobs queue behind
//! [`queue::JobQueue`], SQS batch processing ([`dispatch`]) with redelivery backoff
//! ([`backoff`]), the submit/read API ([`api`]), async recipes as one-request jobs
//! ([`recipes`]) and who may read a job ([`owner`]). Nothing here knows about Lambda events
//! beyond the SQS record type.

pub mod api;
pub mod backoff;
pub mod dispatch;
pub mod dynamo;
pub mod limiter;
pub mod message;
pub mod owner;
pub mod queue;
pub mod recipes;
pub mod store;

pub use api::{read_job, submit, Accepted, JobView};
pub use backoff::{RedeliveryDelay, RetryBackoff};
pub use dispatch::{BatchSummary, Dispatcher, RecordOutcome, Redelivery, RetryReason};
pub use dynamo::DynamoResultStore;
pub use limiter::{AdaptiveGate, AimdConfig, AimdLimit};
pub use message::BatchMessage;
pub use owner::Principal;
pub use queue::{JobQueue, SqsJobQueue};
pub use store::{InMemoryStore, ResultStore};
