//! The gRPC surface: one file per proto service. Handlers are thin: convert and
//! validate the request, call the repository, wrap the response; errors map through
//! [`crate::error::AppError`].

pub mod agent;
pub mod auth;
pub mod codec;
pub mod convert;
pub mod customer;
pub mod department;
pub mod log;
pub mod report;
pub mod ticket;

use std::sync::Arc;

use crate::domain::Clock;
use crate::events::EventHub;
use crate::repo::Repo;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct State {
    /// The data layer.
    pub repo: Repo,
    /// The source of time.
    pub clock: Arc<dyn Clock>,
    /// The largest attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
    /// The process's event log.
    pub events: EventHub,
    /// Turns true when the server starts shutting down (ends WatchQueue streams).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// A handler's result.
pub type RpcResult<T> = Result<tonic::Response<T>, tonic::Status>;

/// Wraps a value in a response.
pub(crate) fn ok<T>(value: T) -> RpcResult<T> {
    Ok(tonic::Response::new(value))
}
