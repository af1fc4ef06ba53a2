//! Background jobs: aging re-scores and SLA breach flags, on an interval, with time from
//! the injectable clock (tests call [`Maintenance::run_once`] after moving a manual clock).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::Clock;
use crate::error::AppResult;
use crate::observe::Metrics;
use crate::repo::Repo;

/// What one run changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaintenanceReport {
    /// Tickets whose score changed with age.
    pub rescored: u64,
    /// Tickets that gained an SLA breach flag.
    pub breached: u64,
    /// Events pruned past the retention.
    pub pruned: u64,
}

/// The maintenance job.
#[derive(Debug, Clone)]
pub struct Maintenance {
    repo: Repo,
    clock: Arc<dyn Clock>,
    retention: chrono::Duration,
    prune_batch: u64,
}

/// How calls ring and how their relays are watched.
#[derive(Debug, Clone, Copy)]
pub struct CallSettings {
    /// How long a call rings before it ends as MISSED.
    pub ring: chrono::Duration,
    /// How often the sweeper looks for calls that rang out or lost a relay.
    pub sweep: Duration,
    /// A relay not seen for this long is lost (its replica died): the call ends as FAILED.
    pub stale: chrono::Duration,
}

/// Ends calls that rang out or lost a relay, every `settings.sweep`, while this replica is
/// the sequencer (`leader`): one sweeper per cluster, moving with the lease.
pub async fn sweep_calls(
    repo: Repo,
    clock: Arc<dyn Clock>,
    settings: CallSettings,
    leader: tokio::sync::watch::Receiver<bool>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(settings.sweep) => {}
            _ = stop.cancelled() => return,
        }
        if !*leader.borrow() {
            continue;
        }
        match repo.sweep_calls(clock.now(), settings.stale).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(ended = n, "calls ended by the sweeper"),
            Err(e) => tracing::warn!(error = %crate::error::chain(&e), "call sweep failed; retrying"),
        }
    }
}

/// Events one pruning transaction deletes at most.
const PRUNE_BATCH: u64 = 5_000;

impl Maintenance {
    /// A job over `repo` with time from `clock`, keeping events for `retention`.
    pub fn new(repo: Repo, clock: Arc<dyn Clock>, retention: chrono::Duration) -> Self {
        Self { repo, clock, retention, prune_batch: PRUNE_BATCH }
    }

    /// Prunes at most `n` events per transaction (tests use small batches).
    pub fn prune_batch(mut self, n: u64) -> Self {
        self.prune_batch = n.max(1);
        self
    }

    /// Ages open tickets, then flags breaches (after aging, so due times are current).
    pub async fn run_once(&self) -> AppResult<MaintenanceReport> {
        let now = self.clock.now();
        let rescored = self.repo.age_open_tickets(now).await?;
        let breached = self.repo.mark_sla_breaches(now).await?;
        let pruned = self.repo.prune_events(now - self.retention, self.prune_batch).await?;
        Ok(MaintenanceReport { rescored, breached, pruned })
    }

    /// Runs every `every` until `stop` is cancelled, recording each run in `metrics`.
    pub async fn run_every(self, every: Duration, metrics: Metrics, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
            let started = std::time::Instant::now();
            let run = self.run_once().await;
            metrics.job_run("maintenance", started.elapsed(), run.is_ok());
            match run {
                Ok(r) if r.rescored + r.breached + r.pruned > 0 => {
                    tracing::info!(rescored = r.rescored, breached = r.breached, pruned = r.pruned, "maintenance run")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %crate::error::chain(&e), "maintenance run failed; retrying next interval")
                }
            }
        }
    }
}
