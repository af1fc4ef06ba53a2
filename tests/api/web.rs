//! Browsers' way in: gRPC-Web (HTTP/1.1 framing) through the same layers as gRPC, CORS,
//! and the console's page at `/`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use support_service::pb::{
    self, ConversationMode, CustomerTier, QueueEventKind, Severity, ticket_service_client::TicketServiceClient,
    watch_queue_response::Item,
};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic_web::{GrpcWebClientLayer, GrpcWebClientService};
use tower::Layer;

use crate::helpers::{Bearer, TestApp, bad_fields, service_token, spawn_app, spawn_with};

type WebChannel =
    InterceptedService<GrpcWebClientService<Client<HttpConnector, tonic_web::GrpcWebCall<tonic::body::Body>>>, Bearer>;

/// A TicketService client speaking gRPC-Web over HTTP/1.1, as a browser would, carrying `token`.
fn web_tickets(app: &TestApp, token: Option<&str>) -> TicketServiceClient<WebChannel> {
    let http = Client::builder(TokioExecutor::new()).build_http();
    let web = GrpcWebClientLayer::new().layer(http);
    let origin = format!("http://{}", app.addr).parse().expect("uri");
    TicketServiceClient::with_origin(InterceptedService::new(web, Bearer::new(token)), origin)
}

#[tokio::test]
async fn grpc_web_calls_meet_the_same_layers_and_details_as_grpc() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Ticket).await;
    let c = app.customer("ada@example.com", CustomerTier::Enterprise).await;
    let created = app.ticket(c.id, d.id, Severity::Major, 3).await;

    let mut web = web_tickets(&app, Some(&service_token()));
    let got = web.get_ticket(pb::GetTicketRequest { id: created.id }).await.expect("get over gRPC-Web").into_inner();
    assert_eq!(got.ticket, Some(app.get(created.id).await), "the same ticket as over gRPC");

    // Error details survive the translation: the field is named.
    let mut bad = TestApp::ticket_request(c.id, d.id, Severity::Major, 3);
    bad.subject.clear();
    let status = web.create_ticket(bad).await.unwrap_err();
    assert_eq!(bad_fields(&status), vec!["subject"]);

    // The auth layer applies: no token, no call.
    let status = web_tickets(&app, None).get_ticket(pb::GetTicketRequest { id: created.id }).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

#[tokio::test]
async fn watch_queue_streams_over_grpc_web() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Enterprise).await;
    let first = app.ticket(c.id, d.id, Severity::Major, 3).await;

    let mut web = web_tickets(&app, Some(&service_token()));
    let mut stream = web.watch_queue(pb::WatchQueueRequest::default()).await.expect("watch").into_inner();
    let mut next = async || {
        let message = tokio::time::timeout(Duration::from_secs(10), stream.message()).await.expect("an item in time");
        message.expect("no error").expect("not ended").item.expect("item")
    };
    assert!(matches!(next().await, Item::SnapshotTicket(t) if t.id == first.id));
    assert!(matches!(next().await, Item::SnapshotEnd(_)));

    let second = app.ticket(c.id, d.id, Severity::Critical, 5).await;
    let event = loop {
        match next().await {
            Item::Event(e) => break e,
            Item::Heartbeat(_) => continue,
            other => panic!("expected an event, got {other:?}"),
        }
    };
    assert_eq!(event.kind, QueueEventKind::TicketCreated as i32);
    assert_eq!(event.ticket.map(|t| t.id), Some(second.id));
}

/// A plain HTTP/1.1 request to the app: its status and headers, and its body as text.
async fn fetch(app: &TestApp, request: http::request::Builder) -> (http::StatusCode, http::HeaderMap, String) {
    let http = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = request.uri(format!("http://{}{}", app.addr, "/")).body(Empty::new()).expect("request");
    let response = http.request(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    (parts.status, parts.headers, String::from_utf8_lossy(&body).into_owned())
}

fn preflight(origin: &str) -> http::request::Builder {
    http::Request::builder()
        .method("OPTIONS")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type,x-grpc-web")
}

#[tokio::test]
async fn the_console_is_served_at_the_root_with_its_own_origin_allowed() {
    let app = spawn_with(|s| s.cors_origins = vec!["https://desk.example.com".into()]).await;
    let (status, headers, body) = fetch(&app, http::Request::builder()).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"), "{headers:?}");
    assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    assert!(body.contains("<title>"), "{body}");

    let own = format!("http://{}", app.addr);
    for allowed in [own.as_str(), "https://desk.example.com"] {
        let (status, headers, _) = fetch(&app, preflight(allowed)).await;
        assert_eq!(status, 200, "{allowed}");
        assert_eq!(headers["access-control-allow-origin"], allowed);
        assert!(headers["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    }
    let (_, headers, _) = fetch(&app, preflight("https://evil.example")).await;
    assert!(headers.get("access-control-allow-origin").is_none(), "{headers:?}");
}

#[tokio::test]
async fn without_the_console_the_root_serves_nothing_but_grpc_web_works() {
    let mut app = spawn_with(|s| s.console = false).await;
    let (status, _, body) = fetch(&app, http::Request::builder()).await;
    assert_eq!(status, 400, "{body}");
    let d = app.department("Support", ConversationMode::Ticket).await;
    let c = app.customer("ada@example.com", CustomerTier::Enterprise).await;
    let t = app.ticket(c.id, d.id, Severity::Major, 3).await;
    let got = web_tickets(&app, Some(&service_token())).get_ticket(pb::GetTicketRequest { id: t.id }).await;
    assert_eq!(got.expect("get").into_inner().ticket.map(|t| t.id), Some(t.id));
}
