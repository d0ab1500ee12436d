//! The cost model: dollars per million webhook events, and per million
//! objects of a daily pull, per AWS component, from list prices and
//! measured figures. Pure arithmetic over two documents kept in the repo
//! (`cost/prices.json`, `cost/inputs.json`), each value with where it came
//! from, so a reader can check every number the bill is made of.

pub use super::cost_documents::{
    parse, DailySyncInputs, DynamoDbInputs, Figure, Inputs, LambdaInputs, Price, PriceList, Prices,
    WebhookInputs,
};
use serde::{Deserialize, Serialize};

/// Which front door serves the webhook routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Front {
    ApiGateway,
    FunctionUrl,
}

impl Front {
    pub const ALL: [Front; 2] = [Front::ApiGateway, Front::FunctionUrl];

    pub fn as_str(self) -> &'static str {
        match self {
            Front::ApiGateway => "API Gateway HTTP API",
            Front::FunctionUrl => "Lambda Function URL",
        }
    }
}

/// How the items and audit tables pay for their writes and reads
/// (template parameter `TableCapacity`): per request, or per capacity unit
/// hour with auto scaling keeping the use near its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capacity {
    OnDemand,
    Provisioned,
}

impl Capacity {
    pub const ALL: [Capacity; 2] = [Capacity::OnDemand, Capacity::Provisioned];

    pub fn as_str(self) -> &'static str {
        match self {
            Capacity::OnDemand => "on-demand tables",
            Capacity::Provisioned => "provisioned tables",
        }
    }
}

/// The template's choices a bill is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Setup {
    pub front: Front,
    pub capacity: Capacity,
}

/// A capacity unit serves one request unit a second for an hour; at
/// `utilization` of it used, a million request units cost this much.
pub fn provisioned_per_million(unit_hour_usd: f64, utilization: f64) -> f64 {
    unit_hour_usd / 3600.0 / utilization * 1e6
}

/// One line of the bill: dollars per million events (or objects).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub service: &'static str,
    pub item: &'static str,
    /// How the figure is made, in the units the bill counts.
    pub basis: String,
    pub usd_per_million: f64,
}

/// A bill per million, by component, and its total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bill {
    pub per: &'static str,
    pub components: Vec<Component>,
    pub total_usd_per_million: f64,
}

impl Bill {
    fn new(per: &'static str, components: Vec<Component>) -> Self {
        let total_usd_per_million = components.iter().map(|c| c.usd_per_million).sum();
        Self {
            per,
            components,
            total_usd_per_million,
        }
    }

    /// The sum of the components of one service.
    pub fn service_total(&self, service: &str) -> f64 {
        self.components
            .iter()
            .filter(|c| c.service == service)
            .map(|c| c.usd_per_million)
            .sum()
    }
}

/// Lambda bills duration rounded up to the millisecond, per invocation.
pub fn billed_ms(cpu_ms: f64, io_wait_ms: f64, memory_mb: f64, mb_per_vcpu: f64) -> f64 {
    let cpu_share = (memory_mb / mb_per_vcpu).min(1.0);
    (cpu_ms / cpu_share + io_wait_ms).ceil()
}

/// GB-seconds of `ms` at `memory_mb`.
pub fn gb_seconds(ms: f64, memory_mb: f64) -> f64 {
    memory_mb / 1024.0 * ms / 1000.0
}

struct Lines<'a> {
    prices: &'a Prices,
    /// How the items and audit tables are billed.
    capacity: Capacity,
    utilization: f64,
    lines: Vec<Component>,
}

impl<'a> Lines<'a> {
    fn new(prices: &'a Prices, inputs: &Inputs, capacity: Capacity) -> Self {
        Self {
            prices,
            capacity,
            utilization: inputs.dynamodb.provisioned_utilization.value,
            lines: Vec::new(),
        }
    }

    /// What a million request units cost on the items and audit tables.
    fn table_price(&self, on_demand: &Price, unit_hour: &Price, kind: &str) -> Price {
        match self.capacity {
            Capacity::OnDemand => on_demand.clone(),
            Capacity::Provisioned => Price {
                usd: provisioned_per_million(unit_hour.usd, self.utilization),
                unit: format!(
                    "per million {kind} request units at ${} per capacity unit hour, {:.0} % used",
                    unit_hour.usd,
                    self.utilization * 100.0
                ),
                source: unit_hour.source.clone(),
            },
        }
    }

    fn write_price(&self) -> Price {
        let p = self.prices;
        self.table_price(
            &p.dynamodb_write_per_million,
            &p.dynamodb_write_capacity_unit_hour,
            "write",
        )
    }

    fn read_price(&self) -> Price {
        let p = self.prices;
        self.table_price(
            &p.dynamodb_read_per_million,
            &p.dynamodb_read_capacity_unit_hour,
            "read",
        )
    }

