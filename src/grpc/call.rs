//! Every call is bounded in time, whatever the database does.
//!
//! - A deadline: the server's own (a setting) or the caller's `grpc-timeout`, whichever is
//!   shorter. A call still running then ends with DEADLINE_EXCEEDED, even when its statement
//!   sits on a hung database; a write that ends so is safe to retry with its `request_id`.
//! - A hard stop: when the shutdown grace has passed, calls still running end with
//!   UNAVAILABLE, so the process can exit on time and the caller retries elsewhere.
//! - A call that ends UNAVAILABLE wakes the health monitor, so health turns NOT_SERVING as
//!   soon as calls see the database gone, not at the next interval.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status};
use tower::{Layer, Service};

/// The layer to put around the services.
#[derive(Debug, Clone)]
pub struct CallLayer {
    /// The server's deadline for a call.
    pub deadline: Duration,
    /// Cancelled when the shutdown grace has passed.
    pub hard_stop: CancellationToken,
    /// Notified when a call ends UNAVAILABLE.
    pub unavailable: Arc<Notify>,
}

impl<S> Layer<S> for CallLayer {
    type Service = Bounded<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Bounded { inner, layer: self.clone() }
    }
}

/// A service whose calls end within their deadline and at the hard stop.
#[derive(Debug, Clone)]
pub struct Bounded<S> {
    inner: S,
    layer: CallLayer,
}

/// The `grpc-timeout` header's duration (`<up to 8 digits><H|M|S|m|u|n>`), if valid.
pub fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

impl<S, B, R> Service<http::Request<B>> for Bounded<S>
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

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let deadline = grpc_timeout(request.headers()).map_or(self.layer.deadline, |t| t.min(self.layer.deadline));
        let layer = self.layer.clone();
        // The clone is ready only after poll_ready; call the ready one, keep the clone.
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        let call = ready.call(request);
        Box::pin(async move {
            let response = tokio::select! {
                r = call => r?,
                _ = tokio::time::sleep(deadline) => {
                    tracing::warn!(deadline_ms = deadline.as_millis() as u64, "call ended at its deadline");
                    Status::deadline_exceeded(format!(
                        "the call did not finish within {} ms (the shorter of grpc-timeout and \
                         SUPPORT_CALL_DEADLINE_MS); a write with a request_id is safe to retry",
                        deadline.as_millis()
                    ))
                    .into_http()
                }
                _ = layer.hard_stop.cancelled() => {
                    Status::unavailable("the server shut down before the call finished; retry it on another replica")
                        .into_http()
                }
            };
            if Status::from_header_map(response.headers()).is_some_and(|s| s.code() == Code::Unavailable) {
                layer.unavailable.notify_one();
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(value: &str) -> Option<Duration> {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-timeout", value.parse().unwrap());
        grpc_timeout(&h)
    }

    #[tokio::test]
    async fn a_hung_call_ends_at_the_shorter_grpc_timeout_and_at_the_hard_stop() {
        use tower::ServiceExt;
        let hung = tower::service_fn(|_: http::Request<()>| async {
            std::future::pending::<Result<http::Response<()>, std::convert::Infallible>>().await
        });
        let layer = CallLayer {
            deadline: Duration::from_secs(3600),
            hard_stop: CancellationToken::new(),
            unavailable: Arc::new(Notify::new()),
        };
        let service = layer.layer(hung);
        let mut request = http::Request::new(());
        request.headers_mut().insert("grpc-timeout", "50m".parse().unwrap());
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(Status::from_header_map(response.headers()).unwrap().code(), Code::DeadlineExceeded);

        let stopping = tokio::spawn(service.oneshot(http::Request::new(())));
        layer.hard_stop.cancel();
        let response = stopping.await.unwrap().unwrap();
        assert_eq!(Status::from_header_map(response.headers()).unwrap().code(), Code::Unavailable);
        tokio::time::timeout(Duration::from_secs(1), layer.unavailable.notified()).await.expect("health is woken");
    }

    #[test]
    fn grpc_timeouts_parse_by_unit_and_garbage_is_ignored() {
        assert_eq!(timeout("300m"), Some(Duration::from_millis(300)));
        assert_eq!(timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(timeout("5u"), Some(Duration::from_micros(5)));
        for bad in ["", "m", "123456789S", "10x", "-1S"] {
            assert_eq!(timeout(bad), None, "{bad:?}");
        }
    }
}
