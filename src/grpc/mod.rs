//! The gRPC surface: one file per proto service. Handlers are thin: take the caller
//! ([`caller`]), convert and validate the request, call the repository with the caller's
//! ticket scope, wrap the response; errors map through [`crate::error::AppError`].

pub mod agent;
pub mod auth;
pub mod call;
pub mod coalesce;
pub mod codec;
pub mod convert;
pub mod customer;
pub mod department;
pub mod frame;
pub mod log;
pub mod malformed;
pub mod reply;
pub mod report;
pub mod starting;
pub mod streams;
pub mod ticket;
pub mod voice;
pub mod webhook;

use std::sync::Arc;

use crate::auth::accounts::Accounts;
use crate::domain::Clock;
use crate::domain::access::Principal;
use crate::domain::limits::Limits;
use crate::events::EventHub;
use crate::repo::Repo;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct State {
    /// The data layer.
    pub repo: Repo,
    /// The source of time.
    pub clock: Arc<dyn Clock>,
    /// What one request may ask for.
    pub limits: Limits,
    /// The process's event log.
    pub events: EventHub,
    /// Cancelled when the server starts shutting down (ends WatchQueue streams).
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The process's tasks and streams, awaited (within the grace) at shutdown.
    pub tasks: tokio_util::task::TaskTracker,
    /// Sign-up, sign-in and refresh.
    pub accounts: Accounts,
    /// WatchQueue streams per caller.
    pub streams: streams::StreamLimit,
    /// Webhook deliveries (RedeliverWebhookEvent) and the addresses subscriptions may use.
    pub webhooks: Arc<crate::notify::webhooks::Deliverer>,
    /// How calls ring and how their relays are watched.
    pub calls: crate::jobs::CallSettings,
    /// The STUN and TURN servers calls use.
    pub ice: Arc<crate::domain::ice::IceSettings>,
    /// Typing indicators, passed between replicas.
    pub typing: crate::events::typing::TypingHub,
}

/// The caller the auth layer verified (with its role already checked against
/// [`crate::auth::table`]).
pub(crate) fn caller<T>(request: &tonic::Request<T>) -> Result<Principal, tonic::Status> {
    request.extensions().get::<Principal>().cloned().ok_or_else(|| {
        tonic::Status::unauthenticated("this call needs an access token: send `authorization: Bearer <token>`")
    })
}

/// A handler's result.
pub type RpcResult<T> = Result<tonic::Response<T>, tonic::Status>;

/// Wraps a value in a response.
pub(crate) fn ok<T>(value: T) -> RpcResult<T> {
    Ok(tonic::Response::new(value))
}
