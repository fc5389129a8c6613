//! Processing one SQS batch: every record concurrently under the adaptive gate, within the
//! Lambda deadline, answering exactly the messages to retry.
//!
//! Per record: an unparseable body is reported for retry untouched (after `maxReceiveCount`
//! it reaches the dead-letter queue intact). Otherwise the item is claimed first (a stored
//! outcome acknowledges the message with no model call and no write; another live delivery
//! makes this one retry later). An invalid request is stored `failed`. A valid one waits for
//! a permit, starts only if the time left covers a record's expected duration, and its outcome
//! is stored `succeeded`, or `failed` when it can never succeed. The worker's recipe service
//! keeps a throttled record on its requested model ([`FallbackPolicy::NotReadyOnly`]: only a
//! model not ready hands over to the fallback chain), so every throttle reaches the gate as a
//! throttle. A passing failure (throttling, timeout, outage) is first retried within the
//! invocation after a jittered pause (a throttle under the paced gate waits for its next start
//! instead), under the limit the throttle lowered, while time allows; after
//! [`Dispatcher::local_retries`] of them (or when time runs out, or on store trouble) the claim
//! is released and the message reported for retry: a persistent throttle ends in the
//! partial-batch response, never in a lost record. A message reported for retry is made visible
//! again after an exponential delay by its receive count ([`super::backoff`]) when a
//! [`Redelivery`] is given, rather than after the queue's whole visibility timeout.
//!
//! [`FallbackPolicy::NotReadyOnly`]: ai_chef::generate::FallbackPolicy::NotReadyOnly

use ai_chef::batch::api::expires_at;
use ai_chef::batch::backoff::{RedeliveryDelay, RetryBackoff};
use ai_chef::batch::limiter::AdaptiveGate;
use ai_chef::batch::message::{now_ms, BatchMessage};
use ai_chef::batch::store::{Claim, FinalOutcome, Lease, ResultKey, ResultStore};
use ai_chef::deadline::Deadline;
use ai_chef::error::{ModelFailure, ServiceError};
use ai_chef::generate::{RecipeService, MIN_ATTEMPT_BUDGET};
use ai_chef::metrics::MetricsRecorder;
use ai_chef::request::RecipeRequest;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a lease outlives the invocation's deadline: the invocation can no longer write
/// after its deadline, and by then the message is not visible again yet (the visibility
/// timeout is longer than the function timeout), so a crashed holder never blocks for long.
pub const LEASE_SLACK: Duration = Duration::from_secs(30);
/// Default number of passing failures a record retries within one invocation.
pub const LOCAL_RETRIES: u32 = 6;

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    Succeeded,
    /// Stored `failed`: it can never succeed.
    Failed,
    /// Its outcome was stored by an earlier delivery.
    AlreadyDone,
    /// Reported in `batchItemFailures`.
    Retry(RetryReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    Unparseable,
    Busy,
    NoTimeLeft,
    Throttled,
    Transient,
    Store,
}

/// Tallies of one batch, logged at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSummary {
    pub succeeded: u32,
    pub failed: u32,
    pub already_done: u32,
    pub retried: u32,
    pub throttled: u32,
}

/// What processing needs, borrowed from the app.
#[derive(Clone, Copy)]
pub struct Dispatcher<'a> {
    pub service: &'a RecipeService,
    pub store: &'a dyn ResultStore,
    pub gate: &'a AdaptiveGate,
    pub metrics: &'a MetricsRecorder,
    pub deadline: Deadline,
    pub ttl_days: u32,
    /// Passing failures retried within the invocation before the queue retries the message.
    pub local_retries: u32,
    /// How retried messages come back; `None` leaves it to the queue's visibility timeout.
    pub redelivery: Option<Redelivery<'a>>,
}

/// The queue and the delays for messages reported for retry.
#[derive(Clone, Copy)]
pub struct Redelivery<'a> {
    pub queue: &'a dyn RedeliveryDelay,
    pub backoff: RetryBackoff,
}

impl std::fmt::Debug for Redelivery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redelivery")
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

/// The receive count SQS attached to a record (1 when absent or unreadable).
pub fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

