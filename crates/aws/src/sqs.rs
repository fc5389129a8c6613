//! The jobs queue over SQS: the core's [`JobQueue`] trait on `SendMessageBatch`.

use ai_chef::batch::queue::{JobQueue, QueueEntry, QueueError, SendFailure};
use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

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
