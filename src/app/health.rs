//! Health: NOT_SERVING until the database answers and whenever it stops, for the whole
//! server and each service.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::events::EventHub;
use crate::pb;
use crate::repo::Repo;

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
    pb::reply_service_server::SERVICE_NAME,
    pb::call_service_server::SERVICE_NAME,
    pb::webhook_service_server::SERVICE_NAME,
];

/// Sets every service's status.
pub(super) async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    for name in SERVICES {
        reporter.set_service_status(*name, status).await;
    }
}

/// Checks in a row that must fail before the WatchQueue streams are ended: one slow ping
/// marks the replica NOT_SERVING (load balancers steer new calls away), but subscribers
/// are sent elsewhere only when the database stays unreachable.
const LOST_AFTER: u32 = 3;

/// Reports SERVING while the database answers a ping within its timeout; pings every
/// interval, and at once when a call ended UNAVAILABLE. `repo` should be
/// [`Repo::detached`]: a ping that queues behind busy callers for a pooled connection
/// says nothing about the database.
pub(super) struct HealthMonitor {
    pub(super) repo: Repo,
    pub(super) reporter: HealthReporter,
    pub(super) every: Duration,
    pub(super) ping_timeout: Duration,
    pub(super) unavailable: Arc<Notify>,
    /// Told when the database stops answering, to end the WatchQueue streams.
    pub(super) events: EventHub,
}

impl HealthMonitor {
    pub(super) async fn run(self, stop: CancellationToken) {
        let mut last = None;
        let mut failed = 0;
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
            failed = if status == ServingStatus::Serving { 0 } else { failed + 1 };
            if failed == LOST_AFTER {
                self.events.database_lost();
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
