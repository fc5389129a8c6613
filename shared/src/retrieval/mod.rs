//! Nutrition retrieval with Titan embeddings: the prompt is grounded in verified food-table
//! figures, and ingredient names the table's exact and fuzzy matching missed are resolved
//! by the same embeddings.
//!
//! The index ([`index`]) is built offline by `make index` (one Titan embedding per table row)
//! and compiled into the binary. At start it is checked against the configuration: the
//! embedding model, the backend that made the vectors (emulator or real Bedrock) and the
//! table it describes; any mismatch fails the start. Per request, [`NutritionRetrieval`]
//! embeds one query through the same [`EmbeddingService`] `embed-text` uses, takes the
//! nearest rows ([`search`]) and renders their figures ([`facts`]).
//!
//! Retrieval helps the model; it never decides anything. When the query embedding fails or
//! is out of time, the request goes on without retrieved facts (logged), because the
//! verifier still checks every figure of the answer.

pub mod facts;
pub mod index;
pub mod search;

use crate::bedrock::EmbeddingClient;
use crate::config::{Config, ConfigError, EmbeddingModel};
use crate::deadline::Deadline;
use crate::embed::{EmbeddingService, CONCURRENCY, V2_DIMENSIONS};
use crate::generate::PromptFacts;
use crate::metrics::MetricsRecorder;
use crate::nutrition::{normalize_name, Food, FoodTable};
use crate::request::RecipeRequest;
use crate::verify::NameFallback;
use futures::stream::{self, StreamExt};
use index::{IndexError, IndexMeta, IndexSource, NutritionIndex};
use search::{top_k, Neighbour};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The index shipped in the binary (`shared/data`, written by `make index`).
const EMBEDDED_BIN: &[u8] = include_bytes!("../../data/nutrition-index.bin");
const EMBEDDED_META: &str = include_str!("../../data/nutrition-index.meta.json");

/// Names of the variables that say where Bedrock is; with none set the SDK talks to AWS.
pub const ENDPOINT_VARS: [&str; 2] = ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"];
/// States which backend the Bedrock endpoint is (`bedrock` or `emulator`) when the endpoint
/// alone does not tell, e.g. a VPC endpoint override in front of real Bedrock.
pub const SOURCE_VAR: &str = "NUTRITION_INDEX_SOURCE";

#[derive(Debug, thiserror::Error)]
pub enum RetrievalInitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// Tuning of retrieval; the defaults are what the functions use.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrievalSettings {
    /// Nearest rows put into the prompt.
    pub top_k: usize,
    /// Upper bound of facts lines, ingredients on hand included.
    pub max_facts: usize,
    /// Longest the query embedding may take; the recipe's own budget is worth more.
    pub facts_time_limit: Duration,
    /// Largest share of the time left (after the margin) that one retrieval step may take,
    /// so that the model's attempt keeps nearly all of a short deadline.
    pub deadline_share: f64,
    /// How far a name's best row must stand out (standard deviations) for the name
    /// fallback to take it; below, the name stays unmatched.
    pub fallback_min_standout: f32,
}

impl RetrievalSettings {
    /// Defaults with the fallback threshold the index builder calibrated on its backend.
    pub fn for_index(meta: &IndexMeta) -> RetrievalSettings {
        RetrievalSettings {
            top_k: 8,
            max_facts: 10,
            facts_time_limit: Duration::from_secs(3),
            // A Titan query embedding is modelled at ~0.1 s (data/model-latency.toml): 5 % of
            // a 29 s deadline (1.4 s) leaves it ample room and the recipe 95 %.
            deadline_share: 0.05,
            fallback_min_standout: meta.fallback_min_standout,
        }
    }
}

/// What the running function requires of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// `MODEL_ID_EMBEDDING` (the configured Titan v2 model id).
    pub model_id: String,
    /// The backend the function's embeddings come from.
    pub source: IndexSource,
    /// [`index::table_digest`] of the embedded food table.
    pub table_digest: String,
}

