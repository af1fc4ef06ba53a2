//! Serving before the database answers. The port is bound first, so orchestrators' probes
//! reach health (NOT_SERVING) and reflection while the service connects and migrates;
//! every other call is UNAVAILABLE ("starting") until the service is [`Slot::fill`]ed.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::Status;
use tonic::body::Body;
use tonic::server::NamedService;
use tower::{Service, ServiceExt};

/// The UNAVAILABLE answer of a call that came before the service was ready.
pub fn starting() -> Status {
    Status::unavailable("the service is starting (connecting to its database); retry shortly")
}

/// A value set once, when the service is ready.
#[derive(Debug)]
pub struct Slot<T>(Arc<OnceLock<T>>);

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self(Arc::new(OnceLock::new()))
    }
}

impl<T> Slot<T> {
    /// The value, once ready.
    pub fn get(&self) -> Option<&T> {
        self.0.get()
    }

    /// Sets the value (a second fill is ignored).
    pub fn fill(&self, value: T) {
        let _ = self.0.set(value);
    }
}

/// A generated service that answers UNAVAILABLE until its slot is filled.
#[derive(Debug)]
pub struct Starting<S>(pub Slot<S>);

impl<S> Clone for Starting<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
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
        match self.0.get() {
            Some(service) => Box::pin(service.clone().oneshot(request)),
            None => Box::pin(async { Ok(starting().into_http()) }),
        }
    }
}
