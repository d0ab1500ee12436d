//! The cost model's two documents, as typed values: the price list
//! (`cost/prices.json`) and the measured inputs (`cost/inputs.json`), each
//! value with where it came from, and their checks (a bad value names its
//! JSON path and rule).

use serde::{Deserialize, Serialize};
use synchub_core::domain::ids::ValidationError;

/// A list price, in dollars per the unit it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub usd: f64,
    pub unit: String,
    pub source: String,
}

/// A measured (or, where it says so, assumed) figure and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub value: f64,
    pub source: String,
}

/// The prices the model uses (one region, read on one date).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceList {
    pub region: String,
    pub read_on: String,
    pub prices: Prices,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Prices {
    /// Per million HTTP API requests (each up to 512 KB).
    pub api_gateway_http_per_million: Price,
    /// Per million Lambda requests.
    pub lambda_requests_per_million: Price,
    /// Per GB-second of Lambda duration on arm64.
    pub lambda_arm64_per_gb_second: Price,
    /// Per million SQS standard-queue requests (each 64 KB chunk a request).
    pub sqs_standard_per_million: Price,
    /// Per million requests on a fair queue, on top of the standard price.
    pub sqs_fair_queue_surcharge_per_million: Price,
    /// Per million DynamoDB on-demand write request units.
    pub dynamodb_write_per_million: Price,
    /// Per million DynamoDB on-demand read request units.
    pub dynamodb_read_per_million: Price,
    /// Per provisioned write capacity unit per hour.
    pub dynamodb_write_capacity_unit_hour: Price,
    /// Per provisioned read capacity unit per hour.
    pub dynamodb_read_capacity_unit_hour: Price,
    /// Per GB of CloudWatch Logs ingested (Lambda logs, standard class, first tier).
    pub logs_ingestion_per_gb: Price,
}

/// What the model is fed: the template's settings and the benchmarks' figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Inputs {
    pub measured_on: String,
    pub command: String,
    pub lambda: LambdaInputs,
    pub dynamodb: DynamoDbInputs,
    pub webhook: WebhookInputs,
    pub daily_sync: DailySyncInputs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DynamoDbInputs {
    /// With provisioned capacity, the share of the capacity paid for that
    /// the writes and reads use on average (auto scaling's target).
    pub provisioned_utilization: Figure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LambdaInputs {
    /// The memory at which a function gets one full vCPU; below it, CPU time
    /// is allotted in proportion to memory.
    pub memory_mb_per_vcpu: Figure,
    /// CloudWatch Logs counts each log event's message plus this overhead.
    pub log_event_overhead_bytes: Figure,
    /// Lambda's own lines per invocation (start and report) at the system
    /// log level in effect; 0 when it is WARN.
    pub platform_log_bytes_per_invocation: Figure,
}

/// One webhook event: API front door, ingest, the queue, the worker's batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookInputs {
    pub ingest_memory_mb: Figure,
    pub ingest_cpu_ms_per_event: Figure,
    pub ingest_io_wait_ms_per_event: Figure,
    pub ingest_log_lines_per_event: Figure,
    pub ingest_log_bytes_per_event: Figure,
    pub worker_memory_mb: Figure,
    pub worker_batch_size: Figure,
    pub worker_cpu_ms_per_event: Figure,
    pub worker_io_wait_ms_per_batch: Figure,
    pub worker_log_lines_per_event: Figure,
    pub worker_log_bytes_per_event: Figure,
    /// The batch's own lines (its summary and its EMF metrics).
    pub worker_log_lines_per_batch: Figure,
    pub worker_log_bytes_per_batch: Figure,
    pub sqs_sends_per_event: Figure,
    /// ReceiveMessage and DeleteMessageBatch of the event source, per batch.
    pub sqs_requests_per_batch: Figure,
    pub items_write_units_per_event: Figure,
    pub audit_rows_per_event: Figure,
    pub audit_write_units_per_row: Figure,
    /// Share of rows that carry the `byTenantHour` key (the index is sparse).
    pub audit_index_rows_share: Figure,
    pub audit_index_write_units_per_row: Figure,
    /// The deliveries journal's items (one per tenant hour a batch touches),
    /// per batch.
    pub audit_journal_write_units_per_batch: Figure,
    /// The tenant's hourly counters, per batch.
    pub counter_write_units_per_batch: Figure,
    pub read_units_per_event: Figure,
}

/// One object of a daily pull: pulled, checkpointed, queued, then applied
/// by the worker like a webhook event (without the front door and ingest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DailySyncInputs {
    pub memory_mb: Figure,
    pub objects_per_page: Figure,
    pub cpu_ms_per_object: Figure,
    pub io_wait_ms_per_page: Figure,
    pub sqs_requests_per_object: Figure,
    pub checkpoint_write_units_per_page: Figure,
    pub invocations_per_million_objects: Figure,
}

impl Inputs {
    /// Every figure finite and not negative, and the ones the model divides
    /// by or scales with in their range; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let json = serde_json::to_value(self)
            .map_err(|e| ValidationError::new("inputs", e.to_string()))?;
        leaves_finite(&json, "", "value")?;
        let (l, w, d) = (&self.lambda, &self.webhook, &self.daily_sync);
        for (field, figure) in [
            ("lambda.memoryMbPerVcpu", &l.memory_mb_per_vcpu),
            ("webhook.ingestMemoryMb", &w.ingest_memory_mb),
            ("webhook.workerMemoryMb", &w.worker_memory_mb),
            ("dailySync.memoryMb", &d.memory_mb),
        ] {
            if !(128.0..=10240.0).contains(&figure.value) {
                return Err(ValidationError::new(
                    format!("{field}.value"),
                    "must be from 128 to 10240 MB",
                ));
            }
        }
        for (field, figure) in [
            ("webhook.workerBatchSize", &w.worker_batch_size),
            ("dailySync.objectsPerPage", &d.objects_per_page),
        ] {
            if figure.value < 1.0 {
                return Err(ValidationError::new(
                    format!("{field}.value"),
                    "must be at least 1",
                ));
            }
        }
        let utilization = self.dynamodb.provisioned_utilization.value;
        if !(0.2..=0.9).contains(&utilization) {
            return Err(ValidationError::new(
                "dynamodb.provisionedUtilization.value",
                "must be a share from 0.2 to 0.9 (auto scaling's target range)",
            ));
        }
        if w.audit_index_rows_share.value > 1.0 {
            return Err(ValidationError::new(
                "webhook.auditIndexRowsShare.value",
                "must be a share from 0 to 1",
            ));
        }
        Ok(())
    }
}

impl PriceList {
    /// Every price finite and not negative; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let json = serde_json::to_value(self)
            .map_err(|e| ValidationError::new("prices", e.to_string()))?;
        leaves_finite(&json, "", "usd")
    }
}

/// Every `key` inside `value` is a number, 0 or more (a NaN or an infinity
/// serializes as null); the error names the path, as the documents spell it.
fn leaves_finite(value: &serde_json::Value, path: &str, key: &str) -> Result<(), ValidationError> {
    let Some(object) = value.as_object() else {
        return Ok(());
    };
    for (name, child) in object {
        let field = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        if name == key && !child.as_f64().is_some_and(|v| v >= 0.0) {
            return Err(ValidationError::new(
                field,
                "must be a finite number, 0 or more",
            ));
        }
        leaves_finite(child, &field, key)?;
    }
    Ok(())
}

/// Parses and checks a document: a bad value names its JSON path and rule.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ValidationError> {
    let mut de = serde_json::Deserializer::from_str(text);
    Ok(serde_path_to_error::deserialize(&mut de)?)
}
