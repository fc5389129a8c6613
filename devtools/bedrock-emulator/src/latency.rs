//! Model latency: the per-family profiles of the project's `shared/data/model-latency.toml`
//! (included at build time and validated when first used), the modelled duration of a call,
//! and how the emulator turns it into real waiting (`instant` or `realistic`, divided by a
//! time scale so tests can run a realistic profile many times faster).
//!
//! A call's modelled duration is, as the data file states,
//! `time_to_first_token + prefill_tokens / input_rate + output_tokens / output_rate`, where
//! prefill tokens are the input tokens the model actually reads: prompt-cache reads are not
//! prefilled again (that is what caching saves), cache writes are.

use serde::Deserialize;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

const LATENCY_TOML: &str = include_str!("../../../shared/data/model-latency.toml");

/// One model family's timing, as the data file states it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyFamily {
    pub name: String,
    pub matches: Vec<String>,
    pub time_to_first_token_ms: u64,
    pub output_tokens_per_second: f64,
    pub input_tokens_per_second: f64,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyFile {
    family: Vec<LatencyFamily>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LatencyError {
    #[error("model-latency.toml does not parse: {0}")]
    Toml(String),
    #[error("model-latency.toml lists no family")]
    Empty,
    #[error("model-latency.toml family #{0} has no name")]
    Unnamed(usize),
    #[error("model-latency.toml family {0} appears twice")]
    Duplicate(String),
    #[error("model-latency.toml family {0}: `matches` is empty or holds an empty string")]
    Matches(String),
    #[error("model-latency.toml family {0}: {1} must be a finite number >= 0 (input rate > 0)")]
    Rate(String, &'static str),
    #[error("model-latency.toml family {0} states no source")]
    Source(String),
}

/// The validated profiles, first match wins.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyTable {
    families: Vec<LatencyFamily>,
}

impl LatencyTable {
    pub fn parse(text: &str) -> Result<Self, LatencyError> {
        let file: LatencyFile =
            toml::from_str(text).map_err(|e| LatencyError::Toml(e.to_string()))?;
        if file.family.is_empty() {
            return Err(LatencyError::Empty);
        }
        let mut seen: Vec<&str> = Vec::new();
        for (index, family) in file.family.iter().enumerate() {
            let name = family.name.trim();
            if name.is_empty() {
                return Err(LatencyError::Unnamed(index));
            }
            if seen.contains(&name) {
                return Err(LatencyError::Duplicate(name.to_string()));
            }
            seen.push(name);
            if family.matches.is_empty() || family.matches.iter().any(|m| m.trim().is_empty()) {
                return Err(LatencyError::Matches(name.to_string()));
            }
            let valid = |rate: f64| rate.is_finite() && rate >= 0.0;
            if !valid(family.output_tokens_per_second) {
                return Err(LatencyError::Rate(
                    name.to_string(),
                    "output_tokens_per_second",
                ));
            }
            if !valid(family.input_tokens_per_second) || family.input_tokens_per_second == 0.0 {
                return Err(LatencyError::Rate(
                    name.to_string(),
                    "input_tokens_per_second",
                ));
            }
            if family.source.trim().is_empty() {
                return Err(LatencyError::Source(name.to_string()));
            }
        }
        Ok(Self {
            families: file.family,
        })
    }

    /// The table built into the emulator.
    pub fn builtin() -> Result<&'static LatencyTable, &'static LatencyError> {
        static TABLE: OnceLock<Result<LatencyTable, LatencyError>> = OnceLock::new();
        TABLE.get_or_init(|| Self::parse(LATENCY_TOML)).as_ref()
    }

    pub fn families(&self) -> &[LatencyFamily] {
        &self.families
    }

    /// The family whose `matches` first occurs in `model_id` (an id, profile id or ARN).
    pub fn family_for(&self, model_id: &str) -> Option<&LatencyFamily> {
        self.families
            .iter()
            .find(|family| family.matches.iter().any(|m| model_id.contains(m.as_str())))
    }
}

/// The tokens one call makes the model read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Work {
    /// Input tokens actually read (uncached input plus cache writes).
    pub prefill_tokens: u32,
    pub output_tokens: u32,
}

impl LatencyFamily {
    /// Time until the first output token: time to first token plus prefill.
    pub fn first_token(&self, prefill_tokens: u32) -> Duration {
        Duration::from_millis(self.time_to_first_token_ms)
            + Duration::from_secs_f64(
                f64::from(prefill_tokens) / self.input_tokens_per_second.max(f64::MIN_POSITIVE),
            )
    }

    /// Time to generate `output_tokens` once the first token is out.
    pub fn generation(&self, output_tokens: u32) -> Duration {
        if self.output_tokens_per_second > 0.0 {
            Duration::from_secs_f64(f64::from(output_tokens) / self.output_tokens_per_second)
        } else {
            Duration::ZERO
        }
    }

    /// The whole call, per the formula in the data file.
    pub fn modelled(&self, work: Work) -> Duration {
        self.first_token(work.prefill_tokens) + self.generation(work.output_tokens)
    }
}

/// Whether the emulator waits out the modelled time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatencyProfile {
    /// Answer at once (the modelled time is still computed and reported).
    #[default]
    Instant,
    /// Wait the modelled time divided by the time scale.
    Realistic,
}

impl FromStr for LatencyProfile {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "instant" => Ok(Self::Instant),
            "realistic" => Ok(Self::Realistic),
            other => Err(format!(
                "unknown latency profile {other:?} (expected instant or realistic)"
            )),
        }
    }
}

