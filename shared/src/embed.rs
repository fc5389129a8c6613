//! Text embeddings with Titan: the `POST /embeddings` body, its checks (Titan's input limits,
//! dimensions per model), a per-text cache, and bounded concurrency for many texts. A failed
//! embedding is an error, never a vector of zeros.

use crate::bedrock::{EmbedRequest, EmbeddingClient};
use crate::cache::{cache_key, ResponseCache};
use crate::config::{Config, EmbeddingModel};
use crate::deadline::Deadline;
use crate::error::{FieldError, ModelFailure, ServiceError};
use crate::metrics::{CallStatus, MetricsRecorder};
use crate::request::parse_wire;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Titan's documented input limit is 50,000 characters (and 8,192 tokens, which only the
/// service can count: its refusal is reported as `invalid_request` too).
pub const MAX_TEXT_CHARS: usize = 50_000;
pub const MAX_TEXTS: usize = 64;
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
pub const V1_DIMENSIONS: u32 = 1536;
pub const V2_DIMENSIONS: [u32; 3] = [256, 512, 1024];
/// Parallel Titan calls per request: enough to hide latency, few enough not to self-throttle.
pub const CONCURRENCY: usize = 4;
/// A Titan call is not started with less time than this left after the margin: it could
/// not finish, and would only spend a call on a certain timeout.
pub const MIN_CALL_BUDGET: std::time::Duration = std::time::Duration::from_millis(200);

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EmbedBodyWire {
    pub texts: Option<Vec<String>>,
    pub model: Option<String>,
    #[serde(default, deserialize_with = "crate::request::whole_number")]
    pub dimensions: Option<u64>,
    pub normalize: Option<bool>,
}

/// A checked embedding request.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedQuery {
    pub texts: Vec<String>,
    pub model: EmbeddingModel,
    pub dimensions: u32,
    pub normalize: bool,
}

impl EmbedQuery {
    pub fn from_json(body: &[u8]) -> Result<EmbedQuery, ServiceError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ServiceError::PayloadTooLarge {
                size: body.len(),
                limit: MAX_BODY_BYTES,
            });
        }
        EmbedQuery::try_from(parse_wire::<EmbedBodyWire>(body)?)
    }
}

impl TryFrom<EmbedBodyWire> for EmbedQuery {
    type Error = ServiceError;

    fn try_from(wire: EmbedBodyWire) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let model = match wire.model.as_deref() {
            None => Some(EmbeddingModel::TitanV2),
            Some(alias) => EmbeddingModel::parse(alias).or_else(|| {
                errors.push(FieldError::new(
                    "model",
                    "must be one of titan-v2, titan-v1, titan-embed",
                ));
                None
            }),
        };
        let dimensions = match (model, wire.dimensions) {
            (Some(EmbeddingModel::TitanV1), None) => Some(V1_DIMENSIONS),
            (Some(EmbeddingModel::TitanV1), Some(d)) if d == u64::from(V1_DIMENSIONS) => {
                Some(V1_DIMENSIONS)
            }
            (Some(EmbeddingModel::TitanV1), Some(d)) => {
                errors.push(FieldError::new(
                    "dimensions",
                    format!("titan-v1 always gives 1536 dimensions, got {d}"),
                ));
                None
            }
            (_, None) => Some(1024),
            (_, Some(d)) => match V2_DIMENSIONS.iter().find(|x| u64::from(**x) == d) {
                Some(x) => Some(*x),
                None => {
                    errors.push(FieldError::new(
                        "dimensions",
                        format!("must be 256, 512 or 1024 for titan-v2, got {d}"),
                    ));
                    None
                }
            },
        };
        let texts = wire.texts.unwrap_or_default();
        if texts.is_empty() {
            errors.push(FieldError::new("texts", "must hold at least one text"));
        } else if texts.len() > MAX_TEXTS {
            errors.push(FieldError::new(
                "texts",
                format!("has {} items; at most {MAX_TEXTS} are allowed", texts.len()),
            ));
        }
        for (i, text) in texts.iter().enumerate() {
            let chars = text.chars().count();
            if text.trim().is_empty() {
                errors.push(FieldError::new(format!("texts[{i}]"), "must not be empty"));
            } else if chars > MAX_TEXT_CHARS {
                errors.push(FieldError::new(
                    format!("texts[{i}]"),
                    format!("is {chars} characters; Titan accepts at most {MAX_TEXT_CHARS}"),
                ));
            }
        }
        match (model, dimensions) {
            (Some(model), Some(dimensions)) if errors.is_empty() => Ok(EmbedQuery {
                texts,
                model,
                dimensions,
                normalize: wire.normalize.unwrap_or(true),
            }),
            _ => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                let message = format!("request is invalid: check {}", fields.join(", "));
                Err(ServiceError::invalid(message, errors))
            }
        }
    }
}