    /// `quantity` units per event at `price` per million units.
    fn per_million(
        &mut self,
        service: &'static str,
        item: &'static str,
        quantity: f64,
        unit: &str,
        price: &Price,
    ) {
        self.lines.push(Component {
            service,
            item,
            basis: format!(
                "{quantity:.4} {unit} × ${}/M",
                (price.usd * 1e4).round() / 1e4
            ),
            usd_per_million: quantity * price.usd,
        });
    }

    fn duration(&mut self, item: &'static str, gb_s: f64, basis: String) {
        let price = &self.prices.lambda_arm64_per_gb_second;
        self.lines.push(Component {
            service: "Lambda",
            item,
            basis: format!("{basis} = {gb_s:.6} GB-s × ${}", price.usd),
            usd_per_million: gb_s * price.usd * 1e6,
        });
    }

    fn logs(&mut self, item: &'static str, bytes: f64, basis: String) {
        let price = &self.prices.logs_ingestion_per_gb;
        self.lines.push(Component {
            service: "CloudWatch Logs",
            item,
            basis: format!("{basis} = {bytes:.0} B × ${} per GB", price.usd),
            usd_per_million: bytes * 1e6 / 1e9 * price.usd,
        });
    }
}

/// The worker's share of one event: its invocation, duration, the queue's
/// receive and delete, the writes, the reads and its logs.
fn worker_lines(l: &mut Lines<'_>, lambda: &LambdaInputs, w: &WebhookInputs) {
    worker_invocation_lines(l, lambda, w);
    worker_table_lines(l, w);
    worker_log_lines(l, lambda, w);
}

/// The worker's duration per event and the queue's receive and delete.
fn worker_invocation_lines(l: &mut Lines<'_>, lambda: &LambdaInputs, w: &WebhookInputs) {
    let p = l.prices;
    let batch = w.worker_batch_size.value;
    let cpu = batch * w.worker_cpu_ms_per_event.value;
    let ms = billed_ms(
        cpu,
        w.worker_io_wait_ms_per_batch.value,
        w.worker_memory_mb.value,
        lambda.memory_mb_per_vcpu.value,
    );
    l.duration(
        "sync-worker duration",
        gb_seconds(ms, w.worker_memory_mb.value) / batch,
        format!(
            "{ms:.0} ms per batch of {batch} at {} MB",
            w.worker_memory_mb.value
        ),
    );
    l.per_million(
        "SQS",
        "event source receive + delete",
        w.sqs_requests_per_batch.value / batch,
        "requests",
        &p.sqs_standard_per_million,
    );
}

/// The worker's writes to the items, audit and counter rows, and its reads.
fn worker_table_lines(l: &mut Lines<'_>, w: &WebhookInputs) {
    let (write, read) = (l.write_price(), l.read_price());
    let batch = w.worker_batch_size.value;
    l.per_million(
        "DynamoDB",
        "items: conditional write",
        w.items_write_units_per_event.value,
        "WRU",
        &write,
    );
    l.per_million(
        "DynamoDB",
        "audit row",
        w.audit_rows_per_event.value * w.audit_write_units_per_row.value,
        "WRU",
        &write,
    );
    l.per_million(
        "DynamoDB",
        "audit index byTenantHour",
        w.audit_rows_per_event.value
            * w.audit_index_rows_share.value
            * w.audit_index_write_units_per_row.value,
        "WRU",
        &write,
    );
    l.per_million(
        "DynamoDB",
        "audit deliveries journal",
        w.audit_journal_write_units_per_batch.value / batch,
        "WRU",
        &write,
    );
    l.per_million(
        "DynamoDB",
        "tenant counters",
        w.counter_write_units_per_batch.value / batch,
        "WRU",
        &write,
    );
    l.per_million(
        "DynamoDB",
        "reads",
        w.read_units_per_event.value,
        "RRU",
        &read,
    );
}

/// The worker's log bytes per event: its own lines and its share of each
/// batch's lines and platform report.
fn worker_log_lines(l: &mut Lines<'_>, lambda: &LambdaInputs, w: &WebhookInputs) {
    let batch = w.worker_batch_size.value;
    let overhead = lambda.log_event_overhead_bytes.value;
    let per_batch = w.worker_log_bytes_per_batch.value
        + w.worker_log_lines_per_batch.value * overhead
        + lambda.platform_log_bytes_per_invocation.value;
    let bytes = w.worker_log_bytes_per_event.value
        + w.worker_log_lines_per_event.value * overhead
        + per_batch / batch;
    l.logs(
        "sync-worker logs",
        bytes,
        format!(
            "{:.0} B in {:.2} lines per event + {per_batch:.0} B per batch (platform {:.0} B) / {batch}",
            w.worker_log_bytes_per_event.value,
            w.worker_log_lines_per_event.value,
            lambda.platform_log_bytes_per_invocation.value
        ),
    );
}

