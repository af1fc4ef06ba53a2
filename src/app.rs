//! Start-up and shutdown, in a fixed order.
//!
//! Start: load the policy, connect the pool (retrying until the start-up timeout),
//! migrate, settle the token-signing secret (refusing a missing or weak one in
//! production), then serve: health held NOT_SERVING until the database answers,
//! reflection v1 and v1alpha over the contract, health and the `google.rpc` error
//! details, and the services behind the auth layer (optionally over TLS). Shutdown: health NOT_SERVING, stop accepting, give in-flight calls a
//! bounded time, close the pool.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::auth::accounts::Accounts;
use crate::auth::layer::{AuthLayer, Gate};
use crate::auth::standing::Standings;
use crate::auth::{secret, token::Tokens};
use crate::config::Settings;
use crate::domain::Clock;
use crate::events::EventHub;
use crate::grpc::call::CallLayer;
use crate::grpc::coalesce::Coalesce;
use crate::grpc::malformed::MalformedLayer;
use crate::grpc::starting::{Slot, Starting};
use crate::grpc::{
    State, agent::AgentApi, auth::AuthApi, customer::CustomerApi, department::DepartmentApi, log::LogApi,
    report::ReportApi, ticket::TicketApi,
};
use crate::jobs::Maintenance;
use crate::pb;
use crate::pb::{
    agent_service_server::AgentServiceServer, auth_service_server::AuthServiceServer,
    customer_service_server::CustomerServiceServer, department_service_server::DepartmentServiceServer,
    log_service_server::LogServiceServer, report_service_server::ReportServiceServer,
    ticket_service_server::TicketServiceServer,
};
use crate::repo::Repo;

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

/// Every service name that health reports on ("" is the whole server).
const SERVICES: &[&str] = &[
    "",
    pb::department_service_server::SERVICE_NAME,
    pb::customer_service_server::SERVICE_NAME,
    pb::agent_service_server::SERVICE_NAME,
    pb::ticket_service_server::SERVICE_NAME,
    pb::log_service_server::SERVICE_NAME,
    pb::auth_service_server::SERVICE_NAME,
    pb::report_service_server::SERVICE_NAME,
];

/// A connected, migrated service ready to serve.
#[derive(Debug)]
pub struct App {
    state: State,
    settings: Settings,
    stop: CancellationToken,
    tasks: TaskTracker,
    gate: Gate,
    standings: Standings,
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
    /// Connects (retrying until the start-up timeout) and migrates.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let rules = settings.rules().map_err(StartError::Config)?;
        let limits = settings.limits().map_err(StartError::Config)?;
        secret::settle(settings.auth_secret.as_ref(), settings.secret_mode()).map_err(StartError::Config)?;
        let deadline = Instant::now() + Duration::from_secs(settings.db_startup_timeout_secs);
        let repo = loop {
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
        if settings.migrate {
            repo.migrate().await?;
        }
        let signing = secret::resolve(settings.auth_secret.as_ref(), settings.secret_mode(), &repo)
            .await
            .map_err(StartError::Config)?;
        let tokens = Arc::new(settings.tokens(&signing));
        let standings = Standings::default();
        if let Err(e) = standings.poll(&repo).await {
            // The poller retries; until then every call needs the database anyway.
            tracing::warn!(error = %crate::error::chain(&e), "reading account standings failed; retrying");
        }
        let accounts = Accounts::new(repo.clone(), tokens.clone(), standings.clone(), settings.accounts());
        let gate = Gate::new(tokens, standings.clone(), settings.rate());
        let (stop, tasks) = (CancellationToken::new(), TaskTracker::new());
        let events = EventHub::start(repo.clone(), settings.events(), stop.clone(), &tasks)
            .await
            .map_err(|e| StartError::Config(format!("the event log could not start: {e}")))?;
        let streams = crate::grpc::streams::StreamLimit::new(settings.max_streams_per_principal);
        let state =
            State { repo, clock, limits, events, shutdown: stop.clone(), tasks: tasks.clone(), accounts, streams };
        Ok(Self { state, settings, stop, tasks, gate, standings })
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
        let settings = self.settings.clone();
        serve(settings, listener, shutdown, async move { Ok(self) }).await
    }

    /// The generated services over this app's state.
    fn services(&self) -> Services {
        let max = self.settings.max_request_bytes;
        let s = &self.state;
        Services {
            departments: DepartmentServiceServer::new(DepartmentApi(s.clone())).max_decoding_message_size(max),
            customers: CustomerServiceServer::new(CustomerApi(s.clone())).max_decoding_message_size(max),
            agents: AgentServiceServer::new(AgentApi(s.clone())).max_decoding_message_size(max),
            tickets: TicketServiceServer::new(TicketApi(s.clone())).max_decoding_message_size(max),
            logs: LogServiceServer::new(LogApi(s.clone())).max_decoding_message_size(max),
            auth: AuthServiceServer::new(AuthApi(s.clone())).max_decoding_message_size(max),
            reports: ReportServiceServer::new(ReportApi(s.clone())).max_decoding_message_size(max),
        }
    }

