//! Bounded, time-limited in-process caches (moka) keyed by a SHA-256 of the model id and the
//! canonical request, so identical requests within a warm container skip the model.

use moka::sync::Cache;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// The cache key: hex SHA-256 over the model id, a separator, and the canonical body.
pub fn cache_key(model_id: &str, canonical_body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(model_id.as_bytes());
    hasher.update([0u8]);
    hasher.update(canonical_body.as_bytes());
    hex::encode(hasher.finalize())
}

/// A cache of shared values; capacity 0 disables it.
#[derive(Clone)]
pub struct ResponseCache<V: Send + Sync + 'static> {
    inner: Option<Cache<String, Arc<V>>>,
}

impl<V: Send + Sync + 'static> std::fmt::Debug for ResponseCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("entries", &self.inner.as_ref().map(Cache::entry_count))
            .finish()
    }
}

impl<V: Send + Sync + 'static> ResponseCache<V> {
    pub fn new(max_entries: u64, ttl: Duration) -> Self {
        let inner = (max_entries > 0 && !ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl)
                .build()
        });
        ResponseCache { inner }
    }

    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        self.inner.as_ref()?.get(key)
    }

    pub fn insert(&self, key: String, value: Arc<V>) {
        if let Some(cache) = &self.inner {
            cache.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_model_and_body() {
        let a = cache_key("m1", "{}");
        assert_eq!(a, cache_key("m1", "{}"));
        assert_ne!(a, cache_key("m2", "{}"));
        assert_ne!(a, cache_key("m1", "{ }"));
        // The separator keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(cache_key("ab", "c"), cache_key("a", "bc"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn disabled_cache_stores_nothing() {
        let cache: ResponseCache<u32> = ResponseCache::new(0, Duration::from_secs(60));
        cache.insert("k".into(), Arc::new(1));
        assert!(cache.get("k").is_none());
        let cache: ResponseCache<u32> = ResponseCache::new(10, Duration::from_secs(60));
        cache.insert("k".into(), Arc::new(1));
        assert_eq!(cache.get("k").as_deref(), Some(&1));
    }
}
