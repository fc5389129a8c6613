//! Where batch outcomes live: the [`ResultStore`] trait, its item model, and an in-memory
//! implementation (unit tests and the throughput benchmark; [`super::dynamo`] is the real one).
//!
//! Exactly-once results over at-least-once delivery, with conditional writes only:
//! 1. `claim`: the item is created or taken over as `pending` with a lease (owner + expiry)
//!    only if it does not exist, or is `pending` with an expired lease. A stored outcome
//!    (`succeeded`/`failed`) answers [`Claim::Done`] and nothing is written; a live lease of
//!    another delivery answers [`Claim::Busy`] and that delivery calls no model.
//! 2. `complete`: the outcome is written only while this owner still holds the pending lease.
//! 3. `release`: a passing failure expires this owner's lease at once (attempts are kept), so
//!    the redelivered message can claim it without waiting.
//!
//! A job has a header item (sort key [`JOB_HEADER_KEY`]) written by `POST /batches` with the
//! number of requests, so counts include requests no delivery has reached yet.

use super::message::JOB_HEADER_KEY;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResultKey {
    pub job_id: String,
    pub request_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultStatus {
    Pending,
    Succeeded,
    Failed,
}

impl ResultStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultStatus::Pending => "pending",
            ResultStatus::Succeeded => "succeeded",
            ResultStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<ResultStatus> {
        match text {
            "pending" => Some(ResultStatus::Pending),
            "succeeded" => Some(ResultStatus::Succeeded),
            "failed" => Some(ResultStatus::Failed),
            _ => None,
        }
    }
}

/// Who is working on an item and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub until_ms: u64,
    /// TTL attribute value (seconds since the epoch).
    pub expires_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This delivery owns the item; `attempts` counts claims including this one.
    Claimed { attempts: u32 },
    /// The outcome is stored already: acknowledge, call nothing, write nothing.
    Done(ResultStatus),
    /// Another delivery holds a live lease.
    Busy,
}

/// A final outcome: the generate-recipe response, or the contract's error object.
#[derive(Debug, Clone, PartialEq)]
pub enum FinalOutcome {
    Succeeded(Value),
    Failed(Value),
}

impl FinalOutcome {
    pub fn status(&self) -> ResultStatus {
        match self {
            FinalOutcome::Succeeded(_) => ResultStatus::Succeeded,
            FinalOutcome::Failed(_) => ResultStatus::Failed,
        }
    }
}

/// A job's header item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobHeader {
    pub job_id: String,
    pub total: u32,
    pub created_at_ms: u64,
    pub expires_at: u64,
    /// Who submitted it ([`super::owner::Principal`]'s stored form); `None` for a header
    /// written before owners were recorded.
    pub principal: Option<String>,
}

/// One request's stored state as `GET /batches/{jobId}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredResult {
    pub request_id: String,
    pub status: ResultStatus,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    pub updated_at_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub pending: u32,
    pub succeeded: u32,
    pub failed: u32,
}

impl StatusCounts {
    pub fn items(&self) -> u32 {
        self.pending + self.succeeded + self.failed
    }

    pub fn add(&mut self, status: ResultStatus) {
        match status {
            ResultStatus::Pending => self.pending += 1,
            ResultStatus::Succeeded => self.succeeded += 1,
            ResultStatus::Failed => self.failed += 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResultsPage {
    pub results: Vec<StoredResult>,
    /// The last request id of this page when more may follow.
    pub last: Option<String>,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("the results table could not be reached or refused the call: {0}")]
    Unavailable(String),
    #[error("a stored item is malformed: {0}")]
    Malformed(String),
}

#[async_trait]
pub trait ResultStore: Send + Sync {
    async fn claim(&self, key: &ResultKey, lease: &Lease, now_ms: u64)
        -> Result<Claim, StoreError>;
    /// Writes the outcome if `owner` still holds the pending lease; false when it does not.
    async fn complete(
        &self,
        key: &ResultKey,
        owner: &str,
        outcome: &FinalOutcome,
        expires_at: u64,
        now_ms: u64,
    ) -> Result<bool, StoreError>;
    /// Gives up `owner`'s lease after a passing failure, noting the error.
    async fn release(
        &self,
        key: &ResultKey,
        owner: &str,
        error: &Value,
        now_ms: u64,
    ) -> Result<(), StoreError>;
    async fn create_job(&self, header: &JobHeader) -> Result<(), StoreError>;
    async fn job_header(&self, job_id: &str) -> Result<Option<JobHeader>, StoreError>;
    async fn status_counts(&self, job_id: &str) -> Result<StatusCounts, StoreError>;
    /// Up to `limit` results in request-id order, after `after` when given.
    async fn results_page(
        &self,
        job_id: &str,
        limit: u32,
        after: Option<&str>,
    ) -> Result<ResultsPage, StoreError>;
}

#[derive(Debug, Clone)]
struct MemoryItem {
    status: ResultStatus,
    attempts: u32,
    lease_owner: Option<String>,
    lease_until_ms: u64,
    result: Option<Value>,
    error: Option<Value>,
    updated_at_ms: u64,
}

/// A [`ResultStore`] in process memory with the same conditions as the DynamoDB one.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    items: Mutex<BTreeMap<ResultKey, MemoryItem>>,
    headers: Mutex<BTreeMap<String, JobHeader>>,
}

impl InMemoryStore {
    pub fn new() -> InMemoryStore {
        InMemoryStore::default()
    }