    /// The background work of a ready app, on its task tracker, until its stop: health,
    /// maintenance, idle callers, standings.
    fn start_background(&self, reporter: HealthReporter, unavailable: Arc<Notify>) {
        let s = &self.settings;
        let stop = &self.stop;
        let health = HealthMonitor {
            repo: self.state.repo.clone(),
            reporter,
            every: Duration::from_millis(s.health_interval_ms.max(50)),
            ping_timeout: Duration::from_millis(s.health_ping_timeout_ms.max(10)),
            unavailable,
        };
        self.tasks.spawn(health.run(stop.clone()));
        let every = Duration::from_millis(s.maintenance_interval_ms.max(100));
        self.tasks.spawn(self.maintenance().run_every(every, stop.clone()));
        self.tasks.spawn(forget_idle_callers(self.gate.clone(), stop.clone()));
        let poll = Duration::from_millis(s.standing_poll_ms.max(50));
        self.tasks.spawn(self.standings.clone().run(self.state.repo.clone(), poll, stop.clone()));
    }
}

impl Drop for App {
    /// An app dropped unserved (or after serving) stops its background tasks.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The services, built once the database is ready.
#[derive(Debug)]
struct Services {
    departments: DepartmentServiceServer<DepartmentApi>,
    customers: CustomerServiceServer<CustomerApi>,
    agents: AgentServiceServer<AgentApi>,
    tickets: TicketServiceServer<TicketApi>,
    logs: LogServiceServer<LogApi>,
    auth: AuthServiceServer<AuthApi>,
    reports: ReportServiceServer<ReportApi>,
}

/// The slots the ready app fills: the gate and each service.
#[derive(Debug, Default, Clone)]
struct Slots {
    gate: Slot<Gate>,
    departments: Slot<DepartmentServiceServer<DepartmentApi>>,
    customers: Slot<CustomerServiceServer<CustomerApi>>,
    agents: Slot<AgentServiceServer<AgentApi>>,
    tickets: Slot<TicketServiceServer<TicketApi>>,
    logs: Slot<LogServiceServer<LogApi>>,
    auth: Slot<AuthServiceServer<AuthApi>>,
    reports: Slot<ReportServiceServer<ReportApi>>,
}

impl Slots {
    fn fill(&self, app: &App) {
        let s = app.services();
        self.departments.fill(s.departments);
        self.customers.fill(s.customers);
        self.agents.fill(s.agents);
        self.tickets.fill(s.tickets);
        self.logs.fill(s.logs);
        self.auth.fill(s.auth);
        self.reports.fill(s.reports);
        // Last: with the gate set, calls reach the services.
        self.gate.fill(app.gate.clone());
    }
}

/// Serves on `listener` at once: health (NOT_SERVING) and reflection answer while `app`
/// connects and migrates, and every other call is UNAVAILABLE until it is ready. Runs until
/// `shutdown` completes, then: health NOT_SERVING, stop accepting, end the streams, give
/// calls the grace, end what still runs with UNAVAILABLE, close the pool (bounded).
pub async fn serve(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    app: impl Future<Output = Result<App, StartError>>,
) -> Result<(), StartError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    set_health(&reporter, ServingStatus::NotServing).await;
    let slots = Slots::default();
    let draining = CancellationToken::new();
    let hard_stop = CancellationToken::new();
    let unavailable = Arc::new(Notify::new());
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(pb::ERROR_DETAILS_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let mut server = Server::builder();
    if let Some(tls) = tls(&settings)? {
        server = server.tls_config(tls)?;
    }
    let calls = CallLayer {
        deadline: Duration::from_millis(settings.call_deadline_ms.max(1)),
        hard_stop: hard_stop.clone(),
        unavailable: unavailable.clone(),
    };
    let router = server
        .trace_fn(|req| tracing::info_span!("rpc", method = %req.uri().path(), subject = tracing::field::Empty))
        .layer(MalformedLayer)
        .layer(calls)
        .layer(AuthLayer(slots.gate.clone()))
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(Starting(slots.departments.clone()))
        .add_service(Starting(slots.customers.clone()))
        .add_service(Starting(slots.agents.clone()))
        .add_service(Starting(slots.tickets.clone()))
        .add_service(Starting(slots.logs.clone()))
        .add_service(Starting(slots.auth.clone()))
        .add_service(Starting(slots.reports.clone()));

    let signal_reporter = reporter.clone();
    let signalled = draining.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: health NOT_SERVING, draining");
        signalled.cancel();
        set_health(&signal_reporter, ServingStatus::NotServing).await;
    };
    // TCP_NODELAY on every accepted connection: without it a response written in two
    // parts (a large body, then the trailers) waits for the client's delayed ACK, a
    // ~40 ms stall per call (Nagle's algorithm), measured by `bench list-tickets`.
    // Each connection's writes are consolidated into one system call per scheduler
    // turn (see `crate::grpc::coalesce`).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true)).map(|c| c.map(Coalesce::new));
    let serve = router.serve_with_incoming_shutdown(incoming, signal);
    tokio::pin!(serve);

