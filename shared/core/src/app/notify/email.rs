//! The alert email, rendered from templates (`shared/core/templates/`) with
//! minijinja; the HTML part is auto-escaped, so a reason quoting a payload
//! cannot inject markup.

use crate::domain::alert::{AlertState, Failure};
use crate::domain::time::canonical_time;
use minijinja::{context, Environment};
use std::sync::OnceLock;

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Templates are compiled into the binary; a broken one fails the
        // snapshot tests, never a Lambda at run time.
        env.add_template(
            "failure.txt",
            include_str!("../../../templates/failure.txt"),
        )
        .expect("failure.txt parses");
        env.add_template(
            "failure.html",
            include_str!("../../../templates/failure.html"),
        )
        .expect("failure.html parses");
        env.add_template(
            "summary.txt",
            include_str!("../../../templates/summary.txt"),
        )
        .expect("summary.txt parses");
        env.add_template(
            "summary.html",
            include_str!("../../../templates/summary.html"),
        )
        .expect("summary.html parses");
        env
    })
}

fn time_text(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map(canonical_time)
        .unwrap_or_else(|_| millis.to_string())
}

/// The commands support runs next, exactly as they are typed.
pub fn commands(tenant: &str, class: &str, samples: &[Failure]) -> Vec<String> {
    let mut out = Vec::new();
    for f in samples.iter().filter(|f| f.entity.is_some()).take(2) {
        out.push(format!(
            "synchub trace --tenant {tenant} --sku {}",
            f.entity.as_deref().unwrap_or_default()
        ));
    }
    if samples.iter().any(|f| f.dead_letter_body.is_some()) {
        out.push(format!(
            "synchub replay --tenant {tenant} --error-class {class}"
        ));
    }
    let mut data_types: Vec<&str> = samples
        .iter()
        .filter_map(|f| f.source.strip_prefix("sync:"))
        .collect();
    data_types.dedup();
    for data_type in data_types {
        out.push(format!(
            "synchub sync --tenant {tenant} --data-type {data_type} --force"
        ));
    }
    out
}

