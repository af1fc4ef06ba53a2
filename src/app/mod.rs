//! Start-up and shutdown, in a fixed order.
//!
//! Start ([`serve`]): listen at once, health NOT_SERVING and reflection (v1 and v1alpha,
//! with health and the `google.rpc` error details) answering; meanwhile connect the pool
//! (retrying until the start-up timeout, logging why), migrate, settle the token-signing
//! secret (refusing a missing or weak one in production); then fill in the services behind
//! the layers (malformed framing, deadlines, auth), optionally over TLS. Shutdown: health
//! NOT_SERVING, stop accepting, end the streams and background tasks, give in-flight calls
//! the grace, end what still runs with UNAVAILABLE, close the pool (bounded).
//!
//! - [`serve`](serve()): the server and its shutdown.
//! - `health`: the health reporter and its database monitor.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic_health::server::HealthReporter;

use crate::auth::accounts::Accounts;
use crate::auth::layer::Gate;
use crate::auth::standing::Standings;
use crate::auth::{sealing, secret, token::Tokens};
use crate::config::Settings;
use crate::domain::Clock;
use crate::events::EventHub;
use crate::grpc::State;
use crate::jobs::Maintenance;
use crate::notify::webhooks::Deliverer;
use crate::observe::Metrics;
use crate::repo::Repo;

mod health;
mod serve;

use health::HealthMonitor;
use serve::forget_idle_callers;
pub use serve::{Listeners, serve};

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be reached or migrated.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Reflection could not read the descriptor sets.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// A connected, migrated service ready to serve.
#[derive(Debug)]
pub struct App {
    state: State,
    settings: Settings,
    stop: CancellationToken,
    tasks: TaskTracker,
    gate: Gate,
    standings: Standings,
    metrics: Metrics,
    /// The health check's own connection (see [`HealthMonitor`]).
    probe: Repo,
    /// Customers' mail, when an SMTP server is set.
    mailer: Option<Arc<crate::notify::mail::Mailer>>,
}

/// The data layer for a tool: connected once (no retries) and migrated.
pub async fn connect_and_migrate(settings: &Settings) -> Result<Repo, StartError> {
    let repo = Repo::connect(&settings.db(), settings.rules().map_err(StartError::Config)?).await?;
    repo.migrate().await?;
    Ok(repo)
}

/// The token minter for `settings`: the configured secret, or (quick start) the one kept
/// in the database, which is then connected and migrated.
pub async fn token_minter(settings: &Settings) -> Result<Tokens, StartError> {
    if let Some(s) = &settings.auth_secret {
        secret::check(s).map_err(StartError::Config)?;
        return Ok(settings.tokens(s));
    }
    let repo = connect_and_migrate(settings).await?;
    let s = secret::resolve(None, settings.secret_mode(), &repo).await.map_err(StartError::Config)?;
    repo.close().await?;
    Ok(settings.tokens(&s))
}