/// Which backend the embeddings come from: `NUTRITION_INDEX_SOURCE` when set, else real
/// Bedrock unless an endpoint override is configured (in code or through [`ENDPOINT_VARS`]),
/// which is taken to be the local emulator.
pub fn expected_source(
    sdk_endpoint: Option<&str>,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<IndexSource, ConfigError> {
    if let Some(raw) = var(SOURCE_VAR).filter(|v| !v.trim().is_empty()) {
        return IndexSource::parse(&raw).ok_or_else(|| ConfigError::Invalid {
            name: SOURCE_VAR,
            reason: format!("`{raw}` is not `bedrock` or `emulator`"),
        });
    }
    let overridden = sdk_endpoint.is_some_and(|e| !e.trim().is_empty())
        || ENDPOINT_VARS
            .iter()
            .any(|name| var(name).is_some_and(|v| !v.trim().is_empty()));
    Ok(if overridden {
        IndexSource::Emulator
    } else {
        IndexSource::Bedrock
    })
}

/// Refuses an index that does not fit the running function.
pub fn check_compatible(meta: &IndexMeta, expected: &Expectation) -> Result<(), IndexError> {
    if !V2_DIMENSIONS.contains(&meta.dimensions) {
        return Err(IndexError::UnsupportedDimensions(meta.dimensions));
    }
    if meta.model_id != expected.model_id {
        return Err(IndexError::ModelMismatch {
            index: meta.model_id.clone(),
            configured: expected.model_id.clone(),
        });
    }
    match (meta.source, expected.source) {
        (IndexSource::Emulator, IndexSource::Bedrock) => {
            return Err(IndexError::EmulatorIndexAgainstBedrock)
        }
        (IndexSource::Bedrock, IndexSource::Emulator) => {
            return Err(IndexError::BedrockIndexAgainstEmulator)
        }
        _ => {}
    }
    if meta.table_digest != expected.table_digest {
        let short = |s: &str| s.chars().take(12).collect::<String>();
        return Err(IndexError::StaleTable {
            index: short(&meta.table_digest),
            table: short(&expected.table_digest),
        });
    }
    Ok(())
}

/// The index compiled into the binary, decoded (not yet checked against the configuration).
pub fn embedded_index() -> Result<NutritionIndex, IndexError> {
    NutritionIndex::decode_embedded(EMBEDDED_BIN, EMBEDDED_META)
}

/// Size in bytes of the shipped index files (`.bin`, `.meta.json`).
pub fn embedded_index_size() -> (usize, usize) {
    (EMBEDDED_BIN.len(), EMBEDDED_META.len())
}

/// Loads the index compiled into the binary for a function at start: decodes it, works out
/// which backend the embeddings come from ([`expected_source`] over the process
/// environment and the SDK's endpoint) and checks the index against it, the configured
/// model and the food table. Any mismatch is an error that fails the start.
pub fn load_embedded(
    config: Arc<Config>,
    client: Arc<dyn EmbeddingClient>,
    sdk_endpoint: Option<&str>,
    table: &'static FoodTable,
) -> Result<NutritionRetrieval, RetrievalInitError> {
    let started = Instant::now();
    let source = expected_source(sdk_endpoint, &|name| std::env::var(name).ok())?;
    let retrieval = NutritionRetrieval::new(embedded_index()?, table, config, client, source)?;
    let meta = retrieval.index.meta();
    tracing::info!(
        rows = meta.rows,
        dimensions = meta.dimensions,
        model_id = %meta.model_id,
        source = meta.source.as_str(),
        load_us = started.elapsed().as_micros() as u64,
        "nutrition index loaded"
    );
    Ok(retrieval)
}

/// Prompt facts and the name fallback over one checked index.
pub struct NutritionRetrieval {
    index: NutritionIndex,
    /// Food-table position of each index row.
    table_rows: Vec<usize>,
    table: &'static FoodTable,
    embeddings: EmbeddingService,
    /// Time kept back from the deadline for answering (the configured margin).
    deadline_margin: Duration,
    settings: RetrievalSettings,
    /// Normalised ingredient name → table row (or none), filled by [`Self::resolve_unmatched`]
    /// and read by the synchronous [`NameFallback`]. A memo, not a response cache: it is on
    /// whatever the cache settings, and bounded.
    resolved: moka::sync::Cache<String, Option<usize>>,
    /// Which foods each distinct profile admits, judged once per profile and food.
    admissibility: facts::AdmissibilityCache,
}

impl std::fmt::Debug for NutritionRetrieval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NutritionRetrieval")
            .field("rows", &self.index.len())
            .field("model_id", &self.index.meta().model_id)
            .field("source", &self.index.meta().source)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

const RESOLVED_NAMES_CAPACITY: u64 = 10_000;

impl NutritionRetrieval {
    /// Checks `index` against the configured embedding model (`MODEL_ID_EMBEDDING`), the
    /// backend `source` and `table`, and maps its rows onto `table`. Query embeddings go
    /// through an [`EmbeddingService`] over `client`, as in `embed-text`.
    pub fn new(
        index: NutritionIndex,
        table: &'static FoodTable,
        config: Arc<Config>,
        client: Arc<dyn EmbeddingClient>,
        source: IndexSource,
    ) -> Result<NutritionRetrieval, IndexError> {
        let expected = Expectation {
            model_id: config.models.embedding_v2.clone(),
            source,
            table_digest: index::table_digest(table),
        };
        check_compatible(index.meta(), &expected)?;
        let positions: HashMap<&str, usize> = table
            .foods()
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.as_str(), i))
            .collect();
        let table_rows = index
            .ids()
            .iter()
            .map(|id| {
                positions
                    .get(id.as_str())
                    .copied()
                    .ok_or_else(|| IndexError::UnknownFood(id.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let settings = RetrievalSettings::for_index(index.meta());
        Ok(NutritionRetrieval {
            index,
            table_rows,
            table,
            deadline_margin: config.deadline_margin,
            embeddings: EmbeddingService::new(config, client),
            settings,
            resolved: moka::sync::Cache::new(RESOLVED_NAMES_CAPACITY),
            admissibility: facts::AdmissibilityCache::default(),
        })
    }

    /// Replaces the defaults (tests, benchmarks).
    pub fn with_settings(mut self, settings: RetrievalSettings) -> Self {
        self.settings = settings;
        self
    }

    pub fn index(&self) -> &NutritionIndex {
        &self.index
    }

    pub fn settings(&self) -> &RetrievalSettings {
        &self.settings
    }

    /// The `k` foods nearest to a query vector, with their similarity.
    pub fn nearest(&self, query: &[f32], k: usize) -> Vec<(&Food, f32)> {
        top_k(self.index.vectors(), self.index.dimensions(), query, k)
            .into_iter()
            .filter_map(|Neighbour { row, similarity }| {
                let food = self
                    .table_rows
                    .get(row)
                    .and_then(|position| self.table.get(*position))?;
                Some((food, similarity))
            })
            .collect()
    }

    /// Embeds `text` with the index's model and dimensions (cached by the service).
    pub async fn embed_query(
        &self,
        text: &str,
        deadline: Deadline,
        metrics: &MetricsRecorder,
    ) -> Result<Vec<f32>, crate::error::ServiceError> {
        let dims = self.index.meta().dimensions;
        let (vector, _) = self
            .embeddings
            .embed_one(EmbeddingModel::TitanV2, dims, true, text, deadline, metrics)
            .await?;
        // Titan v2 normalises already; the emulator and v1-style answers may not be exact.
        Ok(index::unit_vector(&vector).unwrap_or(vector))
    }

    /// The foods for the prompt: ingredients on hand that the table names exactly (they are
    /// certainly relevant), then the nearest rows to the query, minus anything the request's
    /// allergies or diet exclude. `query` is `None` when the embedding failed.
    pub fn facts_foods(
        &self,
        request: &RecipeRequest,
        query: Option<&[f32]>,
    ) -> Vec<&'static Food> {
        let table = self.table;
        let mut chosen: Vec<&'static Food> = Vec::new();
        let on_hand = request
            .ingredients_on_hand
            .iter()
            .filter_map(|name| table.match_name(name))
            .filter_map(|m| table.get(m.index));
        let retrieved = query
            .map(|q| {
                top_k(
                    self.index.vectors(),
                    self.index.dimensions(),
                    q,
                    self.settings.top_k * 3,
                )
                .into_iter()
                .filter_map(|n| self.table_rows.get(n.row).and_then(|p| table.get(*p)))
                .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let admissibility = self.admissibility.for_request(request);
        let mut retrieved_taken = 0usize;
        for (food, from_query) in on_hand
            .map(|f| (f, false))
            .chain(retrieved.into_iter().map(|f| (f, true)))
        {
            if chosen.len() >= self.settings.max_facts
                || (from_query && retrieved_taken >= self.settings.top_k)
            {
                break;
            }
            if chosen.iter().any(|c| c.id == food.id) || !admissibility.admits(food, table) {
                continue;
            }
            retrieved_taken += usize::from(from_query);
            chosen.push(food);
        }
        chosen
    }

    /// Looks up, by embedding, every name of `names` that the table's own matching misses,
    /// so that [`NameFallback::row_for`] can answer for it during verification. Names already
    /// resolved (or found to match nothing) are not embedded again. An embedding failure
    /// leaves that name unmatched (and unmemoised, so a later call may try again).
    pub async fn resolve_unmatched(
        &self,
        names: &[String],
        deadline: Deadline,
        metrics: &MetricsRecorder,
    ) {
        let mut pending: Vec<String> = Vec::new();
        for name in names {
            if self.table.match_name(name).is_some() {
                continue;
            }
            let key = normalize_name(name);
            if key.is_empty() || self.resolved.contains_key(&key) || pending.contains(&key) {
                continue;
            }
            pending.push(key);
        }
        if pending.is_empty() {
            return;
        }
        let deadline = self.bounded(deadline);
        let outcomes: Vec<(String, Option<Option<usize>>)> = stream::iter(pending)
            .map(|key| async move {
                match self.embed_query(&key, deadline, metrics).await {
                    Ok(vector) => {
                        let best = self.best_row(&vector);
                        (key, Some(best))
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "name fallback embedding failed; the name stays unmatched");
                        (key, None)
                    }
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (key, outcome) in outcomes {
            if let Some(row) = outcome {
                tracing::info!(name = %key, matched = row.is_some(), "name fallback by retrieval");
                self.resolved.insert(key, row);
            }
        }
    }

    /// The table row nearest to a name vector, if it stands out clearly enough.
    fn best_row(&self, vector: &[f32]) -> Option<usize> {
        let (best, z) = search::standout(self.index.vectors(), self.index.dimensions(), vector)?;
        (z >= self.settings.fallback_min_standout)
            .then(|| self.table_rows.get(best.row).copied())
            .flatten()
    }

    /// The deadline, tightened so retrieval never takes more than its own time limit nor
    /// more than its fixed share of the time left.
    fn bounded(&self, deadline: Deadline) -> Deadline {
        Deadline::after(retrieval_window(
            deadline.remaining(),
            self.deadline_margin,
            &self.settings,
        ))
    }
}

/// How long a retrieval step may run, counting the margin the embedding call keeps back:
/// its budget is the smaller of the time limit and the share of the time left.
fn retrieval_window(
    remaining: Duration,
    margin: Duration,
    settings: &RetrievalSettings,
) -> Duration {
    let share = remaining
        .saturating_sub(margin)
        .mul_f64(settings.deadline_share.clamp(0.0, 1.0));
    remaining.min(settings.facts_time_limit.min(share) + margin)
}

#[async_trait::async_trait]
impl PromptFacts for NutritionRetrieval {
    async fn prepare_names(&self, names: &[String], deadline: Deadline, metrics: &MetricsRecorder) {
        self.resolve_unmatched(names, deadline, metrics).await;
    }

    async fn facts(
        &self,
        request: &RecipeRequest,
        deadline: Deadline,
        metrics: &MetricsRecorder,
    ) -> String {
        let started = Instant::now();
        let query = facts::query_text(request);
        let vector = match self
            .embed_query(&query, self.bounded(deadline), metrics)
            .await
        {
            Ok(vector) => Some(vector),
            Err(err) => {
                // Facts only help the model; the verifier checks the answer either way.
                tracing::warn!(code = err.code(), error = %err, "retrieval query embedding failed; no retrieved facts");
                None
            }
        };
        let foods = self.facts_foods(request, vector.as_deref());
        tracing::info!(
            facts = foods.len(),
            retrieved = vector.is_some(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "nutrition facts for the prompt"
        );
        facts::facts_block(&foods, request.language)
    }
}

impl NameFallback for NutritionRetrieval {
    fn row_for(&self, normalized_name: &str) -> Option<usize> {
        self.resolved.get(normalized_name).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> IndexMeta {
        embedded_index().unwrap().meta().clone()
    }

    /// The start skips hashing the embedded vectors because the build script checked them;
    /// the full run-time decode, digest included, accepts the same files and gives the same index.
    #[test]
    fn the_embedded_index_passes_the_full_decode_with_its_digest() {
        let checked = NutritionIndex::decode(EMBEDDED_BIN, EMBEDDED_META).unwrap();
        let embedded = embedded_index().unwrap();
        assert_eq!(checked.meta(), embedded.meta());
        assert_eq!(checked.ids(), embedded.ids());
        assert_eq!(checked.vectors(), embedded.vectors());
    }

    fn expectation() -> Expectation {
        let m = meta();
        Expectation {
            model_id: m.model_id.clone(),
            source: m.source,
            table_digest: index::table_digest(FoodTable::embedded()),
        }
    }

    #[test]
    fn retrieval_takes_at_most_its_share_of_the_deadline() {
        let settings = RetrievalSettings::for_index(&meta());
        let margin = Duration::from_millis(1500);
        // 29 s left: 5 % of 27.5 s = 1.375 s, under the 3 s limit.
        let window = retrieval_window(Duration::from_secs(29), margin, &settings);
        assert_eq!(window, Duration::from_millis(1375) + margin);
        // A long (batch) deadline is capped by the time limit.
        let window = retrieval_window(Duration::from_secs(300), margin, &settings);
        assert_eq!(window, settings.facts_time_limit + margin);
        // Less than the margin left: nothing to spend.
        let window = retrieval_window(Duration::from_secs(1), margin, &settings);
        assert_eq!(window, Duration::from_secs(1));
    }

    #[test]
    fn the_shipped_index_matches_the_shipped_table_and_model() {
        let index = embedded_index().unwrap();
        let m = index.meta();
        assert_eq!(m.model_id, crate::config::DEFAULT_EMBEDDING_MODEL_ID);
        assert_eq!(m.rows as usize, FoodTable::embedded().len());
        assert_eq!(
            m.table_digest,
            index::table_digest(FoodTable::embedded()),
            "stale index: run `make index`"
        );
        assert!(check_compatible(m, &expectation()).is_ok());
    }

    #[test]
    fn mismatches_are_refused_with_the_remedy() {
        let m = meta();
        let mut model = expectation();
        model.model_id = "amazon.titan-embed-text-v1".into();
        let err = check_compatible(&m, &model).unwrap_err();
        assert!(matches!(err, IndexError::ModelMismatch { .. }));
        assert!(err.to_string().contains("MODEL_ID_EMBEDDING"), "{err}");

        let mut dims = m.clone();
        dims.dimensions = 300;
        assert_eq!(
            check_compatible(&dims, &expectation()),
            Err(IndexError::UnsupportedDimensions(300))
        );

        let mut emulator = m.clone();
        emulator.source = IndexSource::Emulator;
        let real = Expectation {
            source: IndexSource::Bedrock,
            ..expectation()
        };
        let err = check_compatible(&emulator, &real).unwrap_err();
        assert_eq!(err, IndexError::EmulatorIndexAgainstBedrock);
        assert!(err.to_string().contains("make index BEDROCK=aws"), "{err}");
        let mut bedrock = m.clone();
        bedrock.source = IndexSource::Bedrock;
        let local = Expectation {
            source: IndexSource::Emulator,
            ..expectation()
        };
        assert_eq!(
            check_compatible(&bedrock, &local),
            Err(IndexError::BedrockIndexAgainstEmulator)
        );

        let stale = Expectation {
            table_digest: "0".repeat(64),
            ..expectation()
        };
        let err = check_compatible(&m, &stale).unwrap_err();
        assert!(
            matches!(err, IndexError::StaleTable { .. }) && err.to_string().contains("make index"),
            "{err}"
        );
    }

    #[test]
    fn the_backend_follows_the_endpoint_settings() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(expected_source(None, &vars(&[])), Ok(IndexSource::Bedrock));
        assert_eq!(
            expected_source(Some("http://127.0.0.1:1"), &vars(&[])),
            Ok(IndexSource::Emulator)
        );
        assert_eq!(
            expected_source(
                None,
                &vars(&[("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9")])
            ),
            Ok(IndexSource::Emulator)
        );
        assert_eq!(
            expected_source(None, &vars(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")])),
            Ok(IndexSource::Emulator)
        );
        assert_eq!(
            expected_source(None, &vars(&[("AWS_ENDPOINT_URL", " ")])),
            Ok(IndexSource::Bedrock)
        );
        assert_eq!(
            expected_source(
                Some("https://vpce-1.bedrock-runtime"),
                &vars(&[("NUTRITION_INDEX_SOURCE", "bedrock")])
            ),
            Ok(IndexSource::Bedrock)
        );
        let err = expected_source(None, &vars(&[("NUTRITION_INDEX_SOURCE", "local")])).unwrap_err();
        assert!(err.to_string().contains("NUTRITION_INDEX_SOURCE"), "{err}");
    }
}
