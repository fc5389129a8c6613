//! The jobs queue over SQS: the core's [`JobQueue`] trait on `SendMessageBatch`, and
//! [`RedeliveryDelay`] on `ChangeMessageVisibility` (a retried message's backoff).

use ai_chef::batch::backoff::RedeliveryDelay;
use ai_chef::batch::queue::{JobQueue, QueueEntry, QueueError, SendFailure};
use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use std::time::Duration;

/// The jobs queue (`JOBS_QUEUE_URL`) over the SDK; built once per container.
#[derive(Debug, Clone)]
pub struct SqsJobQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsJobQueue {
    /// Built from the shared SDK configuration (once per container).
    pub fn from_sdk(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self::new(aws_sdk_sqs::Client::new(sdk), queue_url)
    }

    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsJobQueue {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn send_batch(&self, entries: &[QueueEntry]) -> Result<Vec<SendFailure>, QueueError> {
        let mut request = Vec::with_capacity(entries.len());
        for entry in entries {
            request.push(
                SendMessageBatchRequestEntry::builder()
                    .id(&entry.id)
                    .message_body(&entry.body)
                    .build()
                    .map_err(|e| QueueError::Unavailable(e.to_string()))?,
            );
        }
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(request))
            .send()
            .await
            .map_err(|e| QueueError::Unavailable(DisplayErrorContext(&e).to_string()))?;
        Ok(output
            .failed()
            .iter()
            .map(|f| SendFailure {
                id: f.id().to_owned(),
                sender_fault: f.sender_fault(),
                reason: format!("{}: {}", f.code(), f.message().unwrap_or_default()),
            })
            .collect())
    }
}

/// The queue name of an SQS queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`).
fn queue_name_of_url(url: &str) -> &str {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// The queue name of an SQS queue ARN (`arn:aws:sqs:<region>:<account>:<name>`).
fn queue_name_of_arn(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or_default()
}

#[async_trait]
impl RedeliveryDelay for SqsJobQueue {
    async fn delay_redelivery(
        &self,
        event_source_arn: Option<&str>,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), String> {
        // The worker consumes the jobs queue: a record from any other queue has a receipt
        // handle this URL cannot take.
        if let Some(arn) = event_source_arn {
            if queue_name_of_arn(arn) != queue_name_of_url(&self.queue_url) {
                return Err(format!(
                    "the record comes from {arn}, not from the jobs queue {}",
                    self.queue_url
                ));
            }
        }
        let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_are_read_from_urls_and_arns() {
        assert_eq!(
            queue_name_of_url("https://sqs.us-east-1.amazonaws.com/123456789012/ai-chef-jobs"),
            "ai-chef-jobs"
        );
        assert_eq!(
            queue_name_of_url("http://127.0.0.1:5000/000000000000/q/"),
            "q"
        );
        assert_eq!(
            queue_name_of_arn("arn:aws:sqs:us-east-1:123456789012:ai-chef-jobs"),
            "ai-chef-jobs"
        );
    }
}
