//! The tailer: one reader of the event log per process. It reads each numbered event once,
//! in sequence order, and broadcasts it to every local subscriber. It wakes when the local
//! sequencer numbered something, and polls for events numbered by another replica.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};

use crate::domain::event::QueueEvent;
use crate::repo::Repo;

const BATCH: u64 = 500;

/// Reads from sequence `from` on until `stop`.
pub async fn run(
    repo: Repo,
    from: i64,
    live: broadcast::Sender<Arc<QueueEvent>>,
    latest: watch::Sender<i64>,
    numbered: Arc<Notify>,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = from;
    loop {
        if *stop.borrow() {
            return;
        }
        loop {
            match repo.events_after(last, BATCH).await {
                Ok(events) => {
                    let n = events.len() as u64;
                    for e in events {
                        last = e.sequence;
                        // No receiver is fine: nobody is watching right now.
                        let _ = live.send(Arc::new(e));
                    }
                    latest.send_replace(last);
                    if n < BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading the event log failed; retrying");
                    break;
                }
            }
        }
        tokio::select! {
            _ = numbered.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            changed = stop.changed() => if changed.is_err() { return; },
        }
    }
}
