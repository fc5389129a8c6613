//! Async recipes as one-request jobs: `POST /recipes` with `"mode": "async"` writes a job
//! header (`jobId` = the request id, `total` 1, the caller's principal) and sends one message
//! `{"jobId": <requestId>, "requestId": "recipe", "request"}` on the jobs queue; the
//! batch-dispatcher worker then claims, generates and stores its outcome exactly once, as for
//! any batch request. `GET /recipes/{requestId}` reads the header (owner check) and the item.
//!
//! The caller validates the request first (400/413/422 at once, as sync); nothing here calls
//! a model.

use super::api::expires_at;
use super::message::{is_valid_key, now_ms, BatchMessage};
use super::owner::Principal;
use super::queue::{enqueue_all, JobQueue, QueueEntry};
use super::store::{
    Claim, FinalOutcome, JobHeader, Lease, ResultKey, ResultStatus, ResultStore, StoreError,
};
use crate::error::ServiceError;
use serde::Serialize;
use serde_json::Value;

/// Prefix of async request ids, so that a batch job id is never read as a recipe.
pub const RECIPE_ID_PREFIX: &str = "rcp-";
/// Sort key of an async recipe's one item.
pub const RECIPE_ITEM_KEY: &str = "recipe";

pub fn new_recipe_id() -> String {
    format!("{RECIPE_ID_PREFIX}{}", uuid::Uuid::new_v4().simple())
}

/// Where the result is read: `/recipes/<requestId>`.
pub fn location(request_id: &str) -> String {
    format!("/recipes/{request_id}")
}

/// The 202 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRecipe {
    pub request_id: String,
    pub status: ResultStatus,
    pub location: String,
}

/// The 200 body of `GET /recipes/{requestId}`: `result` only when succeeded (the sync 200
/// body), `error` only when failed (the error object).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipeView {
    pub request_id: String,
    pub status: ResultStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

fn store_error(err: StoreError) -> ServiceError {
    ServiceError::Internal(err.to_string())
}

/// Records the request as pending for `principal` and enqueues it. `request` must have passed
/// validation. When the message cannot be sent, the record is stored `failed` with the error
/// (so it never stays pending) and the error is answered.
pub async fn submit_recipe(
    store: &dyn ResultStore,
    queue: &dyn JobQueue,
    principal: &Principal,
    request: Value,
    ttl_days: u32,
) -> Result<PendingRecipe, ServiceError> {
    let request_id = new_recipe_id();
    let now = now_ms();
    let header = JobHeader {
        job_id: request_id.clone(),
        total: 1,
        created_at_ms: now,
        expires_at: expires_at(now, ttl_days),
        principal: Some(principal.as_str().to_owned()),
    };
    store.create_job(&header).await.map_err(store_error)?;
    let message = BatchMessage {
        job_id: request_id.clone(),
        request_id: RECIPE_ITEM_KEY.to_owned(),
        request,
    };
    let entry = QueueEntry {
        id: "recipe".to_owned(),
        body: message.to_body(),
    };
    if let Err(err) = enqueue_all(queue, std::slice::from_ref(&entry)).await {
        let failure =
            ServiceError::Internal(format!("request {request_id} could not be queued: {err}"));
        tracing::error!(request_id = %request_id, error = %err, "async recipe not queued");
        store_failed(store, &request_id, &failure, ttl_days).await;
        return Err(failure);
    }
    tracing::info!(request_id = %request_id, "async recipe queued");
    Ok(PendingRecipe {
        location: location(&request_id),
        request_id,
        status: ResultStatus::Pending,
    })
}

/// Stores `failure` as the outcome of a request that was never queued (best effort: the
/// caller is answered the error either way).
async fn store_failed(
    store: &dyn ResultStore,
    request_id: &str,
    failure: &ServiceError,
    ttl_days: u32,
) {
    let key = ResultKey {
        job_id: request_id.to_owned(),
        request_id: RECIPE_ITEM_KEY.to_owned(),
    };
    let now = now_ms();
    let owner = format!("submit/{}", uuid::Uuid::new_v4().simple());
    let lease = Lease {
        owner: owner.clone(),
        until_ms: now + 60_000,
        expires_at: expires_at(now, ttl_days),
    };
    let error = serde_json::to_value(failure.to_body().error).unwrap_or(Value::Null);
    let stored = match store.claim(&key, &lease, now).await {
        Ok(Claim::Claimed { .. }) => store
            .complete(
                &key,
                &owner,
                &FinalOutcome::Failed(error),
                lease.expires_at,
                now,
            )
            .await
            .map(|_| ()),
        Ok(_) => Ok(()),
        Err(err) => Err(err),
    };
    if let Err(err) = stored {
        tracing::warn!(request_id, error = %err, "unqueued async recipe not marked failed");
    }
}

