//! [`ResultStore`] over DynamoDB (`RESULTS_TABLE`: partition key `jobId`, sort key
//! `requestId`, TTL attribute `expiresAt`). Only `GetItem`, `PutItem`, `UpdateItem` and
//! `Query` are used, each guarded by a condition expression where it changes state.
//!
//! Item attributes: `status` (`pending` | `succeeded` | `failed`), `attempts` (claims made),
//! `leaseOwner` and `leaseUntilMs` (while pending), `result` (the generate-recipe response as
//! JSON text) or `error` (the error object as JSON text), `lastError` (the passing failure of
//! the latest attempt), `createdAtMs`, `updatedAtMs`, `expiresAt` (TTL, epoch seconds). The
//! header item (`requestId` = `#job`) holds `total`, `createdAtMs`, `expiresAt` and
//! `principal` (who submitted the job).

use ai_chef::batch::message::JOB_HEADER_KEY;
use ai_chef::batch::store::{
    Claim, FinalOutcome, JobHeader, Lease, ResultKey, ResultStatus, ResultStore, ResultsPage,
    StatusCounts, StoreError, StoredResult,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use serde_json::Value;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// The results table; the client is built once per container and cloned cheaply.
#[derive(Debug, Clone)]
pub struct DynamoResultStore {
    client: Client,
    table: String,
}

impl DynamoResultStore {
    /// Built from the shared SDK configuration (once per container).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), table)
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoResultStore {
            client,
            table: table.into(),
        }
    }

    async fn get(&self, job_id: &str, request_id: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("jobId", s(job_id))
            .key("requestId", s(request_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn unavailable<E: std::error::Error>(err: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(&err).to_string())
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// The `status` of a result item. An item with no `status` at all is a claim being written:
/// `claim` is the only call that creates result items, and it sets `status` in the same
/// `UpdateItem`. DynamoDB applies that atomically, but moto (the local and test stand-in)
/// first stores the bare key and then applies the update expression, so a concurrent `Query`
/// or `GetItem` can see the item in between; it is pending. A `status` that is there but not
/// one of the known values is malformed.
fn status_of(item: &Item) -> Result<ResultStatus, StoreError> {
    let Some(value) = item.get("status") else {
        return Ok(ResultStatus::Pending);
    };
    value
        .as_s()
        .ok()
        .and_then(|raw| ResultStatus::parse(raw))
        .ok_or_else(|| StoreError::Malformed(format!("item with an unknown `status`: {value:?}")))
}

fn json_attr(item: &Item, name: &str) -> Result<Option<Value>, StoreError> {
    text(item, name)
        .map(|raw| {
            serde_json::from_str(raw)
                .map_err(|e| StoreError::Malformed(format!("`{name}` is not JSON: {e}")))
        })
        .transpose()
}

fn to_result(item: &Item) -> Result<StoredResult, StoreError> {
    Ok(StoredResult {
        request_id: text(item, "requestId")
            .ok_or_else(|| StoreError::Malformed("item without `requestId`".to_owned()))?
            .to_owned(),
        status: status_of(item)?,
        attempts: number(item, "attempts").map_or(0, |a| u32::try_from(a).unwrap_or(u32::MAX)),
        result: json_attr(item, "result")?,
        error: json_attr(item, "error")?,
        updated_at_ms: number(item, "updatedAtMs").unwrap_or(0),
    })
}

#[async_trait]
impl ResultStore for DynamoResultStore {
    async fn claim(
        &self,
        key: &ResultKey,
        lease: &Lease,
        now_ms: u64,
    ) -> Result<Claim, StoreError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("jobId", s(&key.job_id))
            .key("requestId", s(&key.request_id))
            .update_expression(
                "SET #status = :pending, leaseOwner = :owner, leaseUntilMs = :until, updatedAtMs = :now, \
                 createdAtMs = if_not_exists(createdAtMs, :now), expiresAt = :expires ADD attempts :one",
            )
            .condition_expression(
                "attribute_not_exists(requestId) OR (#status = :pending AND leaseUntilMs < :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(ResultStatus::Pending.as_str()))
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":until", n(lease.until_ms))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":expires", n(lease.expires_at))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match sent {
            Ok(output) => {
                let attempts = output
                    .attributes
                    .as_ref()
                    .and_then(|item| number(item, "attempts"))
                    .map_or(1, |a| u32::try_from(a).unwrap_or(u32::MAX));
                Ok(Claim::Claimed { attempts })
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // Why the condition failed decides between "done" and "busy".
                match self.get(&key.job_id, &key.request_id).await? {
                    Some(item) => match status_of(&item)? {
                        ResultStatus::Pending => Ok(Claim::Busy),
                        done => Ok(Claim::Done(done)),
                    },
                    // Removed (TTL) between the two calls: the next delivery will claim it.
                    None => Ok(Claim::Busy),
                }
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn complete(
        &self,
        key: &ResultKey,
        owner: &str,
        outcome: &FinalOutcome,
        expires_at: u64,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let (attribute, value) = match outcome {
            FinalOutcome::Succeeded(value) => ("result", value),
            FinalOutcome::Failed(value) => ("error", value),
        };
        let json =
            serde_json::to_string(value).map_err(|e| StoreError::Malformed(e.to_string()))?;
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("jobId", s(&key.job_id))
            .key("requestId", s(&key.request_id))
            .update_expression(
                "SET #status = :final, #outcome = :json, updatedAtMs = :now, completedAtMs = :now, \
                 expiresAt = :expires REMOVE leaseOwner, leaseUntilMs, lastError",
            )
            .condition_expression("#status = :pending AND leaseOwner = :owner")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#outcome", attribute)
            .expression_attribute_values(":final", s(outcome.status().as_str()))
            .expression_attribute_values(":json", s(json))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":expires", n(expires_at))
            .expression_attribute_values(":pending", s(ResultStatus::Pending.as_str()))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn release(
        &self,
        key: &ResultKey,
        owner: &str,
        error: &Value,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("jobId", s(&key.job_id))
            .key("requestId", s(&key.request_id))
            .update_expression("SET leaseUntilMs = :zero, lastError = :error, updatedAtMs = :now")
            .condition_expression("#status = :pending AND leaseOwner = :owner")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":error", s(error.to_string()))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":pending", s(ResultStatus::Pending.as_str()))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match sent {
            // Not ours any more: the lease expired and another delivery took it.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(unavailable(err)),
            Ok(_) => Ok(()),
        }
    }

    async fn create_job(&self, header: &JobHeader) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("jobId", s(&header.job_id))
            .item("requestId", s(JOB_HEADER_KEY))
            .item("total", n(header.total))
            .item("createdAtMs", n(header.created_at_ms))
            .item("expiresAt", n(header.expires_at))
            .condition_expression("attribute_not_exists(jobId)");
        if let Some(principal) = &header.principal {
            put = put.item("principal", s(principal));
        }
        put.send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn job_header(&self, job_id: &str) -> Result<Option<JobHeader>, StoreError> {
        let Some(item) = self.get(job_id, JOB_HEADER_KEY).await? else {
            return Ok(None);
        };
        Ok(Some(JobHeader {
            job_id: job_id.to_owned(),
            total: number(&item, "total").map_or(0, |t| u32::try_from(t).unwrap_or(u32::MAX)),
            created_at_ms: number(&item, "createdAtMs").unwrap_or(0),
            expires_at: number(&item, "expiresAt").unwrap_or(0),
            principal: text(&item, "principal").map(str::to_owned),
        }))
    }

    async fn status_counts(&self, job_id: &str) -> Result<StatusCounts, StoreError> {
        let mut counts = StatusCounts::default();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("jobId = :job AND requestId > :header")
                .expression_attribute_values(":job", s(job_id))
                .expression_attribute_values(":header", s(JOB_HEADER_KEY))
                .projection_expression("#status")
                .expression_attribute_names("#status", "status")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items() {
                counts.add(status_of(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(counts),
            }
        }
    }

    async fn results_page(
        &self,
        job_id: &str,
        limit: u32,
        after: Option<&str>,
    ) -> Result<ResultsPage, StoreError> {
        let start = after.map(|request_id| {
            HashMap::from([
                ("jobId".to_owned(), s(job_id)),
                ("requestId".to_owned(), s(request_id)),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("jobId = :job AND requestId > :header")
            .expression_attribute_values(":job", s(job_id))
            .expression_attribute_values(":header", s(JOB_HEADER_KEY))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        let results = output
            .items()
            .iter()
            .map(to_result)
            .collect::<Result<Vec<_>, _>>()?;
        let last = output
            .last_evaluated_key()
            .and_then(|key| text(key, "requestId"))
            .map(str::to_owned);
        Ok(ResultsPage { results, last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(attributes: &[(&str, AttributeValue)]) -> Item {
        attributes
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    #[test]
    fn an_item_with_only_its_key_is_a_claim_in_progress() {
        let bare = item(&[("jobId", s("job-1")), ("requestId", s("r000"))]);
        assert_eq!(status_of(&bare), Ok(ResultStatus::Pending));
        let result = to_result(&bare).unwrap();
        assert_eq!(
            (result.status, result.attempts, result.result, result.error),
            (ResultStatus::Pending, 0, None, None)
        );
    }

    #[test]
    fn known_statuses_are_read_and_anything_else_is_malformed() {
        for status in [
            ResultStatus::Pending,
            ResultStatus::Succeeded,
            ResultStatus::Failed,
        ] {
            let stored = item(&[("requestId", s("r000")), ("status", s(status.as_str()))]);
            assert_eq!(status_of(&stored), Ok(status));
        }
        for bad in [s("done"), s(""), n(1), AttributeValue::Null(true)] {
            let stored = item(&[("requestId", s("r000")), ("status", bad.clone())]);
            assert!(
                matches!(status_of(&stored), Err(StoreError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
