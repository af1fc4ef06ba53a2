//! One WatchQueue subscriber: a snapshot (or a resume point), then every later event in
//! sequence order, from the database until it catches up and from the live broadcast
//! after, with heartbeats when quiet. The subscriber is ended with a status it can act
//! on: RESOURCE_EXHAUSTED when it falls behind or stops reading, UNAVAILABLE on shutdown,
//! OUT_OF_RANGE for a resume point outside the retained history.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures::Stream;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use super::fanout::Live;
use super::{EventHub, SharedEvent};
use crate::domain::Ticket;
use crate::domain::access::TicketScope;
use crate::domain::event::{Delivery, QueueFilter};
use crate::error::{AppError, AppResult};
use crate::repo::Repo;

const CATCH_UP_BATCH: u64 = 500;
/// Items between the subscriber's task and the transport.
const OUTLET: usize = 64;

/// What a subscriber asked for.
#[derive(Debug, Clone, Default)]
pub struct WatchRequest {
    /// The filter.
    pub filter: QueueFilter,
    /// Resume after this sequence; None starts with a snapshot.
    pub resume_after: Option<i64>,
}

/// One item of the stream.
#[derive(Debug, Clone)]
pub enum WatchItem {
    /// A ticket of the snapshot.
    SnapshotTicket(Box<Ticket>),
    /// The end of the snapshot, with the sequence it reflects.
    SnapshotEnd(i64),
    /// An event; `removed` when the ticket left the view.
    Event(Arc<SharedEvent>, bool),
    /// Nothing new up to this sequence.
    Heartbeat(i64),
}

/// Why the stream ended, shared with the transport side.
type EndSlot = Arc<Mutex<Option<AppError>>>;

/// Starts serving a subscriber; the stream ends with the error that ended it, if any.
pub fn start(
    hub: EventHub,
    repo: Repo,
    request: WatchRequest,
    scope: TicketScope,
    shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = AppResult<WatchItem>> + Send + 'static {
    let (tx, rx) = mpsc::channel(OUTLET);
    let end: EndSlot = Arc::new(Mutex::new(None));
    let slot = end.clone();
    // Subscribe before reading anything, so no event can fall between the two.
    let live = hub.subscribe(request.filter.department_id);
    tokio::spawn(async move {
        let mut sub = Subscriber {
            hub,
            repo,
            scope,
            filter: request.filter,
            tx,
            last: 0,
            skip: HashSet::new(),
            last_sent: Instant::now(),
        };
        if let Err(e) = sub.serve(request.resume_after, live, shutdown).await {
            tracing::info!(reason = %e, last = sub.last, "queue subscriber ended");
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        }
    });
    futures::stream::unfold((rx, Some(end)), |(mut rx, end)| async move {
        match rx.recv().await {
            Some(item) => Some((Ok(item), (rx, end))),
            None => {
                let error = end.and_then(|slot| slot.lock().unwrap_or_else(|p| p.into_inner()).take());
                error.map(|e| (Err(e), (rx, None)))
            }
        }
    })
}

struct Subscriber {
    hub: EventHub,
    repo: Repo,
    /// What the subscriber may see: applied to the snapshot query and to every event.
    scope: TicketScope,
    filter: QueueFilter,
    tx: mpsc::Sender<WatchItem>,
    /// The last sequence processed (delivered or skipped).
    last: i64,
    /// Events reflected in the snapshot but numbered after it.
    skip: HashSet<i64>,
    /// When the last item went to the outlet (heartbeats fill silences longer than the
    /// heartbeat interval).
    last_sent: Instant,
}

/// Ok(false) when the subscriber went away.
type Sent = AppResult<bool>;

