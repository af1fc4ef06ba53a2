//! Serving: listen first, fill the services in when the app is ready, and shut down in a
//! fixed, bounded order.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Router;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tower::layer::util::Stack;

use super::health::set_health;
use super::{App, StartError};
use crate::auth::layer::{AuthLayer, Gate};
use crate::config::Settings;
use crate::grpc::call::CallLayer;
use crate::grpc::coalesce::Coalesce;
use crate::grpc::malformed::MalformedLayer;
use crate::grpc::starting::{Slot, Starting};
use crate::grpc::{
    agent::AgentApi, auth::AuthApi, customer::CustomerApi, department::DepartmentApi, log::LogApi, reply::ReplyApi,
    report::ReportApi, ticket::TicketApi, voice::CallApi, webhook::WebhookApi,
};
use crate::observe::Metrics;
use crate::observe::admin::Admin;
use crate::observe::rpc::ObserveLayer;
use crate::pb;
use crate::pb::{
    agent_service_server::AgentServiceServer, auth_service_server::AuthServiceServer,
    call_service_server::CallServiceServer, customer_service_server::CustomerServiceServer,
    department_service_server::DepartmentServiceServer, log_service_server::LogServiceServer,
    reply_service_server::ReplyServiceServer, report_service_server::ReportServiceServer,
    ticket_service_server::TicketServiceServer, webhook_service_server::WebhookServiceServer,
};
use crate::web::BrowserLayer;

impl App {
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
            replies: ReplyServiceServer::new(ReplyApi(s.clone())).max_decoding_message_size(max),
            webhooks: WebhookServiceServer::new(WebhookApi(s.clone())).max_decoding_message_size(max),
            calls: CallServiceServer::new(CallApi(s.clone())).max_decoding_message_size(max),
        }
    }
}

/// The services, built once the database is ready.
#[derive(Debug)]
pub(super) struct Services {
    pub(super) departments: DepartmentServiceServer<DepartmentApi>,
    customers: CustomerServiceServer<CustomerApi>,
    agents: AgentServiceServer<AgentApi>,
    tickets: TicketServiceServer<TicketApi>,
    logs: LogServiceServer<LogApi>,
    auth: AuthServiceServer<AuthApi>,
    reports: ReportServiceServer<ReportApi>,
    replies: ReplyServiceServer<ReplyApi>,
    webhooks: WebhookServiceServer<WebhookApi>,
    calls: CallServiceServer<CallApi>,
}

/// The slots the ready app fills: the gate and each service.
#[derive(Debug, Default, Clone)]
struct Slots {
    gate: Slot<Gate>,
    repo: Slot<crate::repo::Repo>,
    departments: Slot<DepartmentServiceServer<DepartmentApi>>,
    customers: Slot<CustomerServiceServer<CustomerApi>>,
    agents: Slot<AgentServiceServer<AgentApi>>,
    tickets: Slot<TicketServiceServer<TicketApi>>,
    logs: Slot<LogServiceServer<LogApi>>,
    auth: Slot<AuthServiceServer<AuthApi>>,
    reports: Slot<ReportServiceServer<ReportApi>>,
    replies: Slot<ReplyServiceServer<ReplyApi>>,
    webhooks: Slot<WebhookServiceServer<WebhookApi>>,
    calls: Slot<CallServiceServer<CallApi>>,
}

impl Slots {
    fn fill(&self, app: &App) {
        let s = app.services();
        self.repo.fill(app.state.repo.clone());
        self.departments.fill(s.departments);
        self.customers.fill(s.customers);
        self.agents.fill(s.agents);
        self.tickets.fill(s.tickets);
        self.logs.fill(s.logs);
        self.auth.fill(s.auth);
        self.reports.fill(s.reports);
        self.replies.fill(s.replies);
        self.webhooks.fill(s.webhooks);
        self.calls.fill(s.calls);
        // Last: with the gate set, calls reach the services.
        self.gate.fill(app.gate.clone());
    }
}

/// Where the server listens: the API (gRPC, gRPC-Web, the console), and optionally the
/// admin endpoints (metrics, HTTP probes).
#[derive(Debug)]
pub struct Listeners {
    /// The API's port.
    pub api: TcpListener,
    /// The admin port, if any.
    pub admin: Option<TcpListener>,
}

