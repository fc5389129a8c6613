//! Enqueueing a job's messages: the [`JobQueue`] trait, `SendMessageBatch`-sized chunks (at
//! most 10 entries and 256 KiB each), and resending the entries SQS reports as failed, so that
//! an accepted job has every one of its messages on the queue. The SQS queue lives in the AWS
//! adapters crate.

use async_trait::async_trait;
use std::collections::HashSet;
use std::time::Duration;
use thiserror::Error;

/// `SendMessageBatch` limits.
pub const MAX_BATCH_ENTRIES: usize = 10;
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Rounds of resending failed entries before the submission is refused.
pub const SEND_ROUNDS: u32 = 4;

/// One message; `id` is unique within a submission (letters, digits, `-`, `_`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    pub id: String,
    pub body: String,
}

/// An entry SQS did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub id: String,
    /// The request itself is wrong: sending it again cannot help.
    pub sender_fault: bool,
    pub reason: String,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum QueueError {
    #[error("the jobs queue could not be reached or refused the call: {0}")]
    Unavailable(String),
    #[error("{} message(s) could not be enqueued: {reason}", unsent.len())]
    Unsent { unsent: Vec<String>, reason: String },
}

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Sends one batch (within the limits above); answers the entries that failed.
    async fn send_batch(&self, entries: &[QueueEntry]) -> Result<Vec<SendFailure>, QueueError>;
}

/// Splits entries into batches of at most `max_entries` and `max_bytes` of bodies. An entry
/// larger than `max_bytes` gets a batch of its own (SQS then reports it as failed).
pub fn chunk_entries(
    entries: &[QueueEntry],
    max_entries: usize,
    max_bytes: usize,
) -> Vec<&[QueueEntry]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, entry) in entries.iter().enumerate() {
        let size = entry.body.len();
        let count = i - start;
        if count > 0 && (count >= max_entries.max(1) || bytes + size > max_bytes) {
            chunks.push(&entries[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < entries.len() {
        chunks.push(&entries[start..]);
    }
    chunks
}

/// Sends every entry, resending what SQS reports as failed (or a batch whose call failed) for
/// up to [`SEND_ROUNDS`] rounds with a short backoff.
pub async fn enqueue_all(queue: &dyn JobQueue, entries: &[QueueEntry]) -> Result<(), QueueError> {
    let mut pending: Vec<QueueEntry> = entries.to_vec();
    let mut last_reason = String::new();
    for round in 0..SEND_ROUNDS {
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(50 << round)).await;
        }
        let mut failed: HashSet<String> = HashSet::new();
        for chunk in chunk_entries(&pending, MAX_BATCH_ENTRIES, MAX_BATCH_BYTES) {
            match queue.send_batch(chunk).await {
                Ok(failures) => {
                    if let Some(fatal) = failures.iter().find(|f| f.sender_fault) {
                        return Err(QueueError::Unsent {
                            unsent: failures.iter().map(|f| f.id.clone()).collect(),
                            reason: fatal.reason.clone(),
                        });
                    }
                    for failure in failures {
                        last_reason = failure.reason;
                        failed.insert(failure.id);
                    }
                }
                Err(err) => {
                    last_reason = err.to_string();
                    failed.extend(chunk.iter().map(|e| e.id.clone()));
                }
            }
        }
        pending.retain(|e| failed.contains(&e.id));
        if pending.is_empty() {
            return Ok(());
        }
        tracing::warn!(round, failed = pending.len(), reason = %last_reason, "resending messages SQS did not take");
    }
    Err(QueueError::Unsent {
        unsent: pending.into_iter().map(|e| e.id).collect(),
        reason: last_reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn entries(n: usize, size: usize) -> Vec<QueueEntry> {
        (0..n)
            .map(|i| QueueEntry {
                id: format!("e{i}"),
                body: "x".repeat(size),
            })
            .collect()
    }

    #[test]
    fn chunks_respect_count_and_size() {
        let sizes: Vec<usize> = chunk_entries(&entries(25, 10), 10, 1_000)
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(sizes, [10, 10, 5]);
        let sizes: Vec<usize> = chunk_entries(&entries(5, 400), 10, 1_000)
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(sizes, [2, 2, 1]);
        let sizes: Vec<usize> = chunk_entries(&entries(2, 5_000), 10, 1_000)
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(sizes, [1, 1]);
        assert!(chunk_entries(&[], 10, 1_000).is_empty());
    }

    /// Fails the first send of every entry whose id is listed, then takes it.
    #[derive(Default)]
    struct FlakyQueue {
        flaky: Vec<String>,
        fatal: Option<String>,
        sent: Mutex<Vec<String>>,
        calls: Mutex<u32>,
    }

    #[async_trait]
    impl JobQueue for FlakyQueue {
        async fn send_batch(&self, batch: &[QueueEntry]) -> Result<Vec<SendFailure>, QueueError> {
            assert!(batch.len() <= MAX_BATCH_ENTRIES);
            *self.calls.lock().unwrap() += 1;
            let mut sent = self.sent.lock().unwrap();
            let mut failures = Vec::new();
            for entry in batch {
                let seen = sent.iter().filter(|id| **id == entry.id).count();
                let fails_once = self.flaky.contains(&entry.id)
                    && !sent.contains(&format!("tried-{}", entry.id));
                if self.fatal.as_deref() == Some(entry.id.as_str()) {
                    failures.push(SendFailure {
                        id: entry.id.clone(),
                        sender_fault: true,
                        reason: "too big".into(),
                    });
                } else if fails_once {
                    sent.push(format!("tried-{}", entry.id));
                    failures.push(SendFailure {
                        id: entry.id.clone(),
                        sender_fault: false,
                        reason: "internal".into(),
                    });
                } else {
                    assert_eq!(seen, 0, "{} sent twice", entry.id);
                    sent.push(entry.id.clone());
                }
            }
            Ok(failures)
        }
    }

    #[tokio::test]
    async fn failed_entries_are_resent_and_only_they() {
        let queue = FlakyQueue {
            flaky: vec!["e3".into(), "e17".into()],
            ..FlakyQueue::default()
        };
        enqueue_all(&queue, &entries(23, 10)).await.unwrap();
        let sent: Vec<String> = queue
            .sent
            .lock()
            .unwrap()
            .iter()
            .filter(|s| !s.starts_with("tried-"))
            .cloned()
            .collect();
        assert_eq!(sent.len(), 23);
        assert_eq!(
            *queue.calls.lock().unwrap(),
            4,
            "3 chunks, then one resend of the 2 failed"
        );
    }

    #[tokio::test]
    async fn a_sender_fault_refuses_the_submission() {
        let queue = FlakyQueue {
            fatal: Some("e1".into()),
            ..FlakyQueue::default()
        };
        let err = enqueue_all(&queue, &entries(3, 10)).await.unwrap_err();
        assert!(
            matches!(err, QueueError::Unsent { ref unsent, .. } if unsent == &["e1"]),
            "{err:?}"
        );
    }
}
