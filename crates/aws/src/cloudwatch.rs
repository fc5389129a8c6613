//! `PutMetricData`: the core's metrics batch as CloudWatch datums, and the sink that sends
//! them through the SDK (selected with `METRICS_SINK=cloudwatch`).

use ai_chef::metrics::{CallUsage, MetricsBatch, MetricsError, MetricsSink};
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
    let model_dim = |model_id: &str| Dimension::builder().name("ModelId").value(model_id).build();
    for (model_id, calls) in &batch.usage {
        type Column = (&'static str, StandardUnit, fn(&CallUsage) -> f64);
        let columns: [Column; 5] = [
            ("InputTokens", StandardUnit::Count, |c| {
                c.usage.input_tokens as f64
            }),
            ("OutputTokens", StandardUnit::Count, |c| {
                c.usage.output_tokens as f64
            }),
            ("CacheReadInputTokens", StandardUnit::Count, |c| {
                c.usage.cache_read_input_tokens as f64
            }),
            ("CacheWriteInputTokens", StandardUnit::Count, |c| {
                c.usage.cache_write_input_tokens as f64
            }),
            ("CostUsd", StandardUnit::None, |c| c.cost_usd),
        ];
        for chunk in calls.chunks(CLOUDWATCH_MAX_VALUES) {
            for (name, unit, value) in &columns {
                data.push(
                    MetricDatum::builder()
                        .metric_name(*name)
                        .unit(unit.clone())
                        .dimensions(model_dim(model_id))
                        .set_values(Some(chunk.iter().map(value).collect()))
                        .build(),
                );
            }
        }
    }
    let counts = [
        ("ModelId", "ModelFallback", &batch.fallbacks),
        ("FunctionName", "ColdStart", &batch.cold_starts),
        ("FunctionName", "WarmUpCount", &batch.warmups),
    ];
    for (dimension, metric, by_dimension) in counts {
        for (value, count) in by_dimension {
            data.push(
                MetricDatum::builder()
                    .metric_name(metric)
                    .unit(StandardUnit::Count)
                    .dimensions(Dimension::builder().name(dimension).value(value).build())
                    .value(f64::from(*count))
                    .build(),
            );
        }
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

    #[test]
    fn usage_fallbacks_and_cold_starts_become_datums() {
        let recorder = MetricsRecorder::new();
        recorder.record_call("m1", CallStatus::Success, Duration::from_millis(10));
        let usage = ai_chef::pricing::TokenUsage {
            input_tokens: 100,
            output_tokens: 50,
            cache_read_input_tokens: 900,
            cache_write_input_tokens: 0,
        };
        recorder.record_usage("m1", usage, 0.00126);
        recorder.record_fallback("m2");
        let mut batch = recorder.take();
        batch.cold_starts.insert("generate-recipe".into(), 1);
        let data = metric_data(&batch);
        let cost = data
            .iter()
            .find(|d| d.metric_name() == Some("CostUsd"))
            .unwrap();
        assert_eq!(cost.unit(), Some(&StandardUnit::None));
        assert_eq!(cost.values(), [0.00126]);
        assert_eq!(cost.dimensions()[0].name(), Some("ModelId"));
        for name in ["InputTokens", "OutputTokens", "ModelFallback", "ColdStart"] {
            assert!(data.iter().any(|d| d.metric_name() == Some(name)), "{name}");
        }
    }
}
