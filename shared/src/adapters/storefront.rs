//! Storefront cache-bust over HTTP, retried with exponential backoff and
//! jitter inside a small budget, honouring `Retry-After`.

use super::AdapterError;
use crate::ports::{CacheBust, StorefrontPublisher};
use crate::ErrorClass;
use backon::{ExponentialBuilder, Retryable};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Longest `Retry-After` honoured inline; longer waits are left to SQS redelivery.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct HttpStorefront {
    client: reqwest::Client,
    backoff: ExponentialBuilder,
}

impl HttpStorefront {
    pub fn new(timeout: Duration, attempts: usize) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(1)))
            .user_agent(concat!("synchub/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_millis(800))
            .with_max_times(attempts.saturating_sub(1))
            .with_jitter();
        Self { client, backoff }
    }
}

impl Default for HttpStorefront {
    fn default() -> Self {
        Self::new(Duration::from_secs(3), 3)
    }
}

struct Failure {
    error: AdapterError,
    retry_after: Option<Duration>,
}

impl HttpStorefront {
    async fn attempt(&self, url: &str, notice: &CacheBust) -> Result<(), Failure> {
        let fail = |class, message: String, retry_after| Failure {
            error: AdapterError::new("storefront", "publish", class, message),
            retry_after,
        };
        let response = self
            .client
            .post(url)
            .header("Idempotency-Key", format!("{}:{}:{}", notice.tenant_id, notice.id, notice.version))
            .json(notice)
            .send()
            .await
            .map_err(|e| {
                let class = if e.is_timeout() { ErrorClass::TimeoutError } else { ErrorClass::NetworkError };
                fail(class, format!("request to storefront failed: {e}"), None)
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let class = match status.as_u16() {
            401 | 403 => ErrorClass::AuthError,
            408 => ErrorClass::TimeoutError,
            429 | 500..=599 => ErrorClass::NetworkError,
            _ => ErrorClass::ValidationError,
        };
        Err(fail(class, format!("storefront answered HTTP {}", status.as_u16()), retry_after))
    }
}

impl StorefrontPublisher for HttpStorefront {
    async fn publish(&self, url: &str, notice: &CacheBust) -> Result<u32, (AdapterError, u32)> {
        let attempts = AtomicU32::new(0);
        let result = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(url, notice).await
        })
        .retry(self.backoff)
        .sleep(tokio::time::sleep)
        .when(|f: &Failure| f.error.class.is_retryable() && f.retry_after.is_none_or(|d| d <= MAX_INLINE_WAIT))
        // `planned` is None once the budget is spent; a Retry-After never extends it.
        .adjust(|f: &Failure, planned| planned.map(|p| f.retry_after.unwrap_or(p)))
        .await;
        let attempts = attempts.load(Ordering::Relaxed);
        result.map(|()| attempts).map_err(|f| (f.error, attempts))
    }
}
