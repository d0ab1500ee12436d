//! `synchub replay`: re-drive what a tenant's sync received in a window (and
//! the window's dead letters) through the worker, by `app::ops::replay` on
//! the sync API's adapters: the same answer as `POST .../replay`. A dry run
//! unless `--apply`; the worker's ordering rule makes a replay safe.

use synchub_ops::ReplayReport;

/// The plan (or what was sent), one line per item, then the totals.
pub fn render(report: &ReplayReport) -> String {
    let mode = if report.dry_run {
        "dry run: nothing sent"
    } else {
        "sent"
    };
    let mut out = format!(
        "replay {}  {} .. {}  ({mode}; replay id {})\n",
        report.tenant_id, report.since, report.until, report.replay_id
    );
    if !report.items.is_empty() {
        out += &format!(
            "  {:<13} {:<24} {:<19} {:<16} {}\n",
            "KIND", "ID", "REASON", "ACTION", "DETAIL"
        );
    }
    for item in &report.items {
        out += &format!(
            "  {:<13} {:<24} {:<19} {:<16} {}\n",
            item.kind.unwrap_or("-"),
            item.id.as_deref().unwrap_or("-"),
            item.reason,
            item.action,
            item.detail
        );
    }
    out += &format!(
        "  {} deliveries about {} entities, {} dead letters in the window; {} item(s) to replay, {} sent\n",
        report.deliveries,
        report.entities,
        report.dead_letters,
        report.items.len(),
        report.sent
    );
    if report.dry_run && !report.items.is_empty() {
        out += "  run again with --apply to send them\n";
    }
    out
}

/// 1 when a send failed (run the replay again), else 0.
pub fn exit_status(report: &ReplayReport) -> u8 {
    u8::from(report.items.iter().any(|i| i.action == "failed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_ops::ReplayItem;

    #[test]
    fn a_plan_names_each_item_its_reason_and_how_to_send_it() {
        let mut report = ReplayReport {
            tenant_id: "acme".into(),
            since: "2026-12-02T09:00:00.000Z".into(),
            until: "2026-12-02T09:40:00.000Z".into(),
            dry_run: true,
            republish: false,
            replay_id: "sync-acme-1-abc".into(),
            deliveries: 3,
            entities: 2,
            dead_letters: 0,
            items: vec![ReplayItem {
                kind: Some("catalog_item"),
                id: Some("SKU-1".into()),
                reason: "publishFailed",
                detail: "failed at storefront".into(),
                event_id: Some("evt-1".into()),
                of: "evt-1#m1".into(),
                action: "wouldReplay",
            }],
            sent: 0,
        };
        let text = render(&report);
        for needle in [
            "SKU-1",
            "publishFailed",
            "wouldReplay",
            "--apply",
            "3 deliveries about 2 entities",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
        assert_eq!(exit_status(&report), 0);
        report.items[0].action = "failed";
        assert_eq!(exit_status(&report), 1);
    }
}
