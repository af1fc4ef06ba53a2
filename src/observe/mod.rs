//! What operators see: metrics ([`metrics`], rendered on the admin listener by [`admin`]),
//! a span per RPC with a request id and the caller's W3C trace ([`rpc`], [`trace`]), and
//! OpenTelemetry export when it is configured ([`otel`]).

pub mod admin;
pub mod metrics;
pub mod otel;
pub mod rpc;
pub mod trace;

pub use metrics::Metrics;
