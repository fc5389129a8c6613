//! Copies a function's stdout/stderr to where the caller wants it while keeping the last
//! few KiB, so a failed start can show what the function said before dying.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How much of each stream is kept for error reports.
const TAIL_BYTES: usize = 16 * 1024;

/// The last [`TAIL_BYTES`] bytes written to one stream.
#[derive(Debug, Default)]
pub(crate) struct OutputTail {
    bytes: Mutex<VecDeque<u8>>,
}

impl OutputTail {
    pub(crate) fn push(&self, chunk: &[u8]) {
        let mut bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend(chunk);
        let excess = bytes.len().saturating_sub(TAIL_BYTES);
        bytes.drain(..excess);
    }

    pub(crate) fn text(&self) -> String {
        let bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        let (front, back) = bytes.as_slices();
        let mut all = Vec::with_capacity(bytes.len());
        all.extend_from_slice(front);
        all.extend_from_slice(back);
        String::from_utf8_lossy(&all).into_owned()
    }
}

/// Where a copied stream goes besides the tail.
pub(crate) enum Sink {
    Stdout,
    Stderr,
    Discard,
}

/// Reads `source` to its end, keeping the tail and forwarding to `sink`.
pub(crate) async fn pump(mut source: impl AsyncRead + Unpin, sink: Sink, tail: Arc<OutputTail>) {
    let mut writer: Option<Box<dyn AsyncWrite + Unpin + Send>> = match sink {
        Sink::Stdout => Some(Box::new(tokio::io::stdout())),
        Sink::Stderr => Some(Box::new(tokio::io::stderr())),
        Sink::Discard => None,
    };
    let mut buffer = vec![0_u8; 8192];
    loop {
        let read = match source.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let chunk = &buffer[..read];
        tail.push(chunk);
        if let Some(out) = writer.as_mut() {
            // A closed terminal must not stop the function: keep draining, stop forwarding.
            if out.write_all(chunk).await.is_err() || out.flush().await.is_err() {
                writer = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_only_the_newest_bytes() {
        let tail = OutputTail::default();
        tail.push(&vec![b'a'; TAIL_BYTES]);
        tail.push(b"the end");
        let text = tail.text();
        assert_eq!(text.len(), TAIL_BYTES);
        assert!(text.ends_with("the end"));
        assert!(text.starts_with('a'));
    }

    #[tokio::test]
    async fn pump_reads_to_the_end() {
        let tail = Arc::new(OutputTail::default());
        pump(
            &b"line one\nline two\n"[..],
            Sink::Discard,
            Arc::clone(&tail),
        )
        .await;
        assert_eq!(tail.text(), "line one\nline two\n");
    }
}
