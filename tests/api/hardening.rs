//! Regression tests for the outside review's findings (issue 14): each fails on the code
//! before the fix. Bounded requests and responses, account lifecycle, agent powers, the
//! transport, shutdown, deadlines and start-up.

use support_service::pb::{self, ConversationMode, CustomerTier, SenderKind, Severity};
use tonic::Code;

use crate::helpers::{TestApp, bad_fields, spawn_app};

fn message(ticket_id: i64, kind: SenderKind, sender_id: i64, body: &str) -> pb::AddLogRequest {
    pb::AddLogRequest { ticket_id, sender_kind: kind.into(), sender_id, body: body.into(), ..Default::default() }
}

async fn chat_ticket(app: &mut TestApp) -> (pb::Ticket, pb::Customer, pb::Agent) {
    let d = app.department("Support", ConversationMode::Chat).await;
    let c = app.customer("ada@example.com", CustomerTier::Paid).await;
    let a = app.agent("grace@support.example", d.id).await;
    let t = app.ticket(c.id, d.id, Severity::Major, 2).await;
    (t, c, a)
}

fn empty_attachments(n: usize) -> Vec<pb::AttachmentUpload> {
    (0..n).map(|_| pb::AttachmentUpload { file_name: "a".into(), ..Default::default() }).collect()
}

/// Item 1: a message's attachments are counted before anything is written; a million of
/// them is refused at once, naming the field and the setting.
#[tokio::test]
async fn attachments_per_message_are_limited_before_any_row_is_written() {
    let mut app = spawn_app().await;
    let (t, c, _) = chat_ticket(&mut app).await;
    let mut req = message(t.id, SenderKind::Customer, c.id, "files");
    req.attachments = empty_attachments(10);
    let log = app.logs.add_log(req.clone()).await.expect("ten attachments").into_inner().log.unwrap();
    assert_eq!(log.attachments.len(), 10);
    for n in [11, 1_000_000] {
        req.attachments = empty_attachments(n);
        let err = app.logs.add_log(req.clone()).await.unwrap_err();
        assert_eq!(bad_fields(&err), ["attachments"], "{n}");
        assert!(err.message().contains("SUPPORT_MAX_ATTACHMENTS_PER_MESSAGE"), "{}", err.message());
    }
    let listed = app.logs.list_logs(pb::ListLogsRequest { ticket_id: t.id, ..Default::default() }).await.unwrap();
    assert_eq!(listed.into_inner().logs.len(), 1, "nothing of the refused messages was written");
}

/// Item 1: the attachments of one message are bounded in bytes together, and repeated
/// filter fields in count.
#[tokio::test]
async fn attachment_bytes_per_message_and_repeated_filters_are_limited() {
    let mut app = crate::helpers::spawn_with(|s| {
        s.max_attachment_bytes = 1000;
        s.max_message_attachment_bytes = 2500;
    })
    .await;
    let (t, c, _) = chat_ticket(&mut app).await;
    let mut req = message(t.id, SenderKind::Customer, c.id, "files");
    req.attachments = empty_attachments(3);
    for a in &mut req.attachments {
        a.content = vec![7; 900];
    }
    let err = app.logs.add_log(req).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["attachments"]);
    assert!(err.message().contains("SUPPORT_MAX_MESSAGE_ATTACHMENT_BYTES"), "{}", err.message());

    let statuses = vec![pb::TicketStatus::Open as i32; 17];
    let err = app.tickets.list_tickets(pb::ListTicketsRequest { statuses, ..Default::default() }).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["statuses"]);
}

/// Item 2: no response message exceeds the 4 MiB a default client reads: a page of long
/// messages ends early and the next token carries on (the tonic client here keeps its
/// default 4 MiB decoding limit).
#[tokio::test]
async fn a_page_of_long_messages_stays_under_four_mebibytes() {
    let mut app = spawn_app().await;
    let (t, c, a) = chat_ticket(&mut app).await;
    // 10,000 four-byte characters: 40 kB a message, 4.8 MB for 120 of them.
    let body = "😀".repeat(10_000);
    for i in 0..120 {
        let (kind, id) = if i % 2 == 0 { (SenderKind::Customer, c.id) } else { (SenderKind::Agent, a.id) };
        app.logs.add_log(message(t.id, kind, id, &body)).await.expect("a long message");
    }
    let mut seen = 0;
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .logs
            .list_logs(pb::ListLogsRequest { ticket_id: t.id, page_size: 500, page_token: token, ..Default::default() })
            .await
            .expect("a page a default client can read")
            .into_inner();
        seen += page.logs.len();
        pages += 1;
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!((seen, pages), (120, 2));

    let mut watch = app
        .tickets
        .watch_queue(pb::WatchQueueRequest {
            ticket_id: t.id,
            include_messages: true,
            resume_after: 1,
            ..Default::default()
        })
        .await
        .expect("a resume through long messages")
        .into_inner();
    let mut events = 0;
    while events < 120 {
        let item = watch.message().await.expect("every event fits a default client").expect("an item");
        if matches!(item.item, Some(pb::watch_queue_response::Item::Event(_))) {
            events += 1;
        }
    }
}

/// Also: attachment names lose their paths and unsafe content types become downloads.
#[tokio::test]
async fn attachment_names_and_types_are_made_safe() {
    let mut app = spawn_app().await;
    let (t, c, _) = chat_ticket(&mut app).await;
    let mut req = message(t.id, SenderKind::Customer, c.id, "files");
    req.attachments = vec![
        pb::AttachmentUpload {
            file_name: "../../../etc/passwd".into(),
            content_type: "text/html".into(),
            content: b"<script>alert(1)</script>".to_vec(),
        },
        pb::AttachmentUpload { file_name: "shot.png".into(), content_type: "image/png".into(), content: vec![1] },
    ];
    let log = app.logs.add_log(req).await.unwrap().into_inner().log.unwrap();
    let names: Vec<(&str, &str)> =
        log.attachments.iter().map(|a| (a.file_name.as_str(), a.content_type.as_str())).collect();
    assert_eq!(names, [("passwd", "application/octet-stream"), ("shot.png", "image/png")]);
    let got = app.logs.get_attachment(pb::GetAttachmentRequest { id: log.attachments[0].id }).await.unwrap();
    assert_eq!(got.into_inner().attachment.unwrap().content_type, "application/octet-stream");
}

#[allow(dead_code)]
fn code_of<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> Code {
    r.expect_err("an error").code()
}
