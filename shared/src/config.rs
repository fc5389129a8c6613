//! Configuration read once from environment variables at start, and the model registry.
//!
//! A bad value fails the start with an error that names the variable, so a misconfigured
//! deployment is caught by the Lambda init phase instead of by the first user.

use std::collections::HashMap;
use std::time::Duration;
use thiserror::Error;

pub const DEFAULT_SONNET_MODEL_ID: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
pub const DEFAULT_HAIKU_MODEL_ID: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
pub const DEFAULT_EMBEDDING_MODEL_ID: &str = "amazon.titan-embed-text-v2:0";
pub const DEFAULT_EMBEDDING_V1_MODEL_ID: &str = "amazon.titan-embed-text-v1";
pub const DEFAULT_CLAUDE3_SONNET_MODEL_ID: &str = "anthropic.claude-3-sonnet-20240229-v1:0";
pub const DEFAULT_CLAUDE3_HAIKU_MODEL_ID: &str = "anthropic.claude-3-haiku-20240307-v1:0";
pub const DEFAULT_METRICS_NAMESPACE: &str = "AI-Chef/Bedrock";

/// Every environment variable the functions read, for documentation and infra checks.
pub const ENV_VARS: &[&str] = &[
    "MODEL_ID_SONNET",
    "MODEL_ID_HAIKU",
    "MODEL_ID_EMBEDDING",
    "MODEL_ID_EMBEDDING_V1",
    "MODEL_ID_CLAUDE3_SONNET",
    "MODEL_ID_CLAUDE3_HAIKU",
    "DEFAULT_MODEL",
    "MODEL_FALLBACK_CHAIN",
    "MAX_TOKENS",
    "MAX_ATTEMPTS",
    "CACHE_TTL_SECONDS",
    "CACHE_MAX_ENTRIES",
    "DEADLINE_MARGIN_MS",
    "BEDROCK_MAX_ATTEMPTS",
    "METRICS_NAMESPACE",
    "METRICS_SINK",
    "RESULTS_TABLE",
    "JOBS_QUEUE_URL",
    "RESULT_TTL_DAYS",
    "MODEL_TIME_SCALE",
    "EXPECTED_OUTPUT_TOKENS",
    "PROMPT_CACHING",
    "NUTRITION_INDEX_SOURCE",
    "RUST_LOG",
];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("environment variable {name} is required: {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    #[error("the model price table is invalid: {0}")]
    Prices(String),
}

/// Which Claude model a request asks for (`model` field of the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatModel {
    Sonnet,
    Haiku,
    /// The seed's Claude 3 aliases, kept selectable; they reached end of life on Bedrock in 2026.
    Claude3Sonnet,
    Claude3Haiku,
}

impl ChatModel {
    pub fn parse(alias: &str) -> Option<ChatModel> {
        match alias {
            "sonnet" => Some(ChatModel::Sonnet),
            "haiku" => Some(ChatModel::Haiku),
            "claude-3-sonnet" => Some(ChatModel::Claude3Sonnet),
            "claude-3-haiku" => Some(ChatModel::Claude3Haiku),
            _ => None,
        }
    }

    pub const ALIASES: &'static str = "sonnet, haiku, claude-3-sonnet, claude-3-haiku";

    pub fn as_str(self) -> &'static str {
        match self {
            ChatModel::Sonnet => "sonnet",
            ChatModel::Haiku => "haiku",
            ChatModel::Claude3Sonnet => "claude-3-sonnet",
            ChatModel::Claude3Haiku => "claude-3-haiku",
        }
    }
}

/// The default fallback chain: a throttled Sonnet hands over to Haiku.
pub const DEFAULT_FALLBACK_CHAIN: [ChatModel; 2] = [ChatModel::Sonnet, ChatModel::Haiku];

/// The models to try for a request that starts with `first`: `first` itself, then the models
/// after it in the configured chain. A model outside the chain (or `allow_fallback` false)
/// gets no fallback.
pub fn model_candidates(
    chain: &[ChatModel],
    first: ChatModel,
    allow_fallback: bool,
) -> Vec<ChatModel> {
    let mut candidates = vec![first];
    if allow_fallback {
        if let Some(at) = chain.iter().position(|m| *m == first) {
            candidates.extend(chain[at + 1..].iter().copied());
        }
    }
    candidates
}

/// Which Titan embedding model a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmbeddingModel {
    TitanV2,
    TitanV1,
}

