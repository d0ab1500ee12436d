use super::*;

const API: Setup = Setup {
    front: Front::ApiGateway,
    capacity: Capacity::OnDemand,
};
const URL: Setup = Setup {
    front: Front::FunctionUrl,
    capacity: Capacity::OnDemand,
};

fn price(usd: f64) -> Price {
    Price {
        usd,
        unit: "per unit".into(),
        source: "test".into(),
    }
}

fn fig(value: f64) -> Figure {
    Figure {
        value,
        source: "test".into(),
    }
}

/// Round numbers, so every line below can be checked by hand.
fn prices() -> Prices {
    Prices {
        api_gateway_http_per_million: price(1.00),
        lambda_requests_per_million: price(0.20),
        lambda_arm64_per_gb_second: price(0.0000133334),
        sqs_standard_per_million: price(0.40),
        sqs_fair_queue_surcharge_per_million: price(0.0),
        dynamodb_write_per_million: price(0.625),
        dynamodb_read_per_million: price(0.125),
        dynamodb_write_capacity_unit_hour: price(0.00072),
        dynamodb_read_capacity_unit_hour: price(0.000144),
        logs_ingestion_per_gb: price(0.50),
    }
}

fn inputs() -> Inputs {
    Inputs {
        measured_on: "2026-12-02".into(),
        command: "test".into(),
        lambda: LambdaInputs {
            memory_mb_per_vcpu: fig(1024.0),
            log_event_overhead_bytes: fig(26.0),
            platform_log_bytes_per_invocation: fig(0.0),
        },
        dynamodb: DynamoDbInputs {
            provisioned_utilization: fig(0.8),
        },
        webhook: WebhookInputs {
            ingest_memory_mb: fig(128.0),
            ingest_cpu_ms_per_event: fig(0.5),
            ingest_io_wait_ms_per_event: fig(6.0),
            ingest_log_lines_per_event: fig(1.0),
            ingest_log_bytes_per_event: fig(300.0),
            worker_memory_mb: fig(256.0),
            worker_batch_size: fig(25.0),
            worker_cpu_ms_per_event: fig(0.4),
            worker_io_wait_ms_per_batch: fig(20.0),
            worker_log_lines_per_event: fig(1.0),
            worker_log_bytes_per_event: fig(250.0),
            worker_log_lines_per_batch: fig(2.0),
            worker_log_bytes_per_batch: fig(448.0),
            sqs_sends_per_event: fig(1.0),
            sqs_requests_per_batch: fig(2.0),
            items_write_units_per_event: fig(1.0),
            audit_rows_per_event: fig(1.0),
            audit_write_units_per_row: fig(1.0),
            audit_index_rows_share: fig(1.0),
            audit_index_write_units_per_row: fig(1.0),
            audit_journal_write_units_per_batch: fig(2.0),
            counter_write_units_per_batch: fig(2.0),
            read_units_per_event: fig(0.004),
        },
        daily_sync: DailySyncInputs {
            memory_mb: fig(256.0),
            objects_per_page: fig(100.0),
            cpu_ms_per_object: fig(0.09),
            io_wait_ms_per_page: fig(164.0),
            sqs_requests_per_object: fig(0.1),
            checkpoint_write_units_per_page: fig(4.0),
            invocations_per_million_objects: fig(3.0),
        },
    }
}

