//! Notices from daily-sync: the failed run and the daily summary.

use super::*;
use serde_json::json;
use synchub_core::app::notify::notify_batch;
use synchub_lambda::Notifier;
use synchub_tests::unique;

#[tokio::test]
async fn a_failed_run_notice_is_emailed_with_the_sync_command() {
    let stack = TestStack::new().await;
    let recipient = format!("{}@shop.example", unique("ops"));
    let tenant = stack.tenant_with(None, vec![recipient.clone()]).await;
    let notifier = Notifier::new(&stack.aws, &stack.config);
    let notice = json!({"type": "runFailed", "tenantId": tenant.id, "dataType": "orders", "runId": "run-1",
        "correlationId": format!("sync-{}-1780308000000-ab12", tenant.id), "errorClass": "AUTH_ERROR",
        "message": "Square answered 401 UNAUTHORIZED", "failedAt": "2026-06-01T10:00:00Z"});
    let records = [
        Incoming::Notice {
            message_id: "n1".into(),
            body: notice.to_string(),
        },
        Incoming::Notice {
            message_id: "n2".into(),
            body: "{\"type\":\"runFailed\"}".into(),
        },
    ];
    let report = notify_batch(&notifier.ports(), &records, T0).await;
    assert_eq!(
        report.retry,
        vec!["n2".to_owned()],
        "an unreadable notice goes back to SQS (and on to its DLQ), never dropped"
    );
    let emails = emails_to(&recipient).await;
    assert_eq!(emails.len(), 1);
    assert!(emails[0].subject.contains("AUTH_ERROR"));
    assert!(
        emails[0].body.contains(&format!(
            "synchub sync --tenant {} --data-type orders --force",
            tenant.id
        )),
        "{}",
        emails[0].body
    );
    assert!(emails[0].body.contains("sync:orders") && emails[0].body.contains("run-1"));
}

#[tokio::test]
async fn the_daily_summary_is_sent_once_per_day_and_only_to_tenants_that_asked() {
    let stack = TestStack::new().await;
    let recipient = format!("{}@shop.example", unique("ops"));
    let tenant = stack.tenant_with(None, vec![recipient.clone()]).await;
    let quiet = stack.tenant_with(None, vec![recipient.clone()]).await;
    let directory = synchub_aws::dynamodb::DynamoTenantDirectory::new(
        stack.dynamo(),
        &stack.config.tenants_table,
        Duration::ZERO,
    );
    directory
        .put(&synchub_core::ports::TenantSettings {
            tenant_id: tenant.id.clone(),
            name: "Daily Shop".into(),
            active: true,
            storefront_url: None,
            targets_disabled: vec![],
            alert_recipients: vec![recipient.clone()],
            daily_summary: true,
            square_notification_url: None,
            flag_overrides: Default::default(),
            sync_method: None,
            allowed_suppliers: vec![],
            pos: vec![],
        })
        .await
        .unwrap();
    let notifier = Notifier::new(&stack.aws, &stack.config);
    let summary = |t: &str| {
        json!({"type": "dailySummary", "tenantId": t, "day": "2026-06-01", "runs": [
            {"runId": format!("sync-{t}-1-aa"), "dataType": "orders", "status": "succeeded", "fetched": 12, "enqueued": 12, "rejected": 0, "startedAt": "2026-06-01T02:00:00.000Z", "durationSeconds": 3}
        ]})
        .to_string()
    };
    let records = [
        Incoming::Notice {
            message_id: "s1".into(),
            body: summary(&tenant.id),
        },
        Incoming::Notice {
            message_id: "s2".into(),
            body: summary(&tenant.id),
        },
        Incoming::Notice {
            message_id: "s3".into(),
            body: summary(&quiet.id),
        },
    ];
    let report = notify_batch(&notifier.ports(), &records, T0).await;
    assert!(report.retry.is_empty(), "{report:?}");
    assert_eq!(report.outcomes[1].1, "summary already sent");
    assert_eq!(report.outcomes[2].1, "tenant has no daily summary");
    let emails = emails_to(&recipient).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(
        emails[0].subject,
        format!(
            "[synchub] {}: daily sync 2026-06-01: 1 of 1 runs succeeded",
            tenant.id
        )
    );
    assert!(
        emails[0].body.contains("Daily Shop")
            && emails[0].body.contains(&format!("sync-{}-1-aa", tenant.id)),
        "{}",
        emails[0].body
    );
}