impl EmbeddingModel {
    pub fn parse(alias: &str) -> Option<EmbeddingModel> {
        match alias {
            "titan-v2" => Some(EmbeddingModel::TitanV2),
            "titan-v1" | "titan-embed" => Some(EmbeddingModel::TitanV1),
            _ => None,
        }
    }
}

/// Model ids per alias; every id can be overridden by its environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRegistry {
    pub sonnet: String,
    pub haiku: String,
    pub claude3_sonnet: String,
    pub claude3_haiku: String,
    pub embedding_v2: String,
    pub embedding_v1: String,
    pub default_chat: ChatModel,
}

impl Default for ModelRegistry {
    fn default() -> Self {
        ModelRegistry {
            sonnet: DEFAULT_SONNET_MODEL_ID.to_owned(),
            haiku: DEFAULT_HAIKU_MODEL_ID.to_owned(),
            claude3_sonnet: DEFAULT_CLAUDE3_SONNET_MODEL_ID.to_owned(),
            claude3_haiku: DEFAULT_CLAUDE3_HAIKU_MODEL_ID.to_owned(),
            embedding_v2: DEFAULT_EMBEDDING_MODEL_ID.to_owned(),
            embedding_v1: DEFAULT_EMBEDDING_V1_MODEL_ID.to_owned(),
            default_chat: ChatModel::Sonnet,
        }
    }
}

impl ModelRegistry {
    pub fn chat_model_id(&self, model: ChatModel) -> &str {
        match model {
            ChatModel::Sonnet => &self.sonnet,
            ChatModel::Haiku => &self.haiku,
            ChatModel::Claude3Sonnet => &self.claude3_sonnet,
            ChatModel::Claude3Haiku => &self.claude3_haiku,
        }
    }

    pub fn embedding_model_id(&self, model: EmbeddingModel) -> &str {
        match model {
            EmbeddingModel::TitanV2 => &self.embedding_v2,
            EmbeddingModel::TitanV1 => &self.embedding_v1,
        }
    }
}

/// Where metrics go: EMF lines on stdout (default) or `PutMetricData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsSinkKind {
    Emf,
    CloudWatch,
}

