//! On the local stack nothing consumes the queues as Lambda does in AWS, so
//! a run started from the dashboard would wait forever. These stand in for
//! the event source mappings while the dashboard serves: the runs queue to
//! daily-sync's worker, the sync queue to the sync worker, each through the
//! function's own handler. Never on a deployed stack: there Lambda consumes
//! the queues, and a second consumer would steal its messages.

use crate::event_source::LocalEventSource;
use aws_config::SdkConfig;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use synchub_lambda::config::Config;
use synchub_lambda::sqs::handle_sync_batch;
use synchub_lambda::{daily_sync, DailySync, Worker};

/// How long one runs-queue invocation may work, as daily-sync's timeout.
const RUN_INVOCATION: Duration = Duration::from_secs(60);
/// The pause after an empty poll.
const IDLE: Duration = Duration::from_millis(500);

/// The consumers; they stop when this is dropped.
pub struct LocalWorkers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl LocalWorkers {
    pub fn start(aws: &SdkConfig, config: &Config) -> Self {
        let sqs = aws_sdk_sqs::Client::new(aws);
        let runs = LocalEventSource::new(sqs.clone(), &config.runs_queue_url);
        let sync = Arc::new(DailySync::new(aws, config));
        let run_task = tokio::spawn(async move {
            loop {
                let deadline = now_millis() + RUN_INVOCATION.as_millis() as u64;
                let polled = runs
                    .poll_once(|event| daily_sync::work(&sync, event, deadline))
                    .await;
                pause_if_idle(polled.map(|s| s.received)).await;
            }
        });
        let events = LocalEventSource::new(sqs, &config.sync_queue_url);
        let worker = Arc::new(Worker::new(aws, config));
        let apply_task = tokio::spawn(async move {
            loop {
                let polled = events
                    .poll_once(|event| handle_sync_batch(&worker, event))
                    .await;
                pause_if_idle(polled.map(|s| s.received)).await;
            }
        });
        Self {
            tasks: vec![run_task, apply_task],
        }
    }
}

impl Drop for LocalWorkers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn pause_if_idle(received: Result<usize, crate::event_source::Error>) {
    match received {
        Ok(0) => tokio::time::sleep(IDLE).await,
        Ok(_) => {}
        Err(e) => {
            eprintln!("local worker: {e}");
            tokio::time::sleep(IDLE * 4).await;
        }
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
