//! The tailer: one reader of the event log per process. It reads each numbered event once,
//! in sequence order, and broadcasts it to every local subscriber. It wakes when the local
//! sequencer numbered something, and polls for events numbered by another replica (every
//! second only, as a safety net, while the sequencer is the local one).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::SharedEvent;
use super::fanout::Fanout;
use crate::repo::Repo;

const BATCH: u64 = 500;

/// How often the sequencer's own replica looks anyway: its sequencer tells it of every
/// event it numbers, so this is a safety net, not the way events arrive.
const LEADER_POLL: Duration = Duration::from_secs(1);

/// What wakes the tailer besides its poll.
#[derive(Debug)]
pub struct Wake {
    /// The highest sequence the local sequencer numbered (committed).
    pub numbered: watch::Receiver<i64>,
    /// Whether the local sequencer holds the lease (then it numbers every event).
    pub leader: watch::Receiver<bool>,
}

/// Reads from sequence `from` on until `stop`.
pub async fn run(
    repo: Repo,
    from: i64,
    live: Arc<Fanout>,
    latest: watch::Sender<i64>,
    wake: Wake,
    poll: Duration,
    stop: CancellationToken,
) {
    let Wake { mut numbered, mut leader } = wake;
    let mut last = from;
    loop {
        if stop.is_cancelled() {
            return;
        }
        loop {
            if !live.watched() {
                // Nobody watches here: move the cursor to the log's end without reading
                // (and decoding) events nobody gets. The end is read *before* looking again
                // for subscribers: one that arrives after that look has everything up to
                // the end in its snapshot (read after it subscribed) or, resuming, reads it
                // from the database in its catch-up, so nothing is skipped. While the local
                // sequencer leads, what it last numbered is the end without a query: never
                // past the committed end, and an end read too low only means reading events
                // a later subscriber already has, which it skips by sequence.
                let end =
                    if *leader.borrow() { Ok(*numbered.borrow_and_update()) } else { repo.latest_sequence().await };
                match end {
                    Ok(top) if !live.watched() => {
                        last = last.max(top);
                        live.jump(last);
                        latest.send_replace(last);
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %crate::error::chain(&e), "reading the event log failed; retrying");
                        break;
                    }
                }
            }
            match repo.events_after(last, BATCH).await {
                Ok(events) => {
                    let n = events.len() as u64;
                    for e in events {
                        last = e.sequence;
                        live.publish(SharedEvent::new(e));
                    }
                    latest.send_replace(last);
                    if n < BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %crate::error::chain(&e), "reading the event log failed; retrying");
                    break;
                }
            }
        }
        // Another replica's sequencer numbers events this one is not told of: poll for
        // them, unless the sequencer is here.
        let wait = if *leader.borrow_and_update() { poll.max(LEADER_POLL) } else { poll };
        tokio::select! {
            Ok(()) = numbered.changed() => {}
            Ok(()) = leader.changed() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => return,
        }
    }
}
