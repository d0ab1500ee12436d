//! Storefront cache-bust over HTTP, retried with exponential backoff and
//! jitter inside a small budget, honouring `Retry-After`.

use super::classify::{send_error_class, status_class};
use super::http_retry::{backoff, client, retry_after, retrying, HttpFailure as Failure};
use backon::ExponentialBuilder;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use synchub_core::ports::PortError;
use synchub_core::ports::{CacheBust, StorefrontPublisher};
use synchub_core::ErrorClass;

/// Longest `Retry-After` honoured inline; longer waits are left to SQS redelivery.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct HttpStorefront {
    client: reqwest::Client,
    backoff: ExponentialBuilder,
}

impl HttpStorefront {
    pub fn new(timeout: Duration, attempts: usize) -> Self {
        let client = client(timeout, timeout.min(Duration::from_secs(1)));
        Self {
            client,
            backoff: backoff(attempts, Duration::from_millis(800)),
        }
    }
}

impl Default for HttpStorefront {
    fn default() -> Self {
        Self::new(Duration::from_secs(3), 3)
    }
}

impl HttpStorefront {
    async fn attempt(&self, url: &str, notice: &CacheBust) -> Result<(), Failure> {
        let fail = |class, message: String, retry_after| Failure {
            error: PortError::new("storefront", "publish", class, message),
            retry_after,
        };
        let response = self
            .client
            .post(url)
            .header(
                "Idempotency-Key",
                format!("{}:{}:{}", notice.tenant_id, notice.id, notice.version),
            )
            .json(notice)
            .send()
            .await
            .map_err(|e| {
                fail(
                    send_error_class(&e),
                    format!("request to storefront failed: {e}"),
                    None,
                )
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let wait = retry_after(response.headers());
        Err(fail(
            status_class(status.as_u16(), ErrorClass::NetworkError),
            format!("storefront answered HTTP {}", status.as_u16()),
            wait,
        ))
    }
}

impl StorefrontPublisher for HttpStorefront {
    async fn publish(&self, url: &str, notice: &CacheBust) -> Result<u32, (PortError, u32)> {
        let attempts = AtomicU32::new(0);
        let result = retrying(self.backoff, MAX_INLINE_WAIT, &attempts, || {
            self.attempt(url, notice)
        })
        .await;
        let attempts = attempts.load(Ordering::Relaxed);
        result.map(|()| attempts).map_err(|f| (f.error, attempts))
    }
}