/// Serves on `listeners.api` at once: health (NOT_SERVING) and reflection answer while `app`
/// connects and migrates, and every other call is UNAVAILABLE until it is ready; the admin
/// listener answers `/livez` at once and `/readyz` once ready. Runs until `shutdown`
/// completes, then: health NOT_SERVING and `/readyz` 503, stop accepting, end the streams,
/// give calls the grace, end what still runs with UNAVAILABLE, close the pool (bounded).
pub async fn serve(
    settings: Settings,
    listeners: Listeners,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
    app: impl Future<Output = Result<App, StartError>>,
) -> Result<(), StartError> {
    let Listeners { api: listener, admin } = listeners;
    let bound = listener.local_addr().ok();
    let (reporter, health) = tonic_health::server::health_reporter();
    set_health(&reporter, ServingStatus::NotServing).await;
    let slots = Slots::default();
    let draining = CancellationToken::new();
    let hard_stop = CancellationToken::new();
    let unavailable = Arc::new(Notify::new());
    let calls = CallLayer {
        deadline: Duration::from_millis(settings.call_deadline_ms.max(1)),
        hard_stop: hard_stop.clone(),
        unavailable: unavailable.clone(),
    };
    let router =
        router(&settings, &slots, calls, ObserveLayer::new(settings.metrics.then(|| metrics.clone())), health)?;
    let admin_stop = CancellationToken::new();
    let repo_slot = Slot::default();
    if let Some(admin) = admin {
        let state = Admin { metrics, repo: repo_slot.clone(), draining: draining.clone() };
        tokio::spawn(crate::observe::admin::serve(admin, state, admin_stop.clone()));
    }

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
    repo_slot.fill(app.state.repo.clone());
    app.start_background(reporter, unavailable, &draining, bound);
    tracing::info!("ready");
    let grace = Duration::from_millis(settings.shutdown_grace_ms);
    let result = until_drained(serve, &draining, &hard_stop, grace).await;
    finish(&app).await;
    admin_stop.cancel();
    tracing::info!("stopped");
    result
}

/// The layers around every call, outermost first: browsers (CORS, the console, gRPC-Web),
/// the span and metrics, malformed framing, deadlines, auth.
type Layers = Stack<
    AuthLayer,
    Stack<CallLayer, Stack<MalformedLayer, Stack<ObserveLayer, Stack<BrowserLayer, tower::layer::util::Identity>>>>,
>;

/// The server, over HTTP/2 and HTTP/1.1 (gRPC-Web): the layers (browsers, malformed
/// framing, deadlines, auth) around health, reflection and the services, which answer once
/// their slots are filled.
fn router(
    settings: &Settings,
    slots: &Slots,
    calls: CallLayer,
    observe: ObserveLayer,
    health: tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) -> Result<Router<Layers>, StartError> {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(pb::ERROR_DETAILS_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let browsers = BrowserLayer::new(settings.console, &settings.cors_origins).map_err(StartError::Config)?;
    let mut server = Server::builder().accept_http1(true);
    if let Some(tls) = tls(settings)? {
        server = server.tls_config(tls)?;
    }
    Ok(server
        .layer(browsers)
        .layer(observe)
        .layer(MalformedLayer)
        .layer(calls)
        .layer(AuthLayer(slots.gate.clone()))
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(Starting(slots.departments.clone(), slots.repo.clone()))
        .add_service(Starting(slots.customers.clone(), slots.repo.clone()))
        .add_service(Starting(slots.agents.clone(), slots.repo.clone()))
        .add_service(Starting(slots.tickets.clone(), slots.repo.clone()))
        .add_service(Starting(slots.logs.clone(), slots.repo.clone()))
        .add_service(Starting(slots.auth.clone(), slots.repo.clone()))
        .add_service(Starting(slots.reports.clone(), slots.repo.clone()))
        .add_service(Starting(slots.replies.clone(), slots.repo.clone()))
        .add_service(Starting(slots.webhooks.clone(), slots.repo.clone()))
        .add_service(Starting(slots.calls.clone(), slots.repo.clone())))
}

/// Serves until the drain ends it, or until the grace after the drain began has passed:
/// then the calls still running end UNAVAILABLE, with a moment for those answers to leave
/// (connections still open then are dropped).
async fn until_drained(
    mut serve: std::pin::Pin<&mut impl Future<Output = Result<(), tonic::transport::Error>>>,
    draining: &CancellationToken,
    hard_stop: &CancellationToken,
    grace: Duration,
) -> Result<(), StartError> {
    tokio::select! {
        r = &mut serve => r.map_err(StartError::from),
        _ = async { draining.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "drain timed out; ending the calls still running with UNAVAILABLE");
            hard_stop.cancel();
            let _ = tokio::time::timeout(FLUSH, &mut serve).await;
            Ok(())
        }
    }
}

/// After serving: every task and stream was told to stop when the drain began; wait (a
/// bounded time) for what is left, then close the pool if the database answers.
async fn finish(app: &App) {
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
pub(super) async fn forget_idle_callers(gate: Gate, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => gate.forget_idle(),
            _ = stop.cancelled() => return,
        }
    }
}
