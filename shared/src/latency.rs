//! Model latency profiles (`data/model-latency.toml`): how long a Bedrock call takes per model
//! family, from published measurements, so that an attempt that cannot finish before the
//! Lambda deadline is refused before it is billed.
//!
//! The file is checked when loaded (every family named once, positive speeds, a source); a
//! call's modelled duration is `time to first token + input / input speed + output / output
//! speed`, divided by the run's time scale (`MODEL_TIME_SCALE`, which matches the local
//! emulator's `--time-scale` in scaled runs and is 1 in production).

use serde::Deserialize;
use std::sync::OnceLock;
use std::time::Duration;
use thiserror::Error;

/// `data/model-latency.toml` as the build script converted it (`crate::datafile`).
const EMBEDDED_PROFILES: &str = include_str!(concat!(env!("OUT_DIR"), "/model-latency.json"));

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LatencyError {
    #[error("model-latency.toml does not parse: {0}")]
    Parse(String),
    #[error("model-latency.toml, family `{family}`: {reason}")]
    Invalid { family: String, reason: String },
}

/// One model family's timing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyFamily {
    pub name: String,
    /// Substrings of a model id or inference profile id that select this family.
    pub matches: Vec<String>,
    pub time_to_first_token_ms: u64,
    /// 0 for embedding models, which generate no tokens.
    pub output_tokens_per_second: f64,
    pub input_tokens_per_second: f64,
    pub source: String,
}

impl LatencyFamily {
    /// Modelled wall time of one call at time scale 1.
    pub fn call_duration(&self, input_tokens: u64, output_tokens: u64) -> Duration {
        let mut seconds = self.time_to_first_token_ms as f64 / 1000.0
            + input_tokens as f64 / self.input_tokens_per_second;
        if self.output_tokens_per_second > 0.0 {
            seconds += output_tokens as f64 / self.output_tokens_per_second;
        }
        Duration::from_secs_f64(seconds.max(0.0))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    family: Vec<LatencyFamily>,
}

/// Every family of the profile file, in file order (the first match wins).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyProfiles {
    families: Vec<LatencyFamily>,
}

