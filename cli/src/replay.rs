//! `synchub replay`: sends a tenant's dead letters of one error class back to
//! the sync queue, once each (a replayed failure is marked, and a second run
//! skips it). The worker's ordering rule makes a replay safe: an event that
//! has meanwhile been superseded is recorded as stale, never applied.

use synchub::adapters::alerts::DynamoAlertStore;
use synchub::ports::PortError;
use synchub::ports::{MessageQueue, OutgoingMessage};
use synchub::ErrorClass;

/// What a replay did: (event id, outcome) per kept dead letter.
pub async fn replay<Q: MessageQueue>(
    store: &DynamoAlertStore,
    queue: &Q,
    tenant: &str,
    class: ErrorClass,
    dry_run: bool,
) -> Result<Vec<(String, &'static str)>, PortError> {
    let mut done = Vec::new();
    for failure in store.failures(tenant, class).await? {
        let Some(body) = failure.dead_letter_body.as_ref() else {
            continue;
        };
        if store.is_replayed(&failure).await? {
            done.push((failure.subject_id.clone(), "already replayed"));
            continue;
        }
        if dry_run {
            done.push((failure.subject_id.clone(), "would replay"));
            continue;
        }
        let message = OutgoingMessage::raw(tenant, body.clone())
            .with_attribute("replayOf", failure.key.clone());
        queue.send(&message).await?;
        store.mark_replayed(&failure).await?;
        done.push((failure.subject_id.clone(), "replayed"));
    }
    Ok(done)
}
