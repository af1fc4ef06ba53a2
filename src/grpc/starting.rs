//! Serving before the database answers. The port is bound first, so orchestrators' probes
//! reach health (NOT_SERVING) and reflection while the service connects and migrates;
//! every other call is UNAVAILABLE ("starting") until the service is [`Slot::fill`]ed.
//! Once it is, each call first catches up with the cluster on a Galera node
//! ([`Repo::catch_up`]).

use std::convert::Infallible;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::body::Body;
use tonic::server::NamedService;
use tower::{Service, ServiceExt};

pub use crate::ready::{Slot, starting};
use crate::repo::Repo;

/// A generated service that answers UNAVAILABLE until its slot is filled, over the
/// data layer in the second slot (filled first).
#[derive(Debug)]
pub struct Starting<S>(pub Slot<S>, pub Slot<Repo>);

impl<S> Clone for Starting<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), self.1.clone())
    }
}

impl<S: NamedService> NamedService for Starting<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for Starting<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The generated services are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match (self.0.get(), self.1.get()) {
            (Some(service), Some(repo)) if repo.causal() => {
                let (service, repo) = (service.clone(), repo.clone());
                Box::pin(async move {
                    match repo.catch_up().await {
                        Ok(()) => service.oneshot(request).await,
                        Err(e) => Ok(tonic::Status::from(e).into_http()),
                    }
                })
            }
            (Some(service), _) => Box::pin(service.clone().oneshot(request)),
            (None, _) => Box::pin(async { Ok(starting().into_http()) }),
        }
    }
}
