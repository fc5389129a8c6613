//! `METRICS_SINK=cloudwatch`: the same metrics go out through `PutMetricData`. moto does not
//! speak the CloudWatch protocol the Rust SDK uses (Smithy RPC v2 CBOR), so the request is
//! checked with the SDK's own test utilities: `aws-smithy-mocks` for the typed request and a
//! replayed HTTP exchange for what goes on the wire.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef::metrics::{CallStatus, MetricsRecorder, MetricsSink};
use ai_chef_aws::cloudwatch::CloudWatchSink;
use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataOutput;
use aws_sdk_cloudwatch::types::StandardUnit;
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_mocks::{mock, mock_client};
use aws_smithy_types::body::SdkBody;
use std::time::Duration;

fn recorded() -> ai_chef::metrics::MetricsBatch {
    let recorder = MetricsRecorder::new();
    recorder.record_call(
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        CallStatus::Success,
        Duration::from_millis(1250),
    );
    recorder.record_call(
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        CallStatus::Error,
        Duration::from_millis(80),
    );
    recorder.record_usage(
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ai_chef::pricing::TokenUsage {
            input_tokens: 1200,
            output_tokens: 480,
            cache_read_input_tokens: 0,
            cache_write_input_tokens: 1000,
        },
        0.01455,
    );
    recorder.record_fallback("us.anthropic.claude-haiku-4-5-20251001-v1:0");
    recorder.record_warmup("generate-recipe");
    recorder.take()
}

#[tokio::test]
async fn put_metric_data_carries_the_contract_metrics() {
    let rule = mock!(aws_sdk_cloudwatch::Client::put_metric_data)
        .match_requests(|req| {
            let data = req.metric_data();
            req.namespace() == Some("AI-Chef/Bedrock")
                && data.iter().any(|d| {
                    d.metric_name() == Some("InvocationDuration")
                        && d.unit() == Some(&StandardUnit::Seconds)
                        && d.values() == [1.25]
                        && d.dimensions()
                            .iter()
                            .any(|x| x.name() == Some("Status") && x.value() == Some("Success"))
                        && d.dimensions().iter().any(|x| {
                            x.name() == Some("ModelId")
                                && x.value() == Some("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
                        })
                })
                && data.iter().any(|d| {
                    d.metric_name() == Some("InvocationCount")
                        && d.unit() == Some(&StandardUnit::Count)
                        && d.value() == Some(1.0)
                        && d.dimensions().iter().any(|x| x.value() == Some("Error"))
                })
                && data.iter().any(|d| {
                    d.metric_name() == Some("InputTokens")
                        && d.unit() == Some(&StandardUnit::Count)
                        && d.values() == [1200.0]
                        && d.dimensions().len() == 1
                        && d.dimensions()[0].name() == Some("ModelId")
                })
                && data.iter().any(|d| {
                    d.metric_name() == Some("CostUsd")
                        && d.unit() == Some(&StandardUnit::None)
                        && d.values() == [0.01455]
                })
                && data.iter().any(|d| {
                    d.metric_name() == Some("ModelFallback")
                        && d.value() == Some(1.0)
                        && d.dimensions()[0].value()
                            == Some("us.anthropic.claude-haiku-4-5-20251001-v1:0")
                })
        })
        .then_output(|| PutMetricDataOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatch, [&rule]);
    let sink = CloudWatchSink {
        client,
        namespace: "AI-Chef/Bedrock".to_owned(),
    };
    sink.flush(recorded()).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn the_wire_request_is_rpc_v2_cbor_put_metric_data() {
    let replay = StaticReplayClient::new(vec![ReplayEvent::new(
        http::Request::builder()
            .uri("http://127.0.0.1/service/GraniteServiceVersion20100801/operation/PutMetricData")
            .body(SdkBody::empty())
            .unwrap(),
        http::Response::builder()
            .status(200)
            .header("content-type", "application/cbor")
            .header("smithy-protocol", "rpc-v2-cbor")
            // An empty CBOR map: PutMetricData has no output members.
            .body(SdkBody::from(vec![0xA0u8]))
            .unwrap(),
    )]);
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url("http://127.0.0.1")
        .http_client(replay.clone())
        .build();
    let sink = CloudWatchSink {
        client: aws_sdk_cloudwatch::Client::from_conf(config),
        namespace: "AI-Chef/Bedrock".to_owned(),
    };
    sink.flush(recorded()).await.unwrap();
    let requests: Vec<_> = replay.actual_requests().collect();
    assert_eq!(requests.len(), 1);
    let request = requests[0];
    assert!(
        request.uri().ends_with("/operation/PutMetricData"),
        "{}",
        request.uri()
    );
    assert_eq!(
        request.headers().get("smithy-protocol"),
        Some("rpc-v2-cbor")
    );
    let body = request.body().bytes().unwrap();
    for needle in [
        "AI-Chef/Bedrock",
        "InvocationDuration",
        "InvocationCount",
        "ModelId",
        "Status",
        "Success",
        "Error",
        "InputTokens",
        "OutputTokens",
        "CostUsd",
        "ModelFallback",
    ] {
        assert!(
            body.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} not in the CBOR body"
        );
    }
}