impl std::fmt::Debug for Dispatcher<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("gate", &self.gate.snapshot())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Dispatcher<'_> {
    /// Processes every record; the response lists exactly the messages to retry.
    pub async fn run(&self, records: &[SqsMessage]) -> (SqsBatchResponse, BatchSummary) {
        let mut work: FuturesUnordered<_> = records
            .iter()
            .map(|record| async move { (record, self.process(record).await) })
            .collect();
        let mut response = SqsBatchResponse::default();
        let mut summary = BatchSummary::default();
        let mut retried: Vec<&SqsMessage> = Vec::new();
        while let Some((record, outcome)) = work.next().await {
            match outcome {
                RecordOutcome::Succeeded => summary.succeeded += 1,
                RecordOutcome::Failed => summary.failed += 1,
                RecordOutcome::AlreadyDone => summary.already_done += 1,
                RecordOutcome::Retry(reason) => {
                    summary.retried += 1;
                    if reason == RetryReason::Throttled {
                        summary.throttled += 1;
                    }
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = record.message_id.clone().unwrap_or_default();
                    response.batch_item_failures.push(failure);
                    retried.push(record);
                }
            }
        }
        if let Some(redelivery) = self.redelivery {
            futures::future::join_all(retried.into_iter().map(|record| delay(redelivery, record)))
                .await;
        }
        (response, summary)
    }

    /// One record, start to end; never panics, never loses the message.
    pub async fn process(&self, record: &SqsMessage) -> RecordOutcome {
        let message_id = record.message_id.as_deref().unwrap_or_default();
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .map(String::as_str)
            .unwrap_or("?");
        let message = match BatchMessage::parse(record.body.as_deref()) {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(message_id, receive_count, error = %err, "unparseable batch message; retried until the dead-letter queue takes it");
                return RecordOutcome::Retry(RetryReason::Unparseable);
            }
        };
        let key = ResultKey {
            job_id: message.job_id.clone(),
            request_id: message.request_id.clone(),
        };
        let span = tracing::info_span!("record", job_id = %key.job_id, request_id = %key.request_id, message_id, receive_count);
        let _entered = span.enter();
        let owner = format!("{message_id}/{}", uuid::Uuid::new_v4().simple());
        let now = now_ms();
        let lease = Lease {
            owner: owner.clone(),
            until_ms: now
                + self.deadline.remaining().as_millis() as u64
                + LEASE_SLACK.as_millis() as u64,
            expires_at: expires_at(now, self.ttl_days),
        };
        match self.store.claim(&key, &lease, now).await {
            Ok(Claim::Claimed { attempts }) => tracing::debug!(attempts, "claimed"),
            Ok(Claim::Done(status)) => {
                tracing::info!(
                    status = status.as_str(),
                    "outcome already stored; acknowledged without a model call"
                );
                return RecordOutcome::AlreadyDone;
            }
            Ok(Claim::Busy) => {
                tracing::info!("another delivery is working on this request; retried later");
                return RecordOutcome::Retry(RetryReason::Busy);
            }
            Err(err) => {
                tracing::warn!(error = %err, "claim failed; retried later");
                return RecordOutcome::Retry(RetryReason::Store);
            }
        }
        let request = match RecipeRequest::from_value(message.request) {
            Ok(request) => request,
            Err(err) => return self.finish(&key, &owner, Err(err)).await,
        };

        let models = &self.service.config().models;
        let requested = models
            .chat_model_id(request.model.unwrap_or(models.default_chat))
            .to_owned();
        // Under the worker's policy (set by `BatchDispatcherApp::new`) a throttle never hands
        // over, so an answer from another model only says the requested one was not ready:
        // a success for the gate. A service that hands over on throttles would hide them in
        // stand-in answers, so those then count as throttles.
        let stand_in_hides_throttles = self
            .service
            .fallback_policy()
            .hands_over(ModelFailure::Throttling);
        let mut retries = 0u32;
        loop {
            let permit = self.gate.acquire().await;
            let needed = self.gate.required_budget(MIN_ATTEMPT_BUDGET);
            let margin = self.service.config().deadline_margin;
            if self
                .deadline
                .budget(margin)
                .is_none_or(|left| left < needed)
            {
                drop(permit);
                tracing::info!(
                    needed_ms = needed.as_millis() as u64,
                    "not started: the deadline cannot cover it"
                );
                self.release(
                    &key,
                    &owner,
                    &ServiceError::DeadlineExceeded { attempts: 0 },
                )
                .await;
                return RecordOutcome::Retry(RetryReason::NoTimeLeft);
            }
            let started = Instant::now();
            let generated = self
                .service
                .generate(&request, self.deadline, self.metrics)
                .await;
            match &generated {
                Ok(response)
                    if stand_in_hides_throttles
                        && !response.meta.cached
                        && response.meta.model_id != requested =>
                {
                    permit.stood_in()
                }
                Ok(_) => permit.succeeded(started.elapsed()),
                Err(ServiceError::Throttled { .. }) => permit.throttled(),
                Err(_) => drop(permit),
            }
            match generated {
                Err(err) if err.is_transient() && retries < self.local_retries => {
                    // Again in this invocation, under the (now lower) limit, after a jittered
                    // pause: cheaper than a round trip through the queue's visibility timeout.
                    // A throttle under a paced gate needs no pause of its own: the pacer,
                    // slowed by the throttle, spaces the retry like any other start, and a
                    // pause would only leave the quota idle at the end of a batch.
                    retries += 1;
                    tracing::info!(
                        code = err.code(),
                        retry = retries,
                        "passing failure; retried in this invocation"
                    );
                    let paced_throttle =
                        matches!(err, ServiceError::Throttled { .. }) && self.gate.paces();
                    if !paced_throttle {
                        let left = self.deadline.budget(margin).unwrap_or_default();
                        tokio::time::sleep(local_backoff(retries).min(left)).await;
                    }
                }
                generated => {
                    let generated = generated.and_then(|response| {
                        serde_json::to_value(response)
                            .map_err(|e| ServiceError::Internal(e.to_string()))
                    });
                    return self.finish(&key, &owner, generated).await;
                }
            }
        }
    }

    async fn finish(
        &self,
        key: &ResultKey,
        owner: &str,
        generated: Result<Value, ServiceError>,
    ) -> RecordOutcome {
        let outcome = match generated {
            Ok(response) => FinalOutcome::Succeeded(response),
            Err(err) if err.is_transient() => {
                tracing::warn!(code = err.code(), error = %err, "passing failure; retried later");
                self.release(key, owner, &err).await;
                let reason = match err {
                    ServiceError::Throttled { .. } => RetryReason::Throttled,
                    ServiceError::DeadlineExceeded { .. } => RetryReason::NoTimeLeft,
                    _ => RetryReason::Transient,
                };
                return RecordOutcome::Retry(reason);
            }
            Err(err) => {
                tracing::info!(code = err.code(), error = %err, "request can never succeed; stored as failed");
                FinalOutcome::Failed(error_value(&err))
            }
        };
        let now = now_ms();
        match self
            .store
            .complete(key, owner, &outcome, expires_at(now, self.ttl_days), now)
            .await
        {
            Ok(true) => match outcome {
                FinalOutcome::Succeeded(_) => RecordOutcome::Succeeded,
                FinalOutcome::Failed(_) => RecordOutcome::Failed,
            },
            Ok(false) => {
                // The lease ran out and another delivery took over; its outcome stands.
                tracing::warn!("lease lost before the outcome was written; retried to confirm");
                RecordOutcome::Retry(RetryReason::Busy)
            }
            Err(err) => {
                tracing::warn!(error = %err, "outcome not stored; retried later");
                RecordOutcome::Retry(RetryReason::Store)
            }
        }
    }

    async fn release(&self, key: &ResultKey, owner: &str, err: &ServiceError) {
        if let Err(store_err) = self
            .store
            .release(key, owner, &error_value(err), now_ms())
            .await
        {
            // The lease then simply expires on its own.
            tracing::warn!(error = %store_err, "claim not released");
        }
    }
}