impl LatencyProfiles {
    /// Decodes and checks a profile file in its build-time JSON form.
    pub fn from_json(text: &str) -> Result<LatencyProfiles, LatencyError> {
        let file: ProfileFile =
            serde_json::from_str(text).map_err(|e| LatencyError::Parse(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for family in &file.family {
            let invalid = |reason: &str| LatencyError::Invalid {
                family: family.name.clone(),
                reason: reason.to_owned(),
            };
            if family.name.trim().is_empty() || !seen.insert(family.name.clone()) {
                return Err(invalid("the name is empty or used twice"));
            }
            if family.matches.is_empty() || family.matches.iter().any(|m| m.trim().is_empty()) {
                return Err(invalid(
                    "`matches` needs at least one non-empty model id part",
                ));
            }
            if family.time_to_first_token_ms == 0 || family.time_to_first_token_ms > 120_000 {
                return Err(invalid("time_to_first_token_ms must be 1..=120000"));
            }
            let speed_ok = |s: f64| s.is_finite() && (0.0..=1_000_000.0).contains(&s);
            if !speed_ok(family.output_tokens_per_second)
                || !speed_ok(family.input_tokens_per_second)
                || family.input_tokens_per_second == 0.0
            {
                return Err(invalid(
                    "token speeds must be finite, input > 0 and output >= 0 tokens/s",
                ));
            }
            if family.source.trim().is_empty() {
                return Err(invalid("every figure needs its `source`"));
            }
        }
        if file.family.is_empty() {
            return Err(LatencyError::Parse("no [[family]] is defined".to_owned()));
        }
        Ok(LatencyProfiles {
            families: file.family,
        })
    }

    /// The profile file built into the binary, parsed once.
    pub fn embedded() -> Result<&'static LatencyProfiles, LatencyError> {
        static PROFILES: OnceLock<Result<LatencyProfiles, LatencyError>> = OnceLock::new();
        PROFILES
            .get_or_init(|| LatencyProfiles::from_json(EMBEDDED_PROFILES))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The family of a model id; `None` for a model the file does not describe.
    pub fn family_for(&self, model_id: &str) -> Option<&LatencyFamily> {
        self.families
            .iter()
            .find(|family| family.matches.iter().any(|part| model_id.contains(part)))
    }

    pub fn families(&self) -> &[LatencyFamily] {
        &self.families
    }
}

/// Divides a modelled duration by the run's time scale (1 in production).
pub fn scaled(duration: Duration, time_scale: f64) -> Duration {
    if time_scale.is_finite() && time_scale > 0.0 {
        duration.div_f64(time_scale)
    } else {
        duration
    }
}

/// A rough prompt token count without the model's tokenizer (none is published for Rust):
/// one token per 3 UTF-8 bytes counts a Hangul syllable (3 bytes) as one token and English
/// as ~1.3 tokens per 4 letters, an overestimate for both; prefill is a few percent of a
/// call's time, so the error does not move the estimate much.
pub fn estimate_prompt_tokens(text_bytes: usize) -> u64 {
    (text_bytes as u64).div_ceil(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_profiles_load_and_cover_every_default_model() {
        let profiles = LatencyProfiles::embedded().unwrap();
        for id in [
            crate::config::DEFAULT_SONNET_MODEL_ID,
            crate::config::DEFAULT_HAIKU_MODEL_ID,
            crate::config::DEFAULT_CLAUDE3_SONNET_MODEL_ID,
            crate::config::DEFAULT_CLAUDE3_HAIKU_MODEL_ID,
            crate::config::DEFAULT_EMBEDDING_MODEL_ID,
        ] {
            assert!(profiles.family_for(id).is_some(), "{id}");
        }
        let sonnet = profiles
            .family_for(crate::config::DEFAULT_SONNET_MODEL_ID)
            .unwrap();
        assert_eq!(sonnet.name, "claude-sonnet-4-5");
        let haiku = profiles
            .family_for(crate::config::DEFAULT_HAIKU_MODEL_ID)
            .unwrap();
        assert_eq!(haiku.name, "claude-haiku-4-5");
    }

    #[test]
    fn a_call_takes_first_token_plus_prefill_plus_generation() {
        let profiles = LatencyProfiles::embedded().unwrap();
        let sonnet = profiles
            .family_for("us.anthropic.claude-sonnet-4-5-x")
            .unwrap();
        // 1.8 s + 1200/12000 s + 1260/63 s = 1.8 + 0.1 + 20 = 21.9 s
        let d = sonnet.call_duration(1200, 1260);
        assert!((d.as_secs_f64() - 21.9).abs() < 1e-6, "{d:?}");
        assert_eq!(scaled(d, 10.0), d / 10);
        assert_eq!(scaled(d, 0.0), d);
        let titan = profiles.family_for("amazon.titan-embed-text-v2:0").unwrap();
        assert!(titan.call_duration(10, 1000) < Duration::from_millis(100));
    }

    /// The build-time conversion, then the load.
    fn from_toml(toml: &str) -> Result<LatencyProfiles, LatencyError> {
        LatencyProfiles::from_json(&crate::datafile::toml_to_json(toml).unwrap())
    }

    #[test]
    fn the_build_time_json_is_the_toml_file() {
        let toml = include_str!("../data/model-latency.toml");
        assert_eq!(
            EMBEDDED_PROFILES,
            crate::datafile::toml_to_json(toml).unwrap()
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_family_named() {
        let family = |extra: &str| {
            format!(
                "[[family]]\nname = \"x\"\nmatches = [\"x\"]\ntime_to_first_token_ms = 100\n\
                 output_tokens_per_second = 50.0\ninput_tokens_per_second = 1000.0\n{extra}"
            )
        };
        assert!(from_toml(&family("source = \"s\"")).is_ok());
        let no_source = from_toml(&family("source = \" \"")).unwrap_err();
        assert!(no_source.to_string().contains("`x`"), "{no_source}");
        let twice = format!("{}\n{}", family("source = \"s\""), family("source = \"s\""));
        assert!(from_toml(&twice).is_err());
        let negative = family("source = \"s\"").replace("50.0", "-1.0");
        assert!(from_toml(&negative).is_err());
        assert!(from_toml(&family("source = \"s\"\nspeed = 1")).is_err());
        assert!(from_toml("").is_err());
    }

    #[test]
    fn prompt_tokens_are_overestimated_not_under() {
        // "돼지고기" is 4 syllables, 12 bytes: 4 tokens.
        assert_eq!(estimate_prompt_tokens("돼지고기".len()), 4);
        assert_eq!(estimate_prompt_tokens(0), 0);
        assert_eq!(estimate_prompt_tokens(4), 2);
    }
}
