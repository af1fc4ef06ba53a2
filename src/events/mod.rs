//! The event log behind WatchQueue: every change writes an event in its own transaction
//! (`crate::repo::events::record`); the [`sequencer`] numbers committed events, gap-free,
//! one replica at a time; the [`tailer`] of each process reads numbered events once and
//! fans them out to that process's subscribers; [`watch`] serves one subscriber (snapshot
//! or resume, catch-up from the database, then live events), narrowed by the caller's
//! [`crate::domain::access::TicketScope`] in the snapshot query and on every event.

pub mod fanout;
pub mod sequencer;
pub mod tailer;
pub mod typing;
pub mod watch;

use std::ops::Deref;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;

use tokio::sync::{Semaphore, SemaphorePermit, broadcast, watch as w};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::event::QueueEvent;
use crate::error::{AppError, AppResult};
use crate::observe::Metrics;
use crate::observe::metrics::WatchMetrics;
use crate::repo::Repo;
use fanout::{Fanout, Live};

/// A numbered event as a process's subscribers share it: the event, and its encodings
/// for the transport (kept in the view, removed from it), made by the first subscriber
/// that sends it and reused by every other.
#[derive(Debug)]
pub struct SharedEvent {
    event: QueueEvent,
    wire: [OnceLock<Bytes>; 2],
}

impl SharedEvent {
    /// Shares `event`.
    pub fn new(event: QueueEvent) -> Arc<Self> {
        Arc::new(Self { event, wire: Default::default() })
    }

    /// The encoding for a subscriber that keeps (`removed` false) or drops the ticket;
    /// `encode` runs once per event and flag.
    pub fn wire(&self, removed: bool, encode: impl FnOnce(&QueueEvent) -> Bytes) -> Bytes {
        self.wire[usize::from(removed)].get_or_init(|| encode(&self.event)).clone()
    }
}

impl Deref for SharedEvent {
    type Target = QueueEvent;

    fn deref(&self) -> &QueueEvent {
        &self.event
    }
}

/// Tuning of the event log.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// How often the sequencer looks for events written through other replicas.
    pub sequencer_interval: Duration,
    /// How long the sequencer's lease lasts without renewal: the longest a dead
    /// sequencer goes unreplaced.
    pub sequencer_lease: Duration,
    /// How often a tailer looks for events numbered by another replica's sequencer.
    pub poll_interval: Duration,
    /// Events a subscriber may fall behind the live stream before it is ended with
    /// RESOURCE_EXHAUSTED.
    pub subscriber_buffer: usize,
    /// Subscribers reading the database at once (snapshots, resumes, catch-up); the rest
    /// wait their turn in order.
    pub subscriber_reads: usize,
    /// How long a quiet stream waits before sending a heartbeat.
    pub heartbeat: Duration,
}

/// The process's view of the event log: live events and the latest sequence.
#[derive(Debug, Clone)]
pub struct EventHub {
    live: Arc<Fanout>,
    latest: w::Receiver<i64>,
    /// Whether this replica is the sequencer.
    leader: w::Receiver<bool>,
    settings: Arc<EventSettings>,
    /// Turns for subscribers' database reads. A reconnect storm of 10,000 subscribers
    /// otherwise parks 10,000 transactions-to-be on the pool, ~14 KiB each, and crowds
    /// the writers out of it.
    reads: Arc<Semaphore>,
    /// Subscribers, events sent, lag and resumes.
    metrics: WatchMetrics,
    /// Cancelled when the server stops.
    stop: CancellationToken,
}

impl EventHub {
    /// Starts the sequencer and the tailer on `tasks`; they stop when `stop` is cancelled,
    /// and subscribers waiting for a database read are then turned away.
    pub async fn start(
        repo: Repo,
        settings: EventSettings,
        metrics: &Metrics,
        stop: CancellationToken,
        tasks: &TaskTracker,
    ) -> AppResult<Self> {
        let start = repo.latest_sequence().await?;
        let (numbered_tx, numbered) = w::channel(start);
        let live = Arc::new(Fanout::new(settings.subscriber_buffer, start));
        let (latest_tx, latest) = w::channel(start);
        let sequencer = metrics.sequencer.clone();
        let (leader_tx, leader) = w::channel(false);
        tasks.spawn(sequencer::run(
            repo.clone(),
            settings.sequencer_interval,
            settings.sequencer_lease,
            numbered_tx,
            leader_tx,
            sequencer,
            stop.clone(),
        ));
        let reads = Arc::new(Semaphore::new(settings.subscriber_reads.max(1)));
        // Stopping turns away subscribers waiting for a read, and ends the live ones.
        tasks.spawn({
            let (reads, live, stop) = (reads.clone(), live.clone(), stop.clone());
            async move {
                stop.cancelled().await;
                reads.close();
                live.close();
            }
        });
        // The tailer reads on a connection of its own, without causality waits: a Galera
        // node's lag only delays what it reads, and it never waits for a pooled connection.
        let tail = repo.detached().await?;
        let wake = tailer::Wake { numbered, leader: leader.clone() };
        tasks.spawn(tailer::run(tail, start, live.clone(), latest_tx, wake, settings.poll_interval, stop.clone()));
        Ok(Self { live, latest, leader, settings: Arc::new(settings), reads, metrics: metrics.watch.clone(), stop })
    }

    /// Ends every subscriber's stream with UNAVAILABLE: this replica lost its database, so
    /// they should resume (with `resume_after`) through another replica.
    pub fn database_lost(&self) {
        self.live.close();
    }

    /// Whether the server is stopping (else a closed live channel means this replica lost
    /// its database).
    pub(crate) fn stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// The WatchQueue metrics.
    pub(crate) fn metrics(&self) -> &WatchMetrics {
        &self.metrics
    }

    /// Live events from now on: of one department (see [`Fanout::subscribe`]) or all.
    pub fn subscribe(&self, department: Option<i64>) -> broadcast::Receiver<Live> {
        self.live.subscribe(department)
    }

    /// The latest sequence this process has read.
    pub fn latest(&self) -> i64 {
        *self.latest.borrow()
    }

    /// The latest sequence, watched.
    pub fn watch_latest(&self) -> w::Receiver<i64> {
        self.latest.clone()
    }

    /// Whether this replica is the event sequencer, watched.
    pub fn watch_leader(&self) -> w::Receiver<bool> {
        self.leader.clone()
    }

    /// The settings.
    pub fn settings(&self) -> &EventSettings {
        &self.settings
    }

    /// Waits for a turn to read the database for a subscriber; the turn ends with the
    /// permit. Fails once the server is shutting down.
    pub async fn read_turn(&self) -> AppResult<SemaphorePermit<'_>> {
        self.reads.acquire().await.map_err(|_| AppError::ShuttingDown("the server is shutting down".into()))
    }
}
