//! `synchub ensure` and `synchub method-stats`: sync on demand through the
//! sync API's own use case (`Api::ensure`, on the adapters the environment
//! names), and how each sync method did. `--json` prints the API's JSON.

use crate::args::{DataType, Output, TenantArg};
use crate::ops::{answer, word};
use clap::Args;
use std::time::Duration;
use synchub_core::domain::ensure::{ensure_timeout, DEFAULT_TIMEOUT_MS};
use synchub_lambda::config::Config;
use synchub_ops::ensure::{EnsureReport, EnsureRequest, MethodStatsReport};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Args)]
pub struct EnsureArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// A data type to bring up to date (repeatable); all of them when omitted.
    #[arg(long = "data-type", value_enum)]
    pub data_types: Vec<DataType>,
    /// How long to wait: `20s`, `1500ms` (from 500ms to 25s).
    #[arg(long, default_value = "20s", value_parser = parse_timeout)]
    pub timeout: Duration,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct MethodStatsArgs {
    /// RFC 3339 start of the window (24 hours ago by default).
    #[arg(long)]
    pub since: Option<String>,
    /// RFC 3339 end of the window (now by default).
    #[arg(long)]
    pub until: Option<String>,
    #[command(flatten)]
    pub output: Output,
}

/// `--timeout`: a number with `ms` or `s` (seconds when bare), within the
/// bounds the API takes.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1)
    } else {
        (text.strip_suffix('s').unwrap_or(text), 1_000)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 20s or 1500ms"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{text:?} is not a duration like 20s or 1500ms"));
    }
    ensure_timeout((value * f64::from(scale)).round() as u64).map_err(|e| e.rule)
}

/// 0 when every data type is fresh, 1 when one is not.
pub fn exit_status(report: &EnsureReport) -> u8 {
    u8::from(!report.succeeded())
}

/// Runs `ensure` on the stack the environment names.
pub async fn ensure(args: EnsureArgs) -> Result<u8, Error> {
    let config = Config::from_env(synchub_lambda::config::DAILY_SYNC)?;
    let api = synchub_lambda::Api::new(&synchub_lambda::aws_config().await, &config);
    let data_types =
        (!args.data_types.is_empty()).then(|| args.data_types.iter().map(|&d| d.into()).collect());
    let request = EnsureRequest::new(data_types, Some(args.timeout.as_millis() as u64))?;
    let report = api.ensure(&args.tenant.tenant, &request).await?;
    print!("{}", answer(&report, args.output.json, render)?);
    Ok(exit_status(&report))
}

pub async fn method_stats(args: MethodStatsArgs) -> Result<u8, Error> {
    let config = Config::from_env(&[])?;
    let api = synchub_lambda::Api::new(&synchub_lambda::aws_config().await, &config);
    let report = api
        .method_stats(args.since.as_deref(), args.until.as_deref())
        .await?;
    print!("{}", answer(&report, args.output.json, render_stats)?);
    Ok(0)
}

/// The verdict, the fallback if any, then one line per data type.
pub fn render(r: &EnsureReport) -> String {
    let verdict = if r.succeeded() { "fresh" } else { "NOT FRESH" };
    let mut out = format!(
        "ensure {}  {verdict}  method {}  {} ms\n",
        r.tenant_id, r.method, r.duration_ms
    );
    if let Some(reason) = &r.fallback_reason {
        out += &format!("  fell back: {reason}\n");
    }
    out += &format!(
        "\n  {:<11} {:<10} {:<7} {:>8} {:>9}  {}\n",
        "data type", "status", "method", "objects", "ms", "run / error"
    );
    for d in &r.results {
        let detail = match &d.error {
            Some(e) => format!(
                "{} ({}retryable): {}",
                e.class,
                if e.retryable { "" } else { "not " },
                e.message
            ),
            None => d.run_id.clone().unwrap_or_default(),
        };
        let detail = match &d.source {
            Some(pos) => format!("{detail} ({pos})"),
            None => detail,
        };
        out += &format!(
            "  {:<11} {:<10} {:<7} {:>8} {:>9}  {detail}\n",
            d.data_type.as_str(),
            word(&d.status),
            d.method.as_str(),
            d.objects,
            d.duration_ms
        );
    }
    out
}

pub fn render_stats(r: &MethodStatsReport) -> String {
    let mut out = format!("method stats  {} .. {}\n\n", r.since, r.until);
    out += &format!(
        "  {:<7} {:>6} {:>9} {:>10} {:>8} {:>8}\n",
        "method", "calls", "success", "fallbacks", "p50 ms", "p95 ms"
    );
    let or_dash = |v: Option<u64>| v.map_or_else(|| "-".into(), |v| v.to_string());
    for m in &r.methods {
        let rate = m
            .success_rate_percent
            .map_or_else(|| "-".into(), |p| format!("{p:.1} %"));
        out += &format!(
            "  {:<7} {:>6} {:>9} {:>10} {:>8} {:>8}\n",
            m.method.as_str(),
            m.calls,
            rate,
            m.fallbacks,
            or_dash(m.duration_ms_p50),
            or_dash(m.duration_ms_p95)
        );
    }
    out
}

