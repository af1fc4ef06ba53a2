//! The one enforcement point: a tower layer in front of every service. It lets health,
//! reflection, Register, Login and Refresh through; every other call must carry a valid
//! `authorization: Bearer <token>` (UNAUTHENTICATED otherwise), and each principal gets
//! a token bucket (RESOURCE_EXHAUSTED when it is empty). The verified [`Principal`] rides
//! in the request's extensions to the handlers.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tonic::Status;
use tower::{Layer, Service};

use super::standing::Standings;
use super::table::{self, Access};
use super::token::Tokens;
use crate::domain::access::{Principal, Role};
use crate::observe::metrics::SecurityMetrics;
use crate::ready::{Slot, starting};
use prometheus_client::metrics::counter::Counter;

/// A per-principal rate: `per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Calls per second.
    pub per_second: NonZeroU32,
    /// Calls allowed at once.
    pub burst: NonZeroU32,
}

/// Authenticates calls and applies the per-principal rate.
#[derive(Clone)]
pub struct Gate {
    tokens: Arc<Tokens>,
    standings: Standings,
    limiter: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    rate_limited: Counter,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("rate_limited", &self.limiter.is_some()).finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate verifying with `tokens` and the accounts' `standings`, limiting each
    /// principal to `rate` (None: no limit).
    pub fn new(tokens: Arc<Tokens>, standings: Standings, rate: Option<Rate>) -> Self {
        let limiter = rate.map(|r| Arc::new(RateLimiter::keyed(Quota::per_second(r.per_second).allow_burst(r.burst))));
        Self { tokens, standings, limiter, rate_limited: Counter::default() }
    }

    /// Counts refusals by the rate limit into `security`.
    pub fn observe(&mut self, security: &SecurityMetrics) {
        self.rate_limited = security.rate_limited.clone();
    }

    /// The principal of a call to `path` with these headers, if its role may make the call
    /// ([`table`]); None for calls that need no token.
    pub fn admit(&self, path: &str, headers: &http::HeaderMap) -> Result<Option<Principal>, Status> {
        let roles = match open_or_roles(path)? {
            None => return Ok(None),
            Some(roles) => roles,
        };
        let token = bearer(headers)?;
        let (who, generation) = self.tokens.verify_generation(token).map_err(Status::from)?;
        self.standings.admit(&who, generation).map_err(Status::from)?;
        if let Some(limiter) = &self.limiter
            && let Err(not_until) = limiter.check_key(&who.subject)
        {
            self.rate_limited.inc();
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(Status::resource_exhausted(format!(
                "rate limit exceeded for {}; retry in {} ms",
                who.subject,
                wait.as_millis().max(1)
            )));
        }
        if !roles.contains(&who.role) {
            let method = path.rsplit('/').next().unwrap_or(path);
            return Err(Status::permission_denied(format!(
                "{method} is not allowed for the {} role; it needs one of: {}",
                who.role,
                table::role_names(Access::Roles(roles))
            )));
        }
        Ok(Some(who))
    }

    /// Forgets idle principals' buckets (call now and then to bound memory).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// None for calls that need no token (health, reflection, signing in), else the roles that
/// may make the call; UNIMPLEMENTED for a path that is not one of ours.
fn open_or_roles(path: &str) -> Result<Option<&'static [Role]>, Status> {
    if table::is_platform(path) {
        return Ok(None);
    }
    match table::lookup(path).map(|r| r.access) {
        Some(Access::Open) => Ok(None),
        Some(Access::Roles(roles)) => Ok(Some(roles)),
        None => Err(Status::unimplemented(format!("{path} is not a method of this service"))),
    }
}

/// The token of an `authorization: Bearer <token>` header.
fn bearer(headers: &http::HeaderMap) -> Result<&str, Status> {
    let missing = || {
        Status::unauthenticated(
            "this call needs an access token: send the header `authorization: Bearer <token>` \
             (get one from support.v1.AuthService/Login)",
        )
    };
    let value = headers.get(http::header::AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| Status::unauthenticated("the authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(Status::unauthenticated("the authorization header must be `Bearer <token>`")),
    }
}

/// The layer to put in front of the services; its gate is set once the service is ready
/// (until then, calls that need a token are UNAVAILABLE).
#[derive(Debug, Clone)]
pub struct AuthLayer(pub Slot<Gate>);

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticated { inner, gate: self.0.clone() }
    }
}

/// A service behind the gate.
#[derive(Debug, Clone)]
pub struct Authenticated<S> {
    inner: S,
    gate: Slot<Gate>,
}

impl<S, B, R> Service<http::Request<B>> for Authenticated<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let admitted = match self.gate.get() {
            Some(gate) => gate.admit(path, request.headers()),
            None => match open_or_roles(path) {
                Ok(None) => Ok(None),
                Ok(Some(_)) | Err(_) => Err(starting()),
            },
        };
        match admitted {
            Ok(Some(who)) => {
                tracing::Span::current().record("principal", who.role.as_str());
                request.extensions_mut().insert(who);
            }
            Ok(None) => {}
            Err(status) => {
                tracing::info!(code = ?status.code(), reason = status.message(), "call refused");
                return Box::pin(async move { Ok(status.into_http()) });
            }
        }
        // The clone is ready only after poll_ready; call the ready one, keep the clone.
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        Box::pin(ready.call(request))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;

    use super::*;
    use crate::domain::access::Role;

    fn gate(rate: Option<Rate>) -> (Gate, String) {
        let tokens = Arc::new(Tokens::new(
            &SecretString::from("0123456789abcdef0123456789abcdef-layer".to_owned()),
            Duration::from_secs(60),
        ));
        let token = tokens.mint(&Principal::named(Role::Service, "t")).unwrap();
        (Gate::new(tokens, Standings::default(), rate), token)
    }

    fn headers(value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn open_calls_pass_and_others_need_a_bearer_token() {
        let (g, token) = gate(None);
        let none = http::HeaderMap::new();
        assert_eq!(g.admit("/grpc.health.v1.Health/Check", &none).unwrap(), None);
        assert_eq!(g.admit("/support.v1.AuthService/Login", &none).unwrap(), None);
        let e = g.admit("/support.v1.AuthService/SetAgentPassword", &none).unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let e = g.admit("/support.v1.TicketService/GetTicket", &headers(&format!("Basic {token}"))).unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let who = g.admit("/support.v1.TicketService/GetTicket", &headers(&format!("bearer {token}"))).unwrap();
        assert_eq!(who.unwrap().subject, "service:t");
        let e = g.admit("/support.v1.TicketService/NoSuchCall", &headers(&format!("bearer {token}"))).unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unimplemented);
    }

    #[test]
    fn a_principal_over_its_rate_is_resource_exhausted() {
        let one = NonZeroU32::new(1).unwrap();
        let (g, token) = gate(Some(Rate { per_second: one, burst: NonZeroU32::new(2).unwrap() }));
        let h = headers(&format!("Bearer {token}"));
        let path = "/support.v1.TicketService/GetTicket";
        assert!(g.admit(path, &h).is_ok());
        assert!(g.admit(path, &h).is_ok());
        assert_eq!(g.admit(path, &h).unwrap_err().code(), tonic::Code::ResourceExhausted);
    }
}
