//! What a model call costs: token usage as Bedrock reports it ([`TokenUsage`]) and the price
//! table per model family (`data/model-prices.toml`, validated when loaded), which also says
//! which models take the recipe through a forced tool call and accept prompt-cache points.

use serde::{Deserialize, Serialize};
use std::ops::AddAssign;
use std::sync::OnceLock;
use thiserror::Error;

/// `data/model-prices.toml` as the build script converted it (`crate::datafile`).
const PRICES_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/model-prices.json"));

/// Tokens of one or more model calls, in the contract's `meta.usage` shape.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    /// Input tokens read without the prompt cache (Anthropic's `input_tokens`).
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache (`cache_read_input_tokens`).
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the prompt cache (`cache_creation_input_tokens`).
    pub cache_write_input_tokens: u64,
}

impl TokenUsage {
    /// Every input token the model read, cached or not.
    pub fn total_input(&self) -> u64 {
        self.input_tokens + self.cache_read_input_tokens + self.cache_write_input_tokens
    }
}

impl AddAssign for TokenUsage {
    fn add_assign(&mut self, other: TokenUsage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_input_tokens += other.cache_read_input_tokens;
        self.cache_write_input_tokens += other.cache_write_input_tokens;
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum PriceError {
    #[error("model-prices.toml does not parse: {0}")]
    Parse(String),
    #[error("model-prices.toml row `{row}`: {reason}")]
    Row { row: String, reason: String },
}

/// One row of the price table, USD per million tokens.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub name: String,
    pub matches: Vec<String>,
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_write: Option<f64>,
    #[serde(default)]
    pub cache_read: Option<f64>,
    pub structured_output: bool,
    pub prompt_caching: bool,
    pub as_of: String,
    pub source: String,
}

impl ModelPrice {
    /// USD for `usage` at this row's prices.
    pub fn cost(&self, usage: &TokenUsage) -> f64 {
        // A model without caching never reports cache tokens; price any at the input rate.
        let cache_write = self.cache_write.unwrap_or(self.input);
        let cache_read = self.cache_read.unwrap_or(self.input);
        (usage.input_tokens as f64 * self.input
            + usage.output_tokens as f64 * self.output
            + usage.cache_write_input_tokens as f64 * cache_write
            + usage.cache_read_input_tokens as f64 * cache_read)
            / 1_000_000.0
    }

    fn validate(&self) -> Result<(), PriceError> {
        let fail = |reason: String| PriceError::Row {
            row: self.name.clone(),
            reason,
        };
        if self.name.trim().is_empty() {
            return Err(fail("name is empty".to_owned()));
        }
        if self.matches.is_empty() || self.matches.iter().any(|m| m.trim().is_empty()) {
            return Err(fail(
                "`matches` needs at least one non-empty substring".to_owned(),
            ));
        }
        let prices = [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache_write", self.cache_write),
            ("cache_read", self.cache_read),
        ];
        for (column, price) in prices {
            if let Some(price) = price {
                // Anything above $1,000 per million tokens is a typo (per-thousand figures).
                if !price.is_finite() || !(0.0..=1_000.0).contains(&price) {
                    return Err(fail(format!(
                        "{column} = {price} is not a price in USD per million tokens"
                    )));
                }
            }
        }
        if self.prompt_caching != (self.cache_write.is_some() && self.cache_read.is_some()) {
            return Err(fail(
                "a model with prompt_caching needs cache_write and cache_read, and only such a model has them".to_owned(),
            ));
        }
        if !is_iso_date(&self.as_of) {
            return Err(fail(format!(
                "as_of `{}` is not a YYYY-MM-DD date",
                self.as_of
            )));
        }
        if self.source.trim().len() < 10 {
            return Err(fail(
                "source must say where the prices come from".to_owned(),
            ));
        }
        Ok(())
    }
}

fn is_iso_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts.as_slice(), [y, m, d]
        if y.len() == 4 && m.len() == 2 && d.len() == 2
            && [y, m, d].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
            && (1..=12).contains(&m.parse::<u32>().unwrap_or(0))
            && (1..=31).contains(&d.parse::<u32>().unwrap_or(0)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    model: Vec<ModelPrice>,
}

/// The validated price table.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    rows: Vec<ModelPrice>,
}

impl PriceTable {
    /// Decodes and validates a price table in its build-time JSON form (every row, no
    /// duplicate names).
    pub fn from_json(text: &str) -> Result<PriceTable, PriceError> {
        let file: PriceFile =
            serde_json::from_str(text).map_err(|e| PriceError::Parse(e.to_string()))?;
        if file.model.is_empty() {
            return Err(PriceError::Parse("the table has no rows".to_owned()));
        }
        for (i, row) in file.model.iter().enumerate() {
            row.validate()?;
            if file.model[..i].iter().any(|r| r.name == row.name) {
                return Err(PriceError::Row {
                    row: row.name.clone(),
                    reason: "the name appears twice".to_owned(),
                });
            }
        }
        Ok(PriceTable { rows: file.model })
    }

    /// The table shipped with the service, parsed once per process.
    pub fn embedded() -> Result<&'static PriceTable, &'static PriceError> {
        static TABLE: OnceLock<Result<PriceTable, PriceError>> = OnceLock::new();
        TABLE
            .get_or_init(|| PriceTable::from_json(PRICES_JSON))
            .as_ref()
    }

