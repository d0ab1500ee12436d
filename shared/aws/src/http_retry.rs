//! Calls to provider HTTP APIs, written once: status classes, `Retry-After`,
//! and retries with exponential backoff and jitter inside a budget.

use super::classify::{provider_error_class, send_error_class};
use backon::{ExponentialBuilder, Retryable};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use synchub_core::ports::PortError;

/// A failed attempt, with the wait the server asked for.
#[derive(Debug)]
pub struct HttpFailure {
    pub error: PortError,
    pub retry_after: Option<Duration>,
}

/// The HTTP client every provider adapter uses: overall and connect
/// timeouts, and synchub's user agent.
pub fn client(timeout: Duration, connect_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .user_agent(concat!("synchub/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Sends one request and reads its JSON answer: a 2xx (or a status in
/// `also_ok`) gives (status, body); any other status a classified failure
/// carrying `Retry-After` and the provider's first error (Square's
/// `errors[0]`, HubSpot's top-level `category` and `message`).
pub async fn send_json(
    service: &'static str,
    operation: &'static str,
    request: reqwest::RequestBuilder,
    also_ok: &[u16],
) -> Result<(u16, serde_json::Value), HttpFailure> {
    let fail = |class, message: String, retry_after| HttpFailure {
        error: PortError::new(service, operation, class, message),
        retry_after,
    };
    let response = request.send().await.map_err(|e| {
        fail(
            send_error_class(&e),
            format!("request failed: {}", e.without_url()),
            None,
        )
    })?;
    let status = response.status().as_u16();
    let wait = retry_after(response.headers());
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if (200..300).contains(&status) || also_ok.contains(&status) {
        return Ok((status, body));
    }
    let error = body.pointer("/errors/0").unwrap_or(&body);
    let text = |k: &str| error[k].as_str().unwrap_or("");
    let detail = format!(
        "{} {}: {}",
        text("category"),
        text("code"),
        text("detail").to_owned() + text("message")
    );
    let detail = detail.trim_matches(|c: char| c == ' ' || c == ':');
    Err(fail(
        provider_error_class(status, text("category")),
        format!("HTTP {status} {detail}").trim().to_owned(),
        wait,
    ))
}

/// `Retry-After` in seconds, if the response has one.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

pub fn backoff(attempts: usize, max_delay: Duration) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(max_delay)
        .with_max_times(attempts.saturating_sub(1))
        .with_jitter()
}

/// Runs `attempt` until it succeeds, fails with a non-retryable class, asks
/// to wait longer than `max_wait`, or the backoff budget is spent. Counts
/// attempts in `attempts`.
pub async fn retrying<T, F, Fut>(
    backoff: ExponentialBuilder,
    max_wait: Duration,
    attempts: &AtomicU32,
    attempt: F,
) -> Result<T, HttpFailure>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, HttpFailure>>,
{
    (|| {
        attempts.fetch_add(1, Ordering::Relaxed);
        attempt()
    })
    .retry(backoff)
    .sleep(tokio::time::sleep)
    .when(|f: &HttpFailure| f.error.is_retryable() && f.retry_after.is_none_or(|d| d <= max_wait))
    // `planned` is None once the budget is spent; a Retry-After never extends it.
    .adjust(|f: &HttpFailure, planned| planned.map(|p| f.retry_after.unwrap_or(p)))
    .await
}
