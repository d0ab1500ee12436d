//! `synchub health`: is the sync healthy right now. The answer is
//! `app::ops::health`'s; this renders it and turns it into an exit status
//! a script or a monitor can act on.

use crate::ops::word;
use synchub_ops::{Health, HealthStatus};

/// 0 healthy, 1 degraded, 2 unhealthy.
pub fn exit_status(health: &Health) -> u8 {
    match health.status {
        HealthStatus::Healthy => 0,
        HealthStatus::Degraded => 1,
        HealthStatus::Unhealthy => 2,
    }
}

/// The verdict, each check against its threshold, and why it is not healthy.
pub fn render(health: &Health) -> String {
    let mut out = format!("health  {}\n", word(&health.status));
    out += &format!(
        "  {:<20} {:>8} {:>10}  {}\n",
        "check", "value", "threshold", "ok"
    );
    for check in &health.checks {
        out += &format!(
            "  {:<20} {:>8} {:>10}  {}\n",
            check.name,
            check.value,
            check.threshold,
            if check.ok { "✔" } else { "✘" }
        );
    }
    for reason in &health.reasons {
        out += &format!("  because {reason}\n");
    }
    for run in &health.swept_runs {
        out += &format!(
            "  swept {run}: no progress past its lock, failed TIMEOUT_ERROR (notice sent)\n"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_ops::Check;

    fn health(status: HealthStatus, missed: &[&'static str]) -> Health {
        let checks = [
            "syncQueueBacklog",
            "deadLetters",
            "failedRunsLastDay",
            "stuckRuns",
        ]
        .into_iter()
        .map(|name| Check {
            name,
            value: if missed.contains(&name) { 3 } else { 0 },
            threshold: 0,
            ok: !missed.contains(&name),
        })
        .collect();
        Health {
            status,
            reasons: missed
                .iter()
                .map(|m| format!("{m} is 3 (threshold 0)"))
                .collect(),
            checks,
            swept_runs: Vec::new(),
        }
    }

    #[test]
    fn the_exit_status_grows_with_the_trouble() {
        assert_eq!(exit_status(&health(HealthStatus::Healthy, &[])), 0);
        assert_eq!(
            exit_status(&health(HealthStatus::Degraded, &["failedRunsLastDay"])),
            1
        );
        assert_eq!(
            exit_status(&health(HealthStatus::Unhealthy, &["deadLetters"])),
            2
        );
    }

    #[test]
    fn the_table_shows_every_check_and_why() {
        let text = render(&health(HealthStatus::Unhealthy, &["deadLetters"]));
        assert_eq!(
            text,
            "health  unhealthy\n\
             \x20 check                   value  threshold  ok\n\
             \x20 syncQueueBacklog            0          0  ✔\n\
             \x20 deadLetters                 3          0  ✘\n\
             \x20 failedRunsLastDay           0          0  ✔\n\
             \x20 stuckRuns                   0          0  ✔\n\
             \x20 because deadLetters is 3 (threshold 0)\n"
        );
    }

    #[test]
    fn the_runs_the_sweep_failed_are_named() {
        let mut answer = health(HealthStatus::Degraded, &["failedRunsLastDay"]);
        answer.swept_runs = vec!["sync-acme-1-abc".into()];
        let text = render(&answer);
        assert!(
            text.ends_with("  swept sync-acme-1-abc: no progress past its lock, failed TIMEOUT_ERROR (notice sent)\n"),
            "{text}"
        );
    }

    #[test]
    fn a_healthy_answer_gives_no_reasons() {
        let text = render(&health(HealthStatus::Healthy, &[]));
        assert!(text.starts_with("health  healthy\n"), "{text}");
        assert!(!text.contains("because"), "{text}");
    }
}
