//! The items table: the ordering rule, the customer ledger, the index of live entities.

use super::{lock, Faults};
use crate::domain::audit::{TargetState, TargetStatus};
use crate::domain::ordering::{StoredVersion, WriteResult};
use crate::domain::{ChangeBody, EntityChange, EntityKey, EntityKind, TenantId};
use crate::ports::{
    CustomerLedger, CustomerProfile, CustomerRecord, EntityIndex, ItemStore, PortError, TargetIds,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// One entity as the items table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    /// The change whose state is stored.
    pub change: EntityChange,
    pub message_id: String,
    pub correlation_id: String,
    /// Applied writes so far (1 after the first).
    pub revision: i64,
    /// The customer ledger. A write sets only the change's attributes, so
    /// these survive newer changes, as they do on the table.
    pub square_customer_id: Option<String>,
    pub crm_contact_id: Option<String>,
    pub sync_status: BTreeMap<String, TargetStatus>,
}

impl StoredEntity {
    fn deleted(&self) -> bool {
        matches!(self.change.body, ChangeBody::Document { deleted: true, .. })
    }

    fn source(&self) -> Option<&str> {
        match &self.change.body {
            ChangeBody::Document { source, .. } => Some(source),
            ChangeBody::Supplier(_) => None,
        }
    }

    fn customer_record(&self) -> CustomerRecord {
        let profile = match &self.change.body {
            ChangeBody::Document { attributes, .. } => {
                CustomerProfile::from_attributes(&self.change.key.id, attributes)
            }
            ChangeBody::Supplier(_) => CustomerProfile {
                id: self.change.key.id.clone(),
                ..CustomerProfile::default()
            },
        };
        CustomerRecord {
            profile,
            event_id: self.change.version.event_id.to_string(),
            square_customer_id: self.square_customer_id.clone(),
            crm_contact_id: self.crm_contact_id.clone(),
            sync_status: self.sync_status.clone(),
            correlation_id: self.correlation_id.clone(),
        }
    }
}

/// The items table: [`ItemStore`], [`CustomerLedger`] and [`EntityIndex`]
/// over one map, as the DynamoDB adapter serves all three from one table.
#[derive(Debug, Default)]
pub struct FakeItemStore {
    entities: Mutex<BTreeMap<EntityKey, StoredEntity>>,
    puts: Mutex<u64>,
    /// Rows per [`EntityIndex::live_page`] page; 0 for one page.
    page_size: usize,
    /// Fails `put_if_newer`.
    pub faults: Faults,
}

impl FakeItemStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index that answers `page_size` rows at a time.
    pub fn with_page_size(page_size: usize) -> Self {
        Self {
            page_size,
            ..Self::default()
        }
    }

    pub fn get(&self, key: &EntityKey) -> Option<StoredEntity> {
        lock(&self.entities).get(key).cloned()
    }

    pub fn entities(&self) -> Vec<StoredEntity> {
        lock(&self.entities).values().cloned().collect()
    }

    /// Conditional writes attempted (applied or refused).
    pub fn put_count(&self) -> u64 {
        *lock(&self.puts)
    }
}

impl ItemStore for FakeItemStore {
    async fn put_if_newer(
        &self,
        change: &EntityChange,
        message_id: &str,
        correlation_id: &str,
    ) -> Result<WriteResult, PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        *lock(&self.puts) += 1;
        let mut entities = lock(&self.entities);
        // The condition of the real write: nothing stored, or the stored
        // (sourceMillis, eventId) strictly older.
        if let Some(stored) = entities.get_mut(&change.key) {
            if stored.change.version >= change.version {
                return Ok(WriteResult::NotNewer(StoredVersion {
                    version: stored.change.version.clone(),
                    message_id: stored.message_id.clone(),
                    revision: stored.revision,
                    earlier_writers: vec![],
                }));
            }
            let previous = StoredVersion {
                version: stored.change.version.clone(),
                message_id: stored.message_id.clone(),
                revision: stored.revision,
                earlier_writers: vec![],
            };
            stored.change = change.clone();
            stored.message_id = message_id.to_owned();
            stored.correlation_id = correlation_id.to_owned();
            stored.revision += 1;
            return Ok(WriteResult::Applied {
                revision: stored.revision,
                previous: Some(previous),
            });
        }
        entities.insert(
            change.key.clone(),
            StoredEntity {
                change: change.clone(),
                message_id: message_id.to_owned(),
                correlation_id: correlation_id.to_owned(),
                revision: 1,
                square_customer_id: None,
                crm_contact_id: None,
                sync_status: BTreeMap::new(),
            },
        );
        Ok(WriteResult::Applied {
            revision: 1,
            previous: None,
        })
    }
}

