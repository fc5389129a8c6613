//! Amazon Titan Text Embeddings (v1 and v2): request validation with Bedrock's messages and
//! deterministic embeddings in which texts sharing words and character n-grams get similar
//! vectors.
//!
//! The vector is feature hashing: for the NFC-lowercased text, every word and every
//! character 1-, 2- and 3-gram inside a word (a Hangul syllable counts as one character)
//! adds a signed weight to the dimension its FNV-1a hash picks. v2 L2-normalises the vector
//! unless `normalize` is false; v1, like the real v1, returns it unnormalised (its length
//! grows with the number of features).

use crate::error::BedrockError;
use crate::model::TitanModel;
use crate::tokens;
use serde::Serialize;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

pub const V1_DIMENSIONS: usize = 1536;
pub const V2_DIMENSIONS: [usize; 3] = [1024, 512, 256];
pub const MAX_INPUT_CHARS: usize = 50_000;
pub const MAX_INPUT_TOKENS: u32 = 8192;

/// A validated embedding request.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedRequest {
    pub input_text: String,
    pub dimensions: usize,
    pub normalize: bool,
    pub float: bool,
    pub binary: bool,
}

pub fn parse_request(body: &[u8], model: TitanModel) -> Result<EmbedRequest, BedrockError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        BedrockError::validation(
            "Malformed input request, please reformat your input and try again.",
        )
    })?;
    let object = value
        .as_object()
        .ok_or_else(|| BedrockError::malformed("#: expected type: JSONObject"))?;
    let allowed: &[&str] = match model {
        TitanModel::V1 => &["inputText"],
        TitanModel::V2 => &["inputText", "dimensions", "normalize", "embeddingTypes"],
    };
    if let Some(extra) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(BedrockError::malformed(format!(
            "#: extraneous key [{extra}] is not permitted"
        )));
    }
    let input_text = match object.get("inputText") {
        Some(Value::String(text)) => text.clone(),
        Some(_) => {
            return Err(BedrockError::malformed(
                "#/inputText: expected type: String",
            ))
        }
        None => {
            return Err(BedrockError::malformed(
                "#: required key [inputText] not found",
            ))
        }
    };
    let length = input_text.chars().count();
    if length == 0 {
        return Err(BedrockError::malformed(
            "#/inputText: expected minLength: 1, actual: 0",
        ));
    }
    if length > MAX_INPUT_CHARS {
        return Err(BedrockError::malformed(format!(
            "#/inputText: expected maxLength: {MAX_INPUT_CHARS}, actual: {length}"
        )));
    }
    let token_count = tokens::estimate(&input_text);
    if token_count > MAX_INPUT_TOKENS {
        return Err(BedrockError::validation(format!(
            "400 Bad Request: Too many input tokens. Max input tokens: {MAX_INPUT_TOKENS}, request input token count: {token_count} "
        )));
    }
    let dimensions = match (model, object.get("dimensions")) {
        (TitanModel::V1, _) => V1_DIMENSIONS,
        (TitanModel::V2, None) => V2_DIMENSIONS[0],
        (TitanModel::V2, Some(value)) => match value.as_u64() {
            Some(d) if V2_DIMENSIONS.iter().any(|&ok| ok as u64 == d) => d as usize,
            _ => {
                return Err(BedrockError::malformed(format!(
                    "#/dimensions: {value} is not a valid enum value"
                )))
            }
        },
    };
    let normalize = match object.get("normalize") {
        None => true,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => {
            return Err(BedrockError::malformed(
                "#/normalize: expected type: Boolean",
            ))
        }
    };
    let (float, binary) = match object.get("embeddingTypes") {
        None => (true, false),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut types = (false, false);
            for item in items {
                match item.as_str() {
                    Some("float") => types.0 = true,
                    Some("binary") => types.1 = true,
                    _ => {
                        return Err(BedrockError::malformed(format!(
                            "#/embeddingTypes: {item} is not a valid enum value"
                        )))
                    }
                }
            }
            types
        }
        Some(_) => {
            return Err(BedrockError::malformed(
                "#/embeddingTypes: expected a non-empty array of \"float\" or \"binary\"",
            ))
        }
    };
    Ok(EmbedRequest {
        input_text,
        dimensions,
        normalize: normalize && model == TitanModel::V2,
        float,
        binary,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddingsByType {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub float: Option<Vec<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedResponse {
    pub embedding: Vec<f32>,
    pub input_text_token_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embeddings_by_type: Option<EmbeddingsByType>,
}

/// The response body for a validated request (v1 has no `embeddingsByType`).
pub fn respond(request: &EmbedRequest, model: TitanModel) -> EmbedResponse {
    let embedding = embed(&request.input_text, request.dimensions, request.normalize);
    let embeddings_by_type = (model == TitanModel::V2).then(|| EmbeddingsByType {
        float: request.float.then(|| embedding.clone()),
        binary: request
            .binary
            .then(|| embedding.iter().map(|&x| u8::from(x > 0.0)).collect()),
    });
    EmbedResponse {
        embedding,
        input_text_token_count: tokens::estimate(&request.input_text),
        embeddings_by_type,
    }
}

/// The deterministic feature-hashing embedding of `text`.
pub fn embed(text: &str, dimensions: usize, normalize: bool) -> Vec<f32> {
    let mut vector = vec![0f64; dimensions.max(1)];
    let folded: String = text.nfc().flat_map(char::to_lowercase).collect();
    let words: Vec<Vec<char>> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().collect())
        .collect();
    for word in &words {
        let whole: String = word.iter().collect();
        add_feature(&mut vector, b'w', &whole, 1.5);
        for n in 1..=3usize {
            let weight = if n == 1 { 0.5 } else { 1.0 };
            for gram in word.windows(n) {
                let gram: String = gram.iter().collect();
                add_feature(&mut vector, b'0' + n as u8, &gram, weight);
            }
        }
    }
    if normalize {
        let norm = vector.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            vector.iter_mut().for_each(|x| *x /= norm);
        }
    }
    vector.into_iter().map(|x| x as f32).collect()
}

fn add_feature(vector: &mut [f64], kind: u8, feature: &str, weight: f64) {
    let hash = fnv1a(kind, feature.as_bytes());
    let index = (hash % vector.len() as u64) as usize;
    let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
    vector[index] += sign * weight;
}

fn fnv1a(kind: u8, bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    std::iter::once(kind)
        .chain(bytes.iter().copied())
        .fold(OFFSET, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f64 {
        let dot: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        dot / (na * nb)
    }

    #[test]
    fn similar_texts_get_similar_vectors() {
        let a = embed("돼지고기 삼겹살", 1024, true);
        let b = embed("삼겹살 돼지고기", 1024, true);
        let c = embed("바나나 우유", 1024, true);
        let d = embed("돼지고기 목살", 1024, true);
        assert!(cosine(&a, &b) > 0.99);
        assert!(cosine(&a, &d) > cosine(&a, &c) + 0.2);
        assert!(cosine(&a, &c) < 0.3);
    }

    #[test]
    fn normalisation_and_case_folding() {
        let v = embed("Pork Belly", 256, true);
        let norm: f64 = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(v, embed("pork belly", 256, true));
        let raw = embed("pork belly", 256, false);
        let raw_norm: f64 = raw
            .iter()
            .map(|x| f64::from(*x).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(raw_norm > 2.0);
    }

    #[test]
    fn validation_messages() {
        let v2 = |body: &str| parse_request(body.as_bytes(), TitanModel::V2);
        let v1 = |body: &str| parse_request(body.as_bytes(), TitanModel::V1);
        assert!(v2(r#"{"inputText":""}"#)
            .unwrap_err()
            .message
            .contains("minLength: 1"));
        assert!(v2(r#"{"inputText":"a","dimensions":100}"#)
            .unwrap_err()
            .message
            .contains("#/dimensions"));
        assert!(v1(r#"{"inputText":"a","dimensions":256}"#)
            .unwrap_err()
            .message
            .contains("extraneous key [dimensions]"));
        let long = format!(r#"{{"inputText":"{}"}}"#, "a".repeat(MAX_INPUT_CHARS + 1));
        assert!(v2(&long).unwrap_err().message.contains("maxLength: 50000"));
        let request = v2(r#"{"inputText":"a","dimensions":512,"normalize":false,"embeddingTypes":["binary","float"]}"#).unwrap();
        assert_eq!(request.dimensions, 512);
        assert!(!request.normalize && request.binary && request.float);
        assert_eq!(v1(r#"{"inputText":"a"}"#).unwrap().dimensions, 1536);
    }
}
