//! The sequencer: one per cluster at a time, it numbers committed events.
//!
//! The election and the numbering's SQL live in [`crate::repo::sequencing`].

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::observe::metrics::SequencerMetrics;
use crate::repo::Repo;
use crate::repo::sequencing::Round;

const BATCH: u64 = 1000;

/// Numbers events until `stop` while this replica holds the lease (of `lease`); wakes on
/// local commits (`repo.outbox_signal()`) or every `every`, tells the local tailer the
/// highest sequence it numbered (committed) on `numbered`, and publishes whether it holds
/// the lease on `leader` (the webhook deliverer works on the sequencer's replica).
pub async fn run(
    repo: Repo,
    every: Duration,
    lease: Duration,
    numbered: tokio::sync::watch::Sender<i64>,
    leader: tokio::sync::watch::Sender<bool>,
    metrics: SequencerMetrics,
    stop: CancellationToken,
) {
    // The holder renews three times per lease; the others look for an expired lease ten
    // times per lease (a take that matches no row writes nothing), so a dead holder is
    // replaced at most a tenth of a lease after its lease runs out.
    let retry_leadership = (lease / 3).max(Duration::from_millis(50));
    let take_every = (lease / 10).max(Duration::from_millis(20));
    let mut seat = match repo.sequencer_seat(lease).await {
        Ok(seat) => seat,
        Err(e) => {
            tracing::error!(error = %crate::error::chain(&e), "the sequencer cannot open its connection; this replica will not sequence");
            return;
        }
    };
    let outbox = repo.outbox_signal();
    let mut checked = tokio::time::Instant::now() - retry_leadership;
    loop {
        if stop.is_cancelled() {
            break;
        }
        let mut wait = every;
        if checked.elapsed() >= retry_leadership || !seat.held() {
            checked = tokio::time::Instant::now();
            match seat.acquire().await {
                Ok(true) => {}
                Ok(false) => wait = take_every,
                Err(e) => {
                    tracing::warn!(error = %crate::error::chain(&e), "sequencer leadership check failed");
                    seat.lose();
                    wait = take_every;
                }
            }
        }
        metrics.leader.set(i64::from(seat.held()));
        leader.send_if_modified(|was| std::mem::replace(was, seat.held()) != seat.held());
        if seat.held() {
            metrics.rounds.inc();
            match seat.sequence_pending(BATCH).await {
                Ok(Round { numbered: 0, .. }) => {}
                Ok(Round { numbered: n, oldest }) => {
                    if let Some(at) = oldest {
                        let lag = (chrono::Utc::now() - at).to_std().unwrap_or_default();
                        metrics.lag.observe(lag.as_secs_f64());
                    }
                    if let Some(highest) = seat.highest() {
                        numbered.send_replace(highest);
                    }
                    if n == BATCH {
                        continue;
                    }
                }
                Err(e) => {
                    metrics.conflicts.inc();
                    tracing::warn!(error = %crate::error::chain(&e), "sequencing failed; retrying")
                }
            }
        }
        tokio::select! {
            _ = outbox.notified(), if seat.held() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => break,
        }
    }
    metrics.leader.set(0);
    leader.send_replace(false);
    seat.release().await;
}