    /// The row pricing `model_id`: the first whose substring occurs in the id.
    pub fn price(&self, model_id: &str) -> Option<&ModelPrice> {
        self.rows
            .iter()
            .find(|row| row.matches.iter().any(|m| model_id.contains(m.as_str())))
    }

    /// USD for `usage` on `model_id`; `None` when no row prices the model.
    pub fn cost(&self, model_id: &str, usage: &TokenUsage) -> Option<f64> {
        self.price(model_id).map(|row| row.cost(usage))
    }

    pub fn rows(&self) -> &[ModelPrice] {
        &self.rows
    }
}

/// Rounds a cost to whole micro-dollars for the answer (sums stay exact enough, figures readable).
pub fn round_usd(cost: f64) -> f64 {
    (cost * 1_000_000.0).round() / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        DEFAULT_CLAUDE3_HAIKU_MODEL_ID, DEFAULT_CLAUDE3_SONNET_MODEL_ID,
        DEFAULT_EMBEDDING_MODEL_ID, DEFAULT_EMBEDDING_V1_MODEL_ID, DEFAULT_HAIKU_MODEL_ID,
        DEFAULT_SONNET_MODEL_ID,
    };

    fn table() -> &'static PriceTable {
        PriceTable::embedded().unwrap()
    }

    #[test]
    fn every_default_model_has_a_price() {
        for id in [
            DEFAULT_SONNET_MODEL_ID,
            DEFAULT_HAIKU_MODEL_ID,
            DEFAULT_CLAUDE3_SONNET_MODEL_ID,
            DEFAULT_CLAUDE3_HAIKU_MODEL_ID,
            DEFAULT_EMBEDDING_MODEL_ID,
            DEFAULT_EMBEDDING_V1_MODEL_ID,
        ] {
            assert!(table().price(id).is_some(), "{id}");
        }
        assert!(table()
            .price("eu.anthropic.claude-sonnet-4-5-20250929-v1:0")
            .is_some());
        assert!(table().price("cohere.embed-v4").is_none());
    }

    #[test]
    fn the_published_rates_are_in_the_table() {
        let sonnet = table().price(DEFAULT_SONNET_MODEL_ID).unwrap();
        assert_eq!((sonnet.input, sonnet.output), (3.0, 15.0));
        // Cache write 1.25x input, cache read 0.1x input.
        assert!((sonnet.cache_write.unwrap() - 1.25 * sonnet.input).abs() < 1e-9);
        assert!((sonnet.cache_read.unwrap() - 0.1 * sonnet.input).abs() < 1e-9);
        let haiku = table().price(DEFAULT_HAIKU_MODEL_ID).unwrap();
        assert_eq!((haiku.input, haiku.output), (1.0, 5.0));
        let legacy = table().price(DEFAULT_CLAUDE3_HAIKU_MODEL_ID).unwrap();
        assert_eq!((legacy.input, legacy.output), (0.25, 1.25));
        assert!(!legacy.structured_output && !legacy.prompt_caching);
        assert!(sonnet.structured_output && sonnet.prompt_caching);
        assert_eq!(
            table().price(DEFAULT_EMBEDDING_MODEL_ID).unwrap().input,
            0.02
        );
    }

    #[test]
    fn cost_counts_each_kind_of_token_at_its_rate() {
        let usage = TokenUsage {
            input_tokens: 1_000,
            output_tokens: 500,
            cache_read_input_tokens: 2_000,
            cache_write_input_tokens: 400,
        };
        let cost = table().cost(DEFAULT_SONNET_MODEL_ID, &usage).unwrap();
        let expected = (1_000.0 * 3.0 + 500.0 * 15.0 + 2_000.0 * 0.30 + 400.0 * 3.75) / 1e6;
        assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
        let mut total = usage;
        total += usage;
        assert_eq!(total.total_input(), 6_800);
        assert_eq!(round_usd(0.012_345_67), 0.012_346);
    }

    /// The build-time conversion, then the load.
    fn parse(toml: &str) -> Result<PriceTable, PriceError> {
        PriceTable::from_json(&crate::datafile::toml_to_json(toml).unwrap())
    }

    #[test]
    fn the_build_time_json_is_the_toml_file() {
        let toml = include_str!("../data/model-prices.toml");
        assert_eq!(PRICES_JSON, crate::datafile::toml_to_json(toml).unwrap());
    }

    #[test]
    fn bad_rows_are_refused_with_their_name() {
        let row = |extra: &str| {
            format!(
                "[[model]]\nname = \"m\"\nmatches = [\"m\"]\ninput = 1.0\noutput = 2.0\n\
                 structured_output = false\nprompt_caching = false\nas_of = \"2025-01-01\"\n\
                 source = \"a published price list\"\n{extra}"
            )
        };
        assert!(parse(&row("")).is_ok());
        let negative = row("").replace("input = 1.0", "input = -1.0");
        assert!(matches!(parse(&negative), Err(PriceError::Row { .. })));
        let cache_without_flag = row("cache_read = 0.1\ncache_write = 1.25\n");
        assert!(parse(&cache_without_flag).is_err());
        let bad_date = row("").replace("2025-01-01", "January 2025");
        assert!(parse(&bad_date).unwrap_err().to_string().contains("as_of"));
        let no_source = row("").replace("a published price list", "");
        assert!(parse(&no_source).is_err());
        let unknown = row("discount = 0.5\n");
        assert!(matches!(parse(&unknown), Err(PriceError::Parse(_))));
        let twice = format!("{}\n{}", row(""), row(""));
        assert!(parse(&twice).unwrap_err().to_string().contains("twice"));
    }
}
