//! SQS events in, partial batch responses out (`ReportBatchItemFailures`).

use super::Worker;
use crate::app::apply::{apply_batch, BatchReport, Delivery};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

pub fn delivery_from(message: &SqsMessage) -> Delivery {
    Delivery {
        message_id: message.message_id.clone().unwrap_or_default(),
        body: message.body.clone().unwrap_or_default(),
        receive_count: message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1),
    }
}

pub fn batch_response(report: &BatchReport) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = report
        .retry
        .iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id.clone();
            failure
        })
        .collect();
    response
}

/// Handles one SQS batch; a failed record never fails the rest.
pub async fn handle_sync_batch(worker: &Worker, event: SqsEvent) -> SqsBatchResponse {
    let deliveries: Vec<Delivery> = event.records.iter().map(delivery_from).collect();
    let report = apply_batch(&worker.ports(), &deliveries).await;
    tracing::info!(
        records = deliveries.len(),
        retry = report.retry.len(),
        "batch done"
    );
    batch_response(&report)
}
