//! What operators see: metrics on the admin listener, HTTP probes, request ids, and spans
//! exported over OTLP with the caller's W3C trace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::trace::v1::Span;
use support_service::pb::{self, ConversationMode, CustomerTier, Severity, watch_queue_response::Item};

use crate::helpers::{TestApp, spawn_app};

/// GET `path` on the app's admin listener: the status and the body.
async fn admin_get(app: &TestApp, path: &str) -> (u16, String) {
    let http = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = http.get(format!("http://{}{path}", app.admin).parse().unwrap()).await.expect("admin answers");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The value of the sample whose name and labels start `prefix` (labels in declared order).
fn sample(metrics: &str, prefix: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {prefix} in:\n{metrics}"))
}

fn handled(method: &str, code: &str) -> String {
    format!(
        r#"grpc_server_handled_total{{grpc_type="unary",grpc_service="support.v1.TicketService",grpc_method="{method}",grpc_code="{code}"}}"#
    )
}

#[tokio::test]
async fn metrics_count_calls_by_method_and_code_and_the_probes_answer() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Enterprise).await;
    let t = app.ticket(c.id, d.id, Severity::Major, 2).await;
    app.get(t.id).await;
    app.get(t.id).await;
    let missing = app.tickets.get_ticket(pb::GetTicketRequest { id: 999_999 }).await.unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let mut bad = TestApp::ticket_request(c.id, d.id, Severity::Major, 2);
    bad.impact = 99;
    app.tickets.create_ticket(bad).await.unwrap_err();

    // A stream: the snapshot's two messages count as sent while it is open.
    let mut stream = app.tickets.watch_queue(pb::WatchQueueRequest::default()).await.unwrap().into_inner();
    while !matches!(stream.message().await.unwrap().unwrap().item, Some(Item::SnapshotEnd(_))) {}

    let (status, m) = admin_get(&app, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(sample(&m, &handled("GetTicket", "OK")), 2.0);
    assert_eq!(sample(&m, &handled("GetTicket", "NotFound")), 1.0);
    assert_eq!(sample(&m, &handled("CreateTicket", "OK")), 1.0);
    assert_eq!(sample(&m, &handled("CreateTicket", "InvalidArgument")), 1.0);
    let get = r#"{grpc_type="unary",grpc_service="support.v1.TicketService",grpc_method="GetTicket"}"#;
    assert_eq!(sample(&m, &format!("grpc_server_started_total{get}")), 3.0);
    assert_eq!(sample(&m, &format!("grpc_server_handling_seconds_count{get}")), 3.0);
    let watch = r#"{grpc_type="server_stream",grpc_service="support.v1.TicketService",grpc_method="WatchQueue"}"#;
    assert_eq!(sample(&m, &format!("grpc_server_msg_sent_total{watch}")), 2.0, "snapshot ticket and end");
    assert_eq!(sample(&m, "support_watch_subscribers "), 1.0);
    assert!(sample(&m, "support_db_pool_acquire_seconds_count ") >= 2.0, "writes begin transactions");
    assert_eq!(
        sample(&m, "support_db_pool_connections_max "),
        if app.db_url().starts_with("sqlite") { 1.0 } else { 16.0 }
    );
    assert!(m.contains(r#"support_build_info{version=""#), "{m}");

    drop(stream);
    let (_, m) = loop {
        let (s, m) = admin_get(&app, "/metrics").await;
        if m.contains("support_watch_subscribers 0") {
            break (s, m);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        sample(&m, &format!("grpc_server_handled_total{}", watch.replace('}', r#",grpc_code="Canceled"}"#))),
        1.0
    );

    assert_eq!(admin_get(&app, "/livez").await, (200, "ok\n".into()));
    assert_eq!(admin_get(&app, "/readyz").await, (200, "ready\n".into()));
}

#[tokio::test]
async fn every_call_returns_a_request_id_keeping_a_plain_one_from_the_caller() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let mut request = tonic::Request::new(pb::GetDepartmentRequest { id: d.id });
    request.metadata_mut().insert("x-request-id", "checkout-42".parse().unwrap());
    let answer = app.departments.get_department(request).await.unwrap();
    assert_eq!(answer.metadata().get("x-request-id").unwrap(), "checkout-42");

    let refused = app.anonymous().departments.get_department(pb::GetDepartmentRequest { id: d.id }).await.unwrap_err();
    let id = refused.metadata().get("x-request-id").expect("a request id on errors too").to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The `rpc` span of trace `trace_id` (hex), once the collector has it.
async fn exported(collector: &Collector, trace_id: &str) -> Span {
    let trace_id = unhex(trace_id);
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let found = {
                let requests = collector.0.lock().unwrap();
                let spans = requests.iter().flat_map(|r| &r.resource_spans).flat_map(|r| &r.scope_spans);
                spans.flat_map(|s| &s.spans).find(|s| s.name == "rpc" && s.trace_id == trace_id).cloned()
            };
            if let Some(span) = found {
                return span;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the RPC's span reached the collector")
}

/// A span's attributes, each value as its debug text.
fn attributes(span: &Span) -> HashMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| (kv.key.clone(), format!("{:?}", kv.value.as_ref().and_then(|v| v.value.as_ref()))))
        .collect()
}

/// An OTLP collector that keeps what it receives.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test]
async fn spans_go_out_over_otlp_as_children_of_the_callers_traceparent() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = listener.local_addr().unwrap();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(incoming),
    );

    let file = std::env::temp_dir().join(format!("support_otel_{}.db", uuid::Uuid::new_v4().simple()));
    let _db = crate::helpers::TestDb::sqlite_file(file.clone());
    let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let (database, listen, otlp) =
        (format!("sqlite://{}?mode=rwc", file.display()), format!("127.0.0.1:{port}"), format!("http://{otlp}"));
    let (child, mut lines) = crate::helpers::start_binary(&[
        ("DATABASE_URL", &database),
        ("SUPPORT_LISTEN", &listen),
        ("SUPPORT_LOG_FORMAT", "json"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]);
    crate::helpers::log_line(&mut lines, r#""message":"ready""#).await;
    let logs = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push(line);
        }
        all
    });

    let channel =
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await.unwrap();
    let mut auth = pb::auth_service_client::AuthServiceClient::new(channel.clone());
    let mut request = tonic::Request::new(pb::LoginRequest {
        email: "nobody@example.com".into(),
        password: "not the password".into(),
    });
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    request.metadata_mut().insert("traceparent", traceparent.parse().unwrap());
    let refused = auth.login(request).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let request_id = refused.metadata().get("x-request-id").unwrap().to_str().unwrap().to_owned();

    let span = exported(&collector, "4bf92f3577b34da6a3ce929d0e0e4736").await;
    assert_eq!(span.parent_span_id, unhex("00f067aa0ba902b7"), "a child of the caller's span");
    let login = attributes(&span);
    for (key, value) in
        [("method", "/support.v1.AuthService/Login"), ("code", "Unauthenticated"), ("request_id", request_id.as_str())]
    {
        assert!(login.get(key).is_some_and(|v| v.contains(value)), "{key}={value} in {login:?}");
    }

    // A call about a ticket carries its id and the caller's kind.
    let mut clients = crate::helpers::Clients::new(channel, Some(&crate::helpers::service_token()));
    let d = clients.department("Support", ConversationMode::Chat).await;
    let c = clients.customer("ada@example.com", CustomerTier::Enterprise).await;
    let t = clients.ticket(c.id, d.id, Severity::Major, 2).await;
    let mut request = tonic::Request::new(pb::GetTicketRequest { id: t.id });
    request
        .metadata_mut()
        .insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse().unwrap());
    clients.tickets.get_ticket(request).await.unwrap();
    let get = attributes(&exported(&collector, "0af7651916cd43dd8448eb211c80319c").await);
    for (key, value) in [("ticket_id", t.id.to_string()), ("principal", "service".into()), ("code", "OK".into())] {
        assert!(get.get(key).is_some_and(|v| v.contains(&value)), "{key}={value} in {get:?}");
    }

    // The call's log lines carry its request id and trace id.
    drop(child);
    let logs = logs.await.unwrap();
    let refused_line = logs.iter().find(|l| l.contains("sign-in refused")).expect("the refusal is logged");
    assert!(
        refused_line.contains(&request_id) && refused_line.contains("4bf92f3577b34da6a3ce929d0e0e4736"),
        "{refused_line}"
    );
}

/// The real binary runs calls on the worker threads it is told (its start-up line says how
/// many), and refuses a count of 0 naming the flag, before it listens.
#[tokio::test]
async fn the_worker_thread_count_is_the_one_configured() {
    let refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_support-service"))
        .env("SUPPORT_WORKER_THREADS", "0")
        .env("SUPPORT_LISTEN", "127.0.0.1:0")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("--worker-threads"), "{stderr}");

    let file = std::env::temp_dir().join(format!("support_workers_{}.db", uuid::Uuid::new_v4().simple()));
    let _db = crate::helpers::TestDb::sqlite_file(file.clone());
    let database = format!("sqlite://{}?mode=rwc", file.display());
    let (_child, mut lines) = crate::helpers::start_binary(&[
        ("DATABASE_URL", &database),
        ("SUPPORT_LISTEN", "127.0.0.1:0"),
        ("SUPPORT_WORKER_THREADS", "1"),
        ("SUPPORT_LOG_FORMAT", "json"),
    ]);
    let serving = crate::helpers::log_line(&mut lines, "serving support.v1").await;
    let fields: serde_json::Value = serde_json::from_str(&serving).unwrap();
    assert_eq!(fields["workers"], 1, "{serving}");
}

/// A TURN server without its shared secret is refused at start, naming the setting.
#[tokio::test]
async fn a_turn_server_without_its_secret_is_refused_at_start() {
    let file = std::env::temp_dir().join(format!("support_turn_{}.db", uuid::Uuid::new_v4().simple()));
    let _db = crate::helpers::TestDb::sqlite_file(file.clone());
    let refused = tokio::process::Command::new(env!("CARGO_BIN_EXE_support-service"))
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", file.display()))
        .env("SUPPORT_LISTEN", "127.0.0.1:0")
        .env("SUPPORT_ADMIN_LISTEN", "off")
        .env("SUPPORT_ICE_URLS", "stun:stun.example.com:3478,turn:turn.example.com:3478")
        .env_remove("SUPPORT_TURN_SECRET")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("set SUPPORT_TURN_SECRET"), "{stderr}");
}
