//! Tracing setup: `RUST_LOG` filters (default `info`), text or JSON lines on stderr, and
//! OpenTelemetry export over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use std::sync::OnceLock;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

use crate::config::LogFormat;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber; a second call is a no-op. Needs a Tokio runtime when
/// OpenTelemetry export is on (spans are batched on it).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let lines = fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let lines = match format {
        LogFormat::Text => lines.boxed(),
        // Each line carries the fields of its spans: the call's request and trace ids.
        LogFormat::Json => lines.json().flatten_event(true).with_current_span(true).with_span_list(false).boxed(),
    };
    let (otel, provider) = match crate::observe::otel::layer() {
        Ok(Some((layer, provider))) => (Some(layer), Some(provider)),
        Ok(None) => (None, None),
        Err(e) => {
            eprintln!("OpenTelemetry export is off: {e}");
            (None, None)
        }
    };
    if tracing_subscriber::registry().with(filter).with(lines).with(otel).try_init().is_ok()
        && let Some(provider) = provider
    {
        let _ = PROVIDER.set(provider);
    }
}

/// Flushes and stops the OpenTelemetry export, if it is on.
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get()
        && let Err(e) = provider.shutdown()
    {
        eprintln!("OpenTelemetry export did not flush: {e}");
    }
}
