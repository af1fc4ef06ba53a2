//! SLA due times and breaches, and aging, driven by the manual clock: no sleeping.

use chrono::Duration;
use prost_types::FieldMask;
use support_service::pb::{self, ConversationMode, CustomerTier, PriorityLevel, SenderKind, Severity, TicketStatus};

use crate::helpers::spawn_app;

fn secs(t: &Option<prost_types::Timestamp>) -> i64 {
    t.as_ref().expect("timestamp").seconds
}

#[tokio::test]
async fn due_times_follow_the_level_and_breaches_are_flagged() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Enterprise).await;
    let a = app.agent("grace@support.example", d.id).await;
    // ENTERPRISE + MINOR + 1 = 7: P2, first response in 4 h, resolution in 24 h.
    let t = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    let created = secs(&t.create_time);
    let sla = t.sla.unwrap();
    assert_eq!(secs(&sla.first_response_due_time) - created, 4 * 3600);
    assert_eq!(secs(&sla.resolution_due_time) - created, 24 * 3600);

    // Raising severity to CRITICAL, impact 5: 15, P1: due times move to 1 h and 8 h.
    let change = pb::Ticket { id: t.id, severity: Severity::Critical.into(), impact: 5, ..Default::default() };
    let mask = FieldMask { paths: vec!["severity".into(), "impact".into()] };
    let t = app
        .tickets
        .update_ticket(pb::UpdateTicketRequest { ticket: Some(change), update_mask: Some(mask) })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let sla = t.sla.unwrap();
    assert_eq!(secs(&sla.first_response_due_time) - created, 3600);
    assert_eq!(secs(&sla.resolution_due_time) - created, 8 * 3600);

    app.clock.advance(Duration::minutes(59));
    assert_eq!(app.maintenance.run_once().await.unwrap().breached, 0);
    app.clock.advance(Duration::minutes(2));
    assert_eq!(app.maintenance.run_once().await.unwrap().breached, 1);
    let t = app.get(t.id).await;
    let sla = t.sla.unwrap();
    assert!(sla.first_response_breached && !sla.resolution_breached);
    // A late reply does not clear the breach.
    app.say(t.id, SenderKind::Agent, a.id, "sorry for the wait").await.unwrap();
    assert!(app.get(t.id).await.sla.unwrap().first_response_breached);

    app.clock.advance(Duration::hours(8));
    app.maintenance.run_once().await.unwrap();
    let sla = app.get(t.id).await.sla.unwrap();
    assert!(sla.resolution_breached, "unresolved after 8 h");
    assert_eq!(app.maintenance.run_once().await.unwrap().breached, 0, "flags are written once");
}

#[tokio::test]
async fn resolving_in_time_is_no_breach() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Free).await;
    let a = app.agent("grace@support.example", d.id).await;
    let t = app.ticket(c.id, d.id, Severity::Minor, 1).await; // 3: P3, 8 h / 72 h
    app.clock.advance(Duration::hours(1));
    app.say(t.id, SenderKind::Agent, a.id, "fixed").await.unwrap();
    app.set_status(t.id, TicketStatus::Resolved).await.unwrap();
    app.clock.advance(Duration::days(10));
    app.maintenance.run_once().await.unwrap();
    let sla = app.get(t.id).await.sla.unwrap();
    assert!(!sla.first_response_breached && !sla.resolution_breached);
}

#[tokio::test]
async fn aging_rescores_open_tickets_and_reaches_p0() {
    let mut app = spawn_app().await;
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Enterprise).await;
    let top = app.ticket(c.id, d.id, Severity::Critical, 5).await; // 15, P1
    app.clock.advance(Duration::minutes(1));
    let low = app.ticket(c.id, d.id, Severity::Minor, 1).await; // 7, P2
    let done = app.ticket(c.id, d.id, Severity::Minor, 1).await;
    app.tickets
        .close_ticket(pb::CloseTicketRequest { id: done.id, feedback: pb::Feedback::Satisfied.into(), rating: 5 })
        .await
        .unwrap();

    app.clock.advance(Duration::minutes(3 * 60 + 58));
    assert_eq!(app.maintenance.run_once().await.unwrap().rescored, 0, "nothing aged yet");
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.maintenance.run_once().await.unwrap().rescored, 1, "only top is 4 h old");
    let aged = app.get(top.id).await;
    let p = aged.priority.unwrap();
    assert_eq!((p.score, p.level, p.breakdown.unwrap().aging_points), (16, PriorityLevel::P0 as i32, 1));
    assert_ne!(aged.etag, top.etag);
    assert_eq!(app.maintenance.run_once().await.unwrap().rescored, 0, "writes only when the score changes");

    app.clock.advance(Duration::days(3));
    app.maintenance.run_once().await.unwrap();
    let p = app.get(low.id).await.priority.unwrap();
    assert_eq!((p.score, p.breakdown.unwrap().aging_points), (12, 5), "capped at +5");
    assert_eq!(app.get(done.id).await.priority.unwrap().score, 7, "closed tickets do not age");

    let queue = app
        .list_tickets(pb::ListTicketsRequest { statuses: vec![TicketStatus::Open.into()], ..Default::default() })
        .await;
    assert_eq!(queue.tickets.iter().map(|t| t.id).collect::<Vec<_>>(), vec![top.id, low.id]);
}
