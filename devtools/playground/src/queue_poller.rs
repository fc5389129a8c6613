//! Lambda's SQS event source mapping for the jobs queue: long-polls the queue with the real
//! SDK, hands each batch to batch-dispatcher as the SQS event AWS builds, and deletes the
//! messages the function did not list in `batchItemFailures` (`ReportBatchItemFailures`).
//! Failed messages become visible again after the queue's visibility timeout, as on AWS.

use crate::functions::{Function, Invoked};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Messages per event, as the event source mapping's default batch size for standard queues.
const BATCH_SIZE: i32 = 10;
const WAIT_SECONDS: i32 = 1;

/// Polls `queue_url` until the task is aborted.
pub async fn run(client: aws_sdk_sqs::Client, queue_url: String, function: Arc<Function>) {
    let arn = queue_arn(&queue_url);
    loop {
        let received = client
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(BATCH_SIZE)
            .wait_time_seconds(WAIT_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(err) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&err), "jobs queue poll failed");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let mut event = SqsEvent::default();
        let mut handles = HashMap::new();
        for message in messages {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id.clone();
            record.receipt_handle = message.receipt_handle.clone();
            record.body = message.body.clone();
            record.md5_of_body = message.md5_of_body.clone();
            record.attributes = message
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_owned(), v))
                .collect();
            record.event_source = Some("aws:sqs".to_owned());
            record.event_source_arn = Some(arn.clone());
            record.aws_region = Some("us-east-1".to_owned());
            if let (Some(id), Some(handle)) = (message.message_id, message.receipt_handle) {
                handles.insert(id, handle);
            }
            event.records.push(record);
        }
        let payload = serde_json::to_value(&event).unwrap_or_default();
        let retry: HashSet<String> = match function.invoke(payload).await {
            Invoked::Answer(answer) => serde_json::from_value::<SqsBatchResponse>(answer)
                .map(|r| {
                    r.batch_item_failures
                        .into_iter()
                        .map(|f| f.item_identifier)
                        .collect()
                })
                // An answer that is not a batch response fails the whole batch, as on AWS.
                .unwrap_or_else(|_| handles.keys().cloned().collect()),
            Invoked::Failed(_) => handles.keys().cloned().collect(),
        };
        let done: Vec<DeleteMessageBatchRequestEntry> = handles
            .iter()
            .filter(|(id, _)| !retry.contains(*id))
            .enumerate()
            .filter_map(|(index, (_, handle))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("d{index}"))
                    .receipt_handle(handle)
                    .build()
                    .ok()
            })
            .collect();
        if !done.is_empty() {
            if let Err(err) = client
                .delete_message_batch()
                .queue_url(&queue_url)
                .set_entries(Some(done))
                .send()
                .await
            {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&err), "deleting processed messages failed");
            }
        }
    }
}

/// `arn:aws:sqs:REGION:ACCOUNT:NAME` from a queue URL `.../ACCOUNT/NAME`.
fn queue_arn(queue_url: &str) -> String {
    let mut parts = queue_url.rsplit('/');
    let name = parts.next().unwrap_or("queue");
    let account = parts.next().unwrap_or("000000000000");
    format!("arn:aws:sqs:us-east-1:{account}:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_comes_from_the_url() {
        assert_eq!(
            queue_arn("http://127.0.0.1:5000/123456789012/ai-chef-jobs"),
            "arn:aws:sqs:us-east-1:123456789012:ai-chef-jobs"
        );
    }
}
