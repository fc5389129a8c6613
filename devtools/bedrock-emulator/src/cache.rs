//! Prompt caching as Bedrock reports it for Claude: `cache_control` marks cache points on
//! tools, system blocks and message content blocks (in that order, the order Claude reads
//! them); the emulator keeps, per model, the token prefix closed by each point, keyed by a
//! hash of everything up to and including it, and splits a call's input into tokens read
//! from the cache, tokens written to it and the uncached rest.
//!
//! Rules (which models cache, the smallest cacheable prefix, the TTL and the cap on cache
//! points) are data, `data/prompt-caching.toml`, validated when first used. Entries live for
//! the TTL after their last use (a hit refreshes it, as on Bedrock); the caller passes the
//! TTL in real time so a scaled realistic run expires them in scaled time. The map is also
//! bounded (least recently used entries go first) so a long test run cannot grow it.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CACHING_TOML: &str = include_str!("../data/prompt-caching.toml");

/// Most entries the emulator keeps before it drops the least recently used.
pub const CAPACITY: usize = 4096;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachingModel {
    pub name: String,
    pub matches: Vec<String>,
    pub min_tokens: u32,
}

/// The validated caching rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachingRules {
    pub max_cache_points: usize,
    pub ttl_seconds: u64,
    pub source: String,
    pub model: Vec<CachingModel>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CachingError {
    #[error("prompt-caching.toml does not parse: {0}")]
    Toml(String),
    #[error("prompt-caching.toml: {0}")]
    Invalid(String),
}

impl CachingRules {
    pub fn parse(text: &str) -> Result<Self, CachingError> {
        let rules: CachingRules =
            toml::from_str(text).map_err(|e| CachingError::Toml(e.to_string()))?;
        let invalid = |what: String| Err(CachingError::Invalid(what));
        if rules.max_cache_points == 0 || rules.ttl_seconds == 0 {
            return invalid("max_cache_points and ttl_seconds must be above 0".into());
        }
        if rules.source.trim().is_empty() {
            return invalid("no source stated".into());
        }
        for model in &rules.model {
            if model.name.trim().is_empty()
                || model.matches.is_empty()
                || model.matches.iter().any(|m| m.trim().is_empty())
            {
                return invalid(format!("model {:?} needs a name and matches", model.name));
            }
            if model.min_tokens == 0 {
                return invalid(format!("model {}: min_tokens must be above 0", model.name));
            }
        }
        Ok(rules)
    }

    pub fn builtin() -> Result<&'static CachingRules, &'static CachingError> {
        static RULES: OnceLock<Result<CachingRules, CachingError>> = OnceLock::new();
        RULES.get_or_init(|| Self::parse(CACHING_TOML)).as_ref()
    }

    /// The smallest cacheable prefix for `model_id`, or `None` when the model has no cache.
    pub fn min_tokens_for(&self, model_id: &str) -> Option<u32> {
        self.model
            .iter()
            .find(|m| m.matches.iter().any(|s| model_id.contains(s.as_str())))
            .map(|m| m.min_tokens)
    }

    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_seconds)
    }
}

/// One block of a prompt, in the order the model reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptBlock {
    pub tokens: u32,
    /// The block's content without its `cache_control`, in a canonical form.
    pub material: String,
    pub cache_point: bool,
}

/// How a call's cacheable prefix was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheUsage {
    /// `cache_read_input_tokens`: the longest cached prefix found.
    pub read: u32,
    /// `cache_creation_input_tokens`: prefix tokens after it, up to the last cacheable point.
    pub written: u32,
}

#[derive(Debug)]
struct Entry {
    expires: Instant,
    last_used: u64,
}

/// The emulator's prompt cache (one map; the model name is part of every key).
#[derive(Debug, Default)]
pub struct PromptCache {
    entries: HashMap<[u8; 32], Entry>,
    uses: u64,
}

