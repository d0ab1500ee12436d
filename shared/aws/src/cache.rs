//! A small time-bounded cache for a warm function: tenant secrets and settings
//! are read once and trusted for a short while, misses included, so a flood of
//! requests for an unknown tenant costs one lookup per period.
//!
//! Concurrent misses for one key share one fetch; misses for different keys
//! (different tenants) fetch side by side. Failed fetches are not cached.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;
use synchub_core::ports::PortError;

/// How many entries a warm function keeps at most (least useful evicted first).
const CAPACITY: u64 = 10_000;

pub struct TtlCache<K, V> {
    entries: moka::future::Cache<K, V>,
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: moka::future::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The cached value, if it is still fresh.
    pub async fn get(&self, key: &K) -> Option<V> {
        self.entries.get(key).await
    }

    /// Forgets a key, so the next read fetches it (after this instance wrote it).
    pub async fn invalidate(&self, key: &K) {
        self.entries.invalidate(key).await;
    }

    /// Returns the cached value or fetches, caches and returns it. Concurrent
    /// callers for the same key wait for one fetch; errors are not cached.
    pub async fn get_or_fetch<F>(&self, key: &K, fetch: F) -> Result<V, PortError>
    where
        F: Future<Output = Result<V, PortError>>,
    {
        self.entries
            .try_get_with_by_ref(key, fetch)
            .await
            .map_err(unshare)
    }
}

/// The error of a fetch that several callers waited on, as a `PortError` of
/// its own: the original when this caller holds the only reference, else one
/// with the same class and message whose source is the original's source.
fn unshare(shared: Arc<PortError>) -> PortError {
    let shared = match Arc::try_unwrap(shared) {
        Ok(original) => return original,
        Err(shared) => shared,
    };
    let source =
        || -> Box<dyn std::error::Error + Send + Sync> { Box::new(SharedSource(shared.clone())) };
    match shared.as_ref() {
        PortError::Call {
            service,
            operation,
            class,
            message,
            source: original,
        } => PortError::Call {
            service,
            operation,
            class: *class,
            message: message.clone(),
            source: original.as_ref().map(|_| source()),
        },
        PortError::Misconfigured { what, detail } => PortError::Misconfigured {
            what: what.clone(),
            detail: detail.clone(),
        },
        PortError::Codec { action, what, .. } => PortError::Codec {
            action,
            what,
            source: source(),
        },
    }
}

/// The source of a shared error, seen through the `Arc` that holds it.
#[derive(Debug)]
struct SharedSource(Arc<PortError>);

impl std::fmt::Display for SharedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::error::Error::source(self.0.as_ref()) {
            Some(source) => std::fmt::Display::fmt(source, f),
            None => f.write_str(&self.0.message()),
        }
    }
}

impl std::error::Error for SharedSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.0.as_ref())?.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use synchub_core::ErrorClass;

    fn down() -> PortError {
        PortError::new("SSM", "GetParameter", ErrorClass::NetworkError, "down")
    }

    #[tokio::test]
    async fn values_expire_and_errors_are_not_cached() {
        let cache = TtlCache::new(Duration::from_millis(30));
        let err = cache
            .get_or_fetch(&"k", async { Err::<u32, _>(down()) })
            .await
            .unwrap_err();
        assert_eq!(
            (err.class(), err.message()),
            (ErrorClass::NetworkError, "down".to_owned())
        );
        assert_eq!(cache.get(&"k").await, None);
        assert_eq!(
            cache.get_or_fetch(&"k", async { Ok(1) }).await.ok(),
            Some(1)
        );
        assert_eq!(
            cache.get_or_fetch(&"k", async { Ok(2) }).await.ok(),
            Some(1)
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            cache.get_or_fetch(&"k", async { Ok(3) }).await.ok(),
            Some(3)
        );
    }

    #[tokio::test]
    async fn concurrent_misses_fetch_once() {
        let cache = TtlCache::new(Duration::from_secs(60));
        let fetches = AtomicU32::new(0);
        let lookup = || {
            cache.get_or_fetch(&"k", async {
                fetches.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(7)
            })
        };
        let all = futures::future::join_all((0..25).map(|_| lookup())).await;
        assert!(all.iter().all(|v| matches!(v, Ok(7))));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn concurrent_failures_fetch_once_and_each_caller_gets_the_error() {
        let cache = TtlCache::<&str, u32>::new(Duration::from_secs(60));
        let fetches = AtomicU32::new(0);
        let lookup = || {
            cache.get_or_fetch(&"k", async {
                fetches.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                Err(down())
            })
        };
        let all = futures::future::join_all((0..5).map(|_| lookup())).await;
        for result in all {
            let err = result.unwrap_err();
            assert_eq!(err.class(), ErrorClass::NetworkError);
            assert_eq!(err.message(), "down");
            assert_eq!(err.to_string(), down().to_string());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn different_keys_do_not_wait_on_each_other() {
        let cache = TtlCache::new(Duration::from_secs(60));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        // The fetch for `a` only finishes once the lookup of `b` has finished:
        // if misses were serialized, this would never complete.
        let a = cache.get_or_fetch(&"a", async {
            released.await.ok();
            Ok(1)
        });
        let b = async {
            let b = cache.get_or_fetch(&"b", async { Ok(2) }).await;
            release.send(()).ok();
            b
        };
        let (a, b) = tokio::time::timeout(Duration::from_secs(5), futures::future::join(a, b))
            .await
            .expect("a miss for one key waited on a miss for another");
        assert_eq!((a.ok(), b.ok()), (Some(1), Some(2)));
    }

    #[test]
    fn a_shared_error_keeps_class_message_and_source() {
        let io = std::io::Error::other("connection reset");
        let original = PortError::Call {
            service: "SSM",
            operation: "GetParameter",
            class: ErrorClass::TimeoutError,
            message: "request timed out".into(),
            source: Some(Box::new(io)),
        };
        let shared = Arc::new(original);
        let _waiter = shared.clone();
        let err = unshare(shared.clone());
        assert_eq!(err.class(), ErrorClass::TimeoutError);
        assert_eq!(err.to_string(), shared.to_string());
        assert_eq!(
            synchub_core::error::chain(&err),
            synchub_core::error::chain(shared.as_ref())
        );
        let misconfigured = Arc::new(PortError::Misconfigured {
            what: "SSM parameter x".into(),
            detail: "not a valid signing secret".into(),
        });
        let err = unshare(misconfigured.clone());
        assert_eq!(err.class(), ErrorClass::ValidationError);
        assert_eq!(err.to_string(), misconfigured.to_string());
        let codec = Arc::new(PortError::decode(
            "tenant settings",
            std::io::Error::other("missing field `tenantId`"),
        ));
        let err = unshare(codec.clone());
        assert_eq!(err.class(), ErrorClass::UnknownError);
        assert_eq!(err.to_string(), codec.to_string());
    }
}
