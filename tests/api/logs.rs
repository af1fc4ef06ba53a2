//! LogService, and the seeds' InsertCommunicationLog and GetCommunicationLogsForTicket.

use support_service::pb::{
    self, ConversationMode, CustomerTier, DeliveryStatus, SenderKind, Severity, TicketStatus, Visibility,
};
use tonic::Code;

use crate::helpers::{TestApp, bad_fields, spawn_app, spawn_with};

fn message(ticket_id: i64, kind: SenderKind, sender_id: i64, body: &str) -> pb::AddLogRequest {
    pb::AddLogRequest { ticket_id, sender_kind: kind.into(), sender_id, body: body.into(), ..Default::default() }
}

async fn setup(app: &mut TestApp) -> (pb::Ticket, pb::Customer, pb::Agent) {
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await;
    let a = app.agent("grace@support.example", d.id).await;
    let t = app.ticket(c.id, d.id, Severity::Major, 2).await;
    (t, c, a)
}

#[tokio::test]
async fn insert_communication_log() {
    let mut app = spawn_app().await;
    let (t, c, a) = setup(&mut app).await;
    let log = app
        .logs
        .add_log(message(t.id, SenderKind::Customer, c.id, "Any news?"))
        .await
        .unwrap()
        .into_inner()
        .log
        .unwrap();
    assert_eq!((log.ticket_id, log.sender_id, log.body.as_str()), (t.id, c.id, "Any news?"));
    assert_eq!(log.visibility, Visibility::Public as i32);
    assert_eq!(log.delivery_status, DeliveryStatus::Sent as i32);

    app.clock.advance(chrono::Duration::minutes(5));
    app.logs.add_log(message(t.id, SenderKind::Agent, a.id, "Looking into it.")).await.unwrap();
    let t = app.tickets.get_ticket(pb::GetTicketRequest { id: t.id }).await.unwrap().into_inner().ticket.unwrap();
    assert_eq!(t.status, TicketStatus::InProgress as i32, "the first public agent reply starts work");
    assert!(t.first_response_time.is_some());
    assert_eq!(t.last_response, "Looking into it.");
}