impl App {
    /// Connects (retrying until the start-up timeout) and migrates, with metrics of its own.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        Self::build_observed(settings, clock, Metrics::new()).await
    }

    /// [`App::build`], recording into `metrics` (which the server's layers and admin
    /// listener share).
    pub async fn build_observed(
        settings: Settings,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
    ) -> Result<Self, StartError> {
        let rules = settings.rules().map_err(StartError::Config)?;
        let limits = settings.limits().map_err(StartError::Config)?;
        secret::settle(settings.auth_secret.as_ref(), settings.secret_mode()).map_err(StartError::Config)?;
        if let Some(keys) = &settings.secrets_key {
            sealing::parse_keys(keys).map_err(StartError::Config)?;
        }
        let deadline = Instant::now() + Duration::from_secs(settings.db_startup_timeout_secs);
        let mut repo = loop {
            match Repo::connect(&settings.db(), rules.clone()).await {
                Ok(repo) => break repo,
                Err(e) if Instant::now() < deadline => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let cause = match crate::repo::unreachable_cause(&settings.database_url).await {
                        Some(transport) => transport,
                        None => crate::error::chain(&e),
                    };
                    tracing::warn!(
                        database = %crate::repo::describe_url(&settings.database_url),
                        %cause,
                        seconds_left = left.as_secs(),
                        "database not reachable yet; retrying (health NOT_SERVING meanwhile)"
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        repo.observe(metrics.db.clone());
        if settings.migrate {
            repo.migrate().await?;
        }
        let signing = secret::resolve(settings.auth_secret.as_ref(), settings.secret_mode(), &repo)
            .await
            .map_err(StartError::Config)?;
        let tokens = Arc::new(settings.tokens(&signing));
        let sealer = sealing::resolve(settings.secrets_key.as_ref(), settings.secret_mode(), &repo)
            .await
            .map_err(StartError::Config)?;
        match sealing::reseal(&repo, &sealer).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(webhooks = n, "sealed webhook secrets again with the current key"),
            Err(e) => {
                tracing::warn!(error = %crate::error::chain(&e), "sealing webhook secrets again failed; next start retries")
            }
        }
        let standings = Standings::default();
        if let Err(e) = standings.poll(&repo).await {
            // The poller retries; until then every call needs the database anyway.
            tracing::warn!(error = %crate::error::chain(&e), "reading account standings failed; retrying");
        }
        let mut accounts = Accounts::new(repo.clone(), tokens.clone(), standings.clone(), settings.accounts());
        accounts.observe(&metrics.security);
        let mut gate = Gate::new(tokens.clone(), standings.clone(), settings.rate());
        gate.observe(&metrics.security);
        let (stop, tasks) = (CancellationToken::new(), TaskTracker::new());
        let events = EventHub::start(repo.clone(), settings.events(), &metrics, stop.clone(), &tasks)
            .await
            .map_err(|e| StartError::Config(format!("the event log could not start: {e}")))?;
        let probe = repo.detached().await?;
        let streams = crate::grpc::streams::StreamLimit::new(settings.max_streams_per_principal);
        let mailer = match settings.mail() {
            Some(mail) => Some(Arc::new(
                crate::notify::mail::Mailer::new(repo.clone(), &mail, metrics.notify.clone())
                    .map_err(StartError::Config)?,
            )),
            None => None,
        };
        let webhooks = settings.webhooks().map_err(StartError::Config)?;
        let webhooks = Arc::new(
            Deliverer::new(repo.clone(), webhooks, sealer, metrics.notify.clone()).map_err(StartError::Config)?,
        );
        let state = State {
            repo,
            clock,
            limits,
            events,
            shutdown: stop.clone(),
            tasks: tasks.clone(),
            accounts,
            streams,
            webhooks,
            calls: settings.calls(),
            ice: Arc::new(settings.ice().map_err(StartError::Config)?),
            typing: crate::events::typing::TypingHub::new(tokens.clone()),
        };
        Ok(Self { state, settings, stop, tasks, gate, standings, metrics, probe, mailer })
    }

    /// The maintenance job (aging and SLA breaches) over this app's database and clock.
    pub fn maintenance(&self) -> Maintenance {
        let retention = chrono::Duration::hours(self.settings.event_retention_hours.min(1_000_000) as i64);
        Maintenance::new(self.state.repo.clone(), self.state.clock.clone(), retention)
    }

    /// The data layer (for tools and tests).
    pub fn repo(&self) -> &Repo {
        &self.state.repo
    }

    /// The token minter this app verifies with (for tools and tests).
    pub fn tokens(&self) -> Arc<Tokens> {
        self.state.accounts.tokens().clone()
    }

    /// Serves on `listener` until `shutdown` completes, then drains for a bounded time.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        self.run_with_admin(listener, None, shutdown).await
    }

    /// [`App::run`], with the admin listener (metrics and HTTP probes) on `admin`.
    pub async fn run_with_admin(
        self,
        listener: TcpListener,
        admin: Option<TcpListener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let (settings, metrics) = (self.settings.clone(), self.metrics.clone());
        serve(settings, Listeners { api: listener, admin }, metrics, shutdown, async move { Ok(self) }).await
    }

    /// This app's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The background work of a ready app, on its task tracker, until its stop (which the
    /// server's drain triggers): health, maintenance, idle callers, standings.
    fn start_background(
        &self,
        reporter: HealthReporter,
        unavailable: Arc<Notify>,
        draining: &CancellationToken,
        bound: Option<std::net::SocketAddr>,
    ) {
        // The drain ends the app's streams and background tasks.
        let (drained, stop) = (draining.clone(), self.stop.clone());
        self.tasks.spawn(async move {
            tokio::select! {
                _ = drained.cancelled() => stop.cancel(),
                _ = stop.cancelled() => {}
            }
        });
        let s = &self.settings;
        let stop = &self.stop;
        let health = HealthMonitor {
            repo: self.probe.clone(),
            reporter,
            every: Duration::from_millis(s.health_interval_ms.max(50)),
            ping_timeout: Duration::from_millis(s.health_ping_timeout_ms.max(10)),
            unavailable,
            events: self.state.events.clone(),
        };
        self.tasks.spawn(health.run(stop.clone()));
        let every = Duration::from_millis(s.maintenance_interval_ms.max(100));
        self.tasks.spawn(self.maintenance().run_every(every, self.metrics.clone(), stop.clone()));
        self.tasks.spawn(forget_idle_callers(self.gate.clone(), stop.clone()));
        let poll = Duration::from_millis(s.standing_poll_ms.max(50));
        self.tasks.spawn(self.standings.clone().run(self.state.repo.clone(), poll, stop.clone()));
        let (leader, latest) = (self.state.events.watch_leader(), self.state.events.watch_latest());
        self.tasks.spawn(self.state.webhooks.clone().run(leader.clone(), latest.clone(), stop.clone()));
        let (repo, clock) = (self.state.repo.clone(), self.state.clock.clone());
        self.tasks.spawn(crate::jobs::sweep_calls(repo, clock, self.state.calls, leader.clone(), stop.clone()));
        // Other replicas reach this one for typing indicators at the advertised address, or
        // at the one it listens on when that is a specific address.
        let advertise =
            s.advertise_addr.clone().or_else(|| bound.filter(|a| !a.ip().is_unspecified()).map(|a| a.to_string()));
        if advertise.is_none() {
            tracing::info!("no SUPPORT_ADVERTISE_ADDR: typing indicators reach subscribers of this replica only");
        }
        self.tasks.spawn(self.state.typing.clone().run(self.state.repo.clone(), advertise, stop.clone()));
        if let Some(mailer) = &self.mailer {
            self.tasks.spawn(mailer.clone().run(leader, latest, stop.clone()));
        }
    }
}

impl Drop for App {
    /// An app dropped unserved (or after serving) stops its background tasks.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
