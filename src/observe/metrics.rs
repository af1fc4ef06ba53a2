//! The service's metrics, one registry per app (no global state, so tests in one process
//! do not share counters), rendered in the Prometheus text format on the admin listener.
//! RPC metrics carry go-grpc-prometheus's names and labels, so existing dashboards work.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, text::encode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

/// Which RPC: go-grpc-prometheus's labels.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    /// `unary`, `server_stream` or `bidi_stream`.
    pub grpc_type: &'static str,
    /// The full service name, `support.v1.TicketService`.
    pub grpc_service: &'static str,
    /// The method, `CreateTicket`.
    pub grpc_method: &'static str,
}

/// An RPC and how it ended.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandledLabels {
    /// `unary`, `server_stream` or `bidi_stream`.
    pub grpc_type: &'static str,
    /// The full service name.
    pub grpc_service: &'static str,
    /// The method.
    pub grpc_method: &'static str,
    /// The status code's name, `OK`, `NotFound`, ….
    pub grpc_code: &'static str,
}

impl RpcLabels {
    /// These labels with the call's code.
    pub fn with_code(self, grpc_code: &'static str) -> HandledLabels {
        let Self { grpc_type, grpc_service, grpc_method } = self;
        HandledLabels { grpc_type, grpc_service, grpc_method, grpc_code }
    }
}

/// A background job by name.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// `maintenance`, ….
    pub job: &'static str,
}

/// Why a sign-in failed or a call was refused.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// A short, fixed reason.
    pub reason: &'static str,
}

/// Histograms of seconds, from 0.5 ms to about 16 s.
#[derive(Debug, Clone, Copy)]
pub struct Seconds;

impl MetricConstructor<Histogram> for Seconds {
    fn new_metric(&self) -> Histogram {
        seconds()
    }
}

fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Per-RPC metrics.
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    /// Calls started.
    pub started: Family<RpcLabels, Counter>,
    /// Calls finished, by code.
    pub handled: Family<HandledLabels, Counter>,
    /// Time from the request to the last byte of the response (streams: their lifetime).
    pub handling: Family<RpcLabels, Histogram, Seconds>,
    /// Messages sent on server streams.
    pub msg_sent: Family<RpcLabels, Counter>,
}

/// The database pool.
#[derive(Debug, Clone)]
pub struct DbMetrics {
    /// Connections handed out.
    pub in_use: Gauge,
    /// Connections idle in the pool.
    pub idle: Gauge,
    /// The most connections the pool opens.
    pub max: Gauge,
    /// Calls waiting for a connection to begin a transaction.
    pub waiters: Gauge,
    /// Time to get a connection and begin a transaction.
    pub acquire: Histogram,
    /// Calls that found no connection within the acquire timeout (or none at all).
    pub acquire_timeouts: Counter,
}

/// WatchQueue.
#[derive(Debug, Clone, Default)]
pub struct WatchMetrics {
    /// Open subscriptions.
    pub subscribers: Gauge,
    /// Events sent to subscribers.
    pub events_sent: Counter,
    /// Subscribers ended because they fell too far behind.
    pub lagged: Counter,
    /// Subscriptions that resumed with `resume_after`.
    pub resumed: Counter,
}

/// The event sequencer.
#[derive(Debug, Clone)]
pub struct SequencerMetrics {
    /// Time from an event's commit to its number.
    pub lag: Histogram,
    /// Numbering rounds.
    pub rounds: Counter,
    /// Rounds lost to a conflict and retried.
    pub conflicts: Counter,
    /// 1 while this replica is the sequencer.
    pub leader: Gauge,
}

/// Background jobs.
#[derive(Debug, Clone)]
pub struct JobMetrics {
    /// Runs, by job.
    pub runs: Family<JobLabels, Counter>,
    /// Time per run, by job.
    pub duration: Family<JobLabels, Histogram, Seconds>,
    /// Failed runs, by job.
    pub errors: Family<JobLabels, Counter>,
}

/// An outcome, as a label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// What came of it.
    pub outcome: &'static str,
}

/// Webhooks and mail.
#[derive(Debug, Clone, Default)]
pub struct NotifyMetrics {
    /// Webhook attempts, by outcome (delivered, failed, gone).
    pub webhook_attempts: Family<OutcomeLabels, Counter>,
    /// Subscriptions the service disabled (410, or failing past the retry window).
    pub webhooks_disabled: Counter,
    /// Customer mails sent.
    pub mails_sent: Counter,
    /// Failed SMTP sends (each retried).
    pub mail_failures: Counter,
}

/// Security.
#[derive(Debug, Clone, Default)]
pub struct SecurityMetrics {
    /// Calls refused by the per-caller rate limit.
    pub rate_limited: Counter,
    /// Failed sign-ins, by reason.
    pub failed_sign_ins: Family<ReasonLabels, Counter>,
}

impl Default for RpcMetrics {
    fn default() -> Self {
        Self {
            started: Family::default(),
            handled: Family::default(),
            handling: Family::new_with_constructor(Seconds),
            msg_sent: Family::default(),
        }
    }
}

impl Default for DbMetrics {
    fn default() -> Self {
        Self {
            in_use: Gauge::default(),
            idle: Gauge::default(),
            max: Gauge::default(),
            waiters: Gauge::default(),
            acquire: seconds(),
            acquire_timeouts: Counter::default(),
        }
    }
}

impl Default for SequencerMetrics {
    fn default() -> Self {
        Self { lag: seconds(), rounds: Counter::default(), conflicts: Counter::default(), leader: Gauge::default() }
    }
}