fn customer_key(tenant: &TenantId, id: &str) -> EntityKey {
    EntityKey {
        tenant: tenant.clone(),
        kind: EntityKind::Customer,
        id: id.to_owned(),
    }
}

impl CustomerLedger for FakeItemStore {
    async fn customer(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<CustomerRecord>, PortError> {
        Ok(lock(&self.entities)
            .get(&customer_key(tenant, id))
            .map(StoredEntity::customer_record))
    }

    async fn record_sync(
        &self,
        tenant: &TenantId,
        id: &str,
        event_id: &str,
        statuses: &[(&'static str, TargetStatus)],
        ids: TargetIds<'_>,
    ) -> Result<(), PortError> {
        let mut entities = lock(&self.entities);
        // Only for the event the record holds; otherwise a no-op, as the
        // adapter treats its refused condition.
        let Some(stored) = entities
            .get_mut(&customer_key(tenant, id))
            .filter(|s| s.change.version.event_id.as_str() == event_id)
        else {
            return Ok(());
        };
        for (target, status) in statuses {
            stored
                .sync_status
                .insert((*target).to_owned(), status.clone());
        }
        if let Some(pos) = ids.pos {
            stored.square_customer_id = Some(pos.to_owned());
        }
        if let Some(crm) = ids.crm {
            stored.crm_contact_id = Some(crm.to_owned());
        }
        Ok(())
    }

    async fn needing_sync(
        &self,
        tenant: &TenantId,
        target: &str,
        since: Option<&str>,
    ) -> Result<Vec<CustomerRecord>, PortError> {
        Ok(lock(&self.entities)
            .values()
            .filter(|s| &s.change.key.tenant == tenant && s.change.key.kind == EntityKind::Customer)
            .filter(|s| !s.deleted())
            .filter(|s| {
                s.sync_status.get(target).is_some_and(|st| {
                    matches!(st.status, TargetState::Skipped(_) | TargetState::Failed(_))
                        && since.is_none_or(|since| st.at.as_str() >= since)
                })
            })
            .map(StoredEntity::customer_record)
            .collect())
    }
}

impl EntityIndex for FakeItemStore {
    async fn held(
        &self,
        tenant: &TenantId,
        kind: EntityKind,
        ids: &[String],
    ) -> Result<HashMap<String, crate::domain::drift::HeldState>, PortError> {
        let entities = lock(&self.entities);
        Ok(entities
            .values()
            .filter(|s| &s.change.key.tenant == tenant && s.change.key.kind == kind)
            .filter(|s| ids.contains(&s.change.key.id))
            .filter_map(|s| match &s.change.body {
                ChangeBody::Document {
                    attributes,
                    deleted,
                    ..
                } => Some((
                    s.change.key.id.clone(),
                    crate::domain::drift::HeldState {
                        attributes: attributes.clone(),
                        deleted: *deleted,
                    },
                )),
                ChangeBody::Supplier(_) => None,
            })
            .collect())
    }

    async fn live_page(
        &self,
        tenant: &TenantId,
        kind: EntityKind,
        source: &str,
        after: Option<String>,
    ) -> Result<crate::ports::LivePage, PortError> {
        let entities = lock(&self.entities);
        let mut live = entities
            .values()
            .filter(|s| &s.change.key.tenant == tenant && s.change.key.kind == kind)
            .filter(|s| {
                after
                    .as_deref()
                    .is_none_or(|a| s.change.key.id.as_str() > a)
            })
            .filter(|s| !s.deleted() && s.source() == Some(source))
            .map(|s| {
                (
                    s.change.key.id.clone(),
                    s.change.version.event_id.to_string(),
                )
            });
        let size = if self.page_size == 0 {
            usize::MAX
        } else {
            self.page_size
        };
        let rows: Vec<(String, String)> = live.by_ref().take(size).collect();
        let next = match live.next() {
            Some(_) => rows.last().map(|(id, _)| id.clone()),
            None => None,
        };
        Ok((rows, next))
    }
}
