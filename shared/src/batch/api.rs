//! `POST /batches` and `GET /batches/{jobId}` as plain functions over the store and queue
//! traits: every request of a submission is checked first (problems reported per index, e.g.
//! `requests[3].profile.budget`), then the job header is written (with the caller's principal)
//! and the messages enqueued; reading a job answers counts and one page of outcomes with an
//! opaque `nextToken`, to the caller who submitted it only (anyone else: `not_found`).

use super::message::{is_valid_key, BatchMessage};
use super::owner::Principal;
use super::queue::{enqueue_all, JobQueue, QueueEntry, QueueError};
use super::store::{JobHeader, ResultStore, StoreError, StoredResult};
use crate::error::{FieldError, ServiceError};
use crate::request::{parse_wire, RecipeRequest, MAX_BODY_BYTES};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const MAX_REQUESTS: usize = 100;
/// Largest `POST /batches` body: a full batch of requests at their own limit would exceed what
/// API Gateway carries, so the whole body is bounded too.
pub const MAX_SUBMIT_BYTES: usize = 1024 * 1024;
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
pub const MAX_PAGE_LIMIT: u32 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    requests: Vec<Value>,
}

/// The 202 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub job_id: String,
    pub accepted: usize,
}

/// The request id of the `index`-th request: fixed width so ids sort in submission order.
pub fn request_id(index: usize) -> String {
    format!("r{index:03}")
}

pub fn new_job_id() -> String {
    format!("job-{}", uuid::Uuid::new_v4().simple())
}

fn store_error(err: StoreError) -> ServiceError {
    ServiceError::Internal(err.to_string())
}

/// Checks a submission: every request valid, 1..=100 of them. Answers the raw requests.
pub fn validate_submission(body: &[u8]) -> Result<Vec<Value>, ServiceError> {
    let submission: SubmitBody = parse_wire(body)?;
    let count = submission.requests.len();
    if !(1..=MAX_REQUESTS).contains(&count) {
        return Err(ServiceError::invalid(
            format!("requests must hold 1 to {MAX_REQUESTS} requests, got {count}"),
            vec![FieldError::new("requests", format!("has {count} items"))],
        ));
    }
    let mut details = Vec::new();
    for (index, request) in submission.requests.iter().enumerate() {
        let prefix = format!("requests[{index}]");
        let size = serde_json::to_vec(request).map_or(usize::MAX, |b| b.len());
        if size > MAX_BODY_BYTES {
            details.push(FieldError::new(
                &prefix,
                format!("is {size} bytes; the limit is {MAX_BODY_BYTES} bytes"),
            ));
            continue;
        }
        match RecipeRequest::from_value(request.clone()) {
            Ok(_) => {}
            Err(ServiceError::InvalidRequest {
                details: fields, ..
            }) => {
                details.extend(fields.into_iter().map(|f| {
                    let field = if f.field == "body" {
                        prefix.clone()
                    } else {
                        format!("{prefix}.{}", f.field)
                    };
                    FieldError::new(field, f.message)
                }));
            }
            Err(other) => details.push(FieldError::new(&prefix, other.to_string())),
        }
    }
    if !details.is_empty() {
        let mut fields: Vec<&str> = details.iter().map(|d| d.field.as_str()).collect();
        fields.truncate(10);
        return Err(ServiceError::invalid(
            format!("request is invalid: check {}", fields.join(", ")),
            details,
        ));
    }
    Ok(submission.requests)
}

/// Validates, writes the job header (owned by `principal`), enqueues one message per request.
pub async fn submit(
    store: &dyn ResultStore,
    queue: &dyn JobQueue,
    principal: &Principal,
    body: &[u8],
    now_ms: u64,
    ttl_days: u32,
) -> Result<Accepted, ServiceError> {
    let requests = validate_submission(body)?;
    let job_id = new_job_id();
    let header = JobHeader {
        job_id: job_id.clone(),
        total: u32::try_from(requests.len()).unwrap_or(u32::MAX),
        created_at_ms: now_ms,
        expires_at: expires_at(now_ms, ttl_days),
        principal: Some(principal.as_str().to_owned()),
    };
    store.create_job(&header).await.map_err(store_error)?;
    let entries: Vec<QueueEntry> = requests
        .into_iter()
        .enumerate()
        .map(|(index, request)| QueueEntry {
            id: format!("e{index}"),
            body: BatchMessage {
                job_id: job_id.clone(),
                request_id: request_id(index),
                request,
            }
            .to_body(),
        })
        .collect();
    let accepted = entries.len();
    enqueue_all(queue, &entries).await.map_err(|err| {
        tracing::error!(job_id = %job_id, error = %err, "job only partly enqueued");
        match err {
            QueueError::Unsent { unsent, reason } => ServiceError::Internal(format!(
                "job {job_id}: {} of {accepted} request(s) could not be enqueued ({reason}); submit them again",
                unsent.len()
            )),
            other => ServiceError::Internal(format!("job {job_id}: {other}")),
        }
    })?;
    tracing::info!(job_id = %job_id, accepted, "batch accepted");
    Ok(Accepted { job_id, accepted })
}

