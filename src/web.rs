//! Browsers' way in, the outermost layer: CORS, the web console (the bundle built from
//! `web/`, committed in `web/dist/` and embedded in the binary) at `/`, and gRPC-Web, which
//! becomes plain gRPC before the layers behind (malformed framing, deadlines, auth), so a
//! browser's call meets the same table, limits and error details as any other.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::{BoxFuture, Either, Ready, ready};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use tonic::body::Body;
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, Service, ServiceExt};
use tower_http::compression::{Compression, CompressionLayer};
use tower_http::cors::{AllowHeaders, AllowOrigin, Cors, CorsLayer};

/// The console's files, from `web/dist/`.
#[derive(rust_embed::Embed)]
#[folder = "web/dist/"]
struct Bundle;

/// The layer: CORS around the console around gRPC-Web around `S`.
#[derive(Debug, Clone)]
pub struct BrowserLayer {
    console: bool,
    origins: Arc<[HeaderValue]>,
}

impl BrowserLayer {
    /// Serving the console or not, and allowing `origins` besides the service's own.
    pub fn new(console: bool, origins: &[String]) -> Result<Self, String> {
        let origins = origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .map(|o| {
                HeaderValue::from_str(o.trim_end_matches('/'))
                    .map_err(|_| format!("SUPPORT_CORS_ORIGINS: {o:?} is not an origin"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { console, origins: origins.into() })
    }

    fn cors(&self) -> CorsLayer {
        let origins = self.origins.clone();
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin, parts| {
                origins.contains(origin) || same_origin(origin, parts)
            }))
            .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(EXPOSED.map(HeaderName::from_static))
            .max_age(Duration::from_secs(3_600))
    }
}

/// Response headers a browser's script may read: the status, its details, the request id.
const EXPOSED: [&str; 4] = ["grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id"];

/// Whether `origin` is the service itself, as the request addressed it.
fn same_origin(origin: &HeaderValue, parts: &http::request::Parts) -> bool {
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(parts.uri.authority().map(|a| a.as_str()));
    let (Some(host), Ok(origin)) = (host, origin.to_str()) else {
        return false;
    };
    origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
}

impl<S> Layer<S> for BrowserLayer {
    type Service = Cors<Console<GrpcWebService<S>>>;

    fn layer(&self, inner: S) -> Self::Service {
        let assets = self.console.then(|| CompressionLayer::new().gzip(true).layer(Assets));
        self.cors().layer(Console { assets, inner: GrpcWebLayer::new().layer(inner) })
    }
}

/// Serves the console's files to plain GET and HEAD requests, passing the rest on.
#[derive(Clone)]
pub struct Console<S> {
    assets: Option<Compression<Assets>>,
    inner: S,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Console<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").field("serving", &self.assets.is_some()).field("inner", &self.inner).finish()
    }
}

impl<S, B> Service<Request<B>> for Console<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response<Body>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let is_grpc =
            request.headers().get(CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"));
        let is_page = matches!(*request.method(), Method::GET | Method::HEAD) && !is_grpc;
        match (&self.assets, is_page) {
            (Some(assets), true) => {
                let (parts, _) = request.into_parts();
                let served = assets.clone().oneshot(Request::from_parts(parts, ()));
                Either::Right(Box::pin(async move {
                    let response = served.await.unwrap_or_else(|never| match never {});
                    Ok(response.map(Body::new))
                }))
            }
            _ => Either::Left(self.inner.call(request)),
        }
    }
}

/// The embedded files: `/` is the page, `/assets/` the hashed scripts and styles.
#[derive(Debug, Clone, Copy)]
pub struct Assets;

impl Service<Request<()>> for Assets {
    type Response = Response<http_body_util::Full<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        ready(Ok(asset(request.uri().path())))
    }
}

/// The response for `path`: the file with its type and caching, or 404.
fn asset(path: &str) -> Response<http_body_util::Full<Bytes>> {
    let name = match path.trim_start_matches('/') {
        "" => "index.html",
        name => name,
    };
    let Some(file) = Bundle::get(name) else {
        return with_page_headers(Response::builder().status(StatusCode::NOT_FOUND).header(CONTENT_TYPE, "text/plain"))
            .body(Bytes::from_static(b"not found\n").into())
            .unwrap_or_default();
    };
    // Hashed names never change; the page itself is always revalidated.
    let cache = if name.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    with_page_headers(Response::builder().header(CONTENT_TYPE, file.metadata.mimetype()).header(CACHE_CONTROL, cache))
        .body(Bytes::from(file.data.into_owned()).into())
        .unwrap_or_default()
}

/// What every console response says about itself: its own scripts only, no framing, no
/// sniffing, no referrer.
fn with_page_headers(builder: http::response::Builder) -> http::response::Builder {
    builder
        .header(
            "content-security-policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        )
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(host: &str) -> http::request::Parts {
        Request::builder().header("host", host).body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_service_s_own_origin_is_the_host_it_was_addressed_by() {
        let p = parts("127.0.0.1:50051");
        assert!(same_origin(&HeaderValue::from_static("http://127.0.0.1:50051"), &p));
        assert!(same_origin(&HeaderValue::from_static("https://127.0.0.1:50051"), &p));
        assert!(!same_origin(&HeaderValue::from_static("http://evil.example"), &p));
        assert!(!same_origin(&HeaderValue::from_static("http://127.0.0.1:50051.evil.example"), &p));
    }

    #[test]
    fn origins_are_checked_at_start_up() {
        assert!(BrowserLayer::new(true, &["https://a.example/".into(), " ".into()]).is_ok());
        assert!(BrowserLayer::new(true, &["bad\norigin".into()]).unwrap_err().contains("SUPPORT_CORS_ORIGINS"));
    }

    #[test]
    fn unknown_files_are_404_and_the_page_is_revalidated() {
        assert_eq!(asset("/nope.js").status(), StatusCode::NOT_FOUND);
        let page = asset("/");
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[CACHE_CONTROL], "no-cache");
        assert!(page.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    }
}