/// Makes a retried record visible again after the backoff for its receive count. On failure the
/// queue's visibility timeout applies, as without backoff: the message is never lost.
async fn delay(redelivery: Redelivery<'_>, record: &SqsMessage) {
    let Some(receipt_handle) = record.receipt_handle.as_deref() else {
        return;
    };
    let count = receive_count(record);
    let wait = redelivery.backoff.sample(count);
    let message_id = record.message_id.as_deref().unwrap_or_default();
    match redelivery
        .queue
        .delay_redelivery(record.event_source_arn.as_deref(), receipt_handle, wait)
        .await
    {
        Ok(()) => tracing::info!(
            message_id,
            receive_count = count,
            delay_s = wait.as_secs(),
            "retried message visible again after its backoff"
        ),
        Err(err) => tracing::warn!(
            message_id,
            error = %err,
            "backoff not applied; the message returns after the visibility timeout"
        ),
    }
}

/// Full-jitter exponential backoff: uniform in `0..=min(cap, base × 2^retry)`.
pub fn local_backoff(retry: u32) -> Duration {
    const BASE_MS: u64 = 100;
    const CAP_MS: u64 = 1_000;
    let ceiling = BASE_MS.saturating_mul(1u64 << retry.min(16)).min(CAP_MS);
    Duration::from_millis(rand::random::<u64>() % (ceiling + 1))
}

/// The contract's error object (`{"code", "message", "details"}`).
fn error_value(err: &ServiceError) -> Value {
    serde_json::to_value(err.to_body().error).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_within_a_growing_cap() {
        for retry in 0..20 {
            let cap = Duration::from_millis((100u64 << retry.min(16)).min(1_000));
            for _ in 0..50 {
                assert!(local_backoff(retry) <= cap);
            }
        }
        let spread: std::collections::HashSet<Duration> =
            (0..50).map(|_| local_backoff(3)).collect();
        assert!(spread.len() > 10, "not jittered: {spread:?}");
    }
}
