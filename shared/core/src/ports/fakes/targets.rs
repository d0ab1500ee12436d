//! Targets: the storefront, the POS and the CRM.

use super::{lock, Faults};
use crate::domain::TenantId;
use crate::ports::{CacheBust, CustomerProfile, CustomerTargets, PortError, StorefrontPublisher};
use std::collections::HashMap;
use std::sync::Mutex;

/// A storefront that keeps every notice it accepted. One call is one attempt.
#[derive(Debug, Default)]
pub struct FakeStorefront {
    published: Mutex<Vec<(String, CacheBust)>>,
    attempts: Mutex<u64>,
    pub faults: Faults,
}

impl FakeStorefront {
    pub fn new() -> Self {
        Self::default()
    }

    /// (url, notice) of every accepted publish.
    pub fn published(&self) -> Vec<(String, CacheBust)> {
        lock(&self.published).clone()
    }

    /// Calls made, failed ones included.
    pub fn attempts(&self) -> u64 {
        *lock(&self.attempts)
    }
}

impl StorefrontPublisher for FakeStorefront {
    async fn publish(&self, url: &str, notice: &CacheBust) -> Result<u32, (PortError, u32)> {
        *lock(&self.attempts) += 1;
        self.faults
            .check("storefront", "publish")
            .map_err(|e| (e, 1))?;
        lock(&self.published).push((url.to_owned(), notice.clone()));
        Ok(1)
    }
}

/// A call made to the customer targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetCall {
    PosUpsert {
        tenant: String,
        customer: String,
        pos_id: Option<String>,
        idempotency_key: String,
    },
    CrmUpsert {
        tenant: String,
        customer: String,
    },
    PosErase {
        tenant: String,
        pos_id: String,
    },
    CrmErase {
        tenant: String,
        crm_id: String,
    },
}

/// The POS and the CRM. The POS answers one id per idempotency key (a
/// retried create creates nothing new), the CRM one id per email.
#[derive(Debug, Default)]
pub struct FakeCustomerTargets {
    calls: Mutex<Vec<TargetCall>>,
    pos_ids: Mutex<HashMap<String, String>>,
    crm_ids: Mutex<HashMap<String, String>>,
    pub pos_faults: Faults,
    pub crm_faults: Faults,
}

impl FakeCustomerTargets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn calls(&self) -> Vec<TargetCall> {
        lock(&self.calls).clone()
    }

    fn call(&self, call: TargetCall) {
        lock(&self.calls).push(call);
    }
}

/// A new id for `key` in `ids`, or the one it already has.
fn id_for(ids: &Mutex<HashMap<String, String>>, key: &str, prefix: &str) -> String {
    let mut ids = lock(ids);
    let n = ids.len() + 1;
    ids.entry(key.to_owned())
        .or_insert_with(|| format!("{prefix}-{n}"))
        .clone()
}

impl CustomerTargets for FakeCustomerTargets {
    async fn pos_upsert(
        &self,
        tenant: &TenantId,
        customer: &CustomerProfile,
        pos_id: Option<&str>,
        idempotency_key: &str,
    ) -> Result<(String, u32), (PortError, u32)> {
        self.call(TargetCall::PosUpsert {
            tenant: tenant.to_string(),
            customer: customer.id.clone(),
            pos_id: pos_id.map(str::to_owned),
            idempotency_key: idempotency_key.to_owned(),
        });
        self.pos_faults
            .check("Square", "UpsertCustomer")
            .map_err(|e| (e, 1))?;
        let id = match pos_id {
            Some(id) => id.to_owned(),
            None => id_for(&self.pos_ids, idempotency_key, "sq-customer"),
        };
        Ok((id, 1))
    }

    async fn crm_upsert(
        &self,
        tenant: &TenantId,
        customer: &CustomerProfile,
    ) -> Result<(String, u32), (PortError, u32)> {
        self.call(TargetCall::CrmUpsert {
            tenant: tenant.to_string(),
            customer: customer.id.clone(),
        });
        self.crm_faults
            .check("HubSpot", "UpsertContact")
            .map_err(|e| (e, 1))?;
        let email = customer.email.clone().unwrap_or_default();
        Ok((id_for(&self.crm_ids, &email, "crm-contact"), 1))
    }

    async fn pos_erase(&self, tenant: &TenantId, pos_id: &str) -> Result<u32, (PortError, u32)> {
        self.call(TargetCall::PosErase {
            tenant: tenant.to_string(),
            pos_id: pos_id.to_owned(),
        });
        self.pos_faults
            .check("Square", "DeleteCustomer")
            .map_err(|e| (e, 1))?;
        Ok(1)
    }

    async fn crm_erase(&self, tenant: &TenantId, crm_id: &str) -> Result<u32, (PortError, u32)> {
        self.call(TargetCall::CrmErase {
            tenant: tenant.to_string(),
            crm_id: crm_id.to_owned(),
        });
        self.crm_faults
            .check("HubSpot", "GdprDelete")
            .map_err(|e| (e, 1))?;
        Ok(1)
    }
}
