//! What the per-RPC metrics cost: the server's real observation layer around a service that
//! answers at once (OK, in trailers, as tonic does), driven N times with metrics on and off.
//! The difference is the metrics' CPU per call, to set beside a call's whole server CPU.

use std::convert::Infallible;

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use support_service::observe::Metrics;
use support_service::observe::rpc::ObserveLayer;
use tower::{Layer, Service, ServiceExt};

type Body = StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

/// An answer like a unary call's: one message, then trailers with `grpc-status: 0`.
fn answer() -> http::Response<Body> {
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let frames = vec![Ok(Frame::data(Bytes::from_static(&[0, 0, 0, 0, 2, 8, 1]))), Ok(Frame::trailers(trailers))];
    http::Response::new(StreamBody::new(futures::stream::iter(frames)))
}

/// Nanoseconds of CPU per call through the layer (metrics on or off).
async fn per_call(metrics: Option<Metrics>, calls: u64) -> f64 {
    let inner = tower::service_fn(|_req: http::Request<()>| async { Ok::<_, Infallible>(answer()) });
    let mut svc = ObserveLayer::new(metrics).layer(inner);
    let cpu = crate::server::usage_of("self").cpu_secs;
    for _ in 0..calls {
        let request = http::Request::post("/support.v1.TicketService/CreateTicket").body(()).expect("request");
        let response = svc.ready().await.expect("ready").call(request).await.expect("answer");
        let body = response.into_body().collect().await.expect("body");
        std::hint::black_box(body);
    }
    let cpu = crate::server::usage_of("self").cpu_secs - cpu;
    cpu * 1e9 / calls as f64
}

/// Runs metrics off, on, off, on (`rounds` times each) and prints the difference.
pub(crate) async fn run(calls: u64, rounds: usize) {
    let metrics = Metrics::new();
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        off.push(per_call(None, calls).await);
        on.push(per_call(Some(metrics.clone()), calls).await);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (off, on) = (median(&mut off), median(&mut on));
    println!("| layer per call | metrics off | metrics on | metrics cost |");
    println!("|---|---:|---:|---:|");
    println!("| CPU ns (median of {rounds} rounds of {calls} calls) | {off:.0} | {on:.0} | {:.0} |", on - off);
}
