//! `synchub gate`: is the catalog sync ready to widen. The answer is
//! `app::ops::gate`'s (through the sync API's adapters); this renders it and
//! turns it into an exit status.

use synchub_core::domain::metrics::Signal;
use synchub_ops::GateReport;

/// 0 when every signal passes, 1 when any misses.
pub fn exit_status(gate: &GateReport) -> u8 {
    u8::from(!gate.pass)
}

/// Each signal, its value, its threshold and pass/fail; then each tenant that misses.
pub fn render(gate: &GateReport) -> String {
    let verdict = if gate.pass { "pass" } else { "FAIL" };
    let mut out = format!("gate  {verdict}  {} .. {}\n", gate.since, gate.until);
    out += &signal_table(&gate.signals);
    let t = &gate.totals;
    out += &format!(
        "  deliveries {}  audited {}  applied {}  stale {}  duplicate {}  rejected {}\n",
        t.received, t.audited, t.applied, t.stale, t.duplicate, t.rejected
    );
    for tenant in gate.tenants.iter().filter(|t| !t.pass) {
        let missed: Vec<&str> = tenant
            .signals
            .iter()
            .filter(|s| !s.pass)
            .map(|s| s.name)
            .collect();
        out += &format!(
            "  tenant {} misses {}\n",
            tenant.tenant_id,
            missed.join(", ")
        );
    }
    out
}

fn signal_table(signals: &[Signal]) -> String {
    let mut out = format!(
        "  {:<24} {:>10} {:>12}  {}\n",
        "signal", "value", "threshold", "ok"
    );
    for s in signals {
        out += &format!(
            "  {:<24} {:>10.3} {:>12}  {}\n",
            s.name,
            s.value,
            format!("{} {}", s.rule, s.threshold),
            if s.pass { "✔" } else { "✘" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_core::domain::metrics::{launch_signals, Tally};
    use synchub_ops::TenantGate;

    fn gate(tally: Tally) -> GateReport {
        let signals = launch_signals(&tally);
        let pass = signals.iter().all(|s| s.pass);
        GateReport {
            since: "2026-12-02T09:00:00.000Z".into(),
            until: "2026-12-02T09:40:00.000Z".into(),
            pass,
            signals: signals.clone(),
            totals: tally,
            tenants: vec![TenantGate {
                tenant_id: "acme".into(),
                pass,
                signals,
                totals: tally,
            }],
        }
    }

    #[test]
    fn a_passing_gate_exits_zero_and_a_missed_signal_is_named() {
        let clean = Tally {
            received: 10,
            audited: 10,
            applied: 10,
            publish_ok: 10,
            ..Tally::default()
        };
        let ok = gate(clean);
        assert_eq!(exit_status(&ok), 0);
        assert!(render(&ok).starts_with("gate  pass"));
        let bad = gate(Tally {
            publish_failed: 1,
            ..clean
        });
        assert_eq!(exit_status(&bad), 1);
        let text = render(&bad);
        assert!(text.starts_with("gate  FAIL"), "{text}");
        assert!(
            text.contains("tenant acme misses staleItemsPercent, publishErrorRatePercent"),
            "{text}"
        );
        assert!(
            text.contains("  publishErrorRatePercent       9.091        < 0.5  ✘"),
            "{text}"
        );
    }
}