fn line(bill: &Bill, item: &str) -> f64 {
    bill.components
        .iter()
        .find(|c| c.item == item)
        .unwrap_or_else(|| panic!("no line {item}: {bill:#?}"))
        .usd_per_million
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn lambda_bills_cpu_at_the_memorys_share_of_a_vcpu_rounded_up_to_the_millisecond() {
    // 128 MB of 1024 per vCPU is an eighth: 0.5 ms of CPU takes 4 ms, plus 6 ms waiting.
    assert_eq!(billed_ms(0.5, 6.0, 128.0, 1024.0), 10.0);
    assert_eq!(billed_ms(0.1, 0.0, 1769.0, 1769.0), 1.0);
    // More than a vCPU's memory does not make one thread faster.
    assert_eq!(billed_ms(3.0, 0.0, 4096.0, 1024.0), 3.0);
    assert!(close(gb_seconds(10.0, 128.0), 0.00125));
}

#[test]
fn a_webhook_event_costs_what_the_hand_computed_bill_says() {
    let bill = webhook_bill(&prices(), &inputs(), API);
    assert!(close(line(&bill, "HTTP API requests"), 1.0));
    // 1 ingest + 1/25 worker invocations at $0.20.
    assert!(close(line(&bill, "requests (ingest + worker)"), 0.208));
    // 10 ms at 128 MB = 0.00125 GB-s; × $0.0000133334 × 1e6.
    assert!(close(line(&bill, "webhook-ingest duration"), 0.01666675));
    // 25 × 0.4 ms at a quarter vCPU = 40 ms + 20 ms = 60 ms at 256 MB = 0.015 GB-s per 25.
    assert!(close(line(&bill, "sync-worker duration"), 0.00800004));
    assert!(close(line(&bill, "SendMessage (ingest)"), 0.4));
    assert!(close(line(&bill, "event source receive + delete"), 0.032));
    assert!(close(line(&bill, "fair-queue surcharge"), 0.0));
    for item in [
        "items: conditional write",
        "audit row",
        "audit index byTenantHour",
    ] {
        assert!(close(line(&bill, item), 0.625), "{item}");
    }
    assert!(close(line(&bill, "tenant counters"), 0.05));
    // Two units of journal per batch of 25.
    assert!(close(line(&bill, "audit deliveries journal"), 0.05));
    assert!(close(line(&bill, "reads"), 0.0005));
    // (300 B + 26 B) per event at $0.50 per GB.
    assert!(close(line(&bill, "webhook-ingest logs"), 0.163));
    // 250 B + 26 B per event, and (448 B + 2 × 26 B) per batch of 25.
    assert!(close(line(&bill, "sync-worker logs"), 0.148));
    assert!(
        close(bill.total_usd_per_million, 3.95116679),
        "{}",
        bill.total_usd_per_million
    );
    assert!(close(bill.service_total("DynamoDB"), 1.9755));
}

#[test]
fn the_function_url_saves_exactly_the_api_gateway_line() {
    let api = webhook_bill(&prices(), &inputs(), API);
    let url = webhook_bill(&prices(), &inputs(), URL);
    assert!(close(url.total_usd_per_million, 2.95116679));
    assert_eq!(url.service_total("API Gateway"), 0.0);
    assert_eq!(url.components.len() + 1, api.components.len());
}

#[test]
fn provisioned_tables_pay_per_capacity_unit_hour_at_the_utilization_the_scaling_keeps() {
    // $0.00072 per WCU-hour at 80 % use: 3,600 × 0.8 writes per unit hour,
    // $0.25 per million; reads at $0.000144, $0.05 per million.
    assert!(close(provisioned_per_million(0.00072, 0.8), 0.25));
    let setup = Setup {
        front: Front::FunctionUrl,
        capacity: Capacity::Provisioned,
    };
    let on_demand = webhook_bill(&prices(), &inputs(), URL);
    let bill = webhook_bill(&prices(), &inputs(), setup);
    for item in [
        "items: conditional write",
        "audit row",
        "audit index byTenantHour",
    ] {
        assert!(close(line(&bill, item), 0.25), "{item}");
    }
    assert!(close(line(&bill, "tenant counters"), 0.02));
    assert!(close(line(&bill, "reads"), 0.0002));
    assert!(close(bill.service_total("DynamoDB"), 0.7902));
    // Only DynamoDB's lines change.
    assert!(close(
        on_demand.total_usd_per_million - bill.total_usd_per_million,
        1.9755 - 0.7902
    ));
    // The runs table keeps the checkpoints on demand.
    let pull = daily_sync_bill(&prices(), &inputs(), Capacity::Provisioned);
    assert!(close(line(&pull, "checkpoint + seen ids"), 0.025));
    assert!(close(line(&pull, "items: conditional write"), 0.25));
}

#[test]
fn a_daily_sync_object_costs_what_the_hand_computed_bill_says() {
    let bill = daily_sync_bill(&prices(), &inputs(), Capacity::OnDemand);
    // 3 daily-sync invocations per million objects + 1/25 worker invocations.
    assert!(close(
        line(&bill, "requests (daily-sync + worker)"),
        0.0080006
    ));
    // 100 × 0.09 ms at a quarter vCPU = 36 ms + 164 ms = 200 ms at 256 MB, per 100 objects.
    assert!(close(line(&bill, "daily-sync duration"), 0.0066667));
    assert!(close(line(&bill, "SendMessageBatch (daily-sync)"), 0.04));
    assert!(close(line(&bill, "checkpoint + seen ids"), 0.025));
    assert!(
        close(bill.total_usd_per_million, 2.24316734),
        "{}",
        bill.total_usd_per_million
    );
    assert_eq!(bill.service_total("API Gateway"), 0.0);
}

#[test]
fn platform_lines_are_paid_per_invocation_so_batching_shares_them() {
    let mut i = inputs();
    i.lambda.platform_log_bytes_per_invocation = fig(500.0);
    let bill = webhook_bill(&prices(), &i, URL);
    assert!(close(
        line(&bill, "webhook-ingest logs"),
        (326.0 + 500.0) * 1e6 / 1e9 * 0.5
    ));
    assert!(close(
        line(&bill, "sync-worker logs"),
        (276.0 + (500.0 + 500.0) / 25.0) * 1e6 / 1e9 * 0.5
    ));
}

#[test]
fn a_bad_figure_is_refused_naming_its_field() {
    let mut i = inputs();
    i.webhook.worker_batch_size = fig(0.0);
    let e = i.validate().unwrap_err();
    assert_eq!(e.field, "webhook.workerBatchSize.value");
    let mut i = inputs();
    i.webhook.ingest_memory_mb = fig(64.0);
    assert_eq!(
        i.validate().unwrap_err().field,
        "webhook.ingestMemoryMb.value"
    );
    let mut i = inputs();
    i.daily_sync.cpu_ms_per_object = fig(f64::NAN);
    assert_eq!(
        i.validate().unwrap_err().field,
        "dailySync.cpuMsPerObject.value"
    );
    let mut i = inputs();
    i.webhook.audit_index_rows_share = fig(1.5);
    assert_eq!(
        i.validate().unwrap_err().field,
        "webhook.auditIndexRowsShare.value"
    );
    let mut i = inputs();
    i.dynamodb.provisioned_utilization = fig(1.0);
    assert_eq!(
        i.validate().unwrap_err().field,
        "dynamodb.provisionedUtilization.value"
    );
    assert!(inputs().validate().is_ok());
    let mut list = PriceList {
        region: "us-east-1".into(),
        read_on: "2026-12-02".into(),
        prices: prices(),
    };
    assert!(list.validate().is_ok());
    list.prices.sqs_standard_per_million = price(-0.4);
    assert_eq!(
        list.validate().unwrap_err().field,
        "prices.sqsStandardPerMillion.usd"
    );
}

#[test]
fn a_document_with_a_wrong_field_names_its_path() {
    let e = parse::<Figure>(r#"{"value": "ten", "source": "x"}"#).unwrap_err();
    assert_eq!(e.field, "value");
    let e = parse::<Figure>(r#"{"value": 1, "source": "x", "sorce": "y"}"#).unwrap_err();
    assert!(e.rule.contains("unknown field"), "{e:?}");
}

proptest::proptest! {
    /// Whatever the figures, the total is the sum of its lines, none is
    /// negative, and the Function URL bill is the API Gateway bill without
    /// its front door.
    #[test]
    fn the_total_is_the_sum_of_non_negative_lines(
        cpu in 0.0f64..5.0, io in 0.0f64..50.0, batch in 1.0f64..100.0,
        wru in 0.0f64..4.0, bytes in 0.0f64..5000.0, memory in 128.0f64..4096.0,
    ) {
        let mut i = inputs();
        i.webhook.ingest_cpu_ms_per_event = fig(cpu);
        i.webhook.ingest_io_wait_ms_per_event = fig(io);
        i.webhook.worker_batch_size = fig(batch.floor());
        i.webhook.audit_write_units_per_row = fig(wru);
        i.webhook.worker_log_bytes_per_event = fig(bytes);
        i.webhook.worker_memory_mb = fig(memory);
        proptest::prop_assert!(i.validate().is_ok());
        let api = webhook_bill(&prices(), &i, API);
        let url = webhook_bill(&prices(), &i, URL);
        let sum: f64 = api.components.iter().map(|c| c.usd_per_million).sum();
        proptest::prop_assert!(close(api.total_usd_per_million, sum));
        proptest::prop_assert!(api.components.iter().all(|c| c.usd_per_million >= 0.0));
        proptest::prop_assert!(close(api.total_usd_per_million - url.total_usd_per_million, 1.0));
    }
}