/// The default `--timeout`, as the API's.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(DEFAULT_TIMEOUT_MS);

#[cfg(test)]
mod tests {
    use super::*;
    use synchub_core::domain::ensure::{EnsureSample, MethodTally, SyncMethod};
    use synchub_core::domain::DataType as D;
    use synchub_ops::ensure::{DataTypeResult, DataTypeStatus, MethodLine};

    #[test]
    fn a_timeout_takes_seconds_or_milliseconds_within_the_bounds() {
        assert_eq!(parse_timeout("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_timeout("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_timeout("2.5s"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_timeout("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_timeout("20s").unwrap(), DEFAULT_TIMEOUT);
        for bad in ["", "soon", "-1s", "100ms", "26s", "NaNs"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
        assert!(parse_timeout("1h").unwrap_err().contains("20s"));
        assert!(parse_timeout("60s").unwrap_err().contains("25000"));
    }

    #[test]
    fn the_commands_take_data_types_a_timeout_and_json() {
        use crate::args::{Cli, Command};
        use clap::Parser;
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("synchub").chain(args.iter().copied()))
        };
        let Command::Ensure(args) = parse(&[
            "ensure",
            "--tenant",
            "acme",
            "--data-type",
            "catalog",
            "--data-type",
            "orders",
            "--timeout",
            "5s",
            "--json",
        ])
        .unwrap()
        .command
        else {
            panic!("ensure")
        };
        assert_eq!(args.data_types, vec![DataType::Catalog, DataType::Orders]);
        assert_eq!(
            (args.timeout, args.output.json),
            (Duration::from_secs(5), true)
        );
        let Command::Ensure(args) = parse(&["ensure", "--tenant", "acme"]).unwrap().command else {
            panic!("ensure")
        };
        assert_eq!((args.timeout, args.data_types.len()), (DEFAULT_TIMEOUT, 0));
        let err = parse(&["ensure", "--tenant", "acme", "--timeout", "1m"]).unwrap_err();
        assert!(err.to_string().contains("--timeout"), "{err}");
        assert!(parse(&["ensure", "--tenant", "acme", "--data-type", "widgets"]).is_err());
        assert!(parse(&["method-stats", "--since", "2026-06-01T00:00:00Z", "--json"]).is_ok());
    }

    fn report(error: bool) -> EnsureReport {
        let failure = synchub_ops::ensure::Failure {
            class: synchub_core::ErrorClass::NetworkError,
            retryable: true,
            message: "Square 500".into(),
        };
        EnsureReport {
            tenant_id: "acme".into(),
            method: SyncMethod::Direct,
            fallback_used: error,
            fallback_reason: error.then(|| "direct: catalog failed".into()),
            results: vec![DataTypeResult {
                data_type: D::Catalog,
                source: None,
                status: if error {
                    DataTypeStatus::Failed
                } else {
                    DataTypeStatus::Succeeded
                },
                method: SyncMethod::Queued,
                objects: 12,
                duration_ms: 340,
                run_id: Some("sync-acme-1-a".into()),
                error: error.then(|| failure.clone()),
            }],
            failed_collections: if error { vec![D::Catalog] } else { vec![] },
            duration_ms: 350,
            error: error.then_some(failure),
        }
    }

    #[test]
    fn the_table_says_fresh_or_why_not() {
        let ok = render(&report(false));
        assert!(ok.contains("fresh  method direct"), "{ok}");
        assert!(ok.contains("sync-acme-1-a"), "{ok}");
        assert_eq!(exit_status(&report(false)), 0);
        let failed = render(&report(true));
        assert!(failed.contains("NOT FRESH"), "{failed}");
        assert!(
            failed.contains("fell back: direct: catalog failed"),
            "{failed}"
        );
        assert!(
            failed.contains("NETWORK_ERROR (retryable): Square 500"),
            "{failed}"
        );
        assert_eq!(exit_status(&report(true)), 1);
    }

    #[test]
    fn the_stats_table_shows_a_dash_without_calls() {
        let mut t = MethodTally::default();
        t.add(&MethodTally::of(&EnsureSample {
            succeeded: true,
            fallback_used: true,
            duration_ms: 900,
        }));
        let r = MethodStatsReport {
            since: "a".into(),
            until: "b".into(),
            methods: vec![
                MethodLine::new(SyncMethod::Queued, &MethodTally::default()),
                MethodLine::new(SyncMethod::Direct, &t),
            ],
        };
        let text = render_stats(&r);
        assert!(text.contains("queued       0         -"), "{text}");
        assert!(
            text.contains("direct       1   100.0 %          1"),
            "{text}"
        );
    }
}
