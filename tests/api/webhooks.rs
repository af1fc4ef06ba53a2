//! WebhookService and the deliverer, with a real HTTP receiver on loopback (allowed by
//! SUPPORT_WEBHOOK_ALLOW): every wanted event arrives once acknowledged, in order, signed,
//! through failures and a timeout; 410 disables; a subscription failing past the retry
//! window is disabled with its reason; replay and redelivery; the address guard.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use support_service::pb::{self, ConversationMode, CustomerTier, QueueEventKind, Severity, TicketStatus};
use tonic::Code;

use crate::helpers::{Clients, TestApp, bad_fields, spawn_with};

/// What the receiver answers, request by request; 200 once the plan is used up.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Status(u16),
    /// Answers 200 after this long (past the service's timeout).
    Slow(Duration),
}

/// A request as received: (webhook-id, webhook-timestamp, webhook-signature, body, answered 2xx).
type Seen = (String, String, String, Bytes, bool);

#[derive(Debug, Default)]
struct Receiver {
    plan: Mutex<VecDeque<Answer>>,
    /// Every request.
    seen: Mutex<Vec<Seen>>,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let answer = r.plan.lock().unwrap().pop_front().unwrap_or(Answer::Status(200));
    let ok = matches!(answer, Answer::Status(200..=299));
    // Recorded on arrival: a client that gives up drops the connection, and this handler.
    r.seen.lock().unwrap().push((
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        body,
        ok,
    ));
    match answer {
        Answer::Status(s) => StatusCode::from_u16(s).unwrap(),
        Answer::Slow(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
    }
}

/// A receiver on 127.0.0.1 answering by `plan`; its URL.
async fn receiver(plan: Vec<Answer>) -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver { plan: Mutex::new(plan.into()), ..Default::default() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, format!("http://{addr}/hook"))
}

async fn app() -> TestApp {
    spawn_with(|s| {
        s.webhook_allow = vec!["127.0.0.1".into()];
        s.webhook_timeout_ms = 300;
        s.webhook_backoff_ms = 20;
        s.webhook_max_backoff_ms = 100;
    })
    .await
}

fn hook(url: &str, kinds: &[QueueEventKind]) -> pb::CreateWebhookRequest {
    let webhook = pb::Webhook {
        url: url.into(),
        event_kinds: kinds.iter().map(|k| i32::from(*k)).collect(),
        active: true,
        ..Default::default()
    };
    pb::CreateWebhookRequest { webhook: Some(webhook), ..Default::default() }
}

fn verify(secret: &str, id: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    signature == format!("v1,{}", b64.encode(mac.finalize().into_bytes()))
}

