//! A moto server (local DynamoDB and SQS) on 127.0.0.1 for the batch tests: started on a free
//! port, waited for, and killed when dropped. Tests fail (never skip) when it cannot start:
//! install it with `pip install 'moto[server]'`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `moto_server`; dropping it kills the process.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts `moto_server` (or `python3 -m moto.server`) and waits until it answers HTTP.
    pub fn start() -> Moto {
        let port = free_port();
        let port_text = port.to_string();
        let candidates: [(&str, Vec<&str>); 2] = [
            ("moto_server", vec!["-H", "127.0.0.1", "-p", &port_text]),
            (
                "python3",
                vec!["-m", "moto.server", "-H", "127.0.0.1", "-p", &port_text],
            ),
        ];
        let mut errors = Vec::new();
        for (program, args) in candidates {
            let spawned = Command::new(program)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(err) => {
                    errors.push(format!("{program}: {err}"));
                    continue;
                }
            };
            match wait_ready(&mut child, port) {
                Ok(()) => return Moto { child, port },
                Err(err) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    errors.push(format!("{program}: {err}"));
                }
            }
        }
        panic!(
            "moto server could not be started on 127.0.0.1:{port} ({}). The batch tests need it: \
             pip install 'moto[server]'",
            errors.join("; ")
        );
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while started.elapsed() < READY_TIMEOUT {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited at start with {status}"));
        }
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            use std::io::{Read, Write};
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let request = format!(
                "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let mut first = [0u8; 12];
                if stream.read_exact(&mut first).is_ok() && first.starts_with(b"HTTP/1.") {
                    return Ok(());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("not answering after {READY_TIMEOUT:?}"))
}

/// Creates the results table as the SAM template defines it (`jobId` + `requestId`).
pub async fn create_results_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("jobId")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("requestId")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("jobId")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("requestId")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// A jobs queue with a dead-letter queue after `max_receive_count` receives.
#[derive(Debug, Clone)]
pub struct Queues {
    pub jobs_url: String,
    pub jobs_arn: String,
    pub dlq_url: String,
}

pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    visibility_secs: u32,
    max_receive_count: u32,
) -> Queues {
    use aws_sdk_sqs::types::QueueAttributeName;
    let dlq_url = client
        .create_queue()
        .queue_name(format!("{prefix}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = queue_arn(client, &dlq_url).await;
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
            .to_string();
    let jobs_url = client
        .create_queue()
        .queue_name(format!("{prefix}-jobs"))
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_secs.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let jobs_arn = queue_arn(client, &jobs_url).await;
    Queues {
        jobs_url,
        jobs_arn,
        dlq_url,
    }
}

pub async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    let attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    attributes.attributes().unwrap()[&QueueAttributeName::QueueArn].clone()
}

/// The Lambda SQS event for received messages, shaped as the event source mapping sends it.
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str) -> serde_json::Value {
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, serde_json::Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), serde_json::Value::String(v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            serde_json::json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}
