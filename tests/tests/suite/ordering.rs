//! The ordering rule against Amazon's DynamoDB Local: whatever the order,
//! duplication, batching and concurrency, each SKU ends holding its newest
//! event, and the audit holds exactly one row per delivery.

use futures::future::join_all;
use proptest::prelude::*;
use std::collections::HashMap;
use synchub_core::app::apply::{apply_batch, Delivery};
use synchub_tests::*;

fn delivery(tenant: &str, message: usize, sku: usize, minute: i64, event: &str) -> Delivery {
    Delivery {
        message_id: format!("m{message}"),
        body: queued(
            tenant,
            &supplier_event(event, &format!("SKU-{sku}"), minute, &at_minute(minute)),
        ),
        receive_count: 1,
    }
}

/// Applies the deliveries in `batches`, `workers` batches at a time, and checks the rule.
async fn check_convergence(
    stack: &TestStack,
    worker: &synchub_lambda::Worker,
    deliveries: Vec<Delivery>,
    batch: usize,
    workers: usize,
) {
    let tenant = deliveries[0]
        .body
        .split("\"tenantId\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let batches: Vec<Vec<Delivery>> = deliveries.chunks(batch).map(<[Delivery]>::to_vec).collect();
    for wave in batches.chunks(workers) {
        let ports = worker.ports();
        let reports = join_all(wave.iter().map(|b| apply_batch(&ports, b))).await;
        for r in reports {
            assert!(r.retry.is_empty(), "nothing should need a retry: {r:?}");
        }
    }
    // Newest per SKU by (updatedAt, eventId), computed independently of the code under test.
    let mut newest: HashMap<String, (String, String)> = HashMap::new();
    for d in &deliveries {
        let v: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        let key = (
            v["payload"]["updatedAt"].as_str().unwrap().to_owned(),
            v["eventId"].as_str().unwrap().to_owned(),
        );
        let sku = v["payload"]["sku"].as_str().unwrap().to_owned();
        let slot = newest.entry(sku).or_insert(key.clone());
        if key > *slot {
            *slot = key;
        }
    }
    let mut rows = 0;
    for (sku, (_, event)) in &newest {
        let item = stack.item(&tenant, sku).await.expect("item stored");
        assert_eq!(
            item["eventId"].as_str(),
            Some(event.as_str()),
            "{sku} must hold its newest event"
        );
        let audit = stack.audit(&tenant, sku).await;
        assert_eq!(
            audit
                .iter()
                .filter(|r| r.outcome == "applied" && r.event_id.as_deref() == Some(event))
                .count(),
            1,
            "{sku}: the winner is applied once"
        );
        rows += audit.len();
    }
    assert_eq!(rows, deliveries.len(), "exactly one audit row per delivery");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn any_permutation_and_duplication_converges_to_the_newest_per_sku(
        events in prop::collection::vec((0..3usize, 0..5i64, 0..2u8), 1..14),
        dup_every in 1..4usize,
        seed in any::<u64>(),
        batch in 1..11usize,
        workers in 1..4usize,
    ) {
        use rand::{seq::SliceRandom, SeedableRng};
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let stack = shared_stack().await;
            let tenant = unique("prop");
            // Each distinct event id carries one fixed version, as sources do.
            let mut deliveries: Vec<Delivery> = events.iter().enumerate()
                .map(|(i, (sku, minute, tag))| delivery(&tenant, i, *sku, *minute, &format!("e{sku}-{minute}-{tag}")))
                .collect();
            let resent: Vec<Delivery> = deliveries.iter().step_by(dup_every).enumerate()
                .map(|(j, d)| Delivery { message_id: format!("r{j}"), ..d.clone() })
                .collect();
            deliveries.extend(resent);
            deliveries.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
            let worker = stack.worker();
            check_convergence(&stack, &worker, deliveries, batch, workers).await;
        });
    }
}

/// One stack for all property cases (each case has its own tenant).
async fn shared_stack() -> TestStack {
    TestStack::new().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_appliers_on_one_sku_leave_exactly_the_newest() {
    let stack = TestStack::new().await;
    let tenant = unique("race");
    let worker = std::sync::Arc::new(stack.worker());
    // 24 versions of one SKU, two with the same timestamp (event id breaks the tie), each sent twice.
    let mut deliveries: Vec<Delivery> = (0..24)
        .map(|i| delivery(&tenant, i, 0, (i as i64 * 7) % 23, &format!("e{i:02}")))
        .collect();
    let again: Vec<Delivery> = (0..24)
        .map(|i| Delivery {
            message_id: format!("again{i}"),
            ..deliveries[i].clone()
        })
        .collect();
    deliveries.extend(again);
    let handles: Vec<_> = deliveries
        .chunks(1)
        .map(|d| {
            let (worker, d) = (worker.clone(), d.to_vec());
            tokio::spawn(async move { apply_batch(&worker.ports(), &d).await })
        })
        .collect();
    for h in handles {
        assert!(h.await.unwrap().retry.is_empty());
    }
    let expected = (0..24)
        .map(|i| (((i as i64 * 7) % 23), format!("e{i:02}")))
        .max()
        .unwrap()
        .1;
    let item = stack.item(&tenant, "SKU-0").await.unwrap();
    assert_eq!(item["eventId"].as_str(), Some(expected.as_str()));
    let audit = stack.audit(&tenant, "SKU-0").await;
    assert_eq!(audit.len(), 48, "one row per delivery");
    let winner_rows: Vec<_> = audit
        .iter()
        .filter(|r| r.event_id.as_deref() == Some(expected.as_str()))
        .collect();
    assert_eq!(
        winner_rows
            .iter()
            .filter(|r| r.outcome == "applied")
            .count(),
        1
    );
    assert_eq!(
        winner_rows
            .iter()
            .filter(|r| r.outcome == "duplicate")
            .count(),
        1
    );
    for r in audit.iter().filter(|r| r.outcome == "stale") {
        assert!(
            r.beaten_by.is_some(),
            "a stale row names the event that beat it"
        );
    }
}
