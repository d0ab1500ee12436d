//! The deliveries journal on DynamoDB Local: audit rows are written without
//! the `byTenantHour` key (no index copy, the write unit it cost), each
//! write lists its rows in one journal item per tenant hour, and a replay's
//! read of an hour finds exactly the window's rows: journaled ones by key,
//! rows recorded before the journal through the index, each once.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use std::collections::HashMap;
use synchub_aws::dynamodb::{journal_items, DynamoAuditLog, AUDIT_BY_TENANT_HOUR};
use synchub_core::domain::audit::{AuditOutcome, AuditRow};
use synchub_core::ports::replay::DeliveryJournal;
use synchub_core::ports::AuditLog;
use synchub_tests::*;

fn row(tenant: &str, id: usize, recorded_at: &str) -> AuditRow {
    let mut row = AuditRow::new(
        format!("{tenant}#catalog_item#SKU-{id}"),
        AuditRow::sort_key(Some(&format!("evt-{id}")), &format!("msg-{id}")),
        tenant.into(),
        AuditOutcome::Applied,
        recorded_at.into(),
        2_000_000_000,
    );
    row.tenant_hour = Some(AuditRow::tenant_hour_key(tenant, recorded_at));
    row.change = Some(format!(
        r#"{{"payload":{{"sku":"SKU-{id}","quantity":{id}}}}}"#
    ));
    row
}

fn keys(rows: &[AuditRow]) -> Vec<String> {
    let mut keys: Vec<String> = rows.iter().map(|r| format!("{}/{}", r.pk, r.sk)).collect();
    keys.sort();
    keys
}

async fn scan(stack: &TestStack) -> Vec<HashMap<String, AttributeValue>> {
    stack
        .dynamo()
        .scan()
        .table_name(&stack.config.audit_table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

#[tokio::test]
async fn rows_take_no_index_copy_and_an_hours_read_finds_exactly_the_windows_rows() {
    let stack = TestStack::new().await;
    let audit = DynamoAuditLog::new(stack.dynamo(), &stack.config.audit_table);
    // 30 rows in 09:00-09:59 (two writes of 25 and 5), 4 in 10:00, another
    // tenant in 09:00, and a customer's row that is not journaled.
    let at = |h: u32, m: u32| format!("2026-12-02T{h:02}:{m:02}:00.000Z");
    let mut rows: Vec<AuditRow> = (0..30)
        .map(|i| row("acme", i, &at(9, i as u32 * 2)))
        .collect();
    rows.extend((30..34).map(|i| row("acme", i, &at(10, 1))));
    rows.push(row("other", 1, &at(9, 30)));
    let mut customer = row("acme", 99, &at(9, 30));
    customer.pk = "acme#customer#C-1".into();
    customer.tenant_hour = None;
    customer.change = None;
    rows.push(customer);
    for result in audit.record_new(&rows).await {
        result.unwrap();
    }

    let items = scan(&stack).await;
    assert!(
        items.iter().all(|i| !i.contains_key("tenantHour")),
        "no row carries the index key"
    );
    let journal: Vec<_> = items
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("#deliveries#"))
        .collect();
    // First write: acme 09 (25 rows). Second: acme 09 (5), acme 10, other 09.
    assert_eq!(journal.len(), 4, "{journal:?}");
    assert_eq!(items.len() - journal.len(), rows.len());
    let index = stack
        .dynamo()
        .scan()
        .table_name(&stack.config.audit_table)
        .index_name(AUDIT_BY_TENANT_HOUR)
        .send()
        .await
        .unwrap();
    assert_eq!(index.count, 0, "the index takes no copy");

    // 09:10 to 09:40 holds rows 5..=20 of acme; none of other's, none of 10:00.
    let found = audit
        .recorded("acme#2026-12-02T09", &at(9, 10), &at(9, 40))
        .await
        .unwrap();
    assert_eq!(keys(&found), keys(&rows[5..=20]));
    let kept = found.iter().find(|r| r.pk.ends_with("SKU-7")).unwrap();
    assert_eq!(
        kept.change.as_deref().unwrap(),
        r#"{"payload":{"sku":"SKU-7","quantity":7}}"#
    );
    assert_eq!(kept.tenant_hour.as_deref(), Some("acme#2026-12-02T09"));
    let next_hour = audit
        .recorded("acme#2026-12-02T10", &at(10, 0), &at(10, 59))
        .await
        .unwrap();
    assert_eq!(keys(&next_hour), keys(&rows[30..34]));
}

#[tokio::test]
async fn rows_recorded_before_the_journal_are_still_found_once_and_a_lost_row_is_skipped() {
    let stack = TestStack::new().await;
    let dynamo = stack.dynamo();
    let audit = DynamoAuditLog::new(dynamo.clone(), &stack.config.audit_table);
    let at = "2026-12-02T09:15:00.000Z";
    // A row as the adapter wrote it before: with its tenantHour, in the index.
    let legacy = row("acme", 1, at);
    dynamo
        .put_item()
        .table_name(&stack.config.audit_table)
        .set_item(Some(serde_dynamo::to_item(&legacy).unwrap()))
        .send()
        .await
        .unwrap();
    // A redelivery's row, recorded once even when asked twice.
    let redelivered = row("acme", 2, at);
    assert!(audit.record_once(&redelivered).await.unwrap());
    assert!(!audit.record_once(&redelivered).await.unwrap());
    // A journal entry whose row never landed (the write after it failed),
    // and one that lists the legacy row too.
    let lost = row("acme", 3, at);
    let listing = [lost.clone(), legacy.clone()];
    for item in journal_items(&listing) {
        dynamo
            .put_item()
            .table_name(&stack.config.audit_table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }

    let found = audit
        .recorded(
            "acme#2026-12-02T09",
            "2026-12-02T09:00:00.000Z",
            "2026-12-02T09:59:59.999Z",
        )
        .await
        .unwrap();
    assert_eq!(keys(&found), keys(&[legacy, redelivered]));
}

#[tokio::test]
async fn a_batch_of_25_rows_costs_25_units_and_its_journal_one_or_two() {
    let stack = TestStack::new().await;
    let dynamo = stack.dynamo();
    let audit = DynamoAuditLog::new(dynamo.clone(), &stack.config.audit_table);
    let rows: Vec<AuditRow> = (0..25)
        .map(|i| row("acme", i, "2026-12-02T09:15:00.000Z"))
        .collect();
    for result in audit.record_new(&rows).await {
        result.unwrap();
    }
    // Put back what was written into a second stack's table and read the
    // units DynamoDB reports, index copies included.
    let copy = TestStack::new().await;
    let (mut row_units, mut journal_units, mut index_units) = (0.0, 0.0, 0.0);
    for item in scan(&stack).await {
        let consumed = dynamo
            .put_item()
            .table_name(&copy.config.audit_table)
            .set_item(Some(item.clone()))
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
            .await
            .unwrap()
            .consumed_capacity
            .unwrap();
        let table = consumed
            .table()
            .and_then(|t| t.capacity_units())
            .unwrap_or(0.0);
        if item["pk"].as_s().unwrap().starts_with("#deliveries#") {
            journal_units += table;
        } else {
            row_units += table;
        }
        index_units += consumed
            .global_secondary_indexes()
            .into_iter()
            .flatten()
            .map(|(_, c)| c.capacity_units().unwrap_or(0.0))
            .sum::<f64>();
    }
    assert_eq!(row_units, 25.0);
    assert!((1.0..=2.0).contains(&journal_units), "{journal_units}");
    assert_eq!(index_units, 0.0);
}
