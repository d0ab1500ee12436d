use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Mutex;
use synchub_core::ports::fakes::{tenant_settings, FakeRunStore, FakeTenants};

/// Counters in memory, keyed as the adapter keys them: (tenant, hour).
#[derive(Default)]
struct Ledger(Mutex<BTreeMap<(String, String), Tally>>);

impl MetricsLedger for Ledger {
    async fn add(&self, tenant: &str, hour: &str, tally: &Tally) -> Result<(), PortError> {
        let mut map = self.0.lock().unwrap();
        map.entry((tenant.into(), hour.into()))
            .or_default()
            .add(tally);
        Ok(())
    }

    async fn hours(
        &self,
        tenant: &str,
        since: &str,
        until: &str,
    ) -> Result<Vec<(String, Tally)>, PortError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|((t, h), _)| t == tenant && h.as_str() >= since && h.as_str() <= until)
            .map(|((_, h), t)| (h.clone(), *t))
            .collect())
    }
}

const T0: i64 = 1_796_205_600_000; // 2026-12-02T10:00:00Z

fn run(tenant: &str, data_type: DataType, status: RunStatus, start: i64, ms: i64) -> SyncRun {
    let at = |millis: i64| {
        synchub_core::domain::time::canonical_time(
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
                .unwrap(),
        )
    };
    SyncRun {
        run_id: format!("sync-{tenant}-{start}-{ms:08x}"),
        tenant_id: tenant.into(),
        data_type,
        trigger: synchub_core::domain::sync_run::Trigger::Schedule,
        status,
        started_at: at(start),
        started_millis: start,
        finished_at: (status != RunStatus::Running).then(|| at(start + ms)),
        updated_after: None,
        updated_before: None,
        fetched: 100,
        enqueued: 98,
        rejected: 2,
        pages: 1,
        cursor: None,
        complete: status != RunStatus::Running,
        last_progress_millis: start,
        invocations: 1,
        error_class: (status == RunStatus::Failed).then_some(ErrorClass::NetworkError),
        error_message: None,
        rejections: vec![],
        pos: None,
        drift: Default::default(),
        duplicates: 0,
        duplicate_ids: Vec::new(),
    }
}

#[test]
fn a_data_types_runs_give_counts_rates_percentiles_objects_and_error_classes() {
    let mut runs: Vec<SyncRun> = (1..=10)
        .map(|i| {
            run(
                "acme",
                DataType::Catalog,
                RunStatus::Succeeded,
                T0,
                i * 1_000,
            )
        })
        .collect();
    runs[0].status = RunStatus::Partial;
    runs[1].status = RunStatus::Failed;
    runs[1].error_class = Some(ErrorClass::AuthError);
    runs[2].status = RunStatus::Failed;
    runs[2].error_class = Some(ErrorClass::NetworkError);
    runs[3].status = RunStatus::Failed;
    runs[3].error_class = Some(ErrorClass::NetworkError);
    runs.push(run("acme", DataType::Catalog, RunStatus::Running, T0, 0));
    let refs: Vec<&SyncRun> = runs.iter().collect();

    let m = data_type_metrics(DataType::Catalog, &refs);

    assert_eq!(
        (m.runs, m.succeeded, m.partial, m.failed, m.running),
        (11, 6, 1, 3, 1)
    );
    assert_eq!(m.success_rate_percent, Some(60.0), "6 of 10 finished");
    assert_eq!(m.duration_ms_p50, Some(5_000), "the running run has none");
    assert_eq!(m.duration_ms_p95, Some(10_000));
    assert_eq!((m.objects, m.enqueued, m.rejected), (1_100, 1_078, 22));
    assert_eq!(
        m.error_classes,
        vec![
            ErrorClassCount {
                class: ErrorClass::NetworkError,
                runs: 2
            },
            ErrorClassCount {
                class: ErrorClass::AuthError,
                runs: 1
            },
        ]
    );
    let none = data_type_metrics(DataType::Orders, &[&runs[10]]);
    assert_eq!(
        (none.success_rate_percent, none.duration_ms_p50),
        (None, None)
    );
}

#[test]
fn counters_become_deliveries_targets_and_rates() {
    let t = Tally {
        received: 200,
        audited: 199,
        applied: 150,
        stale: 30,
        duplicate: 15,
        rejected: 4,
        publish_ok: 140,
        publish_failed: 10,
        publish_recovered: 6,
        publish_skipped: 3,
        pos: TargetTally {
            succeeded: 5,
            skipped: 1,
            failed: 2,
        },
        crm: TargetTally {
            succeeded: 7,
            skipped: 0,
            failed: 1,
        },
        lag_max_ms: 4_200,
    };
    let m = window_metrics(&t, &[]);
    assert!(m.data_types.is_empty());
    assert_eq!(
        m.deliveries,
        Deliveries {
            received: 200,
            audited: 199,
            applied: 150,
            stale: 30,
            duplicate: 15,
            rejected: 4
        }
    );
    assert_eq!(
        m.targets.storefront,
        TargetTally {
            succeeded: 140,
            skipped: 3,
            failed: 10
        }
    );
    assert_eq!((m.targets.pos, m.targets.crm), (t.pos, t.crm));
    assert_eq!(m.targets.storefront_recovered, 6);
    assert_eq!(m.stale_items, 4);
    assert!((m.publish_error_rate_percent - 100.0 * 10.0 / 150.0).abs() < 1e-9);
    assert!((m.trace_coverage_percent - 99.5).abs() < 1e-9);
    assert_eq!(m.queue_lag_max_ms, 4_200);
}

