//! One span and one set of metrics per RPC: the layer outside malformed framing,
//! deadlines and auth (so it sees the code the caller gets), inside gRPC-Web (so browsers'
//! calls count as the RPCs they are).
//!
//! The span `rpc` carries the method, the request id, the W3C trace id, and, as the call
//! goes on, the principal's kind (the auth layer), the ticket id (the handlers) and the
//! code. Every log line of the call is inside it. The request id (the caller's
//! `x-request-id` when it is sane, else a new one) goes back in the response metadata.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Buf;
use futures::future::BoxFuture;
use http::HeaderValue;
use http_body::{Body, Frame, SizeHint};
use prost::Message;
use tower::{Layer, Service};
use tracing::Instrument;

use super::metrics::{Metrics, RpcLabels};
use super::trace::{self, TraceParent};
use crate::pb;

/// The header that carries the request id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// The layer to put around the services.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    metrics: Option<Metrics>,
}

impl ObserveLayer {
    /// Records into `metrics` (None: spans and request ids only, to measure what the
    /// metrics cost).
    pub fn new(metrics: Option<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observed { inner, metrics: self.metrics.clone() }
    }
}

/// A service whose calls are traced and counted.
#[derive(Debug, Clone)]
pub struct Observed<S> {
    inner: S,
    metrics: Option<Metrics>,
}

impl<S, B, R> Service<http::Request<B>> for Observed<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Send + 'static,
    S::Future: Send + 'static,
    R: Body + Send + 'static,
{
    type Response = http::Response<ObservedBody<R>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let labels = labels(request.uri().path());
        let request_id = request_id(request.headers());
        let parent = TraceParent::from_headers(request.headers());
        let span = tracing::info_span!(
            "rpc",
            method = %request.uri().path(),
            request_id = %request_id.to_str().unwrap_or_default(),
            trace_id = tracing::field::Empty,
            principal = tracing::field::Empty,
            ticket_id = tracing::field::Empty,
            code = tracing::field::Empty,
        );
        trace::link(&span, parent.as_ref());
        if let Some(m) = &self.metrics {
            m.rpc.started.get_or_create(&labels).inc();
        }
        let started = Instant::now();
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        let metrics = self.metrics.clone();
        Box::pin(
            async move {
                let mut response = future.await?;
                response.headers_mut().insert(REQUEST_ID, request_id);
                let outcome = Outcome { metrics, labels, started, span: tracing::Span::current(), done: false };
                let (parts, body) = response.into_parts();
                let mut body = ObservedBody { inner: body, outcome, counter: Counter::default(), sent: None };
                // A trailers-only response (an error before any message) ends here.
                if let Some(code) = status_code(&parts.headers) {
                    body.outcome.finish(code);
                }
                Ok(http::Response::from_parts(parts, body))
            }
            .instrument(span),
        )
    }
}

/// What is known about a call until its response ends.
struct Outcome {
    metrics: Option<Metrics>,
    labels: RpcLabels,
    started: Instant,
    span: tracing::Span,
    done: bool,
}

impl Outcome {
    fn finish(&mut self, code: tonic::Code) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let name = code_name(code);
        self.span.record("code", name);
        if let Some(m) = &self.metrics {
            m.rpc.handled.get_or_create(&self.labels.with_code(name)).inc();
            m.rpc.handling.get_or_create(&self.labels).observe(self.started.elapsed().as_secs_f64());
        }
    }
}

impl Drop for Outcome {
    /// A response dropped before its trailers: the caller went away.
    fn drop(&mut self) {
        self.finish(tonic::Code::Cancelled);
    }
}

/// Counts gRPC messages in a response body's bytes (5-byte header, then the length).
#[derive(Debug, Default)]
struct Counter {
    /// Bytes of the current header seen so far, and the header.
    header: [u8; 5],
    have: usize,
    /// Bytes of the current message still to skip.
    skip: u64,
}

impl Counter {
    /// The messages that start in `chunk`.
    fn count(&mut self, mut chunk: &[u8]) -> u64 {
        let mut messages = 0;
        while !chunk.is_empty() {
            if self.skip > 0 {
                let n = (self.skip as usize).min(chunk.len());
                self.skip -= n as u64;
                chunk = &chunk[n..];
                continue;
            }
            let n = (5 - self.have).min(chunk.len());
            self.header[self.have..self.have + n].copy_from_slice(&chunk[..n]);
            self.have += n;
            chunk = &chunk[n..];
            if self.have == 5 {
                messages += 1;
                self.have = 0;
                self.skip =
                    u64::from(u32::from_be_bytes([self.header[1], self.header[2], self.header[3], self.header[4]]));
            }
        }
        messages
    }
}