/// Dollars per million webhook events with `setup`'s front door serving
/// the routes and its capacity mode on the tables.
pub fn webhook_bill(prices: &Prices, inputs: &Inputs, setup: Setup) -> Bill {
    let (lambda, w) = (&inputs.lambda, &inputs.webhook);
    let mut l = Lines::new(prices, inputs, setup.capacity);
    if setup.front == Front::ApiGateway {
        l.per_million(
            "API Gateway",
            "HTTP API requests",
            1.0,
            "requests",
            &prices.api_gateway_http_per_million,
        );
    }
    let batch = w.worker_batch_size.value;
    l.per_million(
        "Lambda",
        "requests (ingest + worker)",
        1.0 + 1.0 / batch,
        "invocations",
        &prices.lambda_requests_per_million,
    );
    let ms = billed_ms(
        w.ingest_cpu_ms_per_event.value,
        w.ingest_io_wait_ms_per_event.value,
        w.ingest_memory_mb.value,
        lambda.memory_mb_per_vcpu.value,
    );
    l.duration(
        "webhook-ingest duration",
        gb_seconds(ms, w.ingest_memory_mb.value),
        format!("{ms:.0} ms at {} MB", w.ingest_memory_mb.value),
    );
    l.per_million(
        "SQS",
        "SendMessage (ingest)",
        w.sqs_sends_per_event.value,
        "requests",
        &prices.sqs_standard_per_million,
    );
    let queue_requests = w.sqs_sends_per_event.value + w.sqs_requests_per_batch.value / batch;
    l.per_million(
        "SQS",
        "fair-queue surcharge",
        queue_requests,
        "requests",
        &prices.sqs_fair_queue_surcharge_per_million,
    );
    worker_lines(&mut l, lambda, w);
    let bytes = w.ingest_log_bytes_per_event.value
        + w.ingest_log_lines_per_event.value * lambda.log_event_overhead_bytes.value
        + lambda.platform_log_bytes_per_invocation.value;
    l.logs(
        "webhook-ingest logs",
        bytes,
        format!(
            "{:.0} B in {:.2} lines + {:.0} B platform",
            w.ingest_log_bytes_per_event.value,
            w.ingest_log_lines_per_event.value,
            lambda.platform_log_bytes_per_invocation.value
        ),
    );
    Bill::new("webhook events", sort(l.lines))
}

/// Dollars per million objects a daily pull fetches and applies, the
/// items and audit tables billed by `capacity` (the runs table, which
/// keeps the checkpoints, stays on demand).
pub fn daily_sync_bill(prices: &Prices, inputs: &Inputs, capacity: Capacity) -> Bill {
    let (lambda, d, w) = (&inputs.lambda, &inputs.daily_sync, &inputs.webhook);
    let mut l = Lines::new(prices, inputs, capacity);
    let per_page = d.objects_per_page.value;
    let invocations =
        d.invocations_per_million_objects.value / 1e6 + 1.0 / w.worker_batch_size.value;
    l.per_million(
        "Lambda",
        "requests (daily-sync + worker)",
        invocations,
        "invocations",
        &prices.lambda_requests_per_million,
    );
    // Duration is billed per invocation; a pull's invocation spans many pages.
    let page_ms = d.cpu_ms_per_object.value * per_page
        / (d.memory_mb.value / lambda.memory_mb_per_vcpu.value).min(1.0)
        + d.io_wait_ms_per_page.value;
    l.duration(
        "daily-sync duration",
        gb_seconds(page_ms, d.memory_mb.value) / per_page,
        format!(
            "{page_ms:.0} ms per page of {per_page} at {} MB",
            d.memory_mb.value
        ),
    );
    l.per_million(
        "SQS",
        "SendMessageBatch (daily-sync)",
        d.sqs_requests_per_object.value,
        "requests",
        &prices.sqs_standard_per_million,
    );
    let queue_requests = d.sqs_requests_per_object.value
        + w.sqs_requests_per_batch.value / w.worker_batch_size.value;
    l.per_million(
        "SQS",
        "fair-queue surcharge",
        queue_requests,
        "requests",
        &prices.sqs_fair_queue_surcharge_per_million,
    );
    l.per_million(
        "DynamoDB",
        "checkpoint + seen ids",
        d.checkpoint_write_units_per_page.value / per_page,
        "WRU",
        &prices.dynamodb_write_per_million,
    );
    worker_lines(&mut l, lambda, w);
    Bill::new("daily-sync objects", sort(l.lines))
}

/// Grouped by service, in the order the bill lists them.
fn sort(mut lines: Vec<Component>) -> Vec<Component> {
    const ORDER: [&str; 5] = [
        "API Gateway",
        "Lambda",
        "SQS",
        "DynamoDB",
        "CloudWatch Logs",
    ];
    lines.sort_by_key(|c| ORDER.iter().position(|s| *s == c.service));
    lines
}

#[cfg(test)]
#[path = "cost_tests.rs"]
mod tests;
