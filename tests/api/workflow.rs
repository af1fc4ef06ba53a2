//! The conversation rules, attachments and the customer's close.

use support_service::pb::{
    self, ConversationMode, CustomerTier, Feedback, SenderKind, Severity, TicketStatus, Visibility,
};
use tonic::Code;

use crate::helpers::{TestApp, bad_fields, spawn_app};

async fn ticket_in(app: &mut TestApp, mode: ConversationMode) -> (pb::Ticket, pb::Customer, pb::Agent) {
    let d = app.department("Support", mode).await;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await;
    let a = app.agent("grace@support.example", d.id).await;
    let t = app.ticket(c.id, d.id, Severity::Major, 2).await;
    (t, c, a)
}

#[tokio::test]
async fn ticket_mode_customer_waits_for_each_agent_reply() {
    let mut app = spawn_app().await;
    let (t, c, a) = ticket_in(&mut app, ConversationMode::Ticket).await;
    let err = app.say(t.id, SenderKind::Customer, c.id, "hello?").await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("agent's turn"), "{}", err.message());

    app.say(t.id, SenderKind::Agent, a.id, "Hi, looking.").await.unwrap();
    app.say(t.id, SenderKind::Customer, c.id, "Thanks").await.unwrap();
    let err = app.say(t.id, SenderKind::Customer, c.id, "and also").await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "never two in a row");

    // An internal note is not a turn: the customer still waits.
    let note = pb::AddLogRequest {
        ticket_id: t.id,
        sender_kind: SenderKind::Agent.into(),
        sender_id: a.id,
        body: "internal: refund pending".into(),
        visibility: Visibility::Internal.into(),
        ..Default::default()
    };
    app.logs.add_log(note).await.unwrap();
    assert_eq!(app.say(t.id, SenderKind::Customer, c.id, "again").await.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(app.get(t.id).await.last_response, "Thanks", "internal notes are not the last response");
    // Agents may write twice in a row.
    app.say(t.id, SenderKind::Agent, a.id, "One more thing").await.unwrap();
    app.say(t.id, SenderKind::Agent, a.id, "and another").await.unwrap();
    app.say(t.id, SenderKind::Customer, c.id, "ok").await.unwrap();

    let public =
        app.logs.list_logs(pb::ListLogsRequest { ticket_id: t.id, ..Default::default() }).await.unwrap().into_inner();
    assert!(
        public.logs.iter().all(|l| l.visibility == Visibility::Public as i32),
        "the public view hides internal notes"
    );
    assert_eq!(public.logs.len(), 5);
}

#[tokio::test]
async fn chat_mode_is_a_free_exchange() {
    let mut app = spawn_app().await;
    let (t, c, _a) = ticket_in(&mut app, ConversationMode::Chat).await;
    app.say(t.id, SenderKind::Customer, c.id, "one").await.unwrap();
    app.say(t.id, SenderKind::Customer, c.id, "two").await.unwrap();
    assert_eq!(app.get(t.id).await.last_response, "two");
}

#[tokio::test]
async fn replies_move_the_status() {
    let mut app = spawn_app().await;
    let (t, c, a) = ticket_in(&mut app, ConversationMode::Ticket).await;
    app.clock.advance(chrono::Duration::minutes(7));
    app.say(t.id, SenderKind::Agent, a.id, "On it").await.unwrap();
    let t1 = app.get(t.id).await;
    assert_eq!(t1.status, TicketStatus::InProgress as i32);
    let first = t1.first_response_time.unwrap();
    assert_eq!(first.seconds - t.create_time.unwrap().seconds, 7 * 60);
    app.set_status(t.id, TicketStatus::Resolved).await.unwrap();
    app.clock.advance(chrono::Duration::minutes(1));
    app.say(t.id, SenderKind::Agent, a.id, "Anything else?").await.unwrap();
    assert_eq!(app.get(t.id).await.first_response_time.unwrap(), first, "stamped once");
    app.say(t.id, SenderKind::Customer, c.id, "Still broken").await.unwrap();
    let t2 = app.get(t.id).await;
    assert_eq!(t2.status, TicketStatus::InProgress as i32, "a customer reply reopens RESOLVED");
    assert_eq!(t2.last_response, "Still broken");
}

#[tokio::test]
async fn attachments_can_be_fetched() {
    let mut app = spawn_app().await;
    let (t, c, _a) = ticket_in(&mut app, ConversationMode::Chat).await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let req = pb::AddLogRequest {
        ticket_id: t.id,
        sender_kind: SenderKind::Customer.into(),
        sender_id: c.id,
        body: "logs attached".into(),
        attachments: vec![pb::AttachmentUpload {
            file_name: "trace.bin".into(),
            content_type: String::new(),
            content: bytes.clone(),
        }],
        ..Default::default()
    };
    let log = app.logs.add_log(req).await.unwrap().into_inner().log.unwrap();
    let meta = &log.attachments[0];
    assert_eq!(meta.content_type, "application/octet-stream");
    let got = app.logs.get_attachment(pb::GetAttachmentRequest { id: meta.id }).await.unwrap().into_inner();
    assert_eq!(got.content, bytes, "bytes above 64 KiB survive (LONGBLOB on MySQL)");
    assert_eq!(got.attachment.as_ref(), Some(meta));
    let err = app.logs.get_attachment(pb::GetAttachmentRequest { id: meta.id + 1 }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn customer_closes_with_feedback_and_closed_is_final() {
    let mut app = spawn_app().await;
    let (t, c, a) = ticket_in(&mut app, ConversationMode::Chat).await;
    let err = app.tickets.close_ticket(pb::CloseTicketRequest { id: t.id, feedback: 0, rating: 6 }).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["feedback", "rating"]);
    app.clock.advance(chrono::Duration::hours(1));
    let closed = app
        .tickets
        .close_ticket(pb::CloseTicketRequest { id: t.id, feedback: Feedback::Satisfied.into(), rating: 4 })
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(closed.status, TicketStatus::Closed as i32, "closable straight from OPEN");
    assert_eq!((closed.rating, closed.feedback), (Some(4), Feedback::Satisfied as i32));
    assert!(closed.close_time.is_some());

    let again = app
        .tickets
        .close_ticket(pb::CloseTicketRequest { id: t.id, feedback: Feedback::NotSatisfied.into(), rating: 1 })
        .await;
    assert_eq!(again.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(app.set_status(t.id, TicketStatus::InProgress).await.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(app.say(t.id, SenderKind::Agent, a.id, "late").await.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(app.say(t.id, SenderKind::Customer, c.id, "late").await.unwrap_err().code(), Code::FailedPrecondition);
    let edit = pb::Ticket { id: t.id, subject: "new".into(), ..Default::default() };
    let err =
        app.tickets.update_ticket(pb::UpdateTicketRequest { ticket: Some(edit), update_mask: None }).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(app.assign(t.id, a.id).await.unwrap_err().code(), Code::FailedPrecondition);
    let allowed =
        app.tickets.get_allowed_transitions(pb::GetAllowedTransitionsRequest { id: t.id }).await.unwrap().into_inner();
    assert!(allowed.transitions.is_empty());
}