    // Start-up, while health and reflection already answer.
    // Biased: an app that is ready already (tests, the bench) is filled in before the first
    // connection is accepted.
    let app = tokio::select! {
        biased;
        app = app => app?,
        served = &mut serve => {
            tracing::info!("stopped before the service was ready");
            return served.map_err(StartError::from);
        }
    };
    slots.fill(&app);
    app.start_background(reporter, unavailable);
    tracing::info!("ready");
    // The drain ends the app's streams and background tasks.
    let (drained, stop) = (draining.clone(), app.stop.clone());
    app.tasks.spawn(async move {
        tokio::select! {
            _ = drained.cancelled() => stop.cancel(),
            _ = stop.cancelled() => {}
        }
    });

    let grace = Duration::from_millis(settings.shutdown_grace_ms);
    let result = tokio::select! {
        r = &mut serve => r.map_err(StartError::from),
        _ = async { draining.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "drain timed out; ending the calls still running with UNAVAILABLE");
            hard_stop.cancel();
            // A moment for those answers to leave; connections still open then are dropped.
            let _ = tokio::time::timeout(FLUSH, &mut serve).await;
            Ok(())
        }
    };
    // Every task and stream was told to stop when the drain began; wait for what is left.
    app.stop.cancel();
    app.tasks.close();
    if tokio::time::timeout(FLUSH, app.tasks.wait()).await.is_err() {
        tracing::warn!(left = app.tasks.len(), "background tasks still running at exit (a hung database?)");
    }
    match tokio::time::timeout(FLUSH, app.state.repo.clone().close()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %crate::error::chain(&e), "closing the database pool failed"),
        Err(_) => tracing::warn!("the database did not answer the pool's close in time; leaving it"),
    }
    tracing::info!("stopped");
    result
}

/// How long the answers of calls ended at the hard stop, and the pool's close, may take.
const FLUSH: Duration = Duration::from_millis(500);

/// The TLS settings, when a certificate and key are configured.
fn tls(settings: &Settings) -> Result<Option<ServerTlsConfig>, StartError> {
    let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) else {
        return Ok(None);
    };
    let read = |p: &std::path::PathBuf| {
        std::fs::read(p).map_err(|e| StartError::Config(format!("cannot read {}: {e}", p.display())))
    };
    Ok(Some(ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?))))
}

/// Drops the rate-limit buckets of callers gone quiet, once a minute.
async fn forget_idle_callers(gate: Gate, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => gate.forget_idle(),
            _ = stop.cancelled() => return,
        }
    }
}

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    for name in SERVICES {
        reporter.set_service_status(*name, status).await;
    }
}

/// Reports SERVING while the database answers a ping within its timeout; pings every
/// interval, and at once when a call ended UNAVAILABLE.
struct HealthMonitor {
    repo: Repo,
    reporter: HealthReporter,
    every: Duration,
    ping_timeout: Duration,
    unavailable: Arc<Notify>,
}

impl HealthMonitor {
    async fn run(self, stop: CancellationToken) {
        let mut last = None;
        loop {
            let status = match tokio::time::timeout(self.ping_timeout, self.repo.ping()).await {
                Ok(Ok(())) => ServingStatus::Serving,
                Ok(Err(e)) => {
                    if last != Some(ServingStatus::NotServing) {
                        tracing::error!(error = %crate::error::chain(&e), "database health check failed");
                    }
                    ServingStatus::NotServing
                }
                Err(_) => {
                    if last != Some(ServingStatus::NotServing) {
                        tracing::error!(
                            timeout_ms = self.ping_timeout.as_millis() as u64,
                            "database health check timed out"
                        );
                    }
                    ServingStatus::NotServing
                }
            };
            if stop.is_cancelled() {
                return;
            }
            if last != Some(status) {
                set_health(&self.reporter, status).await;
                last = Some(status);
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = self.unavailable.notified() => {}
                _ = stop.cancelled() => return,
            }
        }
    }
}