pin_project_lite::pin_project! {
    /// A response body that records the call's code when its trailers pass, and counts the
    /// messages of server streams.
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        outcome: Outcome,
        counter: Counter,
        // This call's series of `grpc_server_msg_sent`, found at the first message: a
        // WatchQueue stream sends thousands, and each lookup hashes the labels under a lock.
        sent: Option<prometheus_client::metrics::counter::Counter>,
    }
}

impl<B> std::fmt::Debug for ObservedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedBody").field("labels", &self.outcome.labels).finish_non_exhaustive()
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.as_mut().project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                if let Some(data) = f.data_ref()
                    && this.outcome.labels.grpc_type != "unary"
                    && let Some(m) = &this.outcome.metrics
                {
                    let sent = this.counter.count(data.chunk());
                    if sent > 0 {
                        let labels = &this.outcome.labels;
                        this.sent.get_or_insert_with(|| m.rpc.msg_sent.get_or_create(labels).clone()).inc_by(sent);
                    }
                }
                if let Some(code) = f.trailers_ref().and_then(status_code) {
                    this.outcome.finish(code);
                }
            }
            Some(Err(_)) => this.outcome.finish(tonic::Code::Unknown),
            // Ended without trailers: tonic always sends them, so this is not a gRPC answer.
            None => this.outcome.finish(tonic::Code::Unknown),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn status_code(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers.get("grpc-status").map(|v| tonic::Code::from_bytes(v.as_bytes()))
}

/// go-grpc-prometheus's names of the codes.
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

/// The caller's request id if it is short and plain, else a new one.
fn request_id(headers: &http::HeaderMap) -> HeaderValue {
    let given = headers.get(REQUEST_ID).filter(|v| {
        let b = v.as_bytes();
        !b.is_empty() && b.len() <= 64 && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
    });
    match given {
        Some(v) => v.clone(),
        None => {
            let id: u128 = rand::random();
            HeaderValue::from_str(&format!("{id:032x}")).unwrap_or(HeaderValue::from_static("unknown"))
        }
    }
}

/// The labels of every method this server has, by path; anything else is `unknown` (a
/// caller cannot grow the label set).
static METHODS: LazyLock<HashMap<String, RpcLabels>> = LazyLock::new(|| {
    let sets = [
        pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut methods = HashMap::new();
    for set in sets {
        let Ok(set) = prost_types::FileDescriptorSet::decode(set) else { continue };
        for file in &set.file {
            for service in &file.service {
                let full: &'static str = Box::leak(format!("{}.{}", file.package(), service.name()).into_boxed_str());
                for m in &service.method {
                    let grpc_type = match (m.client_streaming(), m.server_streaming()) {
                        (false, false) => "unary",
                        (false, true) => "server_stream",
                        (true, false) => "client_stream",
                        (true, true) => "bidi_stream",
                    };
                    let method: &'static str = Box::leak(m.name().to_owned().into_boxed_str());
                    methods.insert(
                        format!("/{full}/{method}"),
                        RpcLabels { grpc_type, grpc_service: full, grpc_method: method },
                    );
                }
            }
        }
    }
    methods
});

fn labels(path: &str) -> RpcLabels {
    METHODS.get(path).copied().unwrap_or(RpcLabels {
        grpc_type: "unary",
        grpc_service: "unknown",
        grpc_method: "unknown",
    })
}

/// Records the ticket a call is about on its span (0: none).
pub fn ticket(id: i64) {
    if id != 0 {
        tracing::Span::current().record("ticket_id", id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_labels_and_strangers_share_one() {
        let get = labels("/support.v1.TicketService/GetTicket");
        assert_eq!(
            (get.grpc_type, get.grpc_service, get.grpc_method),
            ("unary", "support.v1.TicketService", "GetTicket")
        );
        assert_eq!(labels("/support.v1.TicketService/WatchQueue").grpc_type, "server_stream");
        assert_eq!(labels("/grpc.health.v1.Health/Check").grpc_service, "grpc.health.v1.Health");
        assert_eq!(labels("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo").grpc_type, "bidi_stream");
        assert_eq!(labels("/x.Y/Z").grpc_service, "unknown");
    }

    #[test]
    fn messages_are_counted_across_chunk_boundaries() {
        let mut frames = Vec::new();
        for len in [0u32, 3, 300] {
            frames.push(0u8);
            frames.extend(len.to_be_bytes());
            frames.extend(std::iter::repeat_n(7u8, len as usize));
        }
        for split in [1, 2, 4, 5, 7, 64] {
            let mut c = Counter::default();
            let total: u64 = frames.chunks(split).map(|chunk| c.count(chunk)).sum();
            assert_eq!(total, 3, "chunks of {split}");
        }
    }

    #[test]
    fn request_ids_are_kept_when_plain_and_made_otherwise() {
        let mut h = http::HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert(REQUEST_ID, HeaderValue::from_static("bad id with spaces"));
        assert_eq!(request_id(&h).len(), 32);
        assert_eq!(request_id(&http::HeaderMap::new()).len(), 32);
    }
}
