//! `PutMetricData`: the core's metrics batch as CloudWatch datums, and the sink that sends
//! them through the SDK (selected with `METRICS_SINK=cloudwatch`).

use ai_chef::metrics::{MetricsBatch, MetricsError, MetricsSink};
use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

/// `PutMetricData` takes at most 150 values per datum.
const CLOUDWATCH_MAX_VALUES: usize = 150;

/// The `PutMetricData` datums for a batch.
pub fn metric_data(batch: &MetricsBatch) -> Vec<MetricDatum> {
    let mut data = Vec::new();
    for ((model_id, status), durations) in &batch.calls {
        let dims = [
            Dimension::builder().name("ModelId").value(model_id).build(),
            Dimension::builder()
                .name("Status")
                .value(status.as_str())
                .build(),
        ];
        for chunk in durations.chunks(CLOUDWATCH_MAX_VALUES) {
            data.push(
                MetricDatum::builder()
                    .metric_name("InvocationDuration")
                    .unit(StandardUnit::Seconds)
                    .set_dimensions(Some(dims.to_vec()))
                    .set_values(Some(chunk.to_vec()))
                    .build(),
            );
        }
        data.push(
            MetricDatum::builder()
                .metric_name("InvocationCount")
                .unit(StandardUnit::Count)
                .set_dimensions(Some(dims.to_vec()))
                .value(durations.len() as f64)
                .build(),
        );
    }
    for (function_name, count) in &batch.warmups {
        data.push(
            MetricDatum::builder()
                .metric_name("WarmUpCount")
                .unit(StandardUnit::Count)
                .dimensions(
                    Dimension::builder()
                        .name("FunctionName")
                        .value(function_name)
                        .build(),
                )
                .value(f64::from(*count))
                .build(),
        );
    }
    data
}

/// `PutMetricData` through the SDK (selected with `METRICS_SINK=cloudwatch`).
#[derive(Debug, Clone)]
pub struct CloudWatchSink {
    pub client: aws_sdk_cloudwatch::Client,
    pub namespace: String,
}

impl CloudWatchSink {
    pub fn from_sdk(sdk: &aws_config::SdkConfig, namespace: impl Into<String>) -> Self {
        CloudWatchSink {
            client: aws_sdk_cloudwatch::Client::new(sdk),
            namespace: namespace.into(),
        }
    }
}

#[async_trait]
impl MetricsSink for CloudWatchSink {
    async fn flush(&self, batch: MetricsBatch) -> Result<(), MetricsError> {
        let data = metric_data(&batch);
        // PutMetricData accepts up to 1000 datums per request.
        for chunk in data.chunks(1000) {
            self.client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| MetricsError(format!("{e:?}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ai_chef::metrics::{CallStatus, MetricsRecorder};
    use std::time::Duration;

    fn sample() -> MetricsBatch {
        let recorder = MetricsRecorder::new();
        recorder.record_call("m1", CallStatus::Success, Duration::from_millis(1500));
        recorder.record_call("m1", CallStatus::Success, Duration::from_millis(500));
        recorder.record_call("m1", CallStatus::Error, Duration::from_millis(100));
        recorder.take()
    }

    #[test]
    fn put_metric_data_datums() {
        let data = metric_data(&sample());
        let names: Vec<_> = data
            .iter()
            .map(|d| d.metric_name().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "InvocationDuration",
                "InvocationCount",
                "InvocationDuration",
                "InvocationCount"
            ]
        );
        let success_count = &data[1];
        assert_eq!(success_count.value(), Some(2.0));
        assert_eq!(success_count.unit(), Some(&StandardUnit::Count));
    }
}