fn stores() -> (Ledger, FakeRunStore, FakeTenants) {
    let mut dormant = tenant_settings("dormant");
    dormant.active = false;
    let tenants = FakeTenants::new([tenant_settings("acme"), tenant_settings("bravo"), dormant]);
    (Ledger::default(), FakeRunStore::new(), tenants)
}

async fn seed(ledger: &Ledger, runs: &FakeRunStore) {
    let hour = |h: u32| format!("2026-12-02T{h:02}");
    let applied = |n: u64| Tally {
        received: n,
        audited: n,
        applied: n,
        publish_ok: n,
        ..Tally::default()
    };
    ledger.add("acme", &hour(10), &applied(5)).await.unwrap();
    ledger.add("acme", &hour(11), &applied(7)).await.unwrap();
    ledger
        .add("acme", &hour(13), &applied(1_000))
        .await
        .unwrap(); // after the window
    ledger.add("bravo", &hour(10), &applied(3)).await.unwrap();
    let minute = 60_000;
    for r in [
        run(
            "acme",
            DataType::Orders,
            RunStatus::Succeeded,
            T0 + minute,
            2_000,
        ),
        run(
            "acme",
            DataType::Orders,
            RunStatus::Failed,
            T0 + 2 * minute,
            4_000,
        ),
        run(
            "acme",
            DataType::Orders,
            RunStatus::Succeeded,
            T0 - minute,
            1,
        ), // before
        run(
            "bravo",
            DataType::Catalog,
            RunStatus::Succeeded,
            T0 + minute,
            9_000,
        ),
    ] {
        runs.save(&r).await.unwrap();
    }
}

#[tokio::test]
async fn the_fleet_is_the_sum_of_the_active_tenants_within_the_window() {
    let (ledger, runs, tenants) = stores();
    seed(&ledger, &runs).await;

    let ports: MetricsPorts<(_, _, _)> = MetricsPorts {
        ledger: &ledger,
        runs: &runs,
        tenants: &tenants,
    };
    let report = metrics(&ports, "2026-12-02T10:00:00Z", "2026-12-02T12:59:59Z", None)
        .await
        .unwrap();

    let ids: Vec<&str> = report
        .tenants
        .iter()
        .map(|t| t.tenant_id.as_str())
        .collect();
    assert_eq!(ids, ["acme", "bravo"], "the inactive tenant is left out");
    let acme = &report.tenants[0].metrics;
    assert_eq!(acme.deliveries.applied, 12, "hours 10 and 11, not 13");
    assert_eq!(acme.data_types.len(), 1);
    let orders = &acme.data_types[0];
    assert_eq!(
        (orders.runs, orders.failed),
        (2, 1),
        "the earlier run is out"
    );
    assert_eq!(orders.success_rate_percent, Some(50.0));
    assert_eq!(report.fleet.deliveries.applied, 15);
    assert_eq!(
        report
            .fleet
            .data_types
            .iter()
            .map(|d| (d.data_type, d.runs))
            .collect::<Vec<_>>(),
        vec![(DataType::Orders, 2), (DataType::Catalog, 1)]
    );
    assert_eq!(report.since, "2026-12-02T10:00:00.000Z");
}

#[tokio::test]
async fn one_tenant_is_asked_alone_and_an_unknown_one_is_an_error() {
    let (ledger, runs, tenants) = stores();
    seed(&ledger, &runs).await;
    let ask = |tenant: &'static str| {
        let (ledger, runs, tenants) = (&ledger, &runs, &tenants);
        async move {
            let id = TenantId::parse(tenant).unwrap();
            metrics(
                &MetricsPorts::<(_, _, _)> {
                    ledger,
                    runs,
                    tenants,
                },
                "2026-12-02T10:00:00Z",
                "2026-12-02T12:00:00Z",
                Some(&id),
            )
            .await
        }
    };

    let bravo = ask("bravo").await.unwrap();
    assert_eq!(bravo.tenants.len(), 1);
    assert_eq!(bravo.tenants[0].tenant_id, "bravo");
    assert_eq!(
        bravo.fleet.deliveries.applied, 3,
        "acme's deliveries are not in it"
    );
    assert_eq!(bravo.fleet.data_types[0].data_type, DataType::Catalog);
    assert!(ask("dormant").await.is_ok(), "a known, inactive tenant");
    assert!(matches!(
        ask("nobody").await,
        Err(OpsError::UnknownTenant(t)) if t == "nobody"
    ));
}

#[tokio::test]
async fn a_bad_window_names_its_field() {
    let (ledger, runs, tenants) = stores();
    let e = metrics(
        &MetricsPorts::<(_, _, _)> {
            ledger: &ledger,
            runs: &runs,
            tenants: &tenants,
        },
        "yesterday",
        "2026-12-02T12:00:00Z",
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, OpsError::Invalid(v) if v.field == "since"),
        "{e}"
    );
}

proptest! {
    #[test]
    fn a_percentile_is_a_value_with_at_least_p_percent_at_or_below_it(
        mut values in proptest::collection::vec(0i64..10_000, 1..200),
        p in 1usize..=100,
    ) {
        values.sort_unstable();
        let v = percentile(&values, p).unwrap();
        prop_assert!(values.contains(&v));
        let n = values.len();
        let at_or_below = values.iter().filter(|&&x| x <= v).count();
        let below = values.iter().filter(|&&x| x < v).count();
        prop_assert!(at_or_below * 100 >= p * n, "at least p % at or below");
        prop_assert!(below * 100 < p * n, "the smallest such value");
    }
}