    fn items(&self) -> MutexGuard<'_, BTreeMap<ResultKey, MemoryItem>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every job with a header, for assertions.
    pub fn job_ids(&self) -> Vec<String> {
        self.headers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// Every stored result of a job, for assertions.
    pub fn results(&self, job_id: &str) -> Vec<StoredResult> {
        self.items()
            .iter()
            .filter(|(k, _)| k.job_id == job_id)
            .map(|(k, item)| to_result(&k.request_id, item))
            .collect()
    }
}

fn to_result(request_id: &str, item: &MemoryItem) -> StoredResult {
    StoredResult {
        request_id: request_id.to_owned(),
        status: item.status,
        attempts: item.attempts,
        result: item.result.clone(),
        error: item.error.clone(),
        updated_at_ms: item.updated_at_ms,
    }
}

#[async_trait]
impl ResultStore for InMemoryStore {
    async fn claim(
        &self,
        key: &ResultKey,
        lease: &Lease,
        now_ms: u64,
    ) -> Result<Claim, StoreError> {
        let mut items = self.items();
        match items.get_mut(key) {
            None => {
                items.insert(
                    key.clone(),
                    MemoryItem {
                        status: ResultStatus::Pending,
                        attempts: 1,
                        lease_owner: Some(lease.owner.clone()),
                        lease_until_ms: lease.until_ms,
                        result: None,
                        error: None,
                        updated_at_ms: now_ms,
                    },
                );
                Ok(Claim::Claimed { attempts: 1 })
            }
            Some(item) if item.status == ResultStatus::Pending && item.lease_until_ms < now_ms => {
                item.attempts += 1;
                item.lease_owner = Some(lease.owner.clone());
                item.lease_until_ms = lease.until_ms;
                item.updated_at_ms = now_ms;
                Ok(Claim::Claimed {
                    attempts: item.attempts,
                })
            }
            Some(item) if item.status == ResultStatus::Pending => Ok(Claim::Busy),
            Some(item) => Ok(Claim::Done(item.status)),
        }
    }

    async fn complete(
        &self,
        key: &ResultKey,
        owner: &str,
        outcome: &FinalOutcome,
        _expires_at: u64,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let mut items = self.items();
        let Some(item) = items.get_mut(key) else {
            return Ok(false);
        };
        if item.status != ResultStatus::Pending || item.lease_owner.as_deref() != Some(owner) {
            return Ok(false);
        }
        item.status = outcome.status();
        match outcome {
            FinalOutcome::Succeeded(value) => item.result = Some(value.clone()),
            FinalOutcome::Failed(value) => item.error = Some(value.clone()),
        }
        item.lease_owner = None;
        item.lease_until_ms = 0;
        item.updated_at_ms = now_ms;
        Ok(true)
    }

    async fn release(
        &self,
        key: &ResultKey,
        owner: &str,
        _error: &Value,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let mut items = self.items();
        if let Some(item) = items.get_mut(key) {
            if item.status == ResultStatus::Pending && item.lease_owner.as_deref() == Some(owner) {
                item.lease_until_ms = 0;
                item.updated_at_ms = now_ms;
            }
        }
        Ok(())
    }