/// The TTL value for an item written at `now_ms`.
pub fn expires_at(now_ms: u64, ttl_days: u32) -> u64 {
    now_ms / 1000 + u64::from(ttl_days) * 86_400
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub succeeded: u32,
    pub failed: u32,
    pub pending: u32,
    pub total: u32,
}

/// The 200 body of `GET /batches/{jobId}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub job_id: String,
    pub counts: Counts,
    pub results: Vec<StoredResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PageToken {
    job_id: String,
    request_id: String,
}

/// The DynamoDB `ExclusiveStartKey` as base64url JSON.
pub fn encode_token(job_id: &str, request_id: &str) -> String {
    let json = serde_json::to_vec(&PageToken {
        job_id: job_id.to_owned(),
        request_id: request_id.to_owned(),
    })
    .unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// The request id to resume after; the token must belong to this job.
pub fn decode_token(job_id: &str, token: &str) -> Result<String, ServiceError> {
    let bad = || {
        ServiceError::invalid(
            "nextToken is not a token this API gave for this job",
            vec![FieldError::new("nextToken", "invalid")],
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| bad())?;
    let parsed: PageToken = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if parsed.job_id != job_id || !is_valid_key(&parsed.request_id) {
        return Err(bad());
    }
    Ok(parsed.request_id)
}

pub fn parse_limit(raw: Option<&str>) -> Result<u32, ServiceError> {
    match raw {
        None => Ok(DEFAULT_PAGE_LIMIT),
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_PAGE_LIMIT).contains(l))
            .ok_or_else(|| {
                ServiceError::invalid(
                    format!("limit must be a whole number from 1 to {MAX_PAGE_LIMIT}"),
                    vec![FieldError::new(
                        "limit",
                        format!("got `{}`", text.chars().take(20).collect::<String>()),
                    )],
                )
            }),
    }
}

