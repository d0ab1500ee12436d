//! The customer targets over HTTP: Square's Customers API (the POS) and
//! HubSpot's contacts batch upsert (the CRM). Each call is retried with
//! exponential backoff and jitter inside a small budget (429 honours
//! `Retry-After`); AUTH and VALIDATION failures are never retried. Tokens come
//! from the tenant's SSM parameters and are never logged.

use super::classify::provider_error_class;
use super::http_retry::{backoff, client, retrying, send_json};
use super::square::SQUARE_VERSION;
use backon::ExponentialBuilder;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use synchub_core::domain::TenantId;
use synchub_core::ports::PortError;
use synchub_core::ports::{CustomerProfile, CustomerTargets, TokenStore};
use synchub_core::ErrorClass;

/// Where the targets live and how hard to try.
#[derive(Debug, Clone)]
pub struct TargetEndpoints {
    /// `https://connect.squareup.com` in production.
    pub square_base_url: String,
    /// `https://api.hubapi.com` in production.
    pub hubspot_base_url: String,
    pub attempts: usize,
    /// Longest `Retry-After` waited for inline; longer is recorded as failed.
    pub max_wait: Duration,
}

pub struct HttpCustomerTargets<K> {
    http: reqwest::Client,
    endpoints: TargetEndpoints,
    backoff: ExponentialBuilder,
    tokens: K,
}

impl<K> HttpCustomerTargets<K> {
    pub fn new(endpoints: TargetEndpoints, tokens: K) -> Self {
        let http = client(Duration::from_secs(5), Duration::from_secs(2));
        let backoff = backoff(endpoints.attempts, Duration::from_secs(2));
        Self {
            http,
            endpoints: TargetEndpoints {
                square_base_url: endpoints.square_base_url.trim_end_matches('/').to_owned(),
                hubspot_base_url: endpoints.hubspot_base_url.trim_end_matches('/').to_owned(),
                ..endpoints
            },
            backoff,
            tokens,
        }
    }

