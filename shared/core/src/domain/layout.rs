//! Where a tenant's entities live on the items table. With one shard (the
//! layout before sharding) every entity of a tenant is under `pk = tenant`;
//! with N shards an entity is under `pk = {tenant}#{s}`, `s` chosen by a
//! stable hash of its sort key (`{kind}#{id}`), so one tenant's writes
//! spread over N partition keys (DynamoDB serves each about 1,000 write
//! units a second) and any reader finds an entity again from its key alone.
//! The shard count is a deployment setting (`ITEM_SHARDS`): changing it
//! re-homes every entity, so a table keeps the count it was written with.

use super::ids::{TenantId, ValidationError};

/// How many partition keys a tenant's items are spread over (1 to 64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemShards(u16);

impl ItemShards {
    pub const ONE: ItemShards = ItemShards(1);
    pub const MAX: u16 = 64;

    pub fn new(n: u16) -> Result<Self, ValidationError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ValidationError::new(
                "ITEM_SHARDS",
                format!("must be from 1 to {}, not {n}", Self::MAX),
            ))
        }
    }

    pub fn count(self) -> u16 {
        self.0
    }

    /// The shard of the entity whose items-table sort key is `sort_key`.
    pub fn shard_of(self, sort_key: &str) -> u16 {
        (fnv1a(sort_key) % u64::from(self.0)) as u16
    }

    /// The partition key of an entity of `tenant` sorted under `sort_key`.
    pub fn partition(self, tenant: &TenantId, sort_key: &str) -> String {
        self.partition_of_shard(tenant, self.shard_of(sort_key))
    }

    /// The partition key of one of the tenant's shards.
    pub fn partition_of_shard(self, tenant: &TenantId, shard: u16) -> String {
        if self.0 == 1 {
            tenant.as_str().to_owned()
        } else {
            format!("{tenant}#{shard}")
        }
    }

    /// The tenant whose partition `pk` is in this layout, when it is one
    /// of this layout's partitions (a tenant id never holds `#`).
    pub fn tenant_of(self, pk: &str) -> Option<TenantId> {
        let tenant = if self.0 == 1 {
            pk
        } else {
            let (tenant, shard) = pk.rsplit_once('#')?;
            let shard: u16 = shard.parse().ok()?;
            if shard >= self.0 || shard.to_string() != pk[tenant.len() + 1..] {
                return None;
            }
            tenant
        };
        TenantId::parse(tenant).ok()
    }

    /// Every partition key of the tenant's items, in shard order.
    pub fn partitions(self, tenant: &TenantId) -> Vec<String> {
        (0..self.0)
            .map(|s| self.partition_of_shard(tenant, s))
            .collect()
    }
}

impl Default for ItemShards {
    fn default() -> Self {
        Self::ONE
    }
}

/// FNV-1a, 64 bits: stable across processes and releases (unlike Rust's
/// randomized hasher), so every reader finds an entity's shard again.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[test]
    fn one_shard_is_the_layout_before_sharding() {
        let one = ItemShards::ONE;
        assert_eq!(one.partition(&tenant(), "catalog_item#SKU-1"), "acme");
        assert_eq!(one.partitions(&tenant()), ["acme"]);
    }

    #[test]
    fn the_shard_count_is_bounded_and_named_when_wrong() {
        assert!(ItemShards::new(0).is_err());
        assert_eq!(ItemShards::new(65).unwrap_err().field, "ITEM_SHARDS");
        assert_eq!(ItemShards::new(64).unwrap().count(), 64);
    }

    #[test]
    fn shards_are_fixed_by_the_key_and_known_values_stay_put() {
        // Stored layouts depend on these: the hash must never change.
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        let ten = ItemShards::new(10).unwrap();
        let p = ten.partition(&tenant(), "catalog_item#SKU-1");
        assert_eq!(p, format!("acme#{}", fnv1a("catalog_item#SKU-1") % 10));
        assert!(ten.partitions(&tenant()).contains(&p));
    }

    #[test]
    fn a_partition_names_its_tenant_only_in_its_own_layout() {
        let eight = ItemShards::new(8).unwrap();
        assert_eq!(eight.tenant_of("acme#7").unwrap().as_str(), "acme");
        assert!(eight.tenant_of("acme#8").is_none());
        assert!(eight.tenant_of("acme#07").is_none());
        assert!(eight.tenant_of("acme").is_none());
        assert_eq!(ItemShards::ONE.tenant_of("acme").unwrap().as_str(), "acme");
        assert!(ItemShards::ONE.tenant_of("acme#1").is_none());
    }

    proptest::proptest! {
        /// Any tenant's keys land on every shard, none more than twice as
        /// often as another, over a few thousand ids.
        #[test]
        fn a_tenants_entities_spread_evenly(shards in 2u16..=16, prefix in "[A-Z]{0,6}") {
            let n = ItemShards::new(shards).unwrap();
            let mut counts = vec![0usize; usize::from(shards)];
            for i in 0..(400 * usize::from(shards)) {
                counts[usize::from(n.shard_of(&format!("catalog_item#{prefix}{i}")))] += 1;
            }
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            proptest::prop_assert!(*lo > 0 && *hi < 2 * *lo, "{counts:?}");
        }

        /// Every partition of a tenant names that tenant back.
        #[test]
        fn a_partition_names_its_tenant_back(shards in 1u16..=64, t in "[a-zA-Z0-9_-]{1,64}", id in ".{0,40}") {
            let n = ItemShards::new(shards).unwrap();
            let tenant = TenantId::parse(&t).unwrap();
            let pk = n.partition(&tenant, &format!("catalog_item#{id}"));
            proptest::prop_assert_eq!(n.tenant_of(&pk), Some(tenant));
        }
    }
}