/// The state of `request_id` for `caller`: `not_found` when it does not exist or another
/// caller submitted it (the two are indistinguishable on purpose).
pub async fn read_recipe(
    store: &dyn ResultStore,
    caller: &Principal,
    request_id: &str,
) -> Result<RecipeView, ServiceError> {
    let not_found = || ServiceError::NotFound {
        method: "GET".to_owned(),
        path: format!("{} (no such request)", location(request_id)),
    };
    if !request_id.starts_with(RECIPE_ID_PREFIX) || !is_valid_key(request_id) {
        return Err(not_found());
    }
    let Some(header) = store.job_header(request_id).await.map_err(store_error)? else {
        return Err(not_found());
    };
    // Every async header records its submitter; one without is not an async recipe.
    let Some(owner) = header.principal.as_deref() else {
        return Err(not_found());
    };
    if owner != caller.as_str() {
        tracing::info!(
            request_id,
            "async recipe read by a caller other than its submitter; answered as unknown"
        );
        return Err(not_found());
    }
    let page = store
        .results_page(request_id, 1, None)
        .await
        .map_err(store_error)?;
    let item = page
        .results
        .into_iter()
        .find(|r| r.request_id == RECIPE_ITEM_KEY);
    Ok(match item {
        // Not reached by the worker yet, or claimed and being generated.
        None => RecipeView {
            request_id: request_id.to_owned(),
            status: ResultStatus::Pending,
            result: None,
            error: None,
        },
        Some(stored) => RecipeView {
            request_id: request_id.to_owned(),
            status: stored.status,
            result: stored
                .result
                .filter(|_| stored.status == ResultStatus::Succeeded),
            error: stored
                .error
                .filter(|_| stored.status == ResultStatus::Failed),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::queue::{QueueError, SendFailure};
    use crate::batch::store::InMemoryStore;
    use serde_json::json;
    use std::sync::Mutex;

    #[derive(Default)]
    struct RecordingQueue {
        bodies: Mutex<Vec<String>>,
        down: bool,
    }

    #[async_trait::async_trait]
    impl JobQueue for RecordingQueue {
        async fn send_batch(&self, entries: &[QueueEntry]) -> Result<Vec<SendFailure>, QueueError> {
            if self.down {
                return Err(QueueError::Unavailable("connection refused".into()));
            }
            self.bodies
                .lock()
                .unwrap()
                .extend(entries.iter().map(|e| e.body.clone()));
            Ok(Vec::new())
        }
    }

    fn alice() -> Principal {
        Principal::jwt("alice")
    }

    #[tokio::test]
    async fn a_submission_is_pending_for_its_owner_and_unknown_to_others() {
        let store = InMemoryStore::new();
        let queue = RecordingQueue::default();
        let pending = submit_recipe(&store, &queue, &alice(), json!({"target": "keto"}), 30)
            .await
            .unwrap();
        assert!(pending.request_id.starts_with(RECIPE_ID_PREFIX));
        assert_eq!(pending.location, format!("/recipes/{}", pending.request_id));
        assert_eq!(
            serde_json::to_value(&pending).unwrap()["status"],
            json!("pending")
        );
        let bodies = queue.bodies.lock().unwrap().clone();
        assert_eq!(bodies.len(), 1);
        let message = BatchMessage::parse(Some(&bodies[0])).unwrap();
        assert_eq!(
            (message.job_id.as_str(), message.request_id.as_str()),
            (pending.request_id.as_str(), RECIPE_ITEM_KEY)
        );
        assert_eq!(message.request, json!({"target": "keto"}));

        let view = read_recipe(&store, &alice(), &pending.request_id)
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&view).unwrap(),
            json!({"requestId": pending.request_id, "status": "pending"})
        );
        for other in [Principal::jwt("bob"), Principal::anonymous()] {
            let err = read_recipe(&store, &other, &pending.request_id)
                .await
                .unwrap_err();
            assert_eq!(err.code(), "not_found");
        }
        for unknown in ["rcp-0000", "job-1", "rcp-bad id", ""] {
            let err = read_recipe(&store, &alice(), unknown).await.unwrap_err();
            assert_eq!(err.status(), 404, "{unknown}");
        }
    }

    #[tokio::test]
    async fn stored_outcomes_show_result_or_error_only() {
        let store = InMemoryStore::new();
        let queue = RecordingQueue::default();
        for (outcome, status) in [
            (FinalOutcome::Succeeded(json!({"recipe": {}})), "succeeded"),
            (
                FinalOutcome::Failed(json!({"code": "constraints_unsatisfied"})),
                "failed",
            ),
        ] {
            let pending = submit_recipe(&store, &queue, &alice(), json!({}), 30)
                .await
                .unwrap();
            let key = ResultKey {
                job_id: pending.request_id.clone(),
                request_id: RECIPE_ITEM_KEY.into(),
            };
            let lease = Lease {
                owner: "w".into(),
                until_ms: u64::MAX,
                expires_at: 0,
            };
            store.claim(&key, &lease, 1).await.unwrap();
            let claimed = read_recipe(&store, &alice(), &pending.request_id)
                .await
                .unwrap();
            assert_eq!(claimed.status, ResultStatus::Pending);
            store.complete(&key, "w", &outcome, 0, 2).await.unwrap();
            let view = serde_json::to_value(
                read_recipe(&store, &alice(), &pending.request_id)
                    .await
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(view["status"], status);
            assert_eq!(view.get("result").is_some(), status == "succeeded");
            assert_eq!(view.get("error").is_some(), status == "failed");
        }
    }

    #[tokio::test]
    async fn a_request_the_queue_refused_is_stored_failed_not_left_pending() {
        let store = InMemoryStore::new();
        let queue = RecordingQueue {
            down: true,
            ..RecordingQueue::default()
        };
        let err = submit_recipe(&store, &queue, &alice(), json!({}), 30)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 500);
        let ids = store.job_ids();
        assert_eq!(ids.len(), 1);
        let view = read_recipe(&store, &alice(), &ids[0]).await.unwrap();
        assert_eq!(view.status, ResultStatus::Failed);
        assert_eq!(view.error.unwrap()["code"], "internal_error");
    }
}
