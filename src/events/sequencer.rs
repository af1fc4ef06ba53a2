//! The sequencer: one per cluster at a time, it numbers committed events.
//!
//! The election and the numbering's SQL live in [`crate::repo::sequencing`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::repo::Repo;

const BATCH: u64 = 1000;
const RETRY_LEADERSHIP: Duration = Duration::from_secs(1);

/// Numbers events until `stop`; wakes on local commits (`repo.outbox_signal()`) or every
/// `every`, and tells the local tailer when it numbered something.
pub async fn run(repo: Repo, every: Duration, numbered: Arc<Notify>, stop: CancellationToken) {
    let mut seat = match repo.sequencer_seat().await {
        Ok(seat) => seat,
        Err(e) => {
            tracing::error!(error = %crate::error::chain(&e), "the sequencer cannot open its connection; this replica will not sequence");
            return;
        }
    };
    let outbox = repo.outbox_signal();
    let mut checked = tokio::time::Instant::now() - RETRY_LEADERSHIP;
    loop {
        if stop.is_cancelled() {
            break;
        }
        let mut wait = every;
        if checked.elapsed() >= RETRY_LEADERSHIP || !seat.held() {
            checked = tokio::time::Instant::now();
            match seat.acquire().await {
                Ok(true) => {}
                Ok(false) => wait = RETRY_LEADERSHIP,
                Err(e) => {
                    tracing::warn!(error = %crate::error::chain(&e), "sequencer leadership check failed");
                    seat.lose();
                    wait = RETRY_LEADERSHIP;
                }
            }
        }
        if seat.held() {
            match seat.sequence_pending(BATCH).await {
                Ok(0) => {}
                Ok(n) => {
                    numbered.notify_one();
                    if n == BATCH {
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %crate::error::chain(&e), "sequencing failed; retrying"),
            }
        }
        tokio::select! {
            _ = outbox.notified(), if seat.held() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => break,
        }
    }
    seat.release().await;
}