impl PromptCache {
    /// Looks up and records the cache points of `blocks` for `model`: points whose prefix is
    /// under `min_tokens` are ignored, the longest live prefix is read, and every eligible
    /// point is (re)written with a fresh `ttl`.
    pub fn apply(
        &mut self,
        model: &str,
        blocks: &[PromptBlock],
        min_tokens: u32,
        ttl: Duration,
        now: Instant,
    ) -> CacheUsage {
        let mut hasher = Sha256::new();
        hasher.update(model.as_bytes());
        let mut prefix = 0u32;
        let mut points: Vec<([u8; 32], u32)> = Vec::new();
        for block in blocks {
            // Length-prefixed so two blocks never hash like one with the same bytes.
            hasher.update((block.material.len() as u64).to_le_bytes());
            hasher.update(block.material.as_bytes());
            prefix = prefix.saturating_add(block.tokens);
            if block.cache_point && prefix >= min_tokens {
                points.push((hasher.clone().finalize().into(), prefix));
            }
        }
        let Some(&(_, last)) = points.last() else {
            return CacheUsage::default();
        };
        let read = points
            .iter()
            .rev()
            .find(|(key, _)| self.entries.get(key).is_some_and(|e| e.expires > now))
            .map_or(0, |(_, tokens)| *tokens);
        for (key, _) in &points {
            self.uses += 1;
            self.entries.insert(
                *key,
                Entry {
                    expires: now + ttl,
                    last_used: self.uses,
                },
            );
        }
        self.evict(now);
        CacheUsage {
            read,
            written: last - read,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn evict(&mut self, now: Instant) {
        if self.entries.len() <= CAPACITY {
            return;
        }
        self.entries.retain(|_, entry| entry.expires > now);
        while self.entries.len() > CAPACITY {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(key, _)| *key);
            match oldest {
                Some(key) => self.entries.remove(&key),
                None => break,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(text: &str, tokens: u32, cache_point: bool) -> PromptBlock {
        PromptBlock {
            tokens,
            material: text.to_string(),
            cache_point,
        }
    }

    #[test]
    fn the_builtin_rules_load() {
        let rules = CachingRules::builtin().unwrap();
        assert_eq!(
            rules.min_tokens_for("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            Some(1024)
        );
        assert_eq!(
            rules.min_tokens_for("global.anthropic.claude-haiku-4-5-20251001-v1:0"),
            Some(4096)
        );
        assert_eq!(
            rules.min_tokens_for("anthropic.claude-3-haiku-20240307-v1:0"),
            None
        );
        assert_eq!(rules.max_cache_points, 4);
        assert_eq!(rules.ttl(), Duration::from_secs(300));
        assert!(CachingRules::parse(
            "max_cache_points = 0\nttl_seconds = 1\nsource = \"s\"\nmodel = []"
        )
        .is_err());
        assert!(CachingRules::parse("nope = 1").is_err());
    }

    #[test]
    fn write_then_read_then_expire() {
        let mut cache = PromptCache::default();
        let now = Instant::now();
        let ttl = Duration::from_secs(300);
        let prompt = vec![
            block("system rules", 1500, true),
            block("user: keto", 40, false),
        ];
        let first = cache.apply("m", &prompt, 1024, ttl, now);
        assert_eq!(
            first,
            CacheUsage {
                read: 0,
                written: 1500
            }
        );
        let second = cache.apply("m", &prompt, 1024, ttl, now + Duration::from_secs(10));
        assert_eq!(
            second,
            CacheUsage {
                read: 1500,
                written: 0
            }
        );
        // Another model does not share the entry.
        assert_eq!(cache.apply("other", &prompt, 1024, ttl, now).read, 0);
        // The hit at +10 s refreshed the TTL; past it the entry is gone.
        let late = now + Duration::from_secs(10) + ttl;
        assert_eq!(cache.apply("m", &prompt, 1024, ttl, late).written, 1500);
    }

    #[test]
    fn a_longer_prefix_reads_the_shorter_point_and_writes_the_rest() {
        let mut cache = PromptCache::default();
        let now = Instant::now();
        let ttl = Duration::from_secs(300);
        let first = vec![block("system", 1200, true), block("user 1", 50, false)];
        cache.apply("m", &first, 1024, ttl, now);
        let repair = vec![
            block("system", 1200, true),
            block("user 1", 50, false),
            block("assistant", 700, true),
            block("user 2", 60, false),
        ];
        assert_eq!(
            cache.apply("m", &repair, 1024, ttl, now),
            CacheUsage {
                read: 1200,
                written: 750
            }
        );
        // A changed system block misses everything.
        let changed = vec![block("system!", 1200, true), block("user 1", 50, false)];
        assert_eq!(cache.apply("m", &changed, 1024, ttl, now).read, 0);
    }

    #[test]
    fn prefixes_under_the_minimum_are_not_cached() {
        let mut cache = PromptCache::default();
        let now = Instant::now();
        let prompt = vec![block("short system", 900, true), block("user", 40, false)];
        for _ in 0..2 {
            assert_eq!(
                cache.apply("m", &prompt, 1024, Duration::from_secs(300), now),
                CacheUsage::default()
            );
        }
        assert!(cache.is_empty());
    }
}
