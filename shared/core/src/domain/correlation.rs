//! Correlation ids: `sync-{tenantId}-{unix millis}-{random}`. They appear in
//! every log line, audit row, notification and API response about the work.

use super::ids::TenantId;
use rand::Rng;

pub fn new_correlation_id(tenant: &TenantId, unix_millis: i64) -> String {
    let random: u32 = rand::rng().random();
    format!("sync-{tenant}-{unix_millis}-{random:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_id_has_the_documented_shape() {
        let id = new_correlation_id(&TenantId::parse("acme").unwrap(), 1_700_000_000_123);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(&parts[..3], &["sync", "acme", "1700000000123"]);
        assert_eq!(parts[3].len(), 8);
        assert_ne!(
            id,
            new_correlation_id(&TenantId::parse("acme").unwrap(), 1_700_000_000_123)
        );
    }
}