/// The `POST /embeddings` 200 body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct EmbedResponseBody {
    pub model_id: String,
    pub dimensions: u32,
    pub embeddings: Vec<Vec<f32>>,
    pub input_tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
struct CachedEmbedding {
    vector: Vec<f32>,
    input_tokens: u64,
}

#[derive(Clone)]
pub struct EmbeddingService {
    config: Arc<Config>,
    client: Arc<dyn EmbeddingClient>,
    cache: ResponseCache<CachedEmbedding>,
}

impl std::fmt::Debug for EmbeddingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingService")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl EmbeddingService {
    pub fn new(config: Arc<Config>, client: Arc<dyn EmbeddingClient>) -> Self {
        let cache = ResponseCache::new(
            config.cache_max_entries.saturating_mul(10),
            config.cache_ttl,
        );
        EmbeddingService {
            config,
            client,
            cache,
        }
    }

    pub fn model_id(&self, model: EmbeddingModel) -> &str {
        self.config.models.embedding_model_id(model)
    }

    /// Embeds every text, in order, with at most [`CONCURRENCY`] calls in flight.
    pub async fn embed_all(
        &self,
        query: &EmbedQuery,
        deadline: Deadline,
        metrics: &MetricsRecorder,
    ) -> Result<EmbedResponseBody, ServiceError> {
        let results: Vec<(Vec<f32>, u64)> = stream::iter(query.texts.iter().enumerate())
            .map(|(i, text)| async move {
                self.embed_one(
                    query.model,
                    query.dimensions,
                    query.normalize,
                    text,
                    deadline,
                    metrics,
                )
                .await
                .map_err(|e| with_text_index(e, i))
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let input_tokens = results.iter().map(|(_, t)| t).sum();
        Ok(EmbedResponseBody {
            model_id: self.model_id(query.model).to_owned(),
            dimensions: query.dimensions,
            embeddings: results.into_iter().map(|(v, _)| v).collect(),
            input_tokens,
        })
    }

    /// Embeds one text (cached). Returns the vector and the input token count.
    pub async fn embed_one(
        &self,
        model: EmbeddingModel,
        dimensions: u32,
        normalize: bool,
        text: &str,
        deadline: Deadline,
        metrics: &MetricsRecorder,
    ) -> Result<(Vec<f32>, u64), ServiceError> {
        let model_id = self.model_id(model).to_owned();
        let key = cache_key(
            &model_id,
            &format!("{dimensions}\u{0}{normalize}\u{0}{text}"),
        );
        if let Some(hit) = self.cache.get(&key) {
            return Ok((hit.vector.clone(), hit.input_tokens));
        }
        let budget = deadline
            .budget(self.config.deadline_margin)
            .filter(|budget| *budget >= MIN_CALL_BUDGET)
            .ok_or(ServiceError::DeadlineExceeded { attempts: 0 })?;
        let request = EmbedRequest {
            model_id: model_id.clone(),
            text: text.to_owned(),
            dimensions: (model == EmbeddingModel::TitanV2).then_some(dimensions),
            normalize,
            timeout: budget,
        };
        let response = match self.client.embed(&request).await {
            Ok(r) => {
                metrics.record_call(&model_id, CallStatus::Success, r.latency);
                let usage = crate::pricing::TokenUsage {
                    input_tokens: r.input_tokens,
                    ..Default::default()
                };
                let cost = crate::pricing::PriceTable::embedded()
                    .ok()
                    .and_then(|prices| prices.cost(&model_id, &usage))
                    .unwrap_or(0.0);
                metrics.record_usage(&model_id, usage, cost);
                r
            }
            Err(err) => {
                metrics.record_call(&model_id, CallStatus::Error, err.latency);
                if err.failure == ModelFailure::Validation && !err.timed_out {
                    // Titan refuses input over its token limit with a validation error.
                    return Err(ServiceError::invalid(
                        format!("the embedding model refused the text: {}", err.message),
                        vec![FieldError::new("texts", err.message.clone())],
                    ));
                }
                return Err(err.into_service_error(1));
            }
        };
        let mut vector = response.embedding;
        if vector.len() != dimensions as usize {
            return Err(ServiceError::ModelOutputInvalid {
                message: format!(
                    "expected {dimensions} dimensions, the model gave {}",
                    vector.len()
                ),
            });
        }
        if normalize && model == EmbeddingModel::TitanV1 {
            // Titan v1 has no normalize option; unit length is applied here instead.
            normalize_in_place(&mut vector);
        }
        self.cache.insert(
            key,
            Arc::new(CachedEmbedding {
                vector: vector.clone(),
                input_tokens: response.input_tokens,
            }),
        );
        Ok((vector, response.input_tokens))
    }
}

fn with_text_index(err: ServiceError, index: usize) -> ServiceError {
    match err {
        ServiceError::InvalidRequest { message, details } => ServiceError::InvalidRequest {
            message,
            details: details
                .into_iter()
                .map(|d| FieldError::new(format!("texts[{index}]"), d.message))
                .collect(),
        },
        other => other,
    }
}

/// Scales a vector to unit length (left unchanged when it is all zeros).
pub fn normalize_in_place(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(body: serde_json::Value) -> Result<EmbedQuery, ServiceError> {
        EmbedQuery::from_json(body.to_string().as_bytes())
    }

    #[test]
    fn defaults_and_models() {
        let q = query(serde_json::json!({"texts": ["돼지고기 삼겹살", "양배추"]})).unwrap();
        assert_eq!(
            (q.model, q.dimensions, q.normalize),
            (EmbeddingModel::TitanV2, 1024, true)
        );
        let q = query(serde_json::json!({"texts": ["a"], "model": "titan-v1"})).unwrap();
        assert_eq!(q.dimensions, 1536);
        let q = query(serde_json::json!({"texts": ["a"], "dimensions": 256, "normalize": false}))
            .unwrap();
        assert_eq!((q.dimensions, q.normalize), (256, false));
    }

    #[test]
    fn dimensions_may_be_written_as_whole_floats_but_not_fractions() {
        let q = query(serde_json::json!({"texts": ["a"], "dimensions": 512.0})).unwrap();
        assert_eq!(q.dimensions, 512);
        let q =
            query(serde_json::json!({"texts": ["a"], "model": "titan-v1", "dimensions": 1536.0}))
                .unwrap();
        assert_eq!(q.dimensions, 1536);
        for bad in [
            serde_json::json!({"texts": ["a"], "dimensions": 512.5}),
            serde_json::json!({"texts": ["a"], "dimensions": -512.0}),
            serde_json::json!({"texts": ["a"], "dimensions": 300.0}),
        ] {
            let err = query(bad.clone()).unwrap_err();
            assert_eq!(err.status(), 400, "{bad}");
            let ServiceError::InvalidRequest { details, .. } = &err else {
                panic!("{err:?}")
            };
            assert_eq!(details[0].field, "dimensions", "{bad}");
        }
    }

    #[test]
    fn limits_are_checked() {
        for bad in [
            serde_json::json!({"texts": []}),
            serde_json::json!({"texts": [""]}),
            serde_json::json!({"texts": ["a"], "dimensions": 300}),
            serde_json::json!({"texts": ["a"], "model": "titan-v1", "dimensions": 1024}),
            serde_json::json!({"texts": ["a"], "model": "ada"}),
            serde_json::json!({"texts": ["a"], "extra": 1}),
            serde_json::json!({"texts": ["x".repeat(MAX_TEXT_CHARS + 1)]}),
            serde_json::json!({"texts": vec!["a"; MAX_TEXTS + 1]}),
        ] {
            assert_eq!(query(bad.clone()).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn normalising_gives_unit_length() {
        let mut v = vec![3.0, 4.0];
        normalize_in_place(&mut v);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let mut zeros = vec![0.0, 0.0];
        normalize_in_place(&mut zeros);
        assert_eq!(zeros, vec![0.0, 0.0]);
    }
}