    async fn call(
        &self,
        service: &'static str,
        operation: &'static str,
        // Erasures: a 404 means already gone, which is what they want.
        gone_ok: bool,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(u16, Value, u32), (PortError, u32)> {
        let attempts = AtomicU32::new(0);
        let also_ok: &[u16] = if gone_ok { &[404] } else { &[] };
        let attempt = || send_json(service, operation, request(), also_ok);
        let result = retrying(self.backoff, self.endpoints.max_wait, &attempts, attempt).await;
        let n = attempts.load(Ordering::Relaxed);
        result.map(|(s, b)| (s, b, n)).map_err(|f| (f.error, n))
    }
}

/// A token lookup's result, with a missing token as the AUTH error it is.
fn token(
    found: Result<Option<String>, PortError>,
    service: &'static str,
    parameter: &str,
) -> Result<String, (PortError, u32)> {
    match found {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err((
            PortError::new(
                service,
                "token",
                ErrorClass::AuthError,
                format!("no {parameter} configured for the tenant"),
            ),
            0,
        )),
        Err(e) => Err((e, 0)),
    }
}

impl<K: TokenStore> CustomerTargets for HttpCustomerTargets<K> {
    async fn pos_upsert(
        &self,
        tenant: &TenantId,
        customer: &CustomerProfile,
        pos_id: Option<&str>,
        idempotency_key: &str,
    ) -> Result<(String, u32), (PortError, u32)> {
        let token = token(
            self.tokens.square_token(tenant).await,
            "Square",
            "square-token",
        )?;
        let mut body = json!({
            "given_name": customer.first_name, "family_name": customer.last_name,
            "email_address": customer.email, "phone_number": customer.phone,
            "reference_id": customer.id,
        });
        let (operation, url) = match pos_id {
            Some(id) => (
                "UpdateCustomer",
                format!("{}/v2/customers/{}", self.endpoints.square_base_url, id),
            ),
            None => {
                body["idempotency_key"] = json!(idempotency_key);
                (
                    "CreateCustomer",
                    format!("{}/v2/customers", self.endpoints.square_base_url),
                )
            }
        };
        let request = || {
            let builder = if pos_id.is_some() {
                self.http.put(&url)
            } else {
                self.http.post(&url)
            };
            builder
                .bearer_auth(&token)
                .header("Square-Version", SQUARE_VERSION)
                .json(&body)
        };
        let (_, answer, attempts) = self.call("Square", operation, false, request).await?;
        let id = answer
            .pointer("/customer/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| pos_id.map(str::to_owned));
        id.map(|id| (id, attempts)).ok_or_else(|| {
            (
                PortError::new(
                    "Square",
                    operation,
                    ErrorClass::UnknownError,
                    "answer carries no customer.id",
                ),
                attempts,
            )
        })
    }

    async fn crm_upsert(
        &self,
        tenant: &TenantId,
        customer: &CustomerProfile,
    ) -> Result<(String, u32), (PortError, u32)> {
        let Some(email) = customer.email.as_deref() else {
            return Err((
                PortError::new(
                    "HubSpot",
                    "UpsertContacts",
                    ErrorClass::ValidationError,
                    "the customer has no email to upsert by",
                ),
                0,
            ));
        };
        let token = token(
            self.tokens.hubspot_token(tenant).await,
            "HubSpot",
            "hubspot-token",
        )?;
        let body = json!({"inputs": [{
            "idProperty": "email", "id": email,
            "properties": {"email": email, "firstname": customer.first_name, "lastname": customer.last_name, "phone": customer.phone},
        }]});
        let url = format!(
            "{}/crm/v3/objects/contacts/batch/upsert",
            self.endpoints.hubspot_base_url
        );
        let (status, answer, attempts) = self
            .call("HubSpot", "UpsertContacts", false, || {
                self.http.post(&url).bearer_auth(&token).json(&body)
            })
            .await?;
        if let Some(error) = multi_status_error(status, &answer) {
            return Err((error, attempts));
        }
        let id = answer
            .pointer("/results/0/id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok((id, attempts))
    }

    async fn pos_erase(&self, tenant: &TenantId, pos_id: &str) -> Result<u32, (PortError, u32)> {
        let token = token(
            self.tokens.square_token(tenant).await,
            "Square",
            "square-token",
        )?;
        let url = format!("{}/v2/customers/{}", self.endpoints.square_base_url, pos_id);
        let request = || {
            self.http
                .delete(&url)
                .bearer_auth(&token)
                .header("Square-Version", SQUARE_VERSION)
        };
        self.call("Square", "DeleteCustomer", true, request)
            .await
            .map(|(_, _, attempts)| attempts)
    }

    async fn crm_erase(&self, tenant: &TenantId, crm_id: &str) -> Result<u32, (PortError, u32)> {
        let token = token(
            self.tokens.hubspot_token(tenant).await,
            "HubSpot",
            "hubspot-token",
        )?;
        let url = format!(
            "{}/crm/v3/objects/contacts/gdpr-delete",
            self.endpoints.hubspot_base_url
        );
        let body = json!({"objectId": crm_id});
        let request = || self.http.post(&url).bearer_auth(&token).json(&body);
        self.call("HubSpot", "GdprDeleteContact", true, request)
            .await
            .map(|(_, _, attempts)| attempts)
    }
}

/// HubSpot's 207 Multi-Status: the batch went through, but a record may have
/// failed; its first error, classified.
fn multi_status_error(status: u16, answer: &Value) -> Option<PortError> {
    if status != 207 && answer["numErrors"].as_u64().unwrap_or(0) == 0 {
        return None;
    }
    let error = answer["errors"].as_array()?.first()?;
    let category = error["category"].as_str().unwrap_or("");
    let message = format!(
        "multi-status: {category} {}",
        error["message"].as_str().unwrap_or("")
    );
    Some(PortError::new(
        "HubSpot",
        "UpsertContacts",
        provider_error_class(status, category),
        message.trim().to_owned(),
    ))
}
