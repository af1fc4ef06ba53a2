//! One WatchQueue subscriber: a snapshot (or a resume point), then every later event in
//! sequence order, from the database until it catches up and from the live broadcast
//! after, with heartbeats when quiet. The subscriber is ended with a status it can act
//! on: RESOURCE_EXHAUSTED when it falls further behind the live stream than the buffer
//! holds (a slow or stalled reader), UNAVAILABLE on shutdown, OUT_OF_RANGE for a resume
//! point outside the retained history.
//!
//! The subscriber is the response stream itself, run by the transport's task for that
//! stream: an event wakes one task per subscriber, not a task and then the transport's.
//! A reader that stops reading stops being polled; the broadcast does not wait for it,
//! and its next read finds it lagged. Database reads (snapshot, resume check, catch-up)
//! take turns ([`EventHub::read_turn`]), so a reconnect storm queues cheaply instead of
//! parking a pending transaction per subscriber on the pool.

use std::collections::HashSet;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::fanout::Live;
use super::typing::TypingHub;
use super::{EventHub, SharedEvent};
use crate::domain::Ticket;
use crate::domain::access::TicketScope;
use crate::domain::event::{Delivery, QueueEvent, QueueFilter, Typing, reaches_reader};
use crate::domain::{Clock, DeliveryStatus};
use crate::error::{AppError, AppResult};
use crate::observe::metrics::WatchMetrics;
use crate::repo::Repo;

const CATCH_UP_BATCH: u64 = 500;

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
    /// The other party is typing (never stored, never replayed).
    Typing(Arc<Typing>),
}

/// What woke the live loop.
enum Wake {
    Live(Result<Live, broadcast::error::RecvError>),
    Typing(Arc<Typing>),
    Quiet,
}

/// Serves a subscriber; the stream ends with the error that ended it, if any. It listens
/// to `typing` only if it can get typing indicators ([`QueueFilter::takes_typing`]):
/// otherwise every event would make it poll that channel too, for nothing.
pub fn start(
    hub: EventHub,
    repo: Repo,
    clock: Arc<dyn Clock>,
    request: WatchRequest,
    scope: TicketScope,
    typing: Option<&TypingHub>,
) -> impl Stream<Item = AppResult<WatchItem>> + Send + 'static {
    // Subscribe before reading anything, so no event can fall between the two.
    let mut live = hub.subscribe(request.filter.department_id);
    let mut typing = typing.filter(|_| request.filter.takes_typing(&scope)).map(TypingHub::subscribe);
    let metrics = hub.metrics().clone();
    let subscribed = Subscribed::new(metrics.clone());
    let mut sub = Subscriber { hub, repo, clock, scope, filter: request.filter, last: 0, skip: HashSet::new() };
    let items = async_stream::try_stream! {
        let _subscribed = subscribed;
        // Behind: events after `sub.last` may be in the database without coming live (after
        // a resume point, or a gap the channel reported); read them before waiting again.
        // No catch-up after a snapshot: it ends at the database's latest sequence, read
        // after subscribing, so every event published before the subscription is in it,
        // and every later one comes live.
        // Each database read is on the heap for its time: held inline, the largest of them
        // would size the stream, which every subscriber holds for as long as it stays
        // (BENCHMARKS.md, issue 21, item 42).
        let mut behind = match request.resume_after {
            Some(r) => {
                metrics.resumed.inc();
                Box::pin(sub.check_resume(r)).await?;
                true
            }
            None => {
                let (tickets, end) = Box::pin(sub.snapshot()).await?;
                for t in tickets {
                    yield WatchItem::SnapshotTicket(Box::new(t));
                }
                yield end;
                false
            }
        };
        // The timer lives across events: made afresh for each, it would cost a timer
        // registration per event per subscriber. It is reset only when it fires.
        let heartbeat = sub.hub.settings().heartbeat;
        let mut last_sent = Instant::now();
        let quiet = tokio::time::sleep(heartbeat);
        tokio::pin!(quiet);
        loop {
            while behind {
                let (items, done) = Box::pin(sub.catch_up()).await?;
                metrics.events_sent.inc_by(items.len() as u64);
                for item in items {
                    yield item;
                }
                last_sent = Instant::now();
                behind = !done;
            }
            // In order, live events first: an event wakes every subscriber, and when it is
            // there nothing else is polled (unbiased, the order is random and most events
            // polled some of the others as well).
            let wake = tokio::select! {
                biased;
                received = live.recv() => Wake::Live(received),
                Some(t) = next_typing(&mut typing) => Wake::Typing(t),
                () = &mut quiet => Wake::Quiet,
            };
            match wake {
                // Already read from the database (or in the snapshot).
                Wake::Live(Ok(Live { event: e, .. })) if e.sequence <= sub.last => {}
                // Something sent on this channel before `e` never reached us: read
                // everything from the database, `e` included.
                Wake::Live(Ok(Live { prev, .. })) if prev > sub.last => behind = true,
                Wake::Live(Ok(Live { event: e, .. })) => {
                    if let Some(item) = sub.deliver(e) {
                        last_sent = Instant::now();
                        metrics.events_sent.inc();
                        yield item;
                    }
                }
                Wake::Live(Err(broadcast::error::RecvError::Lagged(n))) => {
                    metrics.lagged.inc();
                    Err(AppError::ResourceExhausted(format!(
                        "this subscriber fell {n} events behind the live stream; reconnect with resume_after={}",
                        sub.last
                    )))?;
                }
                // The live channels end when the server stops or loses its database
                // (`Fanout::close`), after what was sent on them.
                Wake::Live(Err(broadcast::error::RecvError::Closed)) => Err(sub.ended())?,
                Wake::Typing(t) => {
                    if sub.filter.wants_typing(&t, &sub.scope) {
                        yield WatchItem::Typing(t);
                    }
                }
                Wake::Quiet => {
                    let due = last_sent + heartbeat;
                    if due <= Instant::now() {
                        last_sent = Instant::now();
                        quiet.as_mut().reset(last_sent + heartbeat);
                        yield WatchItem::Heartbeat(sub.last);
                    } else {
                        quiet.as_mut().reset(due);
                    }
                }
            }
        }
    };
    futures::StreamExt::inspect(items, |item| {
        if let Err(e) = item {
            tracing::info!(reason = %e, "queue subscriber ended");
        }
    })
}

