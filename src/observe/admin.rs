//! The admin listener (by default 127.0.0.1:9464, apart from the API's port): `/metrics`
//! in the Prometheus text format, `/livez` (the process answers) and `/readyz` (the
//! database answers and every migration is applied; 503 with the reason otherwise, and
//! while starting or draining), for platforms that probe over HTTP.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Metrics;
use crate::ready::Slot;
use crate::repo::Repo;

/// What the admin endpoints read.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The app's metrics.
    pub metrics: Metrics,
    /// The data layer, once the app is ready.
    pub repo: Slot<Repo>,
    /// Cancelled when the server starts draining.
    pub draining: CancellationToken,
}

/// Serves the admin endpoints on `listener` until `stop`.
pub async fn serve(listener: TcpListener, admin: Admin, stop: CancellationToken) {
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(admin);
    let served = axum::serve(listener, router).with_graceful_shutdown(async move { stop.cancelled().await }).await;
    if let Err(e) = served {
        tracing::warn!(error = %e, "the admin listener stopped");
    }
}

async fn metrics(State(admin): State<Admin>) -> impl IntoResponse {
    if let Some(repo) = admin.repo.get() {
        let (open, idle, max) = repo.pool_status();
        let db = &admin.metrics.db;
        db.in_use.set(i64::from(open).saturating_sub(idle as i64));
        db.idle.set(idle as i64);
        db.max.set(i64::from(max));
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], admin.metrics.render())
}

async fn readyz(State(admin): State<Admin>) -> (StatusCode, String) {
    if admin.draining.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining: shutting down\n".into());
    }
    let Some(repo) = admin.repo.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting: connecting to the database\n".into());
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), repo.readiness()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n".into()),
        Ok(Err(reason)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the database did not answer within 2 s\n".into()),
    }
}