impl Subscriber {
    async fn serve(
        &mut self,
        resume_after: Option<i64>,
        mut live: broadcast::Receiver<Live>,
        mut shutdown: watch::Receiver<bool>,
    ) -> AppResult<()> {
        match resume_after {
            Some(r) => self.check_resume(r).await?,
            None => {
                if !self.snapshot().await? {
                    return Ok(());
                }
            }
        }
        if !self.catch_up(None).await? {
            return Ok(());
        }
        // The timers and wake-ups below live across iterations: made afresh for each event,
        // they cost a timer registration and two waiter-list insertions per event per
        // subscriber, which with 1,000 subscribers was a large share of the server's CPU
        // (`bench watch`, BENCHMARKS.md). The heartbeat timer is reset only when it fires.
        let heartbeat = self.hub.settings().heartbeat;
        let quiet = tokio::time::sleep(heartbeat);
        tokio::pin!(quiet);
        let stopping = async move { shutdown.wait_for(|s| *s).await.map(drop) };
        tokio::pin!(stopping);
        let outlet = self.tx.clone();
        let gone = outlet.closed();
        tokio::pin!(gone);
        loop {
            tokio::select! {
                received = live.recv() => match received {
                    Ok(Live { prev, event: e }) => {
                        if e.sequence <= self.last {
                            continue;
                        }
                        // Something sent on this channel before `e` never reached us: read
                        // everything up to `e` from the database.
                        if prev > self.last && !self.catch_up(Some(e.sequence - 1)).await? {
                            return Ok(());
                        }
                        if e.sequence > self.last && !self.deliver(e).await? {
                            return Ok(());
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        return Err(AppError::ResourceExhausted(format!(
                            "this subscriber fell {n} events behind the live stream; reconnect with resume_after={}",
                            self.last
                        )));
                    }
                    Err(broadcast::error::RecvError::Closed) => return Err(self.shutting_down()),
                },
                () = &mut quiet => {
                    let due = self.last_sent + heartbeat;
                    if due <= Instant::now() {
                        if !self.send(WatchItem::Heartbeat(self.last)).await? {
                            return Ok(());
                        }
                        quiet.as_mut().reset(Instant::now() + heartbeat);
                    } else {
                        quiet.as_mut().reset(due);
                    }
                }
                _ = &mut stopping => return Err(self.shutting_down()),
                () = &mut gone => return Ok(()),
            }
        }
    }

    fn shutting_down(&self) -> AppError {
        AppError::ShuttingDown(format!("the server is shutting down; reconnect with resume_after={}", self.last))
    }

    async fn check_resume(&mut self, r: i64) -> AppResult<()> {
        let pruned = self.repo.pruned_through().await?;
        if r < pruned {
            return Err(AppError::OutOfRange(format!(
                "resume_after={r} is older than the retained history (events up to {pruned} were pruned); \
                 start fresh without resume_after"
            )));
        }
        let latest = self.repo.latest_sequence().await?;
        if r > latest {
            return Err(AppError::OutOfRange(format!(
                "resume_after={r} is ahead of the latest sequence {latest}; start fresh without resume_after"
            )));
        }
        self.last = r;
        Ok(())
    }

    async fn snapshot(&mut self) -> Sent {
        let snap = self.repo.queue_snapshot(&self.filter, &self.scope).await?;
        for t in snap.tickets {
            if !self.send(WatchItem::SnapshotTicket(Box::new(t))).await? {
                return Ok(false);
            }
        }
        self.last = snap.sequence;
        self.skip = snap.pending;
        self.send(WatchItem::SnapshotEnd(snap.sequence)).await
    }

    /// Reads numbered events from the database, through `until` or to the end.
    async fn catch_up(&mut self, until: Option<i64>) -> Sent {
        loop {
            let events = self.repo.events_after(self.last, CATCH_UP_BATCH).await?;
            let n = events.len() as u64;
            for e in events {
                if until.is_some_and(|u| e.sequence > u) {
                    return Ok(true);
                }
                if !self.deliver(SharedEvent::new(e)).await? {
                    return Ok(false);
                }
            }
            if n < CATCH_UP_BATCH || until.is_some_and(|u| self.last >= u) {
                return Ok(true);
            }
        }
    }

    async fn deliver(&mut self, e: Arc<SharedEvent>) -> Sent {
        self.last = e.sequence;
        if self.skip.remove(&e.id) {
            return Ok(true);
        }
        match self.filter.delivery(&e, &self.scope) {
            Delivery::Skip => Ok(true),
            Delivery::Send => self.send(WatchItem::Event(e, false)).await,
            Delivery::Remove => self.send(WatchItem::Event(e, true)).await,
        }
    }

    async fn send(&mut self, item: WatchItem) -> Sent {
        self.last_sent = Instant::now();
        // The common case, room in the outlet, needs no timer.
        let item = match self.tx.try_send(item) {
            Ok(()) => return Ok(true),
            Err(mpsc::error::TrySendError::Closed(_)) => return Ok(false),
            Err(mpsc::error::TrySendError::Full(item)) => item,
        };
        let stall = self.hub.settings().stall_timeout;
        match tokio::time::timeout(stall, self.tx.send(item)).await {
            Ok(Ok(())) => Ok(true),
            Ok(Err(_)) => Ok(false),
            Err(_) => Err(AppError::ResourceExhausted(format!(
                "this subscriber stopped reading for {} ms; reconnect with resume_after={}",
                stall.as_millis(),
                self.last
            ))),
        }
    }
}
