//! The maintenance switch as an SSM parameter (`/synchub/maintenance`:
//! `on` or `off`, absent = off), so the operator flips it with
//! `synchub maintenance on` and no deploy. A warm function trusts what it
//! read for [`CACHE_TTL`] (like the tenant secrets in [`super::cache`]),
//! so a flip reaches every function within about that long.
//!
//! When SSM cannot be read, or holds neither `on` nor `off`, the last
//! position read is kept (and the trouble logged); with none read yet the
//! error goes to the caller.

use super::cache::TtlCache;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::types::ParameterType;
use aws_sdk_ssm::Client;
use futures::future::BoxFuture;
use serde::Serialize;
use std::sync::Mutex;
use std::time::Duration;
use synchub_core::domain::time::canonical_time;
use synchub_core::ports::maintenance::{Maintenance, MaintenanceSwitch};
use synchub_core::ports::PortError;
use synchub_core::ErrorClass;

/// How long a warm function trusts the switch's position.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// The switch as read, with when it last changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceReading {
    pub maintenance: Maintenance,
    /// The SSM parameter that holds it.
    pub parameter: String,
    /// When it was last set (RFC 3339); absent when never set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
}

pub struct SsmMaintenanceSwitch {
    client: Client,
    name: String,
    cache: TtlCache<(), Maintenance>,
    last_known: Mutex<Option<Maintenance>>,
}

impl SsmMaintenanceSwitch {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self::with_ttl(client, name, CACHE_TTL)
    }

    pub fn with_ttl(client: Client, name: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            name: name.into(),
            cache: TtlCache::new(ttl),
            last_known: Mutex::new(None),
        }
    }

    /// The parameter's name.
    pub fn parameter(&self) -> &str {
        &self.name
    }

    /// Reads the switch now, past the cache.
    pub async fn read(&self) -> Result<MaintenanceReading, PortError> {
        let out = match self.client.get_parameter().name(&self.name).send().await {
            Ok(out) => out,
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(GetParameterError::ParameterNotFound(_))
                ) =>
            {
                return Ok(self.reading(Maintenance::Off, None));
            }
            Err(err) => {
                return Err(super::classify::sdk_error(
                    "SSM",
                    "GetParameter",
                    ErrorClass::NetworkError,
                    err,
                ))
            }
        };
        let parameter = out.parameter.unwrap_or_else(|| {
            aws_sdk_ssm::types::Parameter::builder()
                .name(&self.name)
                .build()
        });
        let value = parameter.value.as_deref().unwrap_or_default();
        let state =
            Maintenance::parse(&self.name, value).map_err(|e| PortError::Misconfigured {
                what: format!("SSM parameter {}", self.name),
                detail: e.rule,
            })?;
        let changed_at = parameter.last_modified_date.and_then(|d| {
            time::OffsetDateTime::from_unix_timestamp_nanos(d.as_nanos())
                .ok()
                .map(canonical_time)
        });
        Ok(self.reading(state, changed_at))
    }

    /// Sets the switch (the operator's door; the functions may only read it).
    pub async fn set(&self, state: Maintenance) -> Result<MaintenanceReading, PortError> {
        self.client
            .put_parameter()
            .name(&self.name)
            .value(state.as_str())
            .r#type(ParameterType::String)
            .description("synchub maintenance switch: on holds back all outbound sync; off (or absent) sends it")
            .overwrite(true)
            .send()
            .await
            .map_err(|e| {
                super::classify::sdk_error("SSM", "PutParameter", ErrorClass::NetworkError, e)
            })?;
        self.read().await
    }

    fn reading(&self, maintenance: Maintenance, changed_at: Option<String>) -> MaintenanceReading {
        MaintenanceReading {
            maintenance,
            parameter: self.name.clone(),
            changed_at,
        }
    }

    fn remember(&self, state: Option<Maintenance>) -> Option<Maintenance> {
        let mut last = self.last_known.lock().unwrap_or_else(|p| p.into_inner());
        if state.is_some() {
            *last = state;
        }
        *last
    }
}

impl MaintenanceSwitch for SsmMaintenanceSwitch {
    fn state(&self) -> BoxFuture<'_, Result<Maintenance, PortError>> {
        Box::pin(async move {
            let read = async { self.read().await.map(|r| r.maintenance) };
            match self.cache.get_or_fetch(&(), read).await {
                Ok(state) => {
                    self.remember(Some(state));
                    Ok(state)
                }
                Err(e) => match self.remember(None) {
                    Some(last) => {
                        tracing::error!(parameter = %self.name, error.class = %e.class(), error = %e, maintenance = %last,
                            "maintenance switch unreadable; keeping the last position read");
                        Ok(last)
                    }
                    None => Err(e),
                },
            }
        })
    }
}