#[tokio::test]
async fn get_communication_logs_for_ticket() {
    let mut app = spawn_app().await;
    let (t, c, a) = setup(&mut app).await;
    app.logs.add_log(message(t.id, SenderKind::Customer, c.id, "one")).await.unwrap();
    let mut note = message(t.id, SenderKind::Agent, a.id, "internal: check the gateway");
    note.visibility = Visibility::Internal.into();
    app.logs.add_log(note).await.unwrap();
    app.logs.add_log(message(t.id, SenderKind::Agent, a.id, "two")).await.unwrap();

    let public =
        app.logs.list_logs(pb::ListLogsRequest { ticket_id: t.id, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(public.logs.iter().map(|l| l.body.as_str()).collect::<Vec<_>>(), ["one", "two"]);
    let all = app
        .logs
        .list_logs(pb::ListLogsRequest { ticket_id: t.id, include_internal: true, page_size: 2, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.logs.len(), 2);
    let rest = app
        .logs
        .list_logs(pb::ListLogsRequest {
            ticket_id: t.id,
            include_internal: true,
            page_size: 2,
            page_token: all.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.logs.iter().map(|l| l.body.as_str()).collect::<Vec<_>>(), ["two"]);
    assert!(rest.next_page_token.is_empty());
    let err = app.logs.list_logs(pb::ListLogsRequest { ticket_id: 999, ..Default::default() }).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn messages_are_checked() {
    let mut app = spawn_app().await;
    let (t, c, _a) = setup(&mut app).await;
    let stranger = app.customer("eve@example.com", CustomerTier::Free).await;
    let err = app.logs.add_log(message(t.id, SenderKind::Customer, stranger.id, "hi")).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = app.logs.add_log(message(t.id, SenderKind::Unspecified, c.id, "")).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["sender_kind", "body"]);
    let err = app.logs.add_log(message(t.id, SenderKind::Agent, 999, "who am I")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert!(err.message().contains("agent"), "{err:?}");
    let mut internal = message(t.id, SenderKind::Customer, c.id, "psst");
    internal.visibility = Visibility::Internal.into();
    let err = app.logs.add_log(internal).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["visibility"]);
    let err = app.logs.add_log(message(t.id, SenderKind::Customer, c.id, &"x".repeat(10_001))).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["body"]);

    for s in [TicketStatus::InProgress, TicketStatus::Resolved, TicketStatus::Closed] {
        app.set_status(t.id, s).await.unwrap();
    }
    let err = app.logs.add_log(message(t.id, SenderKind::Customer, c.id, "again")).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn attachments_are_hashed_and_limited() {
    let mut app = spawn_with(|s| s.max_attachment_bytes = 1024).await;
    let (t, c, _a) = setup(&mut app).await;
    let mut req = message(t.id, SenderKind::Customer, c.id, "screenshot attached");
    req.attachments.push(pb::AttachmentUpload {
        file_name: "error.txt".into(),
        content_type: "text/plain".into(),
        content: b"hello".to_vec(),
    });
    let log = app.logs.add_log(req.clone()).await.unwrap().into_inner().log.unwrap();
    let a = &log.attachments[0];
    assert_eq!((a.file_name.as_str(), a.size_bytes), ("error.txt", 5));
    assert_eq!(a.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    let listed =
        app.logs.list_logs(pb::ListLogsRequest { ticket_id: t.id, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(listed.logs[0].attachments, log.attachments);

    req.attachments[0].content = vec![0u8; 1025];
    let err = app.logs.add_log(req).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["attachments[0].content"]);
}

#[tokio::test]
async fn mark_read_marks_the_other_sides_messages() {
    let mut app = spawn_app().await;
    let (t, c, a) = setup(&mut app).await;
    app.logs.add_log(message(t.id, SenderKind::Customer, c.id, "c1")).await.unwrap();
    let a1 = app.logs.add_log(message(t.id, SenderKind::Agent, a.id, "a1")).await.unwrap().into_inner().log.unwrap();
    app.logs.add_log(message(t.id, SenderKind::Agent, a.id, "a2")).await.unwrap();
    let marked = app
        .logs
        .mark_read(pb::MarkReadRequest {
            ticket_id: t.id,
            up_to_log_id: a1.id,
            reader_kind: SenderKind::Customer.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(marked.marked_count, 1);
    let marked = app
        .logs
        .mark_read(pb::MarkReadRequest { ticket_id: t.id, up_to_log_id: 0, reader_kind: SenderKind::Customer.into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(marked.marked_count, 1, "only a2 was still unread");
    let logs = app
        .logs
        .list_logs(pb::ListLogsRequest { ticket_id: t.id, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .logs;
    let status: Vec<i32> = logs.iter().map(|l| l.delivery_status).collect();
    assert_eq!(status, [DeliveryStatus::Sent as i32, DeliveryStatus::Read as i32, DeliveryStatus::Read as i32]);
}

#[tokio::test]
async fn customers_see_the_display_name_of_the_agent_who_answers() {
    use support_service::domain::access::Principal;
    let mut app = crate::helpers::spawn_app().await;
    let d = app.department("Billing", pb::ConversationMode::Chat).await.id;
    let c = app.customer("ann@example.com", pb::CustomerTier::Free).await.id;
    let a = app.agent("grace@example.com", d).await.id;
    let t = app.ticket(c, d, pb::Severity::Minor, 1).await.id;
    let written = app.say(t, pb::SenderKind::Agent, a, "On it.").await.unwrap();
    assert_eq!(written.sender_name, "Grace Hopper");
    app.say(t, pb::SenderKind::Customer, c, "Thanks").await.unwrap();
    let mut own = app.as_(&Principal::customer(c));
    let req = pb::ListLogsRequest { ticket_id: t, ..Default::default() };
    let logs = own.logs.list_logs(req).await.unwrap().into_inner().logs;
    let names: Vec<_> = logs.iter().map(|l| l.sender_name.as_str()).collect();
    assert_eq!(names, ["Grace Hopper", ""], "the agent's name; none for her own message");
}
