//! The audit trail.

use super::{lock, Faults};
use crate::domain::audit::{AuditRow, TargetStatus};
use crate::ports::{AuditLog, PortError};
use crate::ErrorClass;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Audit rows keyed by (pk, sk). `record_new` overwrites, as the adapter's
/// batch write does; `record_once` writes only a row that is not there.
#[derive(Debug, Default)]
pub struct FakeAuditLog {
    rows: Mutex<BTreeMap<(String, String), AuditRow>>,
    /// Fails writes: each row of `record_new`, each `record_once` and `set_target`.
    pub faults: Faults,
    /// Fails `find`.
    pub read_faults: Faults,
}

impl FakeAuditLog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn rows(&self) -> Vec<AuditRow> {
        lock(&self.rows).values().cloned().collect()
    }

    /// The rows of one partition (an entity, or `{tenant}#rejected`).
    pub fn partition(&self, pk: &str) -> Vec<AuditRow> {
        lock(&self.rows)
            .values()
            .filter(|r| r.pk == pk)
            .cloned()
            .collect()
    }

    pub fn row(&self, pk: &str, sk: &str) -> Option<AuditRow> {
        lock(&self.rows)
            .get(&(pk.to_owned(), sk.to_owned()))
            .cloned()
    }
}

impl AuditLog for FakeAuditLog {
    async fn record_new(&self, rows: &[AuditRow]) -> Vec<Result<(), PortError>> {
        rows.iter()
            .map(|row| {
                self.faults.check("DynamoDB", "BatchWriteItem")?;
                lock(&self.rows).insert((row.pk.clone(), row.sk.clone()), row.clone());
                Ok(())
            })
            .collect()
    }

    async fn record_once(&self, row: &AuditRow) -> Result<bool, PortError> {
        self.faults.check("DynamoDB", "PutItem")?;
        let mut rows = lock(&self.rows);
        let key = (row.pk.clone(), row.sk.clone());
        if rows.contains_key(&key) {
            return Ok(false);
        }
        rows.insert(key, row.clone());
        Ok(true)
    }

    async fn find(&self, pk: &str, sk: &str) -> Result<Option<AuditRow>, PortError> {
        self.read_faults.check("DynamoDB", "GetItem")?;
        Ok(self.row(pk, sk))
    }

    async fn set_target(
        &self,
        pk: &str,
        sk: &str,
        target: &str,
        status: &TargetStatus,
    ) -> Result<(), PortError> {
        self.faults.check("DynamoDB", "UpdateItem")?;
        let mut rows = lock(&self.rows);
        let Some(row) = rows.get_mut(&(pk.to_owned(), sk.to_owned())) else {
            return Err(PortError::new(
                "DynamoDB",
                "UpdateItem",
                ErrorClass::UnknownError,
                format!("audit row {pk}/{sk} is missing"),
            ));
        };
        row.targets.insert(target.to_owned(), status.clone());
        Ok(())
    }
}