/// Settings shared by all three functions.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub models: ModelRegistry,
    /// `MODEL_FALLBACK_CHAIN`: the order in which models stand in for a throttled or not-ready one.
    pub fallback_chain: Vec<ChatModel>,
    pub max_tokens: u32,
    pub max_attempts: u32,
    pub cache_ttl: Duration,
    pub cache_max_entries: u64,
    pub deadline_margin: Duration,
    pub bedrock_max_attempts: u32,
    pub metrics_namespace: String,
    pub metrics_sink: MetricsSinkKind,
    pub results_table: Option<String>,
    pub jobs_queue_url: Option<String>,
    pub result_ttl_days: u32,
    /// Divides the latency profile's times (`MODEL_TIME_SCALE`): 1 against Bedrock; in local
    /// runs the emulator's `--time-scale`, so the deadline estimate matches the scaled model.
    pub model_time_scale: f64,
    /// Output tokens a recipe answer is expected to take (`EXPECTED_OUTPUT_TOKENS`), for the
    /// estimate of whether a first attempt can finish before the deadline. Korean recipe
    /// answers of this schema run 1,000-1,500 tokens on Claude Sonnet 4.5; the lower end is
    /// taken: a first answer is refused only when even a short recipe cannot fit, so a sync
    /// request is never turned away that could have succeeded. Repairs are estimated from
    /// the longest answer actually seen, and every call stays bounded by the deadline.
    pub expected_output_tokens: u32,
    /// `PROMPT_CACHING` (`on` by default): whether Claude requests mark prompt-cache points
    /// on models that support them. `off` sends every request without them, so every input
    /// token is billed at the full rate; the benchmarks use it to price what caching saves.
    pub prompt_caching: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            models: ModelRegistry::default(),
            fallback_chain: DEFAULT_FALLBACK_CHAIN.to_vec(),
            max_tokens: 2048,
            max_attempts: 3,
            cache_ttl: Duration::from_secs(3600),
            cache_max_entries: 1000,
            deadline_margin: Duration::from_millis(1500),
            bedrock_max_attempts: 3,
            metrics_namespace: DEFAULT_METRICS_NAMESPACE.to_owned(),
            metrics_sink: MetricsSinkKind::Emf,
            results_table: None,
            jobs_queue_url: None,
            result_ttl_days: 30,
            model_time_scale: 1.0,
            expected_output_tokens: 1000,
            prompt_caching: true,
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(std::env::vars().collect())
    }

    /// Reads a given set of variables (testable without touching the process environment).
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Config, ConfigError> {
        let env = Vars(vars);
        let defaults = Config::default();
        let model_id = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            match env.get(name) {
                None => Ok(default.to_owned()),
                Some(v) if is_plausible_model_id(v) => Ok(v.to_owned()),
                Some(v) => Err(ConfigError::Invalid {
                    name,
                    reason: format!("`{v}` is not a Bedrock model or inference profile id"),
                }),
            }
        };
        let default_chat = match env.get("DEFAULT_MODEL") {
            None => ChatModel::Sonnet,
            Some(v) => ChatModel::parse(v).ok_or_else(|| ConfigError::Invalid {
                name: "DEFAULT_MODEL",
                reason: format!("`{v}` is not one of {}", ChatModel::ALIASES),
            })?,
        };
        let models = ModelRegistry {
            sonnet: model_id("MODEL_ID_SONNET", DEFAULT_SONNET_MODEL_ID)?,
            haiku: model_id("MODEL_ID_HAIKU", DEFAULT_HAIKU_MODEL_ID)?,
            claude3_sonnet: model_id("MODEL_ID_CLAUDE3_SONNET", DEFAULT_CLAUDE3_SONNET_MODEL_ID)?,
            claude3_haiku: model_id("MODEL_ID_CLAUDE3_HAIKU", DEFAULT_CLAUDE3_HAIKU_MODEL_ID)?,
            embedding_v2: model_id("MODEL_ID_EMBEDDING", DEFAULT_EMBEDDING_MODEL_ID)?,
            embedding_v1: model_id("MODEL_ID_EMBEDDING_V1", DEFAULT_EMBEDDING_V1_MODEL_ID)?,
            default_chat,
        };
        let fallback_chain = match env.get("MODEL_FALLBACK_CHAIN") {
            None => DEFAULT_FALLBACK_CHAIN.to_vec(),
            Some(v) => parse_chain(v)?,
        };
        // The price table is part of the configuration: a broken row fails the start.
        crate::pricing::PriceTable::embedded().map_err(|e| ConfigError::Prices(e.to_string()))?;
        let metrics_sink = match env.get("METRICS_SINK") {
            None | Some("emf") => MetricsSinkKind::Emf,
            Some("cloudwatch") => MetricsSinkKind::CloudWatch,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    name: "METRICS_SINK",
                    reason: format!("`{v}` is not `emf` or `cloudwatch`"),
                })
            }
        };
        let metrics_namespace = match env.get("METRICS_NAMESPACE") {
            None => defaults.metrics_namespace,
            Some(v) if !v.trim().is_empty() && v.len() <= 255 => v.to_owned(),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "METRICS_NAMESPACE",
                    reason: "must be 1 to 255 characters".to_owned(),
                })
            }
        };
        let prompt_caching = match env.get("PROMPT_CACHING").map(str::trim) {
            None | Some("on") => true,
            Some("off") => false,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    name: "PROMPT_CACHING",
                    reason: format!("`{v}` is not `on` or `off`"),
                })
            }
        };
        Ok(Config {
            models,
            fallback_chain,
            max_tokens: env.number("MAX_TOKENS", defaults.max_tokens, 256, 64_000)?,
            max_attempts: env.number("MAX_ATTEMPTS", defaults.max_attempts, 1, 10)?,
            cache_ttl: Duration::from_secs(u64::from(env.number(
                "CACHE_TTL_SECONDS",
                3600,
                0,
                7 * 24 * 3600,
            )?)),
            cache_max_entries: u64::from(env.number("CACHE_MAX_ENTRIES", 1000, 0, 1_000_000)?),
            deadline_margin: Duration::from_millis(u64::from(env.number(
                "DEADLINE_MARGIN_MS",
                1500,
                0,
                60_000,
            )?)),
            bedrock_max_attempts: env.number(
                "BEDROCK_MAX_ATTEMPTS",
                defaults.bedrock_max_attempts,
                1,
                10,
            )?,
            metrics_namespace,
            metrics_sink,
            results_table: env.get("RESULTS_TABLE").map(str::to_owned),
            jobs_queue_url: env.get("JOBS_QUEUE_URL").map(str::to_owned),
            result_ttl_days: env.number("RESULT_TTL_DAYS", defaults.result_ttl_days, 1, 3650)?,
            model_time_scale: env.scale("MODEL_TIME_SCALE", defaults.model_time_scale)?,
            expected_output_tokens: env.number(
                "EXPECTED_OUTPUT_TOKENS",
                defaults.expected_output_tokens,
                1,
                64_000,
            )?,
            prompt_caching,
        })
    }

    /// The results table, required by batch-dispatcher.
    pub fn require_results_table(&self) -> Result<&str, ConfigError> {
        self.results_table.as_deref().ok_or(ConfigError::Missing {
            name: "RESULTS_TABLE",
            hint: "set it to the DynamoDB table that stores batch outcomes",
        })
    }

    /// The jobs queue, required by batch-dispatcher.
    pub fn require_jobs_queue_url(&self) -> Result<&str, ConfigError> {
        self.jobs_queue_url.as_deref().ok_or(ConfigError::Missing {
            name: "JOBS_QUEUE_URL",
            hint: "set it to the SQS queue URL that batch requests are sent to",
        })
    }
}