impl Default for JobMetrics {
    fn default() -> Self {
        Self { runs: Family::default(), duration: Family::new_with_constructor(Seconds), errors: Family::default() }
    }
}

impl Default for Seconds {
    fn default() -> Self {
        Self
    }
}

/// Every metric of one app; clones share them.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Per RPC.
    pub rpc: RpcMetrics,
    /// The database pool.
    pub db: DbMetrics,
    /// WatchQueue.
    pub watch: WatchMetrics,
    /// The sequencer.
    pub sequencer: SequencerMetrics,
    /// Background jobs.
    pub jobs: JobMetrics,
    /// Security.
    pub security: SecurityMetrics,
    /// Webhooks and mail.
    pub notify: NotifyMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let (rpc, db, sequencer, jobs) =
            (RpcMetrics::default(), DbMetrics::default(), SequencerMetrics::default(), JobMetrics::default());
        let (watch, security, notify) = (WatchMetrics::default(), SecurityMetrics::default(), NotifyMetrics::default());
        let mut r = Registry::default();
        r.register("grpc_server_started", "RPCs started on the server", rpc.started.clone());
        r.register("grpc_server_handled", "RPCs completed on the server, by code", rpc.handled.clone());
        r.register_with_unit(
            "grpc_server_handling",
            "Time from the request to the end of the response",
            Unit::Seconds,
            rpc.handling.clone(),
        );
        r.register("grpc_server_msg_sent", "Stream messages sent by the server", rpc.msg_sent.clone());
        let s = r.sub_registry_with_prefix("support");
        s.register("db_pool_connections_in_use", "Pooled connections handed out", db.in_use.clone());
        s.register("db_pool_connections_idle", "Pooled connections idle", db.idle.clone());
        s.register("db_pool_connections_max", "The most connections the pool opens", db.max.clone());
        s.register("db_pool_waiters", "Calls waiting for a connection to begin a transaction", db.waiters.clone());
        s.register_with_unit(
            "db_pool_acquire",
            "Time to get a pooled connection and begin a transaction",
            Unit::Seconds,
            db.acquire.clone(),
        );
        s.register("db_pool_acquire_timeouts", "Calls that got no connection in time", db.acquire_timeouts.clone());
        s.register("watch_subscribers", "Open WatchQueue subscriptions", watch.subscribers.clone());
        s.register("watch_events_sent", "Events sent to WatchQueue subscribers", watch.events_sent.clone());
        s.register("watch_lagged", "Subscribers ended for falling too far behind", watch.lagged.clone());
        s.register("watch_resumed", "Subscriptions resumed with resume_after", watch.resumed.clone());
        s.register_with_unit(
            "sequencer_lag",
            "Time from an event's commit to its sequence number",
            Unit::Seconds,
            sequencer.lag.clone(),
        );
        s.register("sequencer_rounds", "Numbering rounds", sequencer.rounds.clone());
        s.register("sequencer_conflicts", "Numbering rounds lost to a conflict", sequencer.conflicts.clone());
        s.register("sequencer_leader", "1 while this replica numbers events", sequencer.leader.clone());
        s.register("job_runs", "Background job runs", jobs.runs.clone());
        s.register_with_unit("job_duration", "Background job run time", Unit::Seconds, jobs.duration.clone());
        s.register("job_errors", "Failed background job runs", jobs.errors.clone());
        s.register("rate_limited", "Calls refused by the per-caller rate limit", security.rate_limited.clone());
        s.register("failed_sign_ins", "Failed sign-ins, by reason", security.failed_sign_ins.clone());
        s.register("webhook_attempts", "Webhook delivery attempts, by outcome", notify.webhook_attempts.clone());
        s.register("webhooks_disabled", "Webhook subscriptions the service disabled", notify.webhooks_disabled.clone());
        s.register("mails_sent", "Customer mails sent", notify.mails_sent.clone());
        s.register("mail_failures", "Failed SMTP sends (each retried)", notify.mail_failures.clone());
        s.register(
            "build",
            "The running build",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION")), ("name", env!("CARGO_PKG_NAME"))]),
        );
        Self { registry: Arc::new(r), rpc, db, watch, sequencer, jobs, security, notify }
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// Records a background job's run.
    pub fn job_run(&self, job: &'static str, took: Duration, ok: bool) {
        let labels = JobLabels { job };
        self.jobs.runs.get_or_create(&labels).inc();
        self.jobs.duration.get_or_create(&labels).observe(took.as_secs_f64());
        if !ok {
            self.jobs.errors.get_or_create(&labels).inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_metrics_render_with_go_grpc_prometheus_names() {
        let m = Metrics::new();
        let rpc = RpcLabels { grpc_type: "unary", grpc_service: "support.v1.TicketService", grpc_method: "GetTicket" };
        m.rpc.started.get_or_create(&rpc).inc();
        m.rpc.handled.get_or_create(&rpc.with_code("NotFound")).inc();
        m.rpc.handling.get_or_create(&rpc).observe(0.003);
        let text = m.render();
        for line in [
            r#"grpc_server_started_total{grpc_type="unary",grpc_service="support.v1.TicketService",grpc_method="GetTicket"} 1"#,
            r#"grpc_server_handled_total{grpc_type="unary",grpc_service="support.v1.TicketService",grpc_method="GetTicket",grpc_code="NotFound"} 1"#,
            r#"grpc_server_handling_seconds_count{grpc_type="unary",grpc_service="support.v1.TicketService",grpc_method="GetTicket"} 1"#,
            "# TYPE support_db_pool_connections_in_use gauge",
            "# TYPE support_build info",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