/// Subject, text and HTML of the email reporting `state.pending` failures.
pub fn render(
    state: &AlertState,
    tenant_name: &str,
    samples: &[Failure],
    window_minutes: i64,
) -> Result<(String, String, String), minijinja::Error> {
    let count = state.pending;
    let plural = if count == 1 { "" } else { "s" };
    let mut sources: Vec<&str> = samples.iter().map(|f| f.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    let subject = if state.is_digest() {
        format!(
            "[synchub] {}: {count} more {} failure{plural} since the last email",
            state.tenant_id, state.error_class
        )
    } else {
        format!(
            "[synchub] {}: {count} {} failure{plural}",
            state.tenant_id, state.error_class
        )
    };
    let samples_view: Vec<_> = samples
        .iter()
        .map(|f| context! { subject_id => f.subject_id, correlation_id => f.correlation_id, entity => f.entity, reason => f.reason, source => f.source })
        .collect();
    let ctx = context! {
        digest => state.is_digest(),
        count,
        total => state.total,
        tenant_id => state.tenant_id,
        tenant_name,
        error_class => state.error_class,
        retryable => crate::ErrorClass::parse(&state.error_class).is_none_or(|c| c.is_retryable()),
        sources,
        first_seen => time_text(state.first_seen_millis),
        last_seen => time_text(state.last_seen_millis),
        samples => samples_view,
        commands => commands(&state.tenant_id, &state.error_class, samples),
        window_minutes,
    };
    let text = templates().get_template("failure.txt")?.render(&ctx)?;
    let html = templates().get_template("failure.html")?.render(&ctx)?;
    Ok((subject, text, html))
}

/// Subject, text and HTML of a tenant's daily success report.
pub fn render_summary(
    tenant_id: &str,
    tenant_name: &str,
    day: &str,
    runs: &[crate::domain::alert::RunSummary],
) -> Result<(String, String, String), minijinja::Error> {
    let succeeded = runs.iter().filter(|r| r.status == "succeeded").count();
    let subject = format!(
        "[synchub] {tenant_id}: daily sync {day}: {succeeded} of {} runs succeeded",
        runs.len()
    );
    let ctx = context! { tenant_id, tenant_name, day, runs, succeeded };
    let text = templates().get_template("summary.txt")?.render(&ctx)?;
    let html = templates().get_template("summary.html")?.render(&ctx)?;
    Ok((subject, text, html))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(i: i64, sku: &str, reason: &str) -> Failure {
        Failure {
            tenant_id: "acme".into(),
            source: "webhook:supplier".into(),
            error_class: crate::ErrorClass::ValidationError,
            reason: reason.into(),
            subject_id: format!("evt-{i}"),
            correlation_id: format!("corr-{i}"),
            entity: Some(sku.into()),
            at_millis: 1_780_308_000_000 + i,
            key: format!("m-{i}"),
            dead_letter_body: Some("{}".into()),
        }
    }

    fn state(pending: u64, last_email: Option<i64>) -> AlertState {
        AlertState {
            tenant_id: "acme".into(),
            error_class: "VALIDATION_ERROR".into(),
            total: 51,
            pending,
            first_seen_millis: 1_780_308_000_000,
            last_seen_millis: 1_780_308_600_000,
            last_email_millis: last_email,
            ..Default::default()
        }
    }

    #[test]
    fn first_alert_snapshot() {
        let samples = [
            failure(2, "SKU-2", "quantity: must be a whole number >= 0"),
            failure(1, "SKU-1", "updatedAt: must be an RFC 3339 timestamp"),
        ];
        let (subject, text, html) = render(&state(1, None), "Acme Shop", &samples, 15).unwrap();
        assert_eq!(subject, "[synchub] acme: 1 VALIDATION_ERROR failure");
        insta::assert_snapshot!("first_alert_text", text);
        insta::assert_snapshot!("first_alert_html", html);
    }

    #[test]
    fn digest_snapshot_says_how_many_more() {
        let samples = [failure(50, "SKU-9", "sku: must not be empty")];
        let (subject, text, _) = render(
            &state(49, Some(1_780_308_000_500)),
            "Acme Shop",
            &samples,
            15,
        )
        .unwrap();
        assert_eq!(
            subject,
            "[synchub] acme: 49 more VALIDATION_ERROR failures since the last email"
        );
        assert!(
            text.starts_with(
                "49 more VALIDATION_ERROR failures for Acme Shop (acme) since the last email."
            ),
            "{text}"
        );
        insta::assert_snapshot!("digest_text", text);
    }

    #[test]
    fn html_escapes_what_the_payload_said() {
        let samples = [failure(
            1,
            "<b>SKU</b>",
            "name: <script>alert(1)</script> is too long",
        )];
        let (_, text, html) = render(&state(1, None), "A & B <Shop>", &samples, 15).unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("A &amp; B &lt;Shop&gt;"));
        assert!(text.contains("<script>"), "the text part is plain text");
    }

    #[test]
    fn daily_summary_snapshot() {
        let runs = [
            crate::domain::alert::RunSummary {
                run_id: "sync-acme-1-aa".into(),
                data_type: "orders".into(),
                status: "succeeded".into(),
                fetched: 120,
                enqueued: 120,
                rejected: 0,
                started_at: "2026-06-01T02:00:00.000Z".into(),
                duration_seconds: 14,
            },
            crate::domain::alert::RunSummary {
                run_id: "sync-acme-2-bb".into(),
                data_type: "catalog".into(),
                status: "partial".into(),
                fetched: 980,
                enqueued: 979,
                rejected: 1,
                started_at: "2026-06-01T02:00:01.000Z".into(),
                duration_seconds: 41,
            },
        ];
        let (subject, text, _) = render_summary("acme", "Acme Shop", "2026-06-01", &runs).unwrap();
        assert_eq!(
            subject,
            "[synchub] acme: daily sync 2026-06-01: 1 of 2 runs succeeded"
        );
        insta::assert_snapshot!("daily_summary_text", text);
    }

    #[test]
    fn run_failures_point_at_the_sync_command() {
        let mut f = failure(1, "x", "401 from Square");
        f.entity = None;
        f.dead_letter_body = None;
        f.source = "sync:orders".into();
        assert_eq!(
            commands("acme", "AUTH_ERROR", &[f]),
            vec!["synchub sync --tenant acme --data-type orders --force"]
        );
    }
}