impl std::fmt::Display for LatencyProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Instant => "instant",
            Self::Realistic => "realistic",
        })
    }
}

/// A validated time scale: real wait = modelled / scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

impl TimeScale {
    pub const REAL_TIME: TimeScale = TimeScale(1.0);

    pub fn new(factor: f64) -> Result<Self, String> {
        if factor.is_finite() && factor > 0.0 {
            Ok(Self(factor))
        } else {
            Err(format!(
                "time scale must be a finite number above 0, got {factor}"
            ))
        }
    }

    pub fn factor(self) -> f64 {
        self.0
    }
}

impl Default for TimeScale {
    fn default() -> Self {
        Self::REAL_TIME
    }
}

impl FromStr for TimeScale {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let factor: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("time scale {text:?} is not a number"))?;
        Self::new(factor)
    }
}

/// How modelled time becomes real waiting.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pacing {
    pub profile: LatencyProfile,
    pub time_scale: TimeScale,
}

impl Pacing {
    /// Real time to wait for a modelled span (zero when instant).
    pub fn real(&self, modelled: Duration) -> Duration {
        match self.profile {
            LatencyProfile::Instant => Duration::ZERO,
            LatencyProfile::Realistic => modelled.div_f64(self.time_scale.factor()),
        }
    }
}

/// Whole milliseconds, as the `x-emulator-modelled-ms` header and the stats carry them.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_table_loads_and_matches_ids() {
        let table = LatencyTable::builtin().unwrap();
        let sonnet = table
            .family_for("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
            .unwrap();
        assert_eq!(sonnet.name, "claude-sonnet-4-5");
        assert_eq!(
            table
                .family_for("global.anthropic.claude-haiku-4-5-20251001-v1:0")
                .unwrap()
                .name,
            "claude-haiku-4-5"
        );
        assert_eq!(
            table
                .family_for("anthropic.claude-3-haiku-20240307-v1:0")
                .unwrap()
                .name,
            "claude-3-haiku"
        );
        assert_eq!(
            table
                .family_for("amazon.titan-embed-text-v2:0")
                .unwrap()
                .name,
            "titan-embed"
        );
        assert!(table.family_for("anthropic.claude-instant-v1").is_none());
        assert!(table.families().iter().all(|f| !f.source.is_empty()));
    }

    #[test]
    fn modelled_time_follows_the_formula() {
        let table = LatencyTable::builtin().unwrap();
        let sonnet = table.family_for("claude-sonnet-4-5").unwrap();
        let work = Work {
            prefill_tokens: sonnet.input_tokens_per_second as u32,
            output_tokens: (sonnet.output_tokens_per_second * 10.0) as u32,
        };
        let expected = sonnet.time_to_first_token_ms + 1000 + 10_000;
        assert!(millis(sonnet.modelled(work)).abs_diff(expected) <= 1);
        let titan = table.family_for("titan-embed").unwrap();
        assert_eq!(titan.generation(500), Duration::ZERO);
    }

    #[test]
    fn pacing_divides_by_the_time_scale() {
        let modelled = Duration::from_secs(20);
        assert_eq!(Pacing::default().real(modelled), Duration::ZERO);
        let fast = Pacing {
            profile: LatencyProfile::Realistic,
            time_scale: "20".parse().unwrap(),
        };
        assert_eq!(fast.real(modelled), Duration::from_secs(1));
        assert!("0".parse::<TimeScale>().is_err());
        assert!("-2".parse::<TimeScale>().is_err());
        assert!("inf".parse::<TimeScale>().is_err());
        assert_eq!(
            "Realistic".parse::<LatencyProfile>(),
            Ok(LatencyProfile::Realistic)
        );
        assert!("slow".parse::<LatencyProfile>().is_err());
    }

    #[test]
    fn bad_tables_are_refused() {
        let row = |extra: &str| {
            format!(
                "[[family]]\nname = \"a\"\nmatches = [\"a\"]\ntime_to_first_token_ms = 1\noutput_tokens_per_second = 1.0\ninput_tokens_per_second = 1.0\nsource = \"s\"\n{extra}"
            )
        };
        assert!(LatencyTable::parse(&row("")).is_ok());
        assert!(matches!(
            LatencyTable::parse(""),
            Err(LatencyError::Toml(_))
        ));
        assert!(matches!(
            LatencyTable::parse(&row("speed = 2")),
            Err(LatencyError::Toml(_))
        ));
        assert_eq!(
            LatencyTable::parse(&format!("{}{}", row(""), row(""))),
            Err(LatencyError::Duplicate("a".into()))
        );
        assert!(matches!(
            LatencyTable::parse(&row("").replace("1.0\ninput", "-1.0\ninput")),
            Err(LatencyError::Rate(_, "output_tokens_per_second"))
        ));
        assert!(matches!(
            LatencyTable::parse(&row("").replace(
                "input_tokens_per_second = 1.0",
                "input_tokens_per_second = 0.0"
            )),
            Err(LatencyError::Rate(_, "input_tokens_per_second"))
        ));
        assert!(matches!(
            LatencyTable::parse(&row("").replace("source = \"s\"", "source = \" \"")),
            Err(LatencyError::Source(_))
        ));
        assert!(matches!(
            LatencyTable::parse(&row("").replace("[\"a\"]", "[]")),
            Err(LatencyError::Matches(_))
        ));
    }
}