/// `sonnet,haiku` (aliases, in order, no repeats); `none` turns fallback off.
fn parse_chain(raw: &str) -> Result<Vec<ChatModel>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "MODEL_FALLBACK_CHAIN",
        reason,
    };
    if raw.trim() == "none" {
        return Ok(Vec::new());
    }
    let mut chain = Vec::new();
    for alias in raw.split(',').map(str::trim) {
        let model = ChatModel::parse(alias).ok_or_else(|| {
            invalid(format!(
                "`{alias}` is not one of {} (or `none`)",
                ChatModel::ALIASES
            ))
        })?;
        if chain.contains(&model) {
            return Err(invalid(format!("`{alias}` appears twice")));
        }
        chain.push(model);
    }
    Ok(chain)
}

struct Vars(HashMap<String, String>);

impl Vars {
    /// A variable set to the empty string counts as unset, as in most shells' `${X:-default}`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A time scale: a finite number from 0.001 to 100000 (how many times faster than real).
    fn scale(&self, name: &'static str, default: f64) -> Result<f64, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        match raw.trim().parse::<f64>() {
            Ok(value) if value.is_finite() && (0.001..=100_000.0).contains(&value) => Ok(value),
            _ => Err(ConfigError::Invalid {
                name,
                reason: format!("`{raw}` is not a number from 0.001 to 100000"),
            }),
        }
    }

    fn number(
        &self,
        name: &'static str,
        default: u32,
        min: u32,
        max: u32,
    ) -> Result<u32, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        let value: u32 = raw.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            reason: format!("`{raw}` is not a whole number"),
        })?;
        if !(min..=max).contains(&value) {
            return Err(ConfigError::Invalid {
                name,
                reason: format!("{value} is outside {min}..={max}"),
            });
        }
        Ok(value)
    }
}