    async fn create_job(&self, header: &JobHeader) -> Result<(), StoreError> {
        self.headers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(header.job_id.clone(), header.clone());
        Ok(())
    }

    async fn job_header(&self, job_id: &str) -> Result<Option<JobHeader>, StoreError> {
        Ok(self
            .headers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(job_id)
            .cloned())
    }

    async fn status_counts(&self, job_id: &str) -> Result<StatusCounts, StoreError> {
        let mut counts = StatusCounts::default();
        for (key, item) in self.items().iter() {
            if key.job_id == job_id {
                counts.add(item.status);
            }
        }
        Ok(counts)
    }

    async fn results_page(
        &self,
        job_id: &str,
        limit: u32,
        after: Option<&str>,
    ) -> Result<ResultsPage, StoreError> {
        let after = after.unwrap_or(JOB_HEADER_KEY);
        let items = self.items();
        let mut matching = items
            .iter()
            .filter(|(k, _)| k.job_id == job_id && k.request_id.as_str() > after)
            .map(|(k, item)| to_result(&k.request_id, item));
        let results: Vec<StoredResult> = matching.by_ref().take(limit as usize).collect();
        let more = matching.next().is_some();
        let last = if more {
            results.last().map(|r| r.request_id.clone())
        } else {
            None
        };
        Ok(ResultsPage { results, last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(r: &str) -> ResultKey {
        ResultKey {
            job_id: "job-1".into(),
            request_id: r.into(),
        }
    }

    fn lease(owner: &str, until_ms: u64) -> Lease {
        Lease {
            owner: owner.into(),
            until_ms,
            expires_at: 0,
        }
    }

    #[tokio::test]
    async fn a_claim_excludes_others_until_its_lease_expires() {
        let store = InMemoryStore::new();
        assert_eq!(
            store.claim(&key("r0"), &lease("a", 100), 0).await.unwrap(),
            Claim::Claimed { attempts: 1 }
        );
        assert_eq!(
            store.claim(&key("r0"), &lease("b", 200), 50).await.unwrap(),
            Claim::Busy
        );
        assert_eq!(
            store
                .claim(&key("r0"), &lease("b", 300), 101)
                .await
                .unwrap(),
            Claim::Claimed { attempts: 2 }
        );
        // The first owner lost its lease: its outcome is not written.
        assert!(!store
            .complete(&key("r0"), "a", &FinalOutcome::Succeeded(json!(1)), 0, 102)
            .await
            .unwrap());
        assert!(store
            .complete(&key("r0"), "b", &FinalOutcome::Succeeded(json!(2)), 0, 103)
            .await
            .unwrap());
        assert_eq!(
            store
                .claim(&key("r0"), &lease("c", 999), 10_000)
                .await
                .unwrap(),
            Claim::Done(ResultStatus::Succeeded)
        );
        assert_eq!(store.results("job-1")[0].result, Some(json!(2)));
    }

    #[tokio::test]
    async fn a_release_lets_the_next_delivery_claim_at_once() {
        let store = InMemoryStore::new();
        store
            .claim(&key("r0"), &lease("a", 1_000), 0)
            .await
            .unwrap();
        store
            .release(&key("r0"), "a", &json!({"code": "throttled"}), 1)
            .await
            .unwrap();
        assert_eq!(
            store
                .claim(&key("r0"), &lease("b", 1_000), 2)
                .await
                .unwrap(),
            Claim::Claimed { attempts: 2 }
        );
    }

    #[tokio::test]
    async fn pages_follow_request_id_order() {
        let store = InMemoryStore::new();
        for r in ["r2", "r0", "r1"] {
            store.claim(&key(r), &lease("a", 1), 0).await.unwrap();
        }
        let first = store.results_page("job-1", 2, None).await.unwrap();
        let ids: Vec<_> = first
            .results
            .iter()
            .map(|r| r.request_id.as_str())
            .collect();
        assert_eq!((ids, first.last.as_deref()), (vec!["r0", "r1"], Some("r1")));
        let second = store
            .results_page("job-1", 2, first.last.as_deref())
            .await
            .unwrap();
        assert_eq!((second.results.len(), second.last), (1, None));
        assert_eq!(store.status_counts("job-1").await.unwrap().pending, 3);
    }
}
