//! Malformed gRPC framing is the caller's mistake, not ours. tonic answers a request it
//! cannot frame with INTERNAL before any code of ours runs: a compressed flag without
//! `grpc-encoding`, a length prefix longer than the data, a unary call with no message, a
//! frame shorter than its 5-byte header. This layer, around every service, turns any
//! INTERNAL that this service did not write (ours always carries
//! [`crate::error::INTERNAL_MESSAGE`]) into INVALID_ARGUMENT, keeping tonic's words, so
//! that nothing a caller sends yields INTERNAL.

use std::task::{Context, Poll};

use futures::FutureExt;
use futures::future::BoxFuture;
use tonic::{Code, Status};
use tower::{Layer, Service};

use crate::error::INTERNAL_MESSAGE;

/// The layer to put around the services.
#[derive(Debug, Clone, Copy, Default)]
pub struct MalformedLayer;

impl<S> Layer<S> for MalformedLayer {
    type Service = Malformed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Malformed { inner }
    }
}

/// A service whose transport-level INTERNAL answers become INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct Malformed<S> {
    inner: S,
}

/// The status a response should carry instead of its own, if it is the transport's INTERNAL.
pub fn restated(headers: &http::HeaderMap) -> Option<Status> {
    let status = Status::from_header_map(headers)?;
    if status.code() != Code::Internal || status.message() == INTERNAL_MESSAGE {
        return None;
    }
    Some(Status::invalid_argument(format!("the request is not well-formed gRPC: {}", status.message())))
}

impl<S, B, R> Service<http::Request<B>> for Malformed<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Send + 'static,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.inner
            .call(request)
            .map(|result| {
                result.map(|mut response| {
                    if let Some(status) = restated(response.headers()) {
                        tracing::info!(reason = status.message(), "malformed request");
                        let headers = response.headers_mut();
                        for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
                            headers.remove(name);
                        }
                        // Only a message we wrote ourselves could fail to encode.
                        let _ = status.add_header(headers);
                    }
                    response
                })
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(status: Status) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        status.add_header(&mut h).unwrap();
        h
    }

    #[test]
    fn only_the_transports_internal_is_restated() {
        let s = restated(&headers(Status::internal("Missing request message."))).unwrap();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert!(s.message().contains("Missing request message."));
        assert!(restated(&headers(Status::internal(INTERNAL_MESSAGE))).is_none());
        assert!(restated(&headers(Status::not_found("x"))).is_none());
        assert!(restated(&http::HeaderMap::new()).is_none());
    }
}