/// Model ids and inference-profile ids are ASCII words with dots, dashes and colons; an ARN
/// (which Bedrock also accepts) adds slashes.
fn is_plausible_model_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 2048
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_' | b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_current_successor_models() {
        let config = Config::from_vars(HashMap::new()).unwrap();
        assert_eq!(config.models.sonnet, DEFAULT_SONNET_MODEL_ID);
        assert_eq!(
            config.models.chat_model_id(ChatModel::Haiku),
            DEFAULT_HAIKU_MODEL_ID
        );
        assert_eq!(
            config.models.chat_model_id(ChatModel::Claude3Sonnet),
            "anthropic.claude-3-sonnet-20240229-v1:0"
        );
        assert_eq!(
            config.models.embedding_model_id(EmbeddingModel::TitanV1),
            "amazon.titan-embed-text-v1"
        );
        assert_eq!(config.metrics_namespace, "AI-Chef/Bedrock");
        assert_eq!(config.max_attempts, 3);
    }

    #[test]
    fn every_model_id_is_overridable() {
        let config = Config::from_vars(vars(&[
            (
                "MODEL_ID_SONNET",
                "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ),
            ("MODEL_ID_EMBEDDING", "amazon.titan-embed-text-v2:0"),
            ("DEFAULT_MODEL", "haiku"),
        ]))
        .unwrap();
        assert_eq!(
            config.models.sonnet,
            "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        assert_eq!(config.models.default_chat, ChatModel::Haiku);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = Config::from_vars(vars(&[("MAX_ATTEMPTS", "lots")])).unwrap_err();
        assert!(err.to_string().contains("MAX_ATTEMPTS"), "{err}");
        let err = Config::from_vars(vars(&[("MAX_ATTEMPTS", "0")])).unwrap_err();
        assert!(err.to_string().contains("MAX_ATTEMPTS"), "{err}");
        let err = Config::from_vars(vars(&[("METRICS_SINK", "kafka")])).unwrap_err();
        assert!(err.to_string().contains("METRICS_SINK"), "{err}");
        let err = Config::from_vars(vars(&[("MODEL_ID_HAIKU", "bad id with spaces")])).unwrap_err();
        assert!(err.to_string().contains("MODEL_ID_HAIKU"), "{err}");
        for scale in ["0", "-2", "fast", "inf"] {
            let err = Config::from_vars(vars(&[("MODEL_TIME_SCALE", scale)])).unwrap_err();
            assert!(err.to_string().contains("MODEL_TIME_SCALE"), "{err}");
        }
        let scaled = Config::from_vars(vars(&[("MODEL_TIME_SCALE", "20")])).unwrap();
        assert_eq!(scaled.model_time_scale, 20.0);
        let err = Config::from_vars(vars(&[("DEFAULT_MODEL", "gpt")])).unwrap_err();
        assert!(err.to_string().contains("DEFAULT_MODEL"), "{err}");
    }

    #[test]
    fn fallback_chain_is_read_in_order_and_checked() {
        assert_eq!(
            Config::from_vars(HashMap::new()).unwrap().fallback_chain,
            [ChatModel::Sonnet, ChatModel::Haiku]
        );
        let config =
            Config::from_vars(vars(&[("MODEL_FALLBACK_CHAIN", "haiku, claude-3-haiku")])).unwrap();
        assert_eq!(
            config.fallback_chain,
            [ChatModel::Haiku, ChatModel::Claude3Haiku]
        );
        let off = Config::from_vars(vars(&[("MODEL_FALLBACK_CHAIN", "none")])).unwrap();
        assert!(off.fallback_chain.is_empty());
        for bad in ["sonnet,gpt", "sonnet,sonnet", "sonnet,,haiku"] {
            let err = Config::from_vars(vars(&[("MODEL_FALLBACK_CHAIN", bad)])).unwrap_err();
            assert!(err.to_string().contains("MODEL_FALLBACK_CHAIN"), "{err}");
        }
    }

    #[test]
    fn candidates_follow_the_chain_from_the_requested_model() {
        let chain = DEFAULT_FALLBACK_CHAIN;
        use ChatModel::*;
        assert_eq!(model_candidates(&chain, Sonnet, true), [Sonnet, Haiku]);
        assert_eq!(model_candidates(&chain, Sonnet, false), [Sonnet]);
        assert_eq!(model_candidates(&chain, Haiku, true), [Haiku]);
        assert_eq!(
            model_candidates(&chain, Claude3Sonnet, true),
            [Claude3Sonnet]
        );
        assert_eq!(model_candidates(&[], Sonnet, true), [Sonnet]);
    }

    #[test]
    fn prompt_caching_is_on_unless_switched_off() {
        assert!(Config::from_vars(HashMap::new()).unwrap().prompt_caching);
        assert!(Config::default().prompt_caching);
        assert!(
            Config::from_vars(vars(&[("PROMPT_CACHING", "on")]))
                .unwrap()
                .prompt_caching
        );
        assert!(
            !Config::from_vars(vars(&[("PROMPT_CACHING", "off")]))
                .unwrap()
                .prompt_caching
        );
        for bad in ["yes", "false", "OFF", "0"] {
            let err = Config::from_vars(vars(&[("PROMPT_CACHING", bad)])).unwrap_err();
            assert!(err.to_string().contains("PROMPT_CACHING"), "{bad}: {err}");
        }
    }

    #[test]
    fn batch_settings_are_required_only_when_asked_for() {
        let config = Config::from_vars(HashMap::new()).unwrap();
        let err = config.require_results_table().unwrap_err();
        assert!(err.to_string().contains("RESULTS_TABLE"));
        let config =
            Config::from_vars(vars(&[("JOBS_QUEUE_URL", "http://127.0.0.1:1/q")])).unwrap();
        assert_eq!(
            config.require_jobs_queue_url().unwrap(),
            "http://127.0.0.1:1/q"
        );
    }
}