/// The next typing indicator, if the subscriber takes them (never, otherwise). A lagging
/// subscriber skips the ones it missed: they are hints.
async fn next_typing(typing: &mut Option<broadcast::Receiver<Arc<Typing>>>) -> Option<Arc<Typing>> {
    let Some(rx) = typing.as_mut() else { return std::future::pending().await };
    loop {
        match rx.recv().await {
            Ok(t) => return Some(t),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// Counts a subscriber while its stream lives.
struct Subscribed(WatchMetrics);

impl Subscribed {
    fn new(metrics: WatchMetrics) -> Self {
        metrics.subscribers.inc();
        Self(metrics)
    }
}

impl Drop for Subscribed {
    fn drop(&mut self) {
        self.0.subscribers.dec();
    }
}

struct Subscriber {
    hub: EventHub,
    repo: Repo,
    /// The time receipts are stamped with.
    clock: Arc<dyn Clock>,
    /// What the subscriber may see: applied to the snapshot query and to every event.
    scope: TicketScope,
    filter: QueueFilter,
    /// The last sequence processed (delivered or skipped).
    last: i64,
    /// Events reflected in the snapshot but numbered after it.
    skip: HashSet<i64>,
}

impl Subscriber {
    /// Why the live channel closed: the server is stopping, or it lost its database.
    fn ended(&self) -> AppError {
        let last = self.last;
        AppError::ShuttingDown(if self.hub.stopping() {
            format!("the server is shutting down; reconnect with resume_after={last}")
        } else {
            format!("this replica lost its database; reconnect through another replica with resume_after={last}")
        })
    }

    async fn check_resume(&mut self, r: i64) -> AppResult<()> {
        let turn = self.hub.read_turn().await?;
        let pruned = self.repo.pruned_through().await?;
        if r < pruned {
            return Err(AppError::OutOfRange(format!(
                "resume_after={r} is older than the retained history (events up to {pruned} were pruned); \
                 start fresh without resume_after"
            )));
        }
        let latest = self.repo.latest_sequence().await?;
        drop(turn);
        if r > latest {
            return Err(AppError::OutOfRange(format!(
                "resume_after={r} is ahead of the latest sequence {latest}; start fresh without resume_after"
            )));
        }
        self.last = r;
        Ok(())
    }

    /// The snapshot's tickets and its end marker.
    async fn snapshot(&mut self) -> AppResult<(Vec<Ticket>, WatchItem)> {
        let snap = {
            let _turn = self.hub.read_turn().await?;
            self.repo.queue_snapshot(&self.filter, &self.scope).await?
        };
        self.last = snap.sequence;
        self.skip = snap.pending;
        Ok((snap.tickets, WatchItem::SnapshotEnd(snap.sequence)))
    }

    /// Reads the next batch of numbered events from the database; true when it reached
    /// the end.
    async fn catch_up(&mut self) -> AppResult<(Vec<WatchItem>, bool)> {
        let events = {
            let _turn = self.hub.read_turn().await?;
            self.repo.events_after(self.last, CATCH_UP_BATCH).await?
        };
        let done = (events.len() as u64) < CATCH_UP_BATCH;
        let items = events.into_iter().filter_map(|e| self.deliver(SharedEvent::new(e))).collect();
        Ok((items, done))
    }

    /// Marks the message of `e` RECEIVED: it is on its way to its reader. In the background,
    /// so the stream never waits for the write; a failure leaves it SENT until listed.
    fn receipt(&self, e: &QueueEvent) {
        let (Some(log), repo, now) = (e.log.as_ref(), self.repo.clone(), self.clock.now()) else { return };
        let (ticket_id, ids) = (log.ticket_id, [log.id]);
        tokio::spawn(async move {
            let id = ids[0];
            let received = DeliveryStatus::Received;
            let marked = crate::repo::retry_conflicts(|| repo.advance_delivery(ticket_id, &ids, received, now));
            if let Err(e) = marked.await {
                tracing::debug!(error = %e, log_id = id, "a receipt was not recorded");
            }
        });
    }

    /// What the subscriber gets of `e`, if anything; `e` is processed either way.
    fn deliver(&mut self, e: Arc<SharedEvent>) -> Option<WatchItem> {
        self.last = e.sequence;
        // Most subscribers have nothing to skip; a removal would hash the id regardless, once
        // an event for every subscriber.
        if !self.skip.is_empty() && self.skip.remove(&e.id) {
            return None;
        }
        match self.filter.delivery(&e, &self.scope) {
            Delivery::Skip => None,
            Delivery::Send => {
                if reaches_reader(&e, &self.scope) {
                    self.receipt(&e);
                }
                Some(WatchItem::Event(e, false))
            }
            Delivery::Remove => Some(WatchItem::Event(e, true)),
        }
    }
}