/// Waits (up to 20 s) until `done` holds for what the receiver has seen.
async fn until(r: &Receiver, done: impl Fn(&[Seen]) -> bool) {
    for _ in 0..400 {
        if done(&r.seen.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the receiver saw {:#?}", r.seen.lock().unwrap().iter().map(|s| (&s.0, s.4)).collect::<Vec<_>>());
}

async fn webhook(c: &mut Clients, id: i64) -> pb::Webhook {
    c.webhooks.get_webhook(pb::GetWebhookRequest { id }).await.unwrap().into_inner().webhook.unwrap()
}

#[tokio::test]
async fn every_wanted_event_arrives_in_order_signed_through_failures_and_a_timeout() {
    let mut app = app().await;
    let plan =
        vec![Answer::Status(500), Answer::Status(503), Answer::Status(502), Answer::Slow(Duration::from_millis(800))];
    let (r, url) = receiver(plan).await;
    let kinds = [QueueEventKind::TicketCreated, QueueEventKind::StatusChanged];
    let created = app.webhooks.create_webhook(hook(&url, &kinds)).await.unwrap().into_inner();
    let (w, secret) = (created.webhook.unwrap(), created.secret);
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");

    let d = app.department("Billing", ConversationMode::Chat).await.id;
    let c = app.customer("ann@example.com", CustomerTier::Free).await.id;
    let mut tickets = Vec::new();
    for _ in 0..3 {
        let t = app.ticket(c, d, Severity::Minor, 1).await.id;
        app.set_status(t, TicketStatus::InProgress).await.unwrap();
        tickets.push(t);
    }
    // Three creates and three status moves (no agent: no assignment events to filter).
    until(&r, |seen| seen.iter().filter(|s| s.4).count() == 6).await;
    let seen = r.seen.lock().unwrap().clone();
    assert!(seen.len() >= 10, "3 failures, a timeout, then 6 deliveries: {}", seen.len());
    let delivered: Vec<_> = seen.iter().filter(|s| s.4).collect();
    let mut last = 0;
    for (id, timestamp, signature, body, _) in &delivered {
        assert!(verify(&secret, id, timestamp, body, signature), "signature of {id}");
        let event: serde_json::Value = serde_json::from_slice(body).unwrap();
        let sequence: i64 = event["sequence"].as_str().unwrap().parse().unwrap();
        assert_eq!(*id, format!("evt_{sequence}"));
        assert!(sequence > last, "in order: {sequence} after {last}");
        last = sequence;
        let kind = event["kind"].as_str().unwrap();
        assert!(kind == "QUEUE_EVENT_KIND_TICKET_CREATED" || kind == "QUEUE_EVENT_KIND_STATUS_CHANGED", "{kind}");
    }
    // The first event's retries kept its id; the cursor reached the last delivered event.
    assert!(seen[..5].iter().all(|s| s.0 == delivered[0].0), "retries resend the same message");
    // The cursor moves in the transaction that records the delivery, which commits after
    // the receiver has answered (and after the attempt is counted): wait for it, at most
    // five seconds, before reading what it recorded.
    let mut cursor = webhook(&mut app, w.id).await.cursor;
    for _ in 0..100 {
        if cursor == last {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        cursor = webhook(&mut app, w.id).await.cursor;
    }
    assert_eq!(cursor, last);
    let req = pb::ListWebhookDeliveriesRequest { webhook_id: w.id, ..Default::default() };
    let deliveries = app.webhooks.list_webhook_deliveries(req).await.unwrap().into_inner().deliveries;
    let first = deliveries.last().unwrap();
    assert_eq!((first.attempts, first.state), (5, pb::DeliveryState::Succeeded.into()));
    assert!(deliveries.iter().all(|d| d.state == i32::from(pb::DeliveryState::Succeeded)));
    let metrics = reqwest::get(format!("http://{}/metrics", app.admin)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"support_webhook_attempts_total{outcome="delivered"} 6"#), "{metrics}");
    assert!(metrics.contains(r#"support_webhook_attempts_total{outcome="failed"} 4"#), "{metrics}");
}

#[tokio::test]
async fn gone_disables_at_once_and_replay_and_redelivery_send_again() {
    let mut app = app().await;
    let (r, url) = receiver(vec![Answer::Status(410)]).await;
    let w = app.webhooks.create_webhook(hook(&url, &[])).await.unwrap().into_inner().webhook.unwrap();
    let d = app.department("Billing", ConversationMode::Chat).await.id;
    let c = app.customer("ann@example.com", CustomerTier::Free).await.id;
    app.ticket(c, d, Severity::Minor, 1).await;
    until(&r, |seen| !seen.is_empty()).await;
    let mut disabled = webhook(&mut app, w.id).await;
    for _ in 0..100 {
        if !disabled.active {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        disabled = webhook(&mut app, w.id).await;
    }
    assert!(!disabled.active && disabled.disabled_reason.contains("410"), "{disabled:?}");

    // Redeliver the event by hand, then replay from the start and reactivate.
    let req = pb::RedeliverWebhookEventRequest { webhook_id: w.id, sequence: w.cursor + 1 };
    let manual = app.webhooks.redeliver_webhook_event(req).await.unwrap().into_inner().delivery.unwrap();
    assert!(manual.manual && manual.state == i32::from(pb::DeliveryState::Succeeded), "{manual:?}");
    let replay = pb::ReplayWebhookRequest { webhook_id: w.id, after_sequence: w.cursor };
    app.webhooks.replay_webhook(replay).await.unwrap();
    let on = pb::Webhook { id: w.id, active: true, ..Default::default() };
    let mask = prost_types::FieldMask { paths: vec!["active".into()] };
    let update = pb::UpdateWebhookRequest { webhook: Some(on), update_mask: Some(mask) };
    let on = app.webhooks.update_webhook(update).await.unwrap().into_inner().webhook.unwrap();
    assert!(on.active && on.disabled_reason.is_empty());
    until(&r, |seen| seen.iter().filter(|s| s.4).count() >= 2).await;

    let far = pb::ReplayWebhookRequest { webhook_id: w.id, after_sequence: 1_000_000 };
    assert_eq!(app.webhooks.replay_webhook(far).await.unwrap_err().code(), Code::OutOfRange);
    let gone = pb::RedeliverWebhookEventRequest { webhook_id: w.id, sequence: 1_000_000 };
    assert_eq!(app.webhooks.redeliver_webhook_event(gone).await.unwrap_err().code(), Code::OutOfRange);
}

#[tokio::test]
async fn failing_past_the_retry_window_disables_with_the_reason() {
    let mut app = spawn_with(|s| {
        s.webhook_allow = vec!["127.0.0.1".into()];
        s.webhook_backoff_ms = 50;
        s.webhook_max_backoff_ms = 100;
        s.webhook_retry_for_secs = 1;
    })
    .await;
    let (r, url) = receiver(vec![Answer::Status(500); 1000]).await;
    let w = app.webhooks.create_webhook(hook(&url, &[])).await.unwrap().into_inner().webhook.unwrap();
    let d = app.department("Billing", ConversationMode::Chat).await.id;
    let c = app.customer("ann@example.com", CustomerTier::Free).await.id;
    app.ticket(c, d, Severity::Minor, 1).await;
    until(&r, |seen| seen.len() >= 3).await;
    let mut w = webhook(&mut app, w.id).await;
    for _ in 0..150 {
        if !w.active {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        w = webhook(&mut app, w.id).await;
    }
    assert!(!w.active, "disabled after a second of failures");
    assert!(w.disabled_reason.contains("kept failing") && w.disabled_reason.contains("500"), "{}", w.disabled_reason);
    let req = pb::ListWebhookDeliveriesRequest { webhook_id: w.id, ..Default::default() };
    let d = &app.webhooks.list_webhook_deliveries(req).await.unwrap().into_inner().deliveries[0];
    assert_eq!((d.state, d.last_status_code), (pb::DeliveryState::Failed.into(), 500));
    assert!(d.attempts >= 3);
}

#[tokio::test]
async fn private_addresses_and_plain_http_are_refused_unless_allowed() {
    let mut app = spawn_with(|_| {}).await;
    for (url, words) in [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://169.254.169.254/latest", "link-local"),
        ("http://hooks.example.com/x", "https"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("", "required"),
    ] {
        let err = app.webhooks.create_webhook(hook(url, &[])).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{url}");
        assert_eq!(bad_fields(&err), ["webhook.url"], "{url}");
        assert!(err.message().contains(words), "{url}: {}", err.message());
    }
    // A name is checked when it is resolved, on every connection: localhost is refused then.
    let w = app.webhooks.create_webhook(hook("https://localhost:9/hook", &[])).await.unwrap().into_inner();
    let d = app.department("Billing", ConversationMode::Chat).await.id;
    let c = app.customer("ann@example.com", CustomerTier::Free).await.id;
    app.ticket(c, d, Severity::Minor, 1).await;
    let id = w.webhook.unwrap().id;
    let mut last_error = String::new();
    for _ in 0..200 {
        let req = pb::ListWebhookDeliveriesRequest { webhook_id: id, ..Default::default() };
        if let Some(d) = app.webhooks.list_webhook_deliveries(req).await.unwrap().into_inner().deliveries.first() {
            last_error = d.last_error.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(last_error.contains("loopback"), "{last_error}");
    let bad = pb::CreateWebhookRequest { webhook: None, after_sequence: -1, ..Default::default() };
    let err = app.webhooks.create_webhook(bad).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["webhook", "webhook.url", "after_sequence"]);
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// A subscription's stored secret, as the database holds it.
async fn stored_secret(db: &sea_orm::DatabaseConnection, id: i64) -> String {
    use sea_orm::ConnectionTrait;
    let sql = format!("SELECT secret FROM webhooks WHERE id = {id}");
    let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    row.expect("the subscription's row").try_get("", "secret").unwrap()
}

#[tokio::test]
async fn secrets_are_stored_sealed_and_sealed_again_under_a_new_key() {
    use sea_orm::ConnectionTrait;
    use support_service::auth::sealing::Sealer;
    let b64 = b64();
    let (old, new) = ([1u8; 32], [2u8; 32]);
    let mut app = spawn_with(|s| {
        s.webhook_allow = vec!["127.0.0.1".into()];
        s.secrets_key = Some(b64.encode(old).into());
    })
    .await;
    let (_, url) = receiver(Vec::new()).await;
    let mut created = Vec::new();
    for _ in 0..2 {
        let answer = app.webhooks.create_webhook(hook(&url, &[])).await.unwrap().into_inner();
        created.push((answer.webhook.unwrap().id, answer.secret));
    }
    let db = sea_orm::Database::connect(app.db_url()).await.expect("connect");
    let old_only = Sealer::new(&[old]).unwrap();
    for (id, secret) in &created {
        let stored = stored_secret(&db, *id).await;
        let key_part = secret.trim_start_matches("whsec_");
        assert!(stored.starts_with("sealed:1:") && !stored.contains(key_part), "{stored} holds {secret}");
        assert_eq!(&old_only.open(&stored).unwrap(), secret);
    }
    // The second as a release before sealing stored it: as it is.
    let (plain_id, plain) = &created[1];
    let sql = format!("UPDATE webhooks SET secret = '{plain}' WHERE id = {plain_id}");
    db.execute_unprepared(&sql).await.unwrap();

    // A replica started with a new key first seals both again under it, and a sealer with
    // the new key alone opens them.
    let keys = format!("{},{}", b64.encode(new), b64.encode(old));
    let _replica = app.replica(|s| s.secrets_key = Some(keys.into())).await;
    let new_only = Sealer::new(&[new]).unwrap();
    for (id, secret) in &created {
        let stored = stored_secret(&db, *id).await;
        assert!(new_only.is_current(&stored), "{stored}");
        assert_eq!(&new_only.open(&stored).unwrap(), secret);
        assert!(old_only.open(&stored).is_err());
    }
}

#[tokio::test]
async fn secrets_sealed_with_the_generated_key_move_to_a_configured_one() {
    use support_service::auth::sealing::Sealer;
    let mut app = spawn_with(|s| s.webhook_allow = vec!["127.0.0.1".into()]).await;
    let (_, url) = receiver(Vec::new()).await;
    let answer = app.webhooks.create_webhook(hook(&url, &[])).await.unwrap().into_inner();
    let id = answer.webhook.unwrap().id;
    let db = sea_orm::Database::connect(app.db_url()).await.expect("connect");
    let configured = [3u8; 32];
    let configured_only = Sealer::new(&[configured]).unwrap();
    let stored = stored_secret(&db, id).await;
    assert!(stored.starts_with("sealed:1:") && configured_only.open(&stored).is_err(), "{stored}");
    // A start with the key configured opens what the generated key sealed, and seals it
    // again under the configured key.
    let _replica = app.replica(|s| s.secrets_key = Some(b64().encode(configured).into())).await;
    assert_eq!(configured_only.open(&stored_secret(&db, id).await).unwrap(), answer.secret);
}

#[tokio::test]
async fn a_key_that_is_not_32_bytes_of_base64_stops_the_start_before_connecting() {
    use secrecy::SecretString;
    use support_service::config::Settings;
    // An unreachable database: the refusal must come first, naming the setting.
    let mut settings = Settings::with_database("mysql://nobody:nothing@127.0.0.1:9/none");
    settings.db_startup_timeout_secs = 0;
    settings.auth_secret = Some(SecretString::from(b64().encode((0u8..48).collect::<Vec<_>>())));
    for (key, says) in [("not base64!", "key 1 is not base64"), ("AAAA", "key 1 is 3 bytes")] {
        settings.secrets_key = Some(SecretString::from(key.to_owned()));
        let clock = std::sync::Arc::new(support_service::domain::SystemClock);
        let e = support_service::app::App::build(settings.clone(), clock).await.unwrap_err().to_string();
        assert!(e.contains("SUPPORT_SECRETS_KEY") && e.contains(says), "{e}");
    }
}
