//! OpenTelemetry export: when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, every span (the RPC's
//! and those inside it) goes out over OTLP/gRPC, batched on the runtime, with the usual
//! `OTEL_*` variables honoured by the exporter. Off, nothing here costs anything.

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::registry::LookupSpan;

use super::trace::TraceParent;

/// The exporting layer and its provider (shut it down to flush), when export is configured.
pub fn layer<S>() -> Result<Option<(impl tracing_subscriber::Layer<S>, SdkTracerProvider)>, String>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none_or(|v| v.is_empty()) {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
        .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}"))?;
    let processor = BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(Resource::builder().with_service_name(env!("CARGO_PKG_NAME")).build())
        .build();
    let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
    Ok(Some((tracing_opentelemetry::layer().with_tracer(tracer), provider)))
}

/// Makes the caller's span the parent of `span` (no-op when export is off).
pub(super) fn set_parent(span: &tracing::Span, parent: &TraceParent) {
    let remote = SpanContext::new(
        TraceId::from(parent.trace_id),
        SpanId::from(parent.span_id),
        TraceFlags::new(parent.flags),
        true,
        TraceState::default(),
    );
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
}

/// The trace id OpenTelemetry gave `span`, or a new random one when export is off.
pub(super) fn trace_id_of(span: &tracing::Span) -> u128 {
    let id = span.context().span().span_context().trace_id();
    if id != TraceId::INVALID {
        return u128::from_be_bytes(id.to_bytes());
    }
    rand::random::<u128>().max(1)
}
