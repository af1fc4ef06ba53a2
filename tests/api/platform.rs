//! Health and reflection: what grpcurl and load balancers rely on.

use std::time::Duration;

use support_service::pb;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use tonic_reflection::pb::{v1, v1alpha};

use crate::helpers::{Proxy, TestDb, spawn_app};
use crate::watch::Watcher;

#[tokio::test]
async fn health_reports_serving_for_the_server_and_each_service() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in ["", "support.v1.TicketService", "support.v1.CustomerService"] {
        let mut status = ServingStatus::Unknown;
        for _ in 0..50 {
            status = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner().status();
            if status == ServingStatus::Serving {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let err = health.check(HealthCheckRequest { service: "no.such.Service".into() }).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_every_service_and_the_error_details() {
    let app = spawn_app().await;
    let mut v1c = v1::server_reflection_client::ServerReflectionClient::new(app.channel.clone());
    let reqs = vec![
        v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(String::new())),
        },
        v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                "google.rpc.BadRequest".into(),
            )),
        },
    ];
    let mut replies = v1c.server_reflection_info(tokio_stream::iter(reqs)).await.unwrap().into_inner();
    let list = replies.next().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) = list.message_response
    else {
        panic!("expected a service list, got {list:?}")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "grpc.health.v1.Health",
        "support.v1.DepartmentService",
        "support.v1.CustomerService",
        "support.v1.AgentService",
        "support.v1.TicketService",
        "support.v1.LogService",
        "support.v1.AuthService",
        "support.v1.ReportService",
        "support.v1.ReplyService",
        "support.v1.WebhookService",
        "support.v1.CallService",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    let file = replies.next().await.unwrap().unwrap();
    assert!(
        matches!(file.message_response, Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()),
        "google.rpc.BadRequest must be describable: {file:?}"
    );

    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(app.channel.clone());
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
            "support.v1.TicketService".into(),
        )),
    };
    let mut replies = alpha.server_reflection_info(tokio_stream::iter(vec![req])).await.unwrap().into_inner();
    let reply = replies.next().await.unwrap().unwrap();
    assert!(matches!(
        reply.message_response,
        Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
    ));
    let _ = pb::FILE_DESCRIPTOR_SET;
}

/// Needs MariaDB (it cuts a TCP connection), in both suite runs.
#[tokio::test]
async fn health_is_not_serving_while_the_database_is_unreachable() {
    let db = TestDb::create_mysql(&crate::helpers::mysql_base()).await;
    let target: std::net::SocketAddr = tokio::net::lookup_host(db.mysql_host_port()).await.unwrap().next().unwrap();
    let proxy = Proxy::start(target).await;
    let via_proxy = db.mysql_url_via(&proxy.addr.to_string());
    let app = crate::helpers::spawn_on(db, via_proxy, |s| {
        s.db_acquire_timeout_ms = 300;
        s.db_connect_timeout_ms = 300;
    })
    .await;
    let mut health = HealthClient::new(app.channel.clone());
    let status = |h: &mut HealthClient<tonic::transport::Channel>| {
        let mut h = h.clone();
        async move { h.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner().status() }
    };
    wait_for(&mut health, status, ServingStatus::Serving).await;
    let mut watcher = Watcher::open(&app, pb::WatchQueueRequest::default()).await;
    watcher.snapshot().await;
    proxy.cut();
    wait_for(&mut health, status, ServingStatus::NotServing).await;
    // Its queue subscribers are ended, to resume through another replica.
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Err(status) = watcher.next().await {
                return status;
            }
        }
    })
    .await
    .expect("the subscriber was not ended within 30 s of the database going away");
    assert_eq!(ended.code(), tonic::Code::Unavailable, "{ended:?}");
    assert!(ended.message().contains("another replica"), "{}", ended.message());
    // A call now is UNAVAILABLE (retryable), not INTERNAL.
    let mut tickets = app.tickets.clone();
    let err = tickets.get_ticket(pb::GetTicketRequest { id: 1 }).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    // The database comes back on the same address.
    let listener = TcpListener::bind(proxy.addr).await.unwrap();
    let _back = Proxy::serve(listener, target);
    wait_for(&mut health, status, ServingStatus::Serving).await;
}

async fn wait_for<F, Fut>(h: &mut HealthClient<tonic::transport::Channel>, status: F, want: ServingStatus)
where
    F: Fn(&mut HealthClient<tonic::transport::Channel>) -> Fut,
    Fut: std::future::Future<Output = ServingStatus>,
{
    for _ in 0..100 {
        if status(h).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("health never became {want:?}");
}
