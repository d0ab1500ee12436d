//! A small time-bounded cache for a warm function: tenant secrets and settings
//! are read once and trusted for a short while, misses included, so a flood of
//! requests for an unknown tenant costs one lookup per period.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
    /// Misses wait here, so a batch's concurrent first lookups make one read.
    fetching: tokio::sync::Mutex<()>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 10_000 {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Returns the cached value or fetches, caches and returns it. Errors are not cached.
    pub async fn get_or_fetch<E, F>(&self, key: &K, fetch: F) -> Result<V, E>
    where
        F: std::future::Future<Output = Result<V, E>>,
    {
        if let Some(v) = self.get(key) {
            return Ok(v);
        }
        let _one_at_a_time = self.fetching.lock().await;
        // Another task may have fetched it while this one waited.
        if let Some(v) = self.get(key) {
            return Ok(v);
        }
        let v = fetch.await?;
        self.insert(key.clone(), v.clone());
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_expire_and_errors_are_not_cached() {
        let cache = TtlCache::new(Duration::from_millis(30));
        assert_eq!(
            cache
                .get_or_fetch(&"k", async { Err::<u32, _>("down") })
                .await,
            Err("down")
        );
        assert_eq!(
            cache.get_or_fetch(&"k", async { Ok::<_, ()>(1) }).await,
            Ok(1)
        );
        assert_eq!(
            cache.get_or_fetch(&"k", async { Ok::<_, ()>(2) }).await,
            Ok(1)
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(
            cache.get_or_fetch(&"k", async { Ok::<_, ()>(3) }).await,
            Ok(3)
        );
    }

    #[tokio::test]
    async fn concurrent_misses_fetch_once() {
        let cache = TtlCache::new(Duration::from_secs(60));
        let fetches = std::sync::atomic::AtomicU32::new(0);
        let lookup = || {
            cache.get_or_fetch(&"k", async {
                fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok::<_, ()>(7)
            })
        };
        let all = futures::future::join_all((0..25).map(|_| lookup())).await;
        assert!(all.iter().all(|v| *v == Ok(7)));
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
