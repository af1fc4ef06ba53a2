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
use tokio::sync::watch;
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
use crate::grpc::coalesce::Coalesce;
use crate::grpc::malformed::MalformedLayer;
use crate::grpc::{
    State, agent::AgentApi, auth::AuthApi, customer::CustomerApi, department::DepartmentApi, log::LogApi,
    report::ReportApi, ticket::TicketApi,
};
use crate::jobs::Maintenance;
use crate::pb;
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
    stop: watch::Sender<bool>,
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
                    tracing::warn!(error = %e, "database not reachable yet; retrying");
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
        let (stop, stop_rx) = watch::channel(false);
        let events = EventHub::start(repo.clone(), settings.events(), stop_rx.clone())
            .await
            .map_err(|e| StartError::Config(format!("the event log could not start: {e}")))?;
        let state = State { repo, clock, limits, events, shutdown: stop_rx, accounts };
        Ok(Self { state, settings, stop, gate, standings })
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
        let (reporter, health) = tonic_health::server::health_reporter();
        set_health(&reporter, ServingStatus::NotServing).await;
        let stop_tx = self.stop.clone();
        let stop_rx = self.stop.subscribe();
        let monitor = tokio::spawn(monitor_health(
            self.state.repo.clone(),
            reporter.clone(),
            Duration::from_millis(self.settings.health_interval_ms.max(50)),
            stop_rx.clone(),
        ));

        let jobs = tokio::spawn(
            self.maintenance()
                .run_every(Duration::from_millis(self.settings.maintenance_interval_ms.max(100)), stop_rx.clone()),
        );

        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(pb::ERROR_DETAILS_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let housekeeping = tokio::spawn(forget_idle_callers(self.gate.clone(), stop_rx.clone()));
        let cancel = tokio_util::sync::CancellationToken::new();
        let standings = tokio::spawn(self.standings.clone().run(
            self.state.repo.clone(),
            Duration::from_millis(self.settings.standing_poll_ms.max(50)),
            cancel.clone(),
        ));
        let max = self.settings.max_request_bytes;
        let s = &self.state;
        let mut server = Server::builder();
        if let Some(tls) = self.tls()? {
            server = server.tls_config(tls)?;
        }
        let router = server
            .trace_fn(|req| tracing::info_span!("rpc", method = %req.uri().path(), subject = tracing::field::Empty))
            .layer(MalformedLayer)
            .layer(AuthLayer(self.gate.clone()))
            .add_service(health)
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?)
            .add_service(
                pb::department_service_server::DepartmentServiceServer::new(DepartmentApi(s.clone()))
                    .max_decoding_message_size(max),
            )
            .add_service(
                pb::customer_service_server::CustomerServiceServer::new(CustomerApi(s.clone()))
                    .max_decoding_message_size(max),
            )
            .add_service(
                pb::agent_service_server::AgentServiceServer::new(AgentApi(s.clone())).max_decoding_message_size(max),
            )
            .add_service(
                pb::ticket_service_server::TicketServiceServer::new(TicketApi(s.clone()))
                    .max_decoding_message_size(max),
            )
            .add_service(
                pb::log_service_server::LogServiceServer::new(LogApi(s.clone())).max_decoding_message_size(max),
            )
            .add_service(
                pb::auth_service_server::AuthServiceServer::new(AuthApi(s.clone())).max_decoding_message_size(max),
            )
            .add_service(
                pb::report_service_server::ReportServiceServer::new(ReportApi(s.clone()))
                    .max_decoding_message_size(max),
            );

        let signal_reporter = reporter.clone();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: health NOT_SERVING, draining");
            let _ = stop_tx.send(true);
            set_health(&signal_reporter, ServingStatus::NotServing).await;
        };
        // TCP_NODELAY on every accepted connection: without it a response written in two
        // parts (a large body, then the trailers) waits for the client's delayed ACK, a
        // ~40 ms stall per call (Nagle's algorithm), measured by `bench list-tickets`.
        // Each connection's writes are consolidated into one system call per scheduler
        // turn (see `crate::grpc::coalesce`).
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true)).map(|c| c.map(Coalesce::new));
        let serve = router.serve_with_incoming_shutdown(incoming, signal);
        let grace = Duration::from_millis(self.settings.shutdown_grace_ms);
        let mut stopped = stop_rx.clone();
        let bound = async move {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        };
        let result = tokio::select! {
            r = serve => r.map_err(StartError::from),
            _ = bound => {
                tracing::warn!(grace_ms = grace.as_millis() as u64, "drain timed out; closing remaining connections");
                Ok(())
            }
        };
        monitor.abort();
        jobs.abort();
        housekeeping.abort();
        cancel.cancel();
        standings.abort();
        if let Err(e) = self.state.repo.close().await {
            tracing::warn!(error = %e, "closing the database pool failed");
        }
        tracing::info!("stopped");
        result
    }
}

impl App {
    /// The TLS settings, when a certificate and key are configured.
    fn tls(&self) -> Result<Option<ServerTlsConfig>, StartError> {
        let (Some(cert), Some(key)) = (&self.settings.tls_cert, &self.settings.tls_key) else {
            return Ok(None);
        };
        let read = |p: &std::path::PathBuf| {
            std::fs::read(p).map_err(|e| StartError::Config(format!("cannot read {}: {e}", p.display())))
        };
        Ok(Some(ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?))))
    }
}

/// Drops the rate-limit buckets of callers gone quiet, once a minute.
async fn forget_idle_callers(gate: Gate, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => gate.forget_idle(),
            _ = stop.changed() => return,
        }
    }
}

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    for name in SERVICES {
        reporter.set_service_status(*name, status).await;
    }
}

/// Pings the database every `every`, reporting SERVING while it answers.
async fn monitor_health(repo: Repo, reporter: HealthReporter, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut last = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let status = match repo.ping().await {
            Ok(()) => ServingStatus::Serving,
            Err(e) => {
                if last != Some(ServingStatus::NotServing) {
                    tracing::error!(error = %e, "database health check failed");
                }
                ServingStatus::NotServing
            }
        };
        if last != Some(status) && !*stop.borrow() {
            set_health(&reporter, status).await;
            last = Some(status);
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}