/// Counts and one page of outcomes; an unknown job, or one `caller` did not submit, is
/// `not_found`.
pub async fn read_job(
    store: &dyn ResultStore,
    caller: &Principal,
    job_id: &str,
    limit: Option<&str>,
    next_token: Option<&str>,
) -> Result<JobView, ServiceError> {
    if !is_valid_key(job_id) {
        return Err(ServiceError::invalid(
            "jobId is not a job id",
            vec![FieldError::new(
                "jobId",
                "must be 1 to 128 letters, digits, `-`, `_`, `.` or `:`",
            )],
        ));
    }
    let limit = parse_limit(limit)?;
    let after = next_token.map(|t| decode_token(job_id, t)).transpose()?;
    let not_found = || ServiceError::NotFound {
        method: "GET".to_owned(),
        path: format!("/batches/{job_id} (no such job)"),
    };
    let header = store.job_header(job_id).await.map_err(store_error)?;
    if !caller.may_read(header.as_ref().and_then(|h| h.principal.as_deref())) {
        tracing::info!(
            job_id,
            "job read by a caller other than its submitter; answered as unknown"
        );
        return Err(not_found());
    }
    let counts = store.status_counts(job_id).await.map_err(store_error)?;
    if header.is_none() && counts.items() == 0 {
        return Err(not_found());
    }
    // Requests no delivery has reached yet have no item: they are pending too.
    let total = header.map_or(0, |h| h.total).max(counts.items());
    let page = store
        .results_page(job_id, limit, after.as_deref())
        .await
        .map_err(store_error)?;
    Ok(JobView {
        job_id: job_id.to_owned(),
        counts: Counts {
            succeeded: counts.succeeded,
            failed: counts.failed,
            pending: total - counts.succeeded - counts.failed,
            total,
        },
        next_token: page.last.as_deref().map(|last| encode_token(job_id, last)),
        results: page.results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::queue::SendFailure;
    use crate::batch::store::{FinalOutcome, InMemoryStore, Lease, ResultKey};
    use serde_json::json;
    use std::sync::Mutex;

    #[derive(Default)]
    struct RecordingQueue {
        bodies: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl JobQueue for RecordingQueue {
        async fn send_batch(&self, entries: &[QueueEntry]) -> Result<Vec<SendFailure>, QueueError> {
            self.bodies
                .lock()
                .unwrap()
                .extend(entries.iter().map(|e| e.body.clone()));
            Ok(Vec::new())
        }
    }

    #[test]
    fn every_bad_request_is_reported_with_its_index() {
        let body = json!({"requests": [
            {"target": "keto"},
            {"target": "keto", "profile": {"budget": 5}},
            {"target": "paleo", "colour": "red"},
            "not an object"
        ]})
        .to_string();
        let err = validate_submission(body.as_bytes()).unwrap_err();
        let ServiceError::InvalidRequest { details, .. } = err else {
            panic!("{err:?}")
        };
        let fields: Vec<&str> = details.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "requests[1].profile.budget",
                "requests[2].colour",
                "requests[3]"
            ]
        );
    }

    #[test]
    fn submissions_hold_one_to_a_hundred_requests() {
        for n in [0usize, 101] {
            let body = json!({"requests": vec![json!({"target": "keto"}); n]}).to_string();
            assert_eq!(
                validate_submission(body.as_bytes()).unwrap_err().status(),
                400,
                "{n}"
            );
        }
        assert_eq!(
            validate_submission(br#"{"request": []}"#)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(validate_submission(b"[1]").unwrap_err().status(), 400);
    }

    #[tokio::test]
    async fn a_submission_writes_its_header_and_enqueues_every_request() {
        let store = InMemoryStore::new();
        let queue = RecordingQueue::default();
        let body = json!({"requests": vec![json!({"target": "vegan"}); 23]}).to_string();
        let alice = Principal::iam("arn:aws:iam::123456789012:user/alice");
        let accepted = submit(&store, &queue, &alice, body.as_bytes(), 1_000, 30)
            .await
            .unwrap();
        assert_eq!(accepted.accepted, 23);
        assert!(accepted.job_id.starts_with("job-") && is_valid_key(&accepted.job_id));
        let bodies = queue.bodies.lock().unwrap().clone();
        let messages: Vec<BatchMessage> = bodies
            .iter()
            .map(|b| BatchMessage::parse(Some(b)).unwrap())
            .collect();
        assert_eq!(messages[22].request_id, "r022");
        assert!(messages
            .iter()
            .all(|m| m.job_id == accepted.job_id && m.request["target"] == "vegan"));
        let header = store.job_header(&accepted.job_id).await.unwrap().unwrap();
        assert_eq!((header.total, header.expires_at), (23, 1 + 30 * 86_400));
        assert_eq!(header.principal.as_deref(), Some(alice.as_str()));
        // Only alice reads it; anyone else is told it does not exist.
        assert!(read_job(&store, &alice, &accepted.job_id, None, None)
            .await
            .is_ok());
        for other in [
            Principal::iam("arn:aws:iam::123456789012:user/bob"),
            Principal::jwt("alice"),
            Principal::anonymous(),
        ] {
            let err = read_job(&store, &other, &accepted.job_id, None, None)
                .await
                .unwrap_err();
            assert_eq!((err.status(), err.code()), (404, "not_found"), "{other}");
        }
    }

    #[tokio::test]
    async fn a_job_reads_back_with_counts_and_pages() {
        let store = InMemoryStore::new();
        let me = Principal::anonymous();
        store
            .create_job(&JobHeader {
                job_id: "job-x".into(),
                total: 5,
                created_at_ms: 0,
                expires_at: 0,
                principal: None,
            })
            .await
            .unwrap();
        for (i, outcome) in [
            FinalOutcome::Succeeded(json!({"recipe": 1})),
            FinalOutcome::Failed(json!({"code": "invalid_request"})),
        ]
        .into_iter()
        .enumerate()
        {
            let key = ResultKey {
                job_id: "job-x".into(),
                request_id: request_id(i),
            };
            store
                .claim(
                    &key,
                    &Lease {
                        owner: "o".into(),
                        until_ms: 10,
                        expires_at: 0,
                    },
                    0,
                )
                .await
                .unwrap();
            store.complete(&key, "o", &outcome, 0, 1).await.unwrap();
        }
        let key = ResultKey {
            job_id: "job-x".into(),
            request_id: request_id(2),
        };
        store
            .claim(
                &key,
                &Lease {
                    owner: "o".into(),
                    until_ms: 10,
                    expires_at: 0,
                },
                0,
            )
            .await
            .unwrap();

        let view = read_job(&store, &me, "job-x", Some("2"), None)
            .await
            .unwrap();
        assert_eq!(
            view.counts,
            Counts {
                succeeded: 1,
                failed: 1,
                pending: 3,
                total: 5
            }
        );
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["results"][0]["status"], "succeeded");
        assert_eq!(json["results"][0]["result"]["recipe"], 1);
        assert_eq!(json["results"][1]["error"]["code"], "invalid_request");
        assert!(json["results"][1].get("result").is_none());
        let token = view.next_token.unwrap();
        let next = read_job(&store, &me, "job-x", Some("2"), Some(&token))
            .await
            .unwrap();
        assert_eq!(next.results.len(), 1);
        assert_eq!(next.results[0].request_id, "r002");
        assert!(next.next_token.is_none());

        assert_eq!(
            read_job(&store, &me, "job-nope", None, None)
                .await
                .unwrap_err()
                .code(),
            "not_found"
        );
        assert_eq!(
            read_job(&store, &me, "job-x", Some("0"), None)
                .await
                .unwrap_err()
                .status(),
            400
        );
        let other = encode_token("job-other", "r000");
        assert_eq!(
            read_job(&store, &me, "job-x", None, Some(&other))
                .await
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            read_job(&store, &me, "job-x", None, Some("%%%"))
                .await
                .unwrap_err()
                .status(),
            400
        );
    }
}
